package ledger

import (
	"context"
	"crypto"
	"sync/atomic"
)

// Identity is the client identity that signs a transaction: an X.509
// certificate of organisation MSPID and its private key. The embedded
// backend does not sign and ignores Signer; the Fabric backend signs
// proposals and transactions with it.
type Identity struct {
	MSPID   string
	CertPEM []byte
	Signer  crypto.Signer
}

// Ledger is a client of one channel running the medprov chaincode. All
// methods are safe for concurrent use. Every error a Ledger returns is an
// *Error carrying a gRPC status; see the package documentation.
type Ledger interface {
	// Prepare creates a transaction invoking the chaincode function tx with
	// args as identity id. Its ID is fixed from now on. A backend may endorse
	// it here (Fabric does, and then returns chaincode errors here); the
	// embedded backend only creates the ID and returns chaincode errors from
	// Commit. Errors: chaincode errors, ErrClosed (Unavailable), context
	// errors (DeadlineExceeded, Canceled), Unavailable when no peer could
	// endorse it (Fabric retries that, and its own endorsement timeouts,
	// with backoff before it gives up).
	Prepare(ctx context.Context, id Identity, tx string, args ...string) (*Transaction, error)

	// Commit sends a prepared transaction for ordering and waits until its
	// block commits. Committing the same Transaction again is safe: if an
	// earlier Commit may have sent it, the backend first looks its ID up
	// and returns the earlier outcome; a copy sent again is refused by the
	// ledger as a duplicate, and the original's outcome is returned. So a
	// transaction commits at most once.
	//
	// Errors: chaincode errors (the transaction was not ordered, and no
	// earlier send of it can still be), ErrConflict (Aborted: invalidated by
	// an MVCC or phantom read conflict; prepare a new transaction to retry),
	// ErrCommitStatusUnknown (DeadlineExceeded or Canceled: ctx ended after
	// the transaction may have been sent; or DeadlineExceeded when sending
	// it again was rejected by the chaincode while an earlier send may still
	// be queued for ordering; look it up with Status or Commit it again),
	// ErrClosed (Unavailable), and Internal errors.
	Commit(ctx context.Context, t *Transaction) (*Committed, error)

	// Submit prepares and commits a transaction and returns once its block
	// committed; it returns the errors of Prepare and Commit.
	Submit(ctx context.Context, id Identity, tx string, args ...string) (*Committed, error)

	// Evaluate runs a read-only call against committed state and returns
	// the chaincode's response payload; nothing is ordered. Errors:
	// chaincode errors, ErrClosed, context errors, Unavailable when the
	// peer cannot be reached.
	Evaluate(ctx context.Context, id Identity, tx string, args ...string) ([]byte, error)

	// Events returns the chaincode events of valid transactions, in commit
	// order, starting after the checkpoint from (see Checkpoint); first the
	// events already committed, then live ones as blocks commit. The
	// channel is closed when ctx ends or the ledger closes. Errors:
	// ErrClosed, and InvalidArgument for a checkpoint whose transaction is
	// not in its block.
	Events(ctx context.Context, from Checkpoint) (<-chan Event, error)

	// Status returns the commit status of the transaction txID. Errors:
	// ErrTxNotFound (NotFound) when the ledger holds no transaction with
	// that ID (yet), ErrClosed, context errors.
	Status(ctx context.Context, txID string) (TxStatus, error)

	// Close releases the backend; later calls fail with ErrClosed. It is
	// idempotent.
	Close() error
}

// Transaction is a prepared transaction: its ID is fixed, so it can be
// committed again after an unknown commit status. Create one with
// Ledger.Prepare and commit it with Commit on the same Ledger.
type Transaction struct {
	id       string
	identity Identity
	name     string
	args     []string
	// backend is the backend's own state: the nonce for the embedded
	// backend, the signed envelope for Fabric.
	backend any
	// sent is set once a Commit may have sent the transaction.
	sent atomic.Bool
}

// ID returns the transaction ID.
func (t *Transaction) ID() string { return t.id }

// Name returns the chaincode function the transaction invokes.
func (t *Transaction) Name() string { return t.name }

// Committed is a transaction that committed as VALID.
type Committed struct {
	// TxID is the transaction ID.
	TxID string
	// Block is the number of the block that holds it.
	Block uint64
	// Payload is the chaincode's response payload. When Commit recovered
	// the outcome of an earlier send by looking the transaction up, a
	// backend that cannot read the payload back leaves it nil; the
	// embedded backend reads it from the block.
	Payload []byte
}

// Event is a chaincode event of a valid committed transaction.
type Event struct {
	Block   uint64
	TxID    string
	Name    string
	Payload []byte
}

// Checkpoint returns the checkpoint that resumes the event stream after e.
func (e Event) Checkpoint() Checkpoint { return Checkpoint{Block: e.Block, TxID: e.TxID} }

// Checkpoint is a position in the event stream, as fabric-gateway's
// checkpointer keeps it: events are delivered from block Block onwards,
// skipping, within Block, the events of transaction TxID and of the
// transactions before it. An empty TxID delivers all of Block's events; the
// zero Checkpoint starts at the first block.
type Checkpoint struct {
	Block uint64
	TxID  string
}

// ValidationCode is the validation outcome of an ordered transaction; its
// values are the names of Fabric's peer.TxValidationCode.
type ValidationCode string

// The validation codes the gateway acts on; a backend may report any other
// name of Fabric's enum.
const (
	CodeValid               ValidationCode = "VALID"
	CodeMVCCReadConflict    ValidationCode = "MVCC_READ_CONFLICT"
	CodePhantomReadConflict ValidationCode = "PHANTOM_READ_CONFLICT"
	CodeDuplicateTxID       ValidationCode = "DUPLICATE_TXID"
)

// TxStatus is the commit status of a transaction.
type TxStatus struct {
	TxID  string
	Block uint64
	Code  ValidationCode
}

// Valid reports whether the transaction committed as VALID.
func (s TxStatus) Valid() bool { return s.Code == CodeValid }
