package ledger

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Default retry settings of NewRetrying.
const (
	DefaultMaxAttempts = 10
	DefaultBaseDelay   = 20 * time.Millisecond
	DefaultMaxDelay    = time.Second
)

// RetryOption changes a setting of NewRetrying.
type RetryOption func(*retrying)

// WithMaxAttempts bounds the commits one call makes, the first included;
// n < 1 means 1 (no retry). The default is DefaultMaxAttempts.
func WithMaxAttempts(n int) RetryOption {
	return func(r *retrying) { r.maxAttempts = max(n, 1) }
}

// WithBackoff sets the delay before the first retry (base) and the most
// any delay may be (limit); each retry doubles the delay. The default is
// DefaultBaseDelay and DefaultMaxDelay.
func WithBackoff(base, limit time.Duration) RetryOption {
	return func(r *retrying) { r.base, r.limit = base, max(base, limit) }
}

// WithCommitTimeout bounds the wait for each commit. When it passes before
// the caller's context ends, the commit status is unknown and the same
// transaction is committed again after a backoff: the backend looks it up
// before sending anything again. Zero, the default, means no bound of its
// own.
func WithCommitTimeout(d time.Duration) RetryOption {
	return func(r *retrying) { r.commitTimeout = d }
}

// WithClock replaces the clock and the sleep between attempts, for tests.
// sleep must return early with ctx's error when ctx ends.
func WithClock(now func() time.Time, sleep func(ctx context.Context, d time.Duration) error) RetryOption {
	return func(r *retrying) { r.now, r.sleep = now, sleep }
}

// WithRand replaces the source of jitter, a function returning numbers in
// [0, 1), for tests. It is called under a lock.
func WithRand(f func() float64) RetryOption {
	return func(r *retrying) { r.rand = f }
}

// retrying is a Ledger that retries commits where that is safe.
type retrying struct {
	Ledger
	maxAttempts   int
	base, limit   time.Duration
	commitTimeout time.Duration
	now           func() time.Time
	sleep         func(context.Context, time.Duration) error
	randMu        sync.Mutex
	rand          func() float64
}

// NewRetrying returns a Ledger that passes every call to l and retries
// commits where that is safe:
//
//   - Submit prepares a new transaction and commits it again when the
//     previous one was invalidated by an MVCC or phantom read conflict
//     (ErrConflict);
//   - Submit and Commit commit the same transaction again when a commit
//     timeout (WithCommitTimeout) left its status unknown, and l looks it
//     up before sending it again.
//
// Nothing else is retried: not chaincode errors, not Evaluate. Between
// attempts it waits an exponentially growing delay, jittered to between
// half and all of it. Retries stop after WithMaxAttempts attempts, giving
// the last error (Aborted for a conflict), or when the caller's context
// would end before the next attempt, giving a DeadlineExceeded (or
// Canceled) error that also matches the last attempt's error.
func NewRetrying(l Ledger, opts ...RetryOption) Ledger {
	r := &retrying{
		Ledger:      l,
		maxAttempts: DefaultMaxAttempts,
		base:        DefaultBaseDelay,
		limit:       DefaultMaxDelay,
		now:         time.Now,
		sleep:       sleepContext,
		rand:        rand.Float64,
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

func sleepContext(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *retrying) Submit(ctx context.Context, id Identity, tx string, args ...string) (*Committed, error) {
	var t *Transaction
	for attempt := 1; ; attempt++ {
		if t == nil {
			var err error
			if t, err = r.Ledger.Prepare(ctx, id, tx, args...); err != nil {
				return nil, err
			}
		}
		c, err := r.commitOnce(ctx, t)
		if err == nil || !r.retryable(ctx, err) || attempt >= r.maxAttempts {
			return c, err
		}
		if errors.Is(err, ErrConflict) {
			t = nil // invalidated: endorse a new transaction
		}
		if err := r.wait(ctx, attempt, err); err != nil {
			return nil, err
		}
	}
}

func (r *retrying) Commit(ctx context.Context, t *Transaction) (*Committed, error) {
	for attempt := 1; ; attempt++ {
		c, err := r.commitOnce(ctx, t)
		if err == nil || errors.Is(err, ErrConflict) || !r.retryable(ctx, err) || attempt >= r.maxAttempts {
			return c, err
		}
		if err := r.wait(ctx, attempt, err); err != nil {
			return nil, err
		}
	}
}

// commitOnce commits t within the commit timeout.
func (r *retrying) commitOnce(ctx context.Context, t *Transaction) (*Committed, error) {
	if r.commitTimeout <= 0 {
		return r.Ledger.Commit(ctx, t)
	}
	cctx, cancel := context.WithTimeout(ctx, r.commitTimeout)
	defer cancel()
	return r.Ledger.Commit(cctx, t)
}

// retryable reports whether err may be retried: a conflict, or an unknown
// commit status while the caller's context is still alive.
func (r *retrying) retryable(ctx context.Context, err error) bool {
	return errors.Is(err, ErrConflict) || (errors.Is(err, ErrCommitStatusUnknown) && ctx.Err() == nil)
}

// wait sleeps before attempt+1, or returns an error matching both the
// context's error and last when the context ends (or would end) first.
func (r *retrying) wait(ctx context.Context, attempt int, last error) error {
	d := r.delay(attempt)
	if deadline, ok := ctx.Deadline(); ok && r.now().Add(d).After(deadline) {
		return r.stopped(context.DeadlineExceeded, attempt, last)
	}
	if err := r.sleep(ctx, d); err != nil {
		return r.stopped(err, attempt, last)
	}
	return nil
}

// delay is the jittered backoff after attempt: base·2^(attempt-1), capped
// at the limit, times a random factor in [0.5, 1).
func (r *retrying) delay(attempt int) time.Duration {
	d := r.limit
	if shift := attempt - 1; shift < 32 && r.base<<shift < r.limit && r.base<<shift > 0 {
		d = r.base << shift
	}
	r.randMu.Lock()
	f := r.rand()
	r.randMu.Unlock()
	return d/2 + time.Duration(f*float64(d/2))
}

// stopped is the error when the caller's context ends the retries.
func (r *retrying) stopped(ctxErr error, attempts int, last error) *Error {
	e := contextError(ctxErr, "", false)
	var le *Error
	if errors.As(last, &le) {
		e.txID = le.txID
	}
	e.msg = fmt.Sprintf("%s after %d attempt(s): %s", e.msg, attempts, last.Error())
	e.cause = errors.Join(ctxErr, last)
	return e
}
