package ledger_test

import (
	"strings"
	"testing"

	"github.com/medprov/medprov/chaincode/ledger"
)

func TestCheckNonce(t *testing.T) {
	cases := map[string]struct {
		nonce string
		want  error
	}{
		"one hex digit is a nonce":      {"0", nil},
		"64 hex digits are a nonce":     {strings.Repeat("f", 64), nil},
		"an empty nonce is refused":     {"", ledger.ErrInvalidArgument},
		"65 hex digits are refused":     {strings.Repeat("f", 65), ledger.ErrInvalidArgument},
		"upper-case hex is refused":     {"ABC", ledger.ErrInvalidArgument},
		"a non-hex letter is refused":   {"0g", ledger.ErrInvalidArgument},
		"a trailing newline is refused": {"ab\n", ledger.ErrInvalidArgument},
		"words are refused":             {"flu", ledger.ErrInvalidArgument},
		"a zero byte is refused":        {"ab\x00", ledger.ErrInvalidArgument},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := ledger.CheckNonce("nonce", tc.nonce)
			wantCode(t, err, tc.want)
			if err != nil && !strings.HasPrefix(err.(*ledger.Error).Message, "nonce: ") {
				t.Errorf("error %q does not start with the argument's name", err)
			}
		})
	}
}
