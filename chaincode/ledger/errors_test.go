package ledger_test

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/medprov/medprov/chaincode/ledger"
)

var allCodes = []struct {
	code     ledger.Code
	sentinel error
}{
	{ledger.CodeInvalidArgument, ledger.ErrInvalidArgument},
	{ledger.CodeNotFound, ledger.ErrNotFound},
	{ledger.CodeAlreadyExists, ledger.ErrAlreadyExists},
	{ledger.CodePermissionDenied, ledger.ErrPermissionDenied},
	{ledger.CodeFailedPrecondition, ledger.ErrFailedPrecondition},
	{ledger.CodeInternal, ledger.ErrInternal},
}

func TestErrorRendersCodeColonMessage(t *testing.T) {
	cases := map[string]struct {
		err  error
		want string
	}{
		"an invalid argument names the argument":    {ledger.InvalidArgument("request.recordId", "want %d characters", 3), "INVALID_ARGUMENT: request.recordId: want 3 characters"},
		"a not-found error keeps its message":       {ledger.NotFound("record %s", "rec-001"), "NOT_FOUND: record rec-001"},
		"an already-exists error keeps its message": {ledger.AlreadyExists("record %s", "rec-001"), "ALREADY_EXISTS: record rec-001"},
		"a permission error keeps its message":      {ledger.PermissionDenied("role %s", "auditor"), "PERMISSION_DENIED: role auditor"},
		"a precondition error keeps its message":    {ledger.FailedPrecondition("record is erased"), "FAILED_PRECONDITION: record is erased"},
		"an internal error carries its context":     {ledger.Internal("marshal record", io.ErrUnexpectedEOF), "INTERNAL: marshal record: unexpected EOF"},
		"a sentinel renders with an empty message":  {ledger.ErrNotFound, "NOT_FOUND: "},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Fatalf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseErrorRoundTripsEveryCode(t *testing.T) {
	for _, c := range allCodes {
		for _, msg := range []string{"", "something: with a colon", "NOT_FOUND: nested code text", "multi\nline"} {
			e := &ledger.Error{Code: c.code, Message: msg}
			got := ledger.ParseError(e.Error())
			if got.Code != c.code || got.Message != msg {
				t.Errorf("ParseError(%q) = %+v, want code %s message %q", e.Error(), got, c.code, msg)
			}
			if !errors.Is(got, c.sentinel) {
				t.Errorf("ParseError(%q) is not %v", e.Error(), c.sentinel)
			}
		}
	}
}

func TestParseErrorClassesUnknownTextAsInternal(t *testing.T) {
	for name, text := range map[string]string{
		"text without a code is internal":                      "connection reset by peer",
		"an unknown code is internal":                          "UNAVAILABLE: try later",
		"a lower-case code is internal":                        "not_found: record",
		"a code without the space after the colon is internal": "NOT_FOUND:record",
		"a code without a colon is internal":                   "NOT_FOUND",
		"empty text is internal":                               "",
		"a code after leading space is internal":               " NOT_FOUND: record",
	} {
		t.Run(name, func(t *testing.T) {
			got := ledger.ParseError(text)
			if got.Code != ledger.CodeInternal || got.Message != text {
				t.Fatalf("ParseError(%q) = %+v, want INTERNAL with the whole text", text, got)
			}
			if !errors.Is(got, ledger.ErrInternal) {
				t.Fatalf("not ErrInternal")
			}
		})
	}
}

func TestErrorsIsMatchesOnlyTheSentinelOfItsCode(t *testing.T) {
	for _, c := range allCodes {
		err := &ledger.Error{Code: c.code, Message: "a message"}
		for _, other := range allCodes {
			if got, want := errors.Is(err, other.sentinel), c.code == other.code; got != want {
				t.Errorf("errors.Is(%s error, %v) = %v, want %v", c.code, other.sentinel, got, want)
			}
		}
		wrapped := fmt.Errorf("context: %w", err)
		if !errors.Is(wrapped, c.sentinel) {
			t.Errorf("a wrapped %s error is not its sentinel", c.code)
		}
	}
	// An error with a message is not a sentinel: two different errors of
	// the same code are not Is each other.
	a, b := ledger.NotFound("record a"), ledger.NotFound("record b")
	if errors.Is(a, b) {
		t.Error("errors.Is matched two different NOT_FOUND errors")
	}
	if errors.Is(io.EOF, ledger.ErrInternal) {
		t.Error("a plain error is an ErrInternal")
	}
}

func TestInternalUnwrapsItsCause(t *testing.T) {
	err := ledger.Internal("read state", io.ErrUnexpectedEOF)
	if !errors.Is(err, io.ErrUnexpectedEOF) || !errors.Is(err, ledger.ErrInternal) {
		t.Fatalf("Internal error %v does not unwrap to its cause and sentinel", err)
	}
}

func TestAsError(t *testing.T) {
	nf := ledger.NotFound("record")
	if got := ledger.AsError(fmt.Errorf("wrapped: %w", nf)); got != nf {
		t.Errorf("AsError of a wrapped *Error = %v, want the same error", got)
	}
	got := ledger.AsError(io.EOF)
	if got.Code != ledger.CodeInternal || !errors.Is(got, io.EOF) {
		t.Errorf("AsError(io.EOF) = %+v, want INTERNAL wrapping io.EOF", got)
	}
}
