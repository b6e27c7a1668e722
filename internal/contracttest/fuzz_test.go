package contracttest

import (
	"errors"
	"strings"
	"testing"

	"github.com/medprov/medprov/chaincode/contract"
	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/embedded"
	"github.com/medprov/medprov/internal/devnet"
)

// FuzzChaincodeFrontDoor calls every transaction of the deployed chaincode
// with fuzzed arguments through the embedded ledger, as a records officer
// with the highest clearance. Whatever the input: no call panics or fails
// with INTERNAL, every failure is "CODE: message" with a known code, and a
// failed call commits nothing.
func FuzzChaincodeFrontDoor(f *testing.F) {
	e := newEnv(f)
	officer := e.user(devnet.HospitalA, "records-officer", "V")
	p := e.registerPatient(officer)
	rec := e.anchor(officer, p.Pseudonym, "18842-5", ledger.ConfNormal)
	for i, s := range contract.Signatures {
		args := make([]string, len(s.Args))
		for j, name := range s.Args {
			switch name {
			case "recordId":
				args[j] = rec.RecordID
			case "patient":
				args[j] = p.Pseudonym
			case "version":
				args[j] = "1"
			case "commitment":
				args[j] = rec.Commitment
			case "request", "query":
				args[j] = `{"recordId":"` + rec.RecordID + `","purpose":"TREAT","careRelationship":true}`
			default:
				args[j] = ""
			}
		}
		for len(args) < 3 {
			args = append(args, "")
		}
		f.Add(uint8(i), uint8(len(s.Args)), args[0], args[1], args[2])
	}
	f.Add(uint8(200), uint8(1), "x", "", "")
	f.Fuzz(func(t *testing.T, which, nargs uint8, a, b, c string) {
		fn := "NoSuchTransaction"
		if int(which) < len(contract.Signatures) {
			fn = contract.Signatures[which].Name
		}
		args := []string{a, b, c}[:int(nargs)%4]
		height := e.net.Ledger.Height()
		_, err := officer.Submit(e.ctx, fn, args...)
		if err == nil {
			return
		}
		var le *ledger.Error
		if errors.As(err, &le) {
			if le.Code == ledger.CodeInternal {
				t.Fatalf("%s(%q) failed with INTERNAL: %v", fn, args, err)
			}
			if h := e.net.Ledger.Height(); h != height {
				t.Fatalf("%s(%q) failed but the height moved from %d to %d", fn, args, height, h)
			}
			return
		}
		var ce *embedded.CommitError
		if errors.As(err, &ce) || strings.Contains(err.Error(), "paginated") {
			return // ordered and invalidated, or refused as Fabric would: not a chaincode failure
		}
		t.Fatalf("%s(%q): unexpected error %v", fn, args, err)
	})
}
