package receipt_test

import (
	"reflect"
	"testing"

	"github.com/medprov/medprov/internal/receipt"
)

// FuzzParse checks that Parse never panics, that every error is
// INVALID_ARGUMENT naming a field, and that an accepted receipt survives
// Marshal and Parse unchanged. Seeds live in testdata/fuzz/FuzzParse/; run
//
//	go test -run=^$ -fuzz=^FuzzParse$ -fuzztime=10s ./internal/receipt/
func FuzzParse(f *testing.F) {
	for _, build := range goldenCases {
		b, err := build().Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := receipt.Parse(data)
		if err != nil {
			wantFieldError(t, err, "")
			return
		}
		if len(data) > receipt.MaxBytes {
			t.Fatalf("accepted %d bytes", len(data))
		}
		b, err := r.Marshal()
		if err != nil {
			t.Fatalf("Marshal of an accepted receipt: %v", err)
		}
		again, err := receipt.Parse(b)
		if err != nil {
			t.Fatalf("Parse of Marshal's output: %v", err)
		}
		if !reflect.DeepEqual(again, r) {
			t.Fatalf("round trip changed the receipt: %+v, then %+v", r, again)
		}
		b2, err := again.Marshal()
		if err != nil || string(b2) != string(b) {
			t.Fatalf("Marshal is not stable: %v", err)
		}
	})
}
