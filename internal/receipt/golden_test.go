package receipt_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/medprov/medprov/internal/receipt"
)

// goldenCases are the receipts in testdata/: content (synthetic) under
// countingSalt, and the same receipt once erased.
var goldenCases = map[string]func() receipt.Receipt{
	"receipt_v1.json":        sample,
	"receipt_erased_v1.json": func() receipt.Receipt { r := sample(); r.Salt = nil; return r },
}

func TestGoldenReceipts(t *testing.T) {
	for file, build := range goldenCases {
		t.Run("the receipt in "+file+" is stable", func(t *testing.T) {
			want := build()
			rendered, err := want.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", file)
			if *update {
				if err := os.WriteFile(path, rendered, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			golden, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(rendered, golden) {
				t.Fatalf("Marshal no longer renders %s; issued receipts would change (run with -update only for a new schema):\n%s", file, rendered)
			}
			got, err := receipt.Parse(golden)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Parse = %+v, want %+v", got, want)
			}
			res, err := got.Check(strings.NewReader(content))
			if want.Erased() {
				if err != receipt.ErrErased {
					t.Fatalf("Check of an erased receipt = %v, want ErrErased", err)
				}
				return
			}
			if err != nil || !res.Match {
				t.Fatalf("Check = %+v, %v; the golden receipt no longer matches its content", res, err)
			}
		})
	}
}
