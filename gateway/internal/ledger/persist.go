package ledger

import (
	"encoding/json"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
)

// persistedFormat is the version of the encoding MarshalBinary writes.
const persistedFormat = 1

// persistedTx is the encoding of a prepared Transaction (JSON): everything
// a backend needs to send the very same transaction again after a restart.
// For the embedded backend that is the transaction ID, the nonce it was
// computed from, the creator (MSP ID and certificate, both public), the
// chaincode function and its arguments; the ledger recomputes the ID from
// the nonce and the creator, so a copy sent again is recognised as the same
// transaction. The signer is not persisted: the embedded backend does not
// sign. For the Fabric backend it is the endorsed transaction signed by its
// creator (Signed, fabric-gateway's serialised PreparedTransaction), so
// that sending it again needs no key, and the peers refuse a second copy
// of its ID.
type persistedTx struct {
	Format   int      `json:"format"`
	Backend  string   `json:"backend"`
	TxID     string   `json:"txId"`
	MSPID    string   `json:"mspId"`
	CertPEM  []byte   `json:"certPem"`
	Function string   `json:"function"`
	Args     []string `json:"args"`
	Nonce    []byte   `json:"nonce,omitempty"`
	Signed   []byte   `json:"signed,omitempty"`
}

const (
	backendEmbedded = "embedded"
	backendFabric   = "fabric"
)

// MarshalBinary encodes the prepared transaction so that RestoreTransaction
// can rebuild the same transaction, with the same ID, in another process.
// The encoding holds the chaincode arguments and the creator's certificate
// but no private key; store it where the arguments may be stored. It fails
// for a transaction whose backend cannot be persisted.
func (t *Transaction) MarshalBinary() ([]byte, error) {
	p := persistedTx{
		Format: persistedFormat, TxID: t.id, MSPID: t.identity.MSPID, CertPEM: t.identity.CertPEM,
		Function: t.name, Args: t.args,
	}
	switch b := t.backend.(type) {
	case embeddedNonce:
		p.Backend, p.Nonce = backendEmbedded, []byte(b)
	case fabricTx:
		p.Backend, p.Signed = backendFabric, b.signed
	default:
		return nil, internalError(t.id, fmt.Errorf("transaction of backend %T cannot be persisted", t.backend))
	}
	out, err := json.Marshal(&p)
	if err != nil {
		return nil, internalError(t.id, err)
	}
	return out, nil
}

// RestoreTransaction rebuilds a transaction that MarshalBinary encoded. The
// result is treated as possibly sent already: Commit on it first looks its
// ID up and returns the earlier outcome if the ledger holds it, so
// committing a restored transaction can never commit it twice. Commit it on
// a Ledger of the backend that prepared it. Errors: InvalidArgument for
// data that is not such an encoding.
func RestoreTransaction(data []byte) (*Transaction, error) {
	var p persistedTx
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, restoreError(err)
	}
	if p.Format != persistedFormat {
		return nil, restoreError(fmt.Errorf("unknown format %d", p.Format))
	}
	if p.TxID == "" || p.Function == "" {
		return nil, restoreError(errors.New("missing transaction ID or function"))
	}
	t := &Transaction{
		id: p.TxID, identity: Identity{MSPID: p.MSPID, CertPEM: p.CertPEM},
		name: p.Function, args: p.Args,
	}
	if t.args == nil {
		t.args = []string{}
	}
	switch p.Backend {
	case backendEmbedded:
		if len(p.Nonce) == 0 {
			return nil, restoreError(errors.New("missing nonce"))
		}
		t.backend = embeddedNonce(p.Nonce)
	case backendFabric:
		if len(p.Signed) == 0 {
			return nil, restoreError(errors.New("missing signed transaction"))
		}
		t.backend = fabricTx{signed: p.Signed}
	default:
		return nil, restoreError(fmt.Errorf("unknown backend %q", p.Backend))
	}
	t.sent.Store(true)
	return t, nil
}

func restoreError(cause error) *Error {
	return &Error{code: codes.InvalidArgument, msg: "not a persisted transaction", cause: cause}
}
