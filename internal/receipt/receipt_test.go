package receipt_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/medprov/medprov/internal/receipt"
)

// doc renders a receipt document from sample's fields with edits: a nil
// value deletes the field, a json.RawMessage is written as is.
func doc(t *testing.T, edits map[string]any) []byte {
	t.Helper()
	b, err := sample().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range edits {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestParseAcceptsValidReceipts(t *testing.T) {
	erased := sample()
	erased.Salt = nil
	tests := map[string]struct {
		in   []byte
		want receipt.Receipt
	}{
		"the canonical rendering parses back":   {doc(t, nil), sample()},
		"an absent salt means an erased record": {doc(t, map[string]any{"salt": nil}), erased},
		"an empty salt means an erased record":  {doc(t, map[string]any{"salt": ""}), erased},
		"fields may come in any order and without indentation": {
			[]byte(`{"anchoredAt":"2026-03-14T09:26:53.589793Z","blockNumber":42,"txId":"` + txID + `","commitment":"` + commitment + `","salt":"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f","custodian":"Org1MSP","version":2,"recordId":"rec-0001","schema":"medprov.receipt.v1"}`),
			sample(),
		},
		"a time in whole seconds is accepted": {
			doc(t, map[string]any{"anchoredAt": "2026-03-14T09:26:53Z"}),
			func() receipt.Receipt {
				r := sample()
				r.AnchoredAt = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
				return r
			}(),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := receipt.Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Parse = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseRefusesInvalidReceiptsNamingTheField(t *testing.T) {
	valid := string(doc(t, nil))
	tests := map[string]struct {
		in    string
		field string
	}{
		"an empty input is refused":                             {"", "receipt"},
		"a JSON array is refused":                               {"[]", "receipt"},
		"malformed JSON is refused":                             {`{"schema":`, "receipt"},
		"an unknown field is refused":                           {string(doc(t, map[string]any{"patient": "x"})), "receipt"},
		"a differently-cased field name is refused":             {strings.Replace(valid, `"recordId"`, `"RecordID"`, 1), "receipt"},
		"a duplicated field is refused":                         {strings.Replace(valid, `"version":2`, `"version":2,"version":3`, 1), "version"},
		"trailing data is refused":                              {valid + "{}", "receipt"},
		"a stray closing brace is refused":                      {valid + "}", "receipt"},
		"more than 4 KiB is refused":                            {valid + strings.Repeat(" ", receipt.MaxBytes), "receipt"},
		"another schema is refused":                             {string(doc(t, map[string]any{"schema": "medprov.receipt.v2"})), "schema"},
		"a missing schema is refused":                           {string(doc(t, map[string]any{"schema": nil})), "schema"},
		"a missing record ID is refused":                        {string(doc(t, map[string]any{"recordId": nil})), "recordId"},
		"a record ID with a space is refused":                   {string(doc(t, map[string]any{"recordId": "rec 1"})), "recordId"},
		"a null record ID is refused":                           {string(doc(t, map[string]any{"recordId": json.RawMessage("null")})), "recordId"},
		"a numeric record ID is refused":                        {string(doc(t, map[string]any{"recordId": 7})), "recordId"},
		"version zero is refused":                               {string(doc(t, map[string]any{"version": 0})), "version"},
		"a version above a million is refused":                  {string(doc(t, map[string]any{"version": 1000001})), "version"},
		"a fractional version is refused":                       {string(doc(t, map[string]any{"version": json.RawMessage("2.5")})), "version"},
		"a version as a string is refused":                      {string(doc(t, map[string]any{"version": "2"})), "version"},
		"a missing version is refused":                          {string(doc(t, map[string]any{"version": nil})), "version"},
		"a custodian with an underscore is refused":             {string(doc(t, map[string]any{"custodian": "Org_1"})), "custodian"},
		"a short salt is refused":                               {string(doc(t, map[string]any{"salt": "0001"})), "salt"},
		"an uppercase salt is refused":                          {string(doc(t, map[string]any{"salt": strings.ToUpper(otherHex)})), "salt"},
		"a null salt is refused":                                {string(doc(t, map[string]any{"salt": json.RawMessage("null")})), "salt"},
		"a missing commitment is refused":                       {string(doc(t, map[string]any{"commitment": nil})), "commitment"},
		"a commitment that is not hex is refused":               {string(doc(t, map[string]any{"commitment": strings.Repeat("g", 64)})), "commitment"},
		"a short transaction ID is refused":                     {string(doc(t, map[string]any{"txId": "abc"})), "txId"},
		"block zero, the genesis block, is refused":             {string(doc(t, map[string]any{"blockNumber": 0})), "blockNumber"},
		"a negative block number is refused":                    {string(doc(t, map[string]any{"blockNumber": -1})), "blockNumber"},
		"a block number above 2^53-1 is refused":                {string(doc(t, map[string]any{"blockNumber": json.RawMessage("9007199254740992")})), "blockNumber"},
		"a missing block number is refused":                     {string(doc(t, map[string]any{"blockNumber": nil})), "blockNumber"},
		"a time with an offset is refused":                      {string(doc(t, map[string]any{"anchoredAt": "2026-03-14T10:26:53+01:00"})), "anchoredAt"},
		"a time with trailing zeros in the fraction is refused": {string(doc(t, map[string]any{"anchoredAt": "2026-03-14T09:26:53.500Z"})), "anchoredAt"},
		"a date without a time is refused":                      {string(doc(t, map[string]any{"anchoredAt": "2026-03-14"})), "anchoredAt"},
		"a missing time is refused":                             {string(doc(t, map[string]any{"anchoredAt": nil})), "anchoredAt"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := receipt.Parse([]byte(tc.in))
			wantFieldError(t, err, tc.field)
		})
	}
}

func TestParseRefusesEscapeSequences(t *testing.T) {
	valid := string(doc(t, nil))
	tests := map[string]string{
		"an escaped letter in a field name": strings.Replace(valid, `"txId"`, `"tx\u0049d"`, 1),
		"an escaped letter in a value":      strings.Replace(valid, `"rec-0001"`, `"rec\u002d0001"`, 1),
		"an escaped digit in a hex value":   strings.Replace(valid, `"`+txID, `"\u0037`+txID[1:], 1),
		"an escaped solidus in the schema":  strings.Replace(valid, `"medprov.receipt.v1"`, `"medprov.receipt.v1\/"`, 1),
		"a backslash outside of any string": valid[:len(valid)-1] + "\\}",
		"an escaped quote in the time":      strings.Replace(valid, `Z"`, `Z\""`, 1),
		"an escape in a case-variant name":  strings.Replace(valid, `"recordId"`, `"record\u0049d"`, 1),
	}
	for name, in := range tests {
		t.Run(name+" is refused", func(t *testing.T) {
			if in == valid {
				t.Fatal("the edit did not apply")
			}
			_, err := receipt.Parse([]byte(in))
			wantFieldError(t, err, "receipt")
			if !strings.Contains(err.Error(), "want no escape sequences") {
				t.Fatalf("error %q does not say escape sequences are refused", err)
			}
		})
	}
}

func TestMarshalWritesNoEscapeSequences(t *testing.T) {
	for name, build := range goldenCases {
		b, err := build().Marshal()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if bytes.IndexByte(b, '\\') >= 0 {
			t.Fatalf("%s: Marshal wrote a backslash:\n%s", name, b)
		}
	}
}

func TestParseErrorsNeverEchoTheValue(t *testing.T) {
	const secret = "Jane-Doe-MRN-123456"
	inputs := map[string][]byte{
		"in the record ID":   doc(t, map[string]any{"recordId": secret + " "}),
		"in the custodian":   doc(t, map[string]any{"custodian": secret + "_"}),
		"in a field name":    doc(t, map[string]any{secret: 1}),
		"in the time":        doc(t, map[string]any{"anchoredAt": secret}),
		"in the salt":        doc(t, map[string]any{"salt": secret}),
		"as trailing data":   append(doc(t, nil), []byte(`"`+secret+`"`)...),
		"as a version value": doc(t, map[string]any{"version": secret}),
	}
	for name, in := range inputs {
		t.Run("a value "+name+" is not echoed", func(t *testing.T) {
			_, err := receipt.Parse(in)
			if err == nil {
				t.Fatal("Parse accepted the input")
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error %q echoes the value", err)
			}
		})
	}
}

func TestMarshalIsCanonical(t *testing.T) {
	r := sample()
	r.AnchoredAt = r.AnchoredAt.In(time.FixedZone("CET", 3600))
	got, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "schema": "medprov.receipt.v1",
  "recordId": "rec-0001",
  "version": 2,
  "custodian": "Org1MSP",
  "salt": "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
  "commitment": "` + commitment + `",
  "txId": "` + txID + `",
  "blockNumber": 42,
  "anchoredAt": "2026-03-14T09:26:53.589793Z"
}
`
	if string(got) != want {
		t.Fatalf("Marshal =\n%s\nwant\n%s", got, want)
	}
	erased := sample()
	erased.Salt = nil
	b, err := erased.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(`"salt"`)) {
		t.Fatalf("an erased receipt renders a salt field:\n%s", b)
	}
}

func TestMarshalRefusesInvalidReceipts(t *testing.T) {
	tests := map[string]struct {
		edit  func(*receipt.Receipt)
		field string
	}{
		"the zero receipt is refused":         {func(r *receipt.Receipt) { *r = receipt.Receipt{} }, "recordId"},
		"a 16-byte salt is refused":           {func(r *receipt.Receipt) { r.Salt = r.Salt[:16] }, "salt"},
		"an uppercase commitment is refused":  {func(r *receipt.Receipt) { r.Commitment = strings.ToUpper(commitment) }, "commitment"},
		"a zero anchoring time is refused":    {func(r *receipt.Receipt) { r.AnchoredAt = time.Time{} }, "anchoredAt"},
		"a year beyond 9999 is refused":       {func(r *receipt.Receipt) { r.AnchoredAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "anchoredAt"},
		"an invalid custodian is refused":     {func(r *receipt.Receipt) { r.Custodian = "" }, "custodian"},
		"a transaction ID in caps is refused": {func(r *receipt.Receipt) { r.TxID = strings.ToUpper(txID) }, "txId"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := sample()
			tc.edit(&r)
			_, err := r.Marshal()
			wantFieldError(t, err, tc.field)
		})
	}
}

func TestLedgerQueryGivesVerifyRecordsArguments(t *testing.T) {
	id, version, c := sample().LedgerQuery()
	if id != "rec-0001" || version != "2" || c != commitment {
		t.Fatalf("LedgerQuery = %q, %q, %q", id, version, c)
	}
}
