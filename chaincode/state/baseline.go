package state

import (
	"fmt"

	"github.com/medprov/medprov/chaincode/ledger"
)

// baselineValue is the value of every baseline key: a document with a kind
// and schema version like every other, and nothing else, so that the
// baseline writes the same bytes whatever the caller sends.
var baselineValue = fmt.Appendf(nil, `{"kind":%q,"schemaVersion":%d}`, ledger.KindBaseline, ledger.SchemaVersion)

// PutBaseline writes the fixed baseline document under nonce's key,
// without reading it first: a blind write, the cheapest a transaction can
// make. Writing the same nonce again writes the same bytes. The caller
// checks nonce (ledger.CheckNonce). Errors: INTERNAL from the stub.
func (s *Store) PutBaseline(nonce string) error {
	k, err := s.key(objBaseline, nonce)
	if err != nil {
		return err
	}
	if err := s.stub.PutState(k, baselineValue); err != nil {
		return ledger.Internal("write state", err)
	}
	return nil
}
