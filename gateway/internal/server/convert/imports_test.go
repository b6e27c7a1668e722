package convert_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestThePackageImportsNoStoreAnchorOrLedgerClient holds the package doc's
// promise: besides the standard library it imports only the API types,
// the domain, the receipt and protobuf's timestamps.
func TestThePackageImportsNoStoreAnchorOrLedgerClient(t *testing.T) {
	allowed := map[string]bool{
		"github.com/medprov/medprov/api/gen/medprov/gateway/v1": true,
		"github.com/medprov/medprov/chaincode/ledger":           true,
		"github.com/medprov/medprov/internal/receipt":           true,
		"google.golang.org/protobuf/types/known/timestamppb":    true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				t.Fatal(err)
			}
			stdlib := !strings.Contains(strings.SplitN(path, "/", 2)[0], ".")
			if !stdlib && !allowed[path] {
				t.Errorf("%s imports %s", name, path)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no source files found")
	}
}
