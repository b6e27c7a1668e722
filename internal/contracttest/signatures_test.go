package contracttest

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/medprov/medprov/chaincode/contract"
	"github.com/medprov/medprov/chaincode/ledger"
)

// contractSignatures lists every transaction the chaincode's front door
// accepts: the medprov contract's and the Baseline contract's.
func contractSignatures() []string {
	var out []string
	for _, s := range slices.Concat(contract.Signatures, contract.BaselineSignatures) {
		out = append(out, s.Name)
	}
	return out
}

// The signature table is what the chaincode's front door enforces; it must
// match the contract's exported methods exactly.
func TestSignaturesMatchTheContractMethods(t *testing.T) {
	typ := reflect.TypeOf(&contract.Contract{})
	seen := map[string]bool{}
	for _, s := range contract.Signatures {
		m, ok := typ.MethodByName(s.Name)
		if !ok {
			t.Errorf("%s is in Signatures but not a method of Contract", s.Name)
			continue
		}
		// receiver, ctx, then the string arguments.
		if got := m.Type.NumIn() - 2; got != len(s.Args) {
			t.Errorf("%s takes %d arguments, Signatures lists %d", s.Name, got, len(s.Args))
		}
		if len(ledger.AllowedRoles(s.Name)) == 0 {
			t.Errorf("%s has no role policy", s.Name)
		}
		seen[s.Name] = true
	}
	for i := range typ.NumMethod() {
		m := typ.Method(i)
		if m.Type.NumIn() >= 2 && m.Type.In(1) == reflect.TypeOf(&contract.Context{}) && !seen[m.Name] {
			t.Errorf("method %s is not in Signatures", m.Name)
		}
	}
}

// The Baseline contract's signatures name its methods, qualified by its
// name, and have role policies.
func TestBaselineSignaturesMatchTheBaselineMethods(t *testing.T) {
	typ := reflect.TypeOf(&contract.Baseline{})
	seen := map[string]bool{}
	for _, s := range contract.BaselineSignatures {
		name, ok := strings.CutPrefix(s.Name, contract.BaselineName+":")
		if !ok {
			t.Errorf("%s is not qualified by %s:", s.Name, contract.BaselineName)
			continue
		}
		m, ok := typ.MethodByName(name)
		if !ok {
			t.Errorf("%s is in BaselineSignatures but not a method of Baseline", s.Name)
			continue
		}
		if got := m.Type.NumIn() - 2; got != len(s.Args) {
			t.Errorf("%s takes %d arguments, BaselineSignatures lists %d", s.Name, got, len(s.Args))
		}
		if len(ledger.AllowedRoles(s.Name)) == 0 {
			t.Errorf("%s has no role policy", s.Name)
		}
		seen[name] = true
	}
	for i := range typ.NumMethod() {
		m := typ.Method(i)
		if m.Type.NumIn() >= 2 && m.Type.In(1) == reflect.TypeOf(&contract.Context{}) && !seen[m.Name] {
			t.Errorf("method %s is not in BaselineSignatures", m.Name)
		}
	}
}
