package ledger

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	domain "github.com/medprov/medprov/chaincode/ledger"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fakeLedger is a Ledger whose commits return scripted outcomes, one per
// call, and that counts what it was asked to do.
type fakeLedger struct {
	Ledger // nil: calls the tests do not expect panic

	mu       sync.Mutex
	outcomes []error // outcome of each Commit; nil commits; past the end: commit
	prepared int
	commits  []string // transaction ID of each Commit call
}

func (f *fakeLedger) Prepare(ctx context.Context, id Identity, tx string, args ...string) (*Transaction, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prepared++
	return &Transaction{id: fmt.Sprintf("tx-%d", f.prepared), identity: id, name: tx, args: args}, nil
}

func (f *fakeLedger) Commit(ctx context.Context, t *Transaction) (*Committed, error) {
	f.mu.Lock()
	n := len(f.commits)
	f.commits = append(f.commits, t.ID())
	var err error
	if n < len(f.outcomes) {
		err = f.outcomes[n]
	}
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return &Committed{TxID: t.ID(), Block: uint64(n + 1)}, nil
}

func (f *fakeLedger) Submit(ctx context.Context, id Identity, tx string, args ...string) (*Committed, error) {
	t, err := f.Prepare(ctx, id, tx, args...)
	if err != nil {
		return nil, err
	}
	return f.Commit(ctx, t)
}

// fakeClock is a clock that advances only when slept on.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return nil
}

func conflict(txID string) error {
	return conflictError(txID, CodeMVCCReadConflict, nil)
}

func repeat(err error, n int) []error {
	out := make([]error, n)
	for i := range out {
		out[i] = err
	}
	return out
}

func TestRetryingSubmit(t *testing.T) {
	unknown := contextError(context.DeadlineExceeded, "tx-1", true)
	tests := map[string]struct {
		outcomes []error
		opts     []RetryOption
		// wantCommits are the transaction IDs committed, in order.
		wantCommits []string
		wantCode    codes.Code
		wantIs      []error
	}{
		"a conflict is retried with a new transaction until it commits": {
			outcomes:    []error{conflict("tx-1"), conflict("tx-2")},
			wantCommits: []string{"tx-1", "tx-2", "tx-3"},
			wantCode:    codes.OK,
		},
		"conflicts past the attempts allowed are aborted": {
			outcomes:    repeat(conflict("tx"), 10),
			opts:        []RetryOption{WithMaxAttempts(3)},
			wantCommits: []string{"tx-1", "tx-2", "tx-3"},
			wantCode:    codes.Aborted, wantIs: []error{ErrConflict},
		},
		"a chaincode error is never retried": {
			outcomes:    []error{chaincodeError("NOT_FOUND: record rec-1", "tx-1")},
			wantCommits: []string{"tx-1"},
			wantCode:    codes.NotFound, wantIs: []error{domain.ErrNotFound},
		},
		"an internal chaincode error is never retried": {
			outcomes:    []error{chaincodeError("INTERNAL: boom", "tx-1")},
			wantCommits: []string{"tx-1"},
			wantCode:    codes.Internal, wantIs: []error{domain.ErrInternal},
		},
		"a closed ledger is never retried": {
			outcomes:    []error{closedError(nil)},
			wantCommits: []string{"tx-1"},
			wantCode:    codes.Unavailable, wantIs: []error{ErrClosed},
		},
		"an unknown commit status commits the same transaction again": {
			outcomes:    []error{unknown, unknown},
			wantCommits: []string{"tx-1", "tx-1", "tx-1"},
			wantCode:    codes.OK,
		},
		"one attempt allowed means no retry": {
			outcomes:    []error{conflict("tx-1")},
			opts:        []RetryOption{WithMaxAttempts(0)},
			wantCommits: []string{"tx-1"},
			wantCode:    codes.Aborted, wantIs: []error{ErrConflict},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := &fakeLedger{outcomes: tc.outcomes}
			clock := &fakeClock{now: time.Unix(0, 0)}
			opts := append([]RetryOption{WithClock(clock.Now, clock.Sleep), WithRand(rand.New(rand.NewPCG(1, 2)).Float64)}, tc.opts...)
			c, err := NewRetrying(f, opts...).Submit(context.Background(), Identity{}, "RequestAccess", "{}")
			if got := status.Code(err); got != tc.wantCode {
				t.Fatalf("status.Code = %v, want %v (error: %v)", got, tc.wantCode, err)
			}
			for _, target := range tc.wantIs {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(%v, %v) = false", err, target)
				}
			}
			if fmt.Sprint(f.commits) != fmt.Sprint(tc.wantCommits) {
				t.Errorf("commits = %v, want %v", f.commits, tc.wantCommits)
			}
			if err == nil && c.TxID != tc.wantCommits[len(tc.wantCommits)-1] {
				t.Errorf("committed %s, want the last one", c.TxID)
			}
			if len(clock.sleeps) != len(tc.wantCommits)-1 {
				t.Errorf("slept %d times between %d commits", len(clock.sleeps), len(tc.wantCommits))
			}
		})
	}
}

func TestRetryingBackoffIsJitteredAndExponential(t *testing.T) {
	f := &fakeLedger{outcomes: repeat(conflict("tx"), 8)}
	clock := &fakeClock{now: time.Unix(0, 0)}
	l := NewRetrying(f, WithClock(clock.Now, clock.Sleep), WithRand(rand.New(rand.NewPCG(7, 7)).Float64),
		WithBackoff(10*time.Millisecond, 200*time.Millisecond), WithMaxAttempts(9))
	if _, err := l.Submit(context.Background(), Identity{}, "RequestAccess"); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{10, 20, 40, 80, 160, 200, 200, 200}
	if len(clock.sleeps) != len(want) {
		t.Fatalf("slept %v, want %d sleeps", clock.sleeps, len(want))
	}
	for i, d := range clock.sleeps {
		full := want[i] * time.Millisecond
		if d < full/2 || d >= full {
			t.Errorf("sleep %d = %v, want in [%v, %v)", i, d, full/2, full)
		}
	}
}

func TestRetryingStopsAtTheContextDeadline(t *testing.T) {
	f := &fakeLedger{outcomes: repeat(conflict("tx"), 1000)}
	deadline := time.Now().Add(time.Hour)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	// The fake clock starts one second before the deadline.
	clock := &fakeClock{now: deadline.Add(-time.Second)}
	l := NewRetrying(f, WithClock(clock.Now, clock.Sleep), WithRand(rand.New(rand.NewPCG(3, 4)).Float64),
		WithBackoff(50*time.Millisecond, time.Second), WithMaxAttempts(1000))
	_, err := l.Submit(ctx, Identity{}, "RequestAccess")
	if got := status.Code(err); got != codes.DeadlineExceeded {
		t.Fatalf("status.Code = %v, want DeadlineExceeded (error: %v)", got, err)
	}
	for _, target := range []error{context.DeadlineExceeded, ErrConflict} {
		if !errors.Is(err, target) {
			t.Errorf("errors.Is(%v, %v) = false", err, target)
		}
	}
	if clock.Now().After(deadline) {
		t.Errorf("slept past the deadline: %v", clock.sleeps)
	}
	if n := len(f.commits); n < 2 || n > 10 {
		t.Errorf("committed %d times in one second of backoff, want a few", n)
	}
}

func TestRetryingStopsWhenTheCallerCancels(t *testing.T) {
	f := &fakeLedger{outcomes: repeat(conflict("tx"), 1000)}
	ctx, cancel := context.WithCancel(context.Background())
	sleeps := 0
	sleep := func(ctx context.Context, d time.Duration) error {
		if sleeps++; sleeps == 2 {
			cancel()
		}
		return ctx.Err()
	}
	_, err := NewRetrying(f, WithClock(time.Now, sleep), WithMaxAttempts(1000)).Submit(ctx, Identity{}, "RequestAccess")
	if got := status.Code(err); got != codes.Canceled {
		t.Fatalf("status.Code = %v, want Canceled (error: %v)", got, err)
	}
	if len(f.commits) != 2 {
		t.Errorf("committed %d times, want 2", len(f.commits))
	}
}

func TestRetryingCommitDoesNotReplaceAnInvalidatedTransaction(t *testing.T) {
	f := &fakeLedger{outcomes: []error{contextError(context.DeadlineExceeded, "tx-1", true), conflict("tx-1")}}
	clock := &fakeClock{now: time.Unix(0, 0)}
	l := NewRetrying(f, WithClock(clock.Now, clock.Sleep))
	tx, _ := l.Prepare(context.Background(), Identity{}, "RequestAccess")
	_, err := l.Commit(context.Background(), tx)
	if status.Code(err) != codes.Aborted || !errors.Is(err, ErrConflict) {
		t.Fatalf("Commit = %v, want the conflict", err)
	}
	if fmt.Sprint(f.commits) != "[tx-1 tx-1]" || f.prepared != 1 {
		t.Errorf("commits = %v after %d prepared, want tx-1 twice", f.commits, f.prepared)
	}
}

func TestRetryingCommitTimeoutBoundsEachAttempt(t *testing.T) {
	// The first commit blocks until its own timeout; the retry commits.
	f := &blockingOnce{}
	l := NewRetrying(f, WithCommitTimeout(10*time.Millisecond), WithBackoff(time.Millisecond, time.Millisecond))
	c, err := l.Submit(context.Background(), Identity{}, "RequestAccess")
	if err != nil {
		t.Fatal(err)
	}
	if c.TxID != "tx-1" || f.calls != 2 {
		t.Errorf("committed %s after %d calls, want tx-1 after 2", c.TxID, f.calls)
	}
}

// blockingOnce is a Ledger whose first commit waits for its context to end,
// leaving the commit status unknown.
type blockingOnce struct {
	fakeLedger
	calls int
}

func (b *blockingOnce) Commit(ctx context.Context, t *Transaction) (*Committed, error) {
	b.calls++
	if b.calls == 1 {
		<-ctx.Done()
		return nil, contextError(ctx.Err(), t.ID(), true)
	}
	return &Committed{TxID: t.ID(), Block: 1}, nil
}

func (b *blockingOnce) Submit(ctx context.Context, id Identity, tx string, args ...string) (*Committed, error) {
	panic("not used")
}
