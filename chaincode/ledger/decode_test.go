package ledger_test

import (
	"strings"
	"testing"

	"github.com/medprov/medprov/chaincode/ledger"
)

func TestDecodeStrict(t *testing.T) {
	valid := `{"recordId":"rec-001","purpose":"TREAT"}`
	cases := map[string]struct {
		in string
		ok bool
	}{
		"one object with known fields is accepted":          {valid, true},
		"surrounding whitespace is accepted":                {" \n" + valid + "\n\t", true},
		"an empty object is accepted (Validate rejects it)": {`{}`, true},
		"an unknown field is rejected":                      {`{"recordId":"rec-001","extra":1}`, false},
		"a nested unknown field is rejected":                {`{"recordId":"rec-001","purpose":{"x":1}}`, false},
		"trailing data after the object is rejected":        {valid + ` x`, false},
		"two objects are rejected":                          {valid + valid, false},
		"two objects separated by a newline are rejected":   {valid + "\n" + valid, false},
		"an oversized input is rejected":                    {`{"recordId":"` + strings.Repeat("a", ledger.MaxRequestBytes) + `"}`, false},
		"a number for a string field is rejected":           {`{"recordId":7}`, false},
		"a string for a string list is rejected":            {`{"recordId":["a"]}`, false},
		"a JSON array is rejected":                          {`[]`, false},
		"a JSON string is rejected":                         {`"rec-001"`, false},
		"empty input is rejected":                           {``, false},
		"whitespace only is rejected":                       {"  \n", false},
		"a truncated object is rejected":                    {`{"recordId":"rec-001"`, false},
		"malformed JSON is rejected":                        {`{recordId:"rec-001"}`, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var req ledger.AccessRequest
			err := ledger.DecodeStrict("request", tc.in, &req)
			if tc.ok {
				wantCode(t, err, nil)
			} else {
				wantInvalid(t, err, "request")
			}
		})
	}
}

func TestDecodeStrictAcceptsInputOfExactlyTheLimit(t *testing.T) {
	pad := ledger.MaxRequestBytes - len(`{"recordId":""}`)
	in := `{"recordId":"` + strings.Repeat("a", pad) + `"}`
	if len(in) != ledger.MaxRequestBytes {
		t.Fatalf("test input is %d bytes", len(in))
	}
	var req ledger.AccessRequest
	wantCode(t, ledger.DecodeStrict("request", in, &req), nil)
	wantInvalid(t, ledger.DecodeStrict("request", in+" ", &req), "request")
}

func TestDecodeStrictRejectsAStrayClosingBracket(t *testing.T) {
	for name, in := range map[string]string{
		"a stray closing brace after the object is rejected":   `{"recordId":"rec-001"}}`,
		"a stray closing bracket after the object is rejected": `{"recordId":"rec-001"}]`,
		"a stray closing bracket then an object is rejected":   `{"recordId":"rec-001"}]{"x":1}`,
	} {
		t.Run(name, func(t *testing.T) {
			var req ledger.AccessRequest
			wantInvalid(t, ledger.DecodeStrict("request", in, &req), "request")
		})
	}
}

func TestDecodeStrictFillsTheValue(t *testing.T) {
	var req ledger.AnchorRequest
	in := `{"recordId":"rec-001","patient":"` + patient + `","docType":"11506-3","confidentiality":"N","commitment":"` + hashA + `","derivedFrom":{"custodian":"Org1MSP","recordId":"rec-000","version":3}}`
	wantCode(t, ledger.DecodeStrict("request", in, &req), nil)
	want := ledger.AnchorRequest{
		RecordID: "rec-001", Patient: patient, DocType: "11506-3", Confidentiality: ledger.ConfNormal, Commitment: hashA,
		DerivedFrom: &ledger.DerivedFrom{Custodian: orgA, RecordID: "rec-000", Version: 3},
	}
	if req.RecordID != want.RecordID || req.Patient != want.Patient || req.DocType != want.DocType ||
		req.Confidentiality != want.Confidentiality || req.Commitment != want.Commitment ||
		req.DerivedFrom == nil || *req.DerivedFrom != *want.DerivedFrom {
		t.Fatalf("decoded %+v, want %+v", req, want)
	}
	wantCode(t, req.Validate(), nil)
}

func TestDecodeStrictNeverQuotesAnUnknownFieldName(t *testing.T) {
	name := "synthetic diagnosis text"
	var req ledger.AccessRequest
	err := ledger.DecodeStrict("request", `{"`+name+`":1}`, &req)
	wantInvalid(t, err, "request")
	if strings.Contains(err.Error(), "synthetic") {
		t.Errorf("message %q quotes the unknown field's name", err)
	}
	if !strings.Contains(err.Error(), "unknown field") {
		t.Errorf("message %q does not say what was wrong", err)
	}
}

func TestDecodeStrictRefusesANonPointer(t *testing.T) {
	var req ledger.AccessRequest
	if err := ledger.DecodeStrict("request", `{}`, req); err == nil {
		t.Fatal("decoding into a non-pointer succeeded")
	}
}
