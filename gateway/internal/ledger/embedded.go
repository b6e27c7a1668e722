package ledger

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/medprov/medprov/gateway/embedded"
	"google.golang.org/grpc/codes"
)

// embeddedLedger is the Ledger on an in-process embedded ledger.
type embeddedLedger struct {
	l      *embedded.Ledger
	closed atomic.Bool

	// queued holds the IDs of transactions this backend handed to the
	// embedded ledger without learning their outcome (Submit returned
	// because its context ended): they may still be queued for ordering.
	// The queue lives in this process, in l, so a transaction not in
	// queued and unknown to the ledger is not queued anywhere.
	queuedMu sync.Mutex
	queued   map[string]bool
}

// setQueued records whether transaction txID may still be queued.
func (e *embeddedLedger) setQueued(txID string, queued bool) {
	e.queuedMu.Lock()
	defer e.queuedMu.Unlock()
	if !queued {
		delete(e.queued, txID)
		return
	}
	if e.queued == nil {
		e.queued = map[string]bool{}
	}
	e.queued[txID] = true
}

func (e *embeddedLedger) mayBeQueued(txID string) bool {
	e.queuedMu.Lock()
	defer e.queuedMu.Unlock()
	return e.queued[txID]
}

// NewEmbedded returns a Ledger on the embedded ledger l. It takes
// ownership of l: Close closes it. Identity.Signer is not used.
func NewEmbedded(l *embedded.Ledger) Ledger { return &embeddedLedger{l: l} }

// embeddedNonce is the embedded backend's state of a Transaction.
type embeddedNonce []byte

func (id Identity) embedded() embedded.Identity {
	return embedded.Identity{MSPID: id.MSPID, CertPEM: id.CertPEM}
}

func (e *embeddedLedger) Prepare(ctx context.Context, id Identity, tx string, args ...string) (*Transaction, error) {
	if err := ctx.Err(); err != nil {
		return nil, contextError(err, "", false)
	}
	if e.closed.Load() {
		return nil, closedError(nil)
	}
	txID, nonce, err := e.l.NewTxID(id.embedded())
	if err != nil {
		return nil, internalError("", fmt.Errorf("create transaction ID: %w", err))
	}
	return &Transaction{id: txID, identity: id, name: tx, args: append([]string(nil), args...), backend: embeddedNonce(nonce)}, nil
}

func (e *embeddedLedger) Submit(ctx context.Context, id Identity, tx string, args ...string) (*Committed, error) {
	t, err := e.Prepare(ctx, id, tx, args...)
	if err != nil {
		return nil, err
	}
	return e.Commit(ctx, t)
}

func (e *embeddedLedger) Commit(ctx context.Context, t *Transaction) (*Committed, error) {
	nonce, ok := t.backend.(embeddedNonce)
	if !ok {
		return nil, internalError(t.id, errors.New("transaction was not prepared by the embedded backend"))
	}
	resent := t.sent.Load()
	if resent {
		// An earlier Commit may have sent it: look it up before sending
		// anything again.
		c, err := e.lookup(ctx, t.id)
		if c != nil || err != nil {
			return c, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, contextError(err, t.id, resent)
	}
	t.sent.Store(true)
	res, err := e.l.Submit(ctx, t.identity.embedded(), embedded.Proposal{
		Function: t.name, Args: t.args, TxID: t.id, Nonce: nonce,
	})
	if err == nil {
		e.setQueued(t.id, false)
		return &Committed{TxID: res.TxID, Block: res.BlockNumber, Payload: res.Payload}, nil
	}
	if isContextError(err) {
		// Possibly queued (or still being simulated): the outcome is unknown.
		e.setQueued(t.id, true)
	}
	var ce *embedded.ChaincodeError
	switch {
	case errors.Is(err, embedded.ErrDuplicateTxID):
		// An earlier copy was ordered first: its outcome is the answer.
		c, lerr := e.lookup(ctx, t.id)
		if c == nil && lerr == nil {
			lerr = internalError(t.id, fmt.Errorf("duplicate transaction not found: %w", err))
		}
		return c, lerr
	case errors.As(err, &ce):
		// Another copy of the transaction (an earlier send, or a copy
		// restored from its encoding) may have committed, so that
		// simulating it again fails (a record ID now taken, say).
		if c, lerr := e.lookup(ctx, t.id); c != nil || lerr != nil {
			return c, lerr
		}
		if resent && e.mayBeQueued(t.id) {
			// The ledger does not hold it yet, but an earlier send may
			// still be queued for ordering and commit after all: this
			// rejection does not mean "not ordered".
			return nil, &Error{
				code: codes.DeadlineExceeded, txID: t.id, kind: ErrCommitStatusUnknown,
				msg:   fmt.Sprintf("transaction %s may still be queued for ordering: its commit status is unknown", t.id),
				cause: fmt.Errorf("sending it again was rejected by the chaincode: %s", ce.Message),
			}
		}
		return nil, chaincodeError(ce.Message, t.id)
	}
	return nil, e.mapError(err, t.id, true)
}

// lookup returns the outcome of transaction txID if the ledger holds it:
// a Committed for a valid one, an error for an invalid one, and nil, nil
// when it is not (yet) committed.
func (e *embeddedLedger) lookup(ctx context.Context, txID string) (*Committed, error) {
	st, err := e.Status(ctx, txID)
	if errors.Is(err, ErrTxNotFound) {
		return nil, nil
	}
	if err != nil {
		var le *Error
		if errors.As(err, &le) && le.kind == nil && isContextError(err) {
			// The status is still unknown.
			return nil, contextError(err, txID, true)
		}
		return nil, err
	}
	e.setQueued(txID, false) // ordered: no longer queued
	if !st.Valid() {
		return nil, statusError(st, nil)
	}
	c := &Committed{TxID: txID, Block: st.Block}
	if blk, err := e.l.Block(st.Block); err == nil {
		for _, tx := range blk.Transactions {
			if tx.TxID == txID {
				c.Payload = tx.ResponsePayload
				break
			}
		}
	}
	return c, nil
}

// statusError is the error for a transaction that committed as invalid.
func statusError(st TxStatus, cause error) *Error {
	switch st.Code {
	case CodeMVCCReadConflict, CodePhantomReadConflict:
		return conflictError(st.TxID, st.Code, cause)
	}
	return invalidError(st.TxID, st.Code, cause)
}

func (e *embeddedLedger) Evaluate(ctx context.Context, id Identity, tx string, args ...string) ([]byte, error) {
	if e.closed.Load() {
		return nil, closedError(nil)
	}
	out, err := e.l.Evaluate(ctx, id.embedded(), embedded.Proposal{Function: tx, Args: args})
	if err != nil {
		var ce *embedded.ChaincodeError
		if errors.As(err, &ce) {
			return nil, chaincodeError(ce.Message, "")
		}
		return nil, e.mapError(err, "", false)
	}
	return out, nil
}

func (e *embeddedLedger) Status(ctx context.Context, txID string) (TxStatus, error) {
	if err := ctx.Err(); err != nil {
		return TxStatus{}, contextError(err, txID, false)
	}
	st, err := e.l.Transaction(txID)
	switch {
	case errors.Is(err, embedded.ErrNotFound):
		return TxStatus{}, &Error{code: codes.NotFound, msg: fmt.Sprintf("transaction %s not found", txID), txID: txID, kind: ErrTxNotFound, cause: err}
	case err != nil:
		return TxStatus{}, e.mapError(err, txID, false)
	}
	return TxStatus{TxID: txID, Block: st.BlockNumber, Code: ValidationCode(st.Code)}, nil
}

func (e *embeddedLedger) Events(ctx context.Context, from Checkpoint) (<-chan Event, error) {
	if e.closed.Load() {
		return nil, closedError(nil)
	}
	skip, err := e.skipSet(from)
	if err != nil {
		return nil, err
	}
	src, err := e.l.Events(ctx, from.Block)
	if err != nil {
		return nil, e.mapError(err, "", false)
	}
	out := make(chan Event, 16)
	go func() {
		defer close(out)
		for ev := range src {
			if ev.BlockNumber == from.Block && skip[ev.TxID] {
				continue
			}
			select {
			case out <- Event{Block: ev.BlockNumber, TxID: ev.TxID, Name: ev.Name, Payload: ev.Payload}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// skipSet returns the IDs of the transactions of the checkpoint's block up
// to and including its transaction, whose events were already delivered.
func (e *embeddedLedger) skipSet(from Checkpoint) (map[string]bool, error) {
	if from.TxID == "" {
		return nil, nil
	}
	blk, err := e.l.Block(from.Block)
	if err != nil && !errors.Is(err, embedded.ErrNotFound) {
		return nil, e.mapError(err, "", false)
	}
	skip := map[string]bool{}
	if blk != nil {
		for _, tx := range blk.Transactions {
			skip[tx.TxID] = true
			if tx.TxID == from.TxID {
				return skip, nil
			}
		}
	}
	return nil, &Error{code: codes.InvalidArgument, msg: fmt.Sprintf("checkpoint: transaction %s is not in block %d", from.TxID, from.Block)}
}

func (e *embeddedLedger) Close() error {
	e.closed.Store(true)
	if err := e.l.Close(); err != nil {
		return internalError("", fmt.Errorf("close embedded ledger: %w", err))
	}
	return nil
}

// mapError maps an error of the embedded ledger other than a chaincode
// error. sent says whether transaction txID may have been sent.
func (e *embeddedLedger) mapError(err error, txID string, sent bool) *Error {
	var ce *embedded.CommitError
	switch {
	case errors.As(err, &ce):
		return statusError(TxStatus{TxID: ce.TxID, Block: ce.BlockNumber, Code: ValidationCode(ce.Code)}, err)
	case errors.Is(err, embedded.ErrClosed):
		return closedError(err)
	case isContextError(err):
		return contextError(err, txID, sent)
	}
	return internalError(txID, err)
}
