package ledger_test

import (
	"testing"
	"time"

	"github.com/medprov/medprov/chaincode/ledger"
)

// requestDecoders are the argument decoders not covered by a fuzz target of
// their own: decode strictly, then validate, as the contract does.
var requestDecoders = []struct {
	arg    string
	decode func(s string) error
}{
	{"request", func(s string) error {
		var r ledger.AmendRequest
		return decodeThen("request", s, &r, r.Validate)
	}},
	{"request", func(s string) error {
		var r ledger.EraseRequest
		return decodeThen("request", s, &r, r.Validate)
	}},
	{"request", func(s string) error {
		var r ledger.LogAccessRequest
		return decodeThen("request", s, &r, r.Validate)
	}},
	{"request", func(s string) error {
		var r ledger.EndpointRequest
		return decodeThen("request", s, &r, r.Validate)
	}},
	{"revocation", func(s string) error {
		var r ledger.ConsentRevocation
		return decodeThen("revocation", s, &r, r.Validate)
	}},
	{"rotation", func(s string) error {
		var r ledger.KeyRotation
		return decodeThen("rotation", s, &r, func() error { _, err := r.Validate(); return err })
	}},
	{"query", func(s string) error {
		var q ledger.AlertQuery
		return decodeThen("query", s, &q, func() error { _, err := q.Validate(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)); return err })
	}},
}

// decodeThen decodes s into v and, if that worked, runs validate, which
// reads v through its closure.
func decodeThen(arg, s string, v any, validate func() error) error {
	if err := ledger.DecodeStrict(arg, s, v); err != nil {
		return err
	}
	return validate()
}

func FuzzDecodeOtherRequests(f *testing.F) {
	f.Add(uint8(0), `{"recordId":"rec-001","commitment":"`+hashA+`","reason":"CORRECTION"}`)
	f.Add(uint8(1), `{"recordId":"rec-001","reason":"PATIENT-REQUEST"}`)
	f.Add(uint8(2), `{"recordId":"rec-001","purpose":"TREAT","careRelationship":false,"version":2}`)
	f.Add(uint8(3), `{"endpoint":"127.0.0.1:7443","tlsCaCertPem":"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"}`)
	f.Add(uint8(4), `{"consentId":"c-1","patient":"`+patient+`","sequence":2}`)
	f.Add(uint8(5), `{"patient":"`+patient+`","newPublicKey":"MCowBQYDK2VwAyEA","sequence":1}`)
	f.Add(uint8(6), `{"from":"2026-01-01T00:00:00Z","pageSize":5}`)
	f.Add(uint8(6), `{"pageSize":-1}]`)
	f.Fuzz(func(t *testing.T, which uint8, s string) {
		d := requestDecoders[int(which)%len(requestDecoders)]
		err := d.decode(s)
		if err == nil {
			checkOneJSONValue(t, s)
			return
		}
		// Every refusal is INVALID_ARGUMENT naming the argument it is about.
		wantArgError(t, err, d.arg)
	})
}
