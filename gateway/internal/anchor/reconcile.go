package anchor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc/status"

	"github.com/medprov/medprov/gateway/internal/ledger"
	"github.com/medprov/medprov/gateway/internal/store"
	"github.com/medprov/medprov/internal/rpccode"
)

// Report counts what one Reconcile did with the pending entries it found.
type Report struct {
	// Pending is the number of pending entries found.
	Pending int
	// Anchored counts entries whose transaction had committed and that were
	// marked anchored.
	Anchored int
	// Recommitted counts entries whose transaction the ledger did not hold,
	// committed again (the same transaction) and marked anchored.
	Recommitted int
	// Discarded counts entries rolled back: no prepared transaction, an
	// invalidated one, one the chaincode rejected, or one that cannot be
	// rebuilt.
	Discarded int
	// Skipped counts entries an Add or another Reconcile was working on.
	Skipped int
	// Failed counts entries left pending after an error (the ledger
	// unreachable, say); a later run retries them.
	Failed int
	// Duration is how long the run took.
	Duration time.Duration
}

// outcome is what reconciling one entry did.
type outcome int

const (
	outAnchored outcome = iota
	outRecommitted
	outDiscarded
	outFailed
)

// Reconcile finishes or rolls back every pending entry of the store, so
// that each ends stored and anchored, or not stored at all:
//
//   - without a prepared transaction (the crash came between Put and
//     SetPrepared, so the caller was never acknowledged): discarded;
//   - with one that committed as VALID: marked anchored;
//   - with one the ledger does not hold: the same transaction, rebuilt with
//     ledger.RestoreTransaction, is committed and the entry marked
//     anchored, or, if the chaincode rejects it (or a read conflict
//     invalidates it), discarded;
//   - with one that was invalidated, which can never commit: discarded;
//   - with one that cannot be rebuilt from its encoding: discarded (logged
//     as an error).
//
// Entries an Add or Amend is working on are skipped. Running Reconcile again
// changes nothing once it returned without failures. It returns the
// errors of the entries it left pending (joined) and ctx's error.
func (a *Anchorer) Reconcile(ctx context.Context) (Report, error) {
	start := a.now()
	var rep Report
	pending, err := a.store.Pending(ctx)
	if err != nil {
		return rep, fmt.Errorf("reconcile: %w", err)
	}
	rep.Pending = len(pending)
	var errs []error
	for _, e := range pending {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		release, ok := a.claim(e.RecordID)
		if !ok {
			rep.Skipped++
			continue
		}
		out, err := a.reconcileEntry(ctx, e)
		release()
		switch out {
		case outAnchored:
			rep.Anchored++
		case outRecommitted:
			rep.Recommitted++
		case outDiscarded:
			rep.Discarded++
		default:
			rep.Failed++
			errs = append(errs, err)
		}
	}
	rep.Duration = a.now().Sub(start)
	if rep.Pending > 0 {
		a.log.LogAttrs(ctx, slog.LevelInfo, "reconciled pending records",
			slog.Int("pending", rep.Pending), slog.Int("anchored", rep.Anchored), slog.Int("recommitted", rep.Recommitted),
			slog.Int("discarded", rep.Discarded), slog.Int("skipped", rep.Skipped), slog.Int("failed", rep.Failed),
			slog.Duration("duration", rep.Duration))
	}
	if len(errs) > 0 {
		return rep, fmt.Errorf("reconcile: %d entr(ies) left pending: %w", rep.Failed, errors.Join(errs...))
	}
	return rep, nil
}

// reconcileEntry resolves one pending entry; the caller holds its claim.
func (a *Anchorer) reconcileEntry(ctx context.Context, e store.Entry) (outcome, error) {
	label := fmt.Sprintf("reconcile record %q version %d", e.RecordID, e.Version)
	// The entry may have changed since Pending listed it.
	cur, err := a.store.Get(e.RecordID, e.Version)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return outDiscarded, nil
	case err != nil:
		return outFailed, fmt.Errorf("%s: %w", label, err)
	case cur.State != store.StatePending:
		return outAnchored, nil
	}
	e = cur
	if e.Prepared == nil {
		return a.rollBack(ctx, e, "no transaction was prepared")
	}
	tx, err := ledger.RestoreTransaction(e.Prepared)
	if err != nil {
		a.log.LogAttrs(ctx, slog.LevelError, "pending entry holds a transaction that cannot be rebuilt; discarding it", slog.Any("entry", e), slog.Any("error", err))
		return a.rollBack(ctx, e, "its transaction cannot be rebuilt")
	}
	st, err := a.ledger.Status(ctx, tx.ID())
	switch {
	case err == nil && st.Valid():
		if err := a.store.MarkAnchored(e.RecordID, e.Version, tx.ID(), st.Block); err != nil {
			return outFailed, fmt.Errorf("%s: %w", label, err)
		}
		a.log.LogAttrs(ctx, slog.LevelInfo, "pending record was anchored; marked", slog.String("recordID", e.RecordID), slog.String("txID", tx.ID()), slog.Uint64("block", st.Block))
		return outAnchored, nil
	case err == nil:
		return a.rollBack(ctx, e, fmt.Sprintf("transaction %s was invalidated (%s)", tx.ID(), st.Code))
	case !errors.Is(err, ledger.ErrTxNotFound):
		return outFailed, fmt.Errorf("%s: status of transaction %s: %w", label, tx.ID(), err)
	}
	c, err := a.ledger.Commit(ctx, tx)
	switch {
	case err == nil:
		a.checkVersion(ctx, e, tx.Name(), c)
		if err := a.store.MarkAnchored(e.RecordID, e.Version, c.TxID, c.Block); err != nil {
			return outFailed, fmt.Errorf("%s: %w", label, err)
		}
		a.log.LogAttrs(ctx, slog.LevelInfo, "pending record anchored by committing its transaction again", slog.String("recordID", e.RecordID), slog.String("txID", c.TxID), slog.Uint64("block", c.Block))
		return outRecommitted, nil
	case rejected(err), errors.Is(err, ledger.ErrConflict):
		// The code only: a chaincode's message may name the patient's
		// pseudonym, which the gateway keeps out of its logs.
		return a.rollBack(ctx, e, fmt.Sprintf("transaction %s was refused (%s)", tx.ID(), rpccode.Name(status.Code(err))))
	}
	return outFailed, fmt.Errorf("%s: commit transaction %s again: %w", label, tx.ID(), err)
}

// rollBack discards the pending entry e for the reason given.
func (a *Anchorer) rollBack(ctx context.Context, e store.Entry, why string) (outcome, error) {
	if err := a.store.Discard(e.RecordID, e.Version); err != nil && !errors.Is(err, store.ErrNotFound) {
		return outFailed, fmt.Errorf("reconcile record %q version %d: discard (%s): %w", e.RecordID, e.Version, why, err)
	}
	a.log.LogAttrs(ctx, slog.LevelInfo, "pending record discarded", slog.String("recordID", e.RecordID), slog.Int("version", e.Version), slog.String("reason", why))
	return outDiscarded, nil
}

// Run reconciles at once and then every interval until ctx ends, logging
// the errors of each run; it returns when ctx ends. Run it in a goroutine
// the caller owns and stops by cancelling ctx. An interval of zero or less
// reconciles once and waits for ctx.
func (a *Anchorer) Run(ctx context.Context, interval time.Duration) {
	a.runOnce(ctx)
	if interval <= 0 {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.runOnce(ctx)
		}
	}
}

func (a *Anchorer) runOnce(ctx context.Context) {
	if _, err := a.Reconcile(ctx); err != nil && ctx.Err() == nil {
		a.log.LogAttrs(ctx, slog.LevelWarn, "reconciliation left entries pending", slog.Any("error", err))
	}
}

// ReconcileVersion resolves the pending entry of one record version now,
// exactly as Reconcile resolves each pending entry (marked anchored,
// committed again, or rolled back), for a caller that learnt, from a ledger
// event, that its transaction committed and does not want to wait for the
// next run. The Report counts that one entry: all zero when the store holds
// no pending entry for the version (nothing to do: not stored, already
// anchored or erased), Pending 1 and Skipped 1 when an Add, Amend or
// Reconcile in this process is working on the record (it will finish the
// entry). Errors: the store's errors from Get other than store.ErrNotFound
// (store.ErrInvalid for a malformed ID or version, store.ErrClosed), and,
// with Failed 1, the error that left the entry pending (the ledger
// unreachable, say; a later run retries it); ctx's error.
func (a *Anchorer) ReconcileVersion(ctx context.Context, recordID string, version int) (Report, error) {
	start := a.now()
	var rep Report
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	e, err := a.store.Get(recordID, version)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return rep, nil
	case err != nil:
		return rep, fmt.Errorf("reconcile record %q version %d: %w", recordID, version, err)
	case e.State != store.StatePending:
		return rep, nil
	}
	rep.Pending = 1
	release, ok := a.claim(recordID)
	if !ok {
		rep.Skipped = 1
		return rep, nil
	}
	out, err := a.reconcileEntry(ctx, e)
	release()
	switch out {
	case outAnchored:
		rep.Anchored = 1
	case outRecommitted:
		rep.Recommitted = 1
	case outDiscarded:
		rep.Discarded = 1
	default:
		rep.Failed = 1
	}
	rep.Duration = a.now().Sub(start)
	return rep, err
}
