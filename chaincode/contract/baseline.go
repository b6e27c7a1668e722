package contract

import (
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/medprov/medprov/chaincode/ledger"
)

// BaselineName is the Baseline contract's name in the chaincode metadata;
// its transactions are called as "Baseline:<Function>".
const BaselineName = "Baseline"

// Baseline is the chaincode's second contract: one trivial write for load
// tests, so that a benchmark can compare medprov's transactions with the
// cheapest transaction the same network commits, in the same run
// (docs/BENCHMARKS.md). It touches none of medprov's documents.
type Baseline struct {
	contractapi.Contract
}

// newBaseline builds the Baseline contract with the same caller hook as
// the medprov contract: the same identity checks apply.
func newBaseline() *Baseline {
	b := &Baseline{}
	b.Name = BaselineName
	b.Info.Title = "medprov load-test baseline"
	b.Info.Version = "1.0.0"
	b.TransactionContextHandler = new(Context)
	b.BeforeTransaction = before
	return b
}

// baselineEvent is the payload of the BaselinePut event.
type baselineEvent struct {
	Nonce string `json:"nonce"`
}

// Put writes one key, named by nonce under its own object type, with a
// fixed value, without reading anything: the floor a load test measures
// against. nonce is 1 to 64 lowercase hex digits; the caller chooses
// nothing else, so nothing readable reaches the ledger through it. The
// same nonce again overwrites the key with the same value. Records
// officers and admins may call it. Returns {"nonce": nonce}. Errors:
// PERMISSION_DENIED, INVALID_ARGUMENT (nonce). Event: BaselinePut.
func (b *Baseline) Put(ctx *Context, nonce string) (string, error) {
	if err := ctx.authorize(ledger.TxBaselinePut); err != nil {
		return "", err
	}
	if err := ledger.CheckNonce("nonce", nonce); err != nil {
		return "", err
	}
	st := ctx.store()
	if err := st.PutBaseline(nonce); err != nil {
		return "", err
	}
	if err := st.Emit(ledger.EventBaselinePut, baselineEvent{Nonce: nonce}); err != nil {
		return "", err
	}
	return output(baselineEvent{Nonce: nonce})
}
