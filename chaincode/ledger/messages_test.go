package ledger_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/medprov/medprov/chaincode/ledger"
)

// TestInvalidArgumentMessagesNameTheArgumentAndNeverEchoTheValue checks the
// promise of validate.go: a message says which argument is wrong and what
// was expected, never what was sent, since a mistyped field could hold
// health data.
func TestInvalidArgumentMessagesNameTheArgumentAndNeverEchoTheValue(t *testing.T) {
	const secret = "ZQXSECRET"         // stands for a value that must not leak
	long := strings.Repeat(secret, 20) // too long for any bounded field
	cases := map[string]struct {
		arg string
		run func(arg, value string) error
		in  string
	}{
		"a bad record ID is not echoed":            {"request.recordId", ledger.CheckID, secret + " x"},
		"a bad MSP ID is not echoed":               {"request.mspId", ledger.CheckMSPID, secret + "_x"},
		"a bad transaction ID is not echoed":       {"txId", ledger.CheckTxID, secret},
		"a bad commitment is not echoed":           {"request.commitment", ledger.CheckHash32, secret},
		"a bad endpoint is not echoed":             {"request.endpoint", ledger.CheckEndpoint, secret + ":99999"},
		"a bad document type is not echoed":        {"request.docType", ledger.CheckDocType, secret},
		"a bad pseudonym is not echoed":            {"request.patient", ledger.CheckPseudonym, "pt-" + secret},
		"a bad bookmark is not echoed":             {"query.bookmark", ledger.CheckBookmark, long + "\xff"},
		"a bad time is not echoed":                 {"consent.notBefore", func(a, s string) error { _, err := ledger.ParseTime(a, s); return err }, secret},
		"a bad version is not echoed":              {"version", func(a, s string) error { _, err := ledger.ParseVersion(a, s); return err }, secret},
		"a bad page size is not echoed":            {"pageSize", func(a, s string) error { _, err := ledger.ParsePageSize(a, s); return err }, secret},
		"a bad role is not echoed":                 {"attr.role", func(a, s string) error { _, err := ledger.ParseRole(a, s); return err }, secret},
		"a bad confidentiality code is not echoed": {"request.confidentiality", func(a, s string) error { _, err := ledger.ParseConfidentiality(a, s); return err }, secret},
		"a bad purpose is not echoed":              {"request.purpose", func(a, s string) error { _, err := ledger.ParsePurpose(a, s); return err }, secret},
		"a bad public key is not echoed":           {"request.publicKey", func(a, s string) error { _, err := ledger.ParsePatientKey(a, s); return err }, secret},
		"an over-long public key is not echoed":    {"request.publicKey", func(a, s string) error { _, err := ledger.ParsePatientKey(a, s); return err }, long},
		"a wrong-typed JSON value is not echoed": {"request", func(a, s string) error {
			var r ledger.AccessRequest
			return ledger.DecodeStrict(a, `{"recordId":["`+s+`"]}`, &r)
		}, secret},
		"truncated JSON is not echoed": {"request", func(a, s string) error {
			var r ledger.AccessRequest
			return ledger.DecodeStrict(a, `{"recordId":"`+s+`"`, &r)
		}, secret},
		"trailing JSON data is not echoed": {"request", func(a, s string) error {
			var r ledger.AccessRequest
			return ledger.DecodeStrict(a, `{"recordId":"x"} "`+s+`"`, &r)
		}, secret},
		"oversized JSON is not echoed": {"request", func(a, s string) error {
			var r ledger.AccessRequest
			return ledger.DecodeStrict(a, `{"recordId":"`+strings.Repeat(s, 2000)+`"}`, &r)
		}, secret},
		"a bad list element is named by its index and not echoed": {"consent.scope.docTypes[1]", func(a, s string) error {
			g := validGrant()
			g.Scope.DocTypes = []string{"11506-3", s}
			_, _, _, err := g.Normalize()
			return err
		}, secret},
		"a bad query time is not echoed": {"query.from", func(a, s string) error {
			_, err := ledger.AuditQuery{RecordID: "rec-001", From: s}.Validate(t0)
			return err
		}, secret},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := tc.run(tc.arg, tc.in)
			if !errors.Is(err, ledger.ErrInvalidArgument) {
				t.Fatalf("got %v, want INVALID_ARGUMENT", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "INVALID_ARGUMENT: "+tc.arg+": ") {
				t.Errorf("message %q does not start by naming argument %q", msg, tc.arg)
			}
			if strings.Contains(msg, secret) {
				t.Errorf("message %q echoes the value", msg)
			}
		})
	}
}
