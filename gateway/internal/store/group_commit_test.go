package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	bolt "go.etcd.io/bbolt"
)

// commitGate observes a store's group commit through its hooks: it
// records the size of every bbolt commit, reports every call that queues
// behind a running commit, and can hold the next commit until released,
// so that a test decides which calls form a group and in what order.
type commitGate struct {
	mu     sync.Mutex
	sizes  []int
	hold   chan struct{} // if set, the next commit closes held and waits for it to close
	held   chan struct{}
	queued chan int
}

func newCommitGate() *commitGate { return &commitGate{queued: make(chan int, 4096)} }

func (g *commitGate) hooks() commitHooks {
	return commitHooks{
		queued: func(n int) { g.queued <- n },
		commit: func(n int) {
			g.mu.Lock()
			g.sizes = append(g.sizes, n)
			hold, held := g.hold, g.held
			g.hold = nil
			g.mu.Unlock()
			if hold != nil {
				close(held)
				<-hold
			}
		},
	}
}

// commits returns the sizes of the commits so far, and forgets them.
func (g *commitGate) commits() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := g.sizes
	g.sizes = nil
	return out
}

// holdCommits starts an update that writes nothing and holds its commit
// open, and returns once the commit has started; calls made meanwhile
// queue behind it. release lets it finish, checks its result and returns
// once it has.
func (g *commitGate) holdCommits(t *testing.T, s *Store) (release func()) {
	t.Helper()
	hold, held := make(chan struct{}), make(chan struct{})
	g.mu.Lock()
	g.hold, g.held = hold, held
	g.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- s.update(func(*bolt.Tx) error { return nil }) }()
	<-held
	return func() {
		t.Helper()
		close(hold)
		if err := <-done; err != nil {
			t.Errorf("holding update: %v", err)
		}
	}
}

// enqueue starts op on a goroutine and returns once op's index update
// has queued behind the held commit, so calls queue in enqueue order.
func (g *commitGate) enqueue(t *testing.T, op func() error) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- op() }()
	select {
	case <-g.queued:
	case err := <-done:
		t.Fatalf("call returned (%v) without queueing behind the held commit", err)
	}
	return done
}

func newGatedStore(t *testing.T, opts ...Option) (*Store, *FileKeyring, *commitGate) {
	t.Helper()
	g := newCommitGate()
	s, keys, _ := newTestStore(t, append(opts, withCommitHooks(g.hooks()))...)
	return s, keys, g
}

var (
	testBucket = []byte("group-test")
	errTest    = errors.New("synthetic failure")
)

// writeKey returns an update that stores value under key in the test bucket.
func writeKey(key, value string) func(*bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(testBucket)
		if err != nil {
			return err
		}
		return b.Put([]byte(key), []byte(value))
	}
}

// insertKey is writeKey that fails with ErrExists if key is set.
func insertKey(key, value string) func(*bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		if b := tx.Bucket(testBucket); b != nil && b.Get([]byte(key)) != nil {
			return ErrExists
		}
		return writeKey(key, value)(tx)
	}
}

// readKeys returns the test bucket's contents.
func readKeys(t *testing.T, s *Store) map[string]string {
	t.Helper()
	got := map[string]string{}
	if err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(testBucket)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error { got[string(k)] = string(v); return nil })
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestConcurrentUpdatesShareCommits(t *testing.T) {
	tests := map[string]struct {
		calls int
		want  []int // sizes of the commits after the held one
	}{
		"two queued calls share one commit":          {2, []int{2}},
		"a hundred queued calls share one commit":    {100, []int{100}},
		"a full group is one commit":                 {maxGroup, []int{maxGroup}},
		"calls beyond the cap form the next group":   {maxGroup + 1, []int{maxGroup, 1}},
		"twice the cap and more makes three commits": {2*maxGroup + 3, []int{maxGroup, maxGroup, 3}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s, _, g := newGatedStore(t)
			release := g.holdCommits(t, s)
			var results []<-chan error
			want := map[string]string{}
			for i := range tc.calls {
				k := fmt.Sprintf("k%04d", i)
				want[k] = "v" + k
				results = append(results, g.enqueue(t, func() error { return s.update(writeKey(k, "v"+k)) }))
			}
			release()
			for i, r := range results {
				if err := <-r; err != nil {
					t.Errorf("call %d: %v", i, err)
				}
			}
			if got := g.commits(); !slices.Equal(got, append([]int{1}, tc.want...)) {
				t.Errorf("commit sizes = %v, want the held commit then %v", got, tc.want)
			}
			if got := readKeys(t, s); len(got) != len(want) {
				t.Errorf("%d keys stored, want %d", len(got), len(want))
			} else {
				for k, v := range want {
					if got[k] != v {
						t.Errorf("key %s = %q, want %q", k, got[k], v)
					}
				}
			}
		})
	}
}

func TestFailingUpdateInAGroup(t *testing.T) {
	tests := map[string]struct {
		fns     []func(*bolt.Tx) error // queued in this order behind a held commit
		want    []error                // each call's result
		keys    map[string]string      // the test bucket afterwards
		commits []int                  // sizes of the commits after the held one
	}{
		"a failing call gets its error and the others' writes land": {
			fns: []func(*bolt.Tx) error{
				writeKey("a", "1"),
				func(tx *bolt.Tx) error {
					if err := writeKey("x", "partial")(tx); err != nil {
						return err
					}
					return errTest
				},
				writeKey("b", "2"),
			},
			want:    []error{nil, errTest, nil},
			keys:    map[string]string{"a": "1", "b": "2"},
			commits: []int{3, 2, 1},
		},
		"a panicking call gets an error and the others' writes land": {
			fns: []func(*bolt.Tx) error{
				writeKey("a", "1"),
				func(tx *bolt.Tx) error {
					if err := writeKey("x", "partial")(tx); err != nil {
						return err
					}
					panic("synthetic panic")
				},
				writeKey("b", "2"),
			},
			want:    []error{nil, errUpdatePanicked, nil},
			keys:    map[string]string{"a": "1", "b": "2"},
			commits: []int{3, 2, 1},
		},
		"a call that fails in the group but not alone succeeds": {
			fns: []func(*bolt.Tx) error{
				func(tx *bolt.Tx) error {
					if b := tx.Bucket(testBucket); b == nil || b.Get([]byte("k")) == nil {
						return ErrNotFound
					}
					return writeKey("after-k", "1")(tx)
				},
				writeKey("k", "v"),
			},
			want:    []error{nil, nil},
			keys:    map[string]string{"k": "v", "after-k": "1"},
			commits: []int{2, 1, 1},
		},
		"conflicting calls are decided in queue order": {
			fns:     []func(*bolt.Tx) error{insertKey("k", "first"), insertKey("k", "second"), writeKey("other", "1")},
			want:    []error{nil, ErrExists, nil},
			keys:    map[string]string{"k": "first", "other": "1"},
			commits: []int{3, 2, 1},
		},
		"every call failing gets its own error": {
			fns: []func(*bolt.Tx) error{
				func(*bolt.Tx) error { return ErrNotFound },
				func(*bolt.Tx) error { return ErrExists },
				func(*bolt.Tx) error { return ErrErased },
			},
			want:    []error{ErrNotFound, ErrExists, ErrErased},
			keys:    map[string]string{},
			commits: []int{3, 2, 1, 1, 1},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s, _, g := newGatedStore(t)
			release := g.holdCommits(t, s)
			var results []<-chan error
			for _, fn := range tc.fns {
				results = append(results, g.enqueue(t, func() error { return s.update(fn) }))
			}
			release()
			for i, r := range results {
				err := <-r
				if tc.want[i] == nil && err != nil || !errors.Is(err, tc.want[i]) {
					t.Errorf("call %d = %v, want %v", i, err, tc.want[i])
				}
			}
			if got := g.commits(); !slices.Equal(got, append([]int{1}, tc.commits...)) {
				t.Errorf("commit sizes = %v, want the held commit then %v", got, tc.commits)
			}
			if got := readKeys(t, s); len(got) != len(tc.keys) {
				t.Errorf("test bucket = %v, want %v", got, tc.keys)
			} else {
				for k, v := range tc.keys {
					if got[k] != v {
						t.Errorf("test bucket = %v, want %v", got, tc.keys)
						break
					}
				}
			}
		})
	}
}

// TestStoreOperationsRerunInAGroup puts each operation's index update in a
// group with a failing update queued after it, so that its function runs
// in a transaction that is rolled back and then again: the result must be
// the one it gets alone.
func TestStoreOperationsRerunInAGroup(t *testing.T) {
	ctx := context.Background()
	tests := map[string]struct {
		setup func(t *testing.T, s *Store, keys *FileKeyring)
		op    func(s *Store) error
		want  error
		check func(t *testing.T, s *Store)
	}{
		"Put stores the entry once": {
			op: func(s *Store) error {
				_, err := s.Put(ctx, "rec-g", 1, bytes.NewReader(content("rec-g", 3000)))
				return err
			},
			check: func(t *testing.T, s *Store) {
				if got := readAll(t, s, "rec-g", 1); !bytes.Equal(got, content("rec-g", 3000)) {
					t.Error("content differs")
				}
				if p, err := s.Pending(ctx); err != nil || len(p) != 1 {
					t.Errorf("Pending = %v, %v; want the one entry", p, err)
				}
			},
		},
		"SetPrepared stores the transaction": {
			setup: func(t *testing.T, s *Store, _ *FileKeyring) { put(t, s, "rec-g", 1, []byte("x")) },
			op:    func(s *Store) error { return s.SetPrepared("rec-g", 1, []byte("prepared-tx")) },
			check: func(t *testing.T, s *Store) {
				if e, err := s.Get("rec-g", 1); err != nil || string(e.Prepared) != "prepared-tx" {
					t.Errorf("Prepared = %q, %v", e.Prepared, err)
				}
			},
		},
		"MarkAnchored anchors the entry": {
			setup: func(t *testing.T, s *Store, _ *FileKeyring) { put(t, s, "rec-g", 1, []byte("x")) },
			op:    func(s *Store) error { return s.MarkAnchored("rec-g", 1, "tx-g", 9) },
			check: func(t *testing.T, s *Store) {
				if e, err := s.Get("rec-g", 1); err != nil || e.State != StateAnchored || e.TxID != "tx-g" || e.Block != 9 {
					t.Errorf("Get = %+v, %v", e, err)
				}
			},
		},
		"MarkAnchored with another transaction conflicts": {
			setup: func(t *testing.T, s *Store, _ *FileKeyring) {
				put(t, s, "rec-g", 1, []byte("x"))
				if err := s.MarkAnchored("rec-g", 1, "tx-first", 3); err != nil {
					t.Fatal(err)
				}
			},
			op:   func(s *Store) error { return s.MarkAnchored("rec-g", 1, "tx-second", 4) },
			want: ErrExists,
			check: func(t *testing.T, s *Store) {
				if e, err := s.Get("rec-g", 1); err != nil || e.TxID != "tx-first" {
					t.Errorf("Get = %+v, %v", e, err)
				}
			},
		},
		"Discard deletes the entry": {
			setup: func(t *testing.T, s *Store, _ *FileKeyring) { put(t, s, "rec-g", 1, []byte("x")) },
			op:    func(s *Store) error { return s.Discard("rec-g", 1) },
			check: func(t *testing.T, s *Store) {
				if _, err := s.Get("rec-g", 1); !errors.Is(err, ErrNotFound) {
					t.Errorf("Get after Discard = %v", err)
				}
			},
		},
		"Erase leaves tombstones": {
			setup: func(t *testing.T, s *Store, _ *FileKeyring) {
				put(t, s, "rec-g", 1, []byte("x"))
				put(t, s, "rec-g", 2, []byte("y"))
			},
			op: func(s *Store) error { return s.Erase("rec-g") },
			check: func(t *testing.T, s *Store) {
				for v := 1; v <= 2; v++ {
					if e, err := s.Get("rec-g", v); err != nil || e.State != StateErased || e.Salt != nil {
						t.Errorf("version %d: Get = %+v, %v", v, e, err)
					}
				}
			},
		},
		"RewrapAll counts one rewrap": {
			setup: func(t *testing.T, s *Store, keys *FileKeyring) {
				put(t, s, "rec-g", 1, []byte("x"))
				if _, err := keys.Generate(); err != nil {
					t.Fatal(err)
				}
			},
			op: func(s *Store) error {
				n, err := s.RewrapAll(ctx)
				if err == nil && n != 1 {
					err = fmt.Errorf("RewrapAll rewrapped %d keys, want 1", n)
				}
				return err
			},
			check: func(t *testing.T, s *Store) {
				if got := readAll(t, s, "rec-g", 1); string(got) != "x" {
					t.Errorf("content after rewrap = %q", got)
				}
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s, keys, g := newGatedStore(t)
			if tc.setup != nil {
				tc.setup(t, s, keys)
			}
			g.commits()
			release := g.holdCommits(t, s)
			res := g.enqueue(t, func() error { return tc.op(s) })
			fail := g.enqueue(t, func() error { return s.update(func(*bolt.Tx) error { return errTest }) })
			release()
			if err := <-res; tc.want == nil && err != nil || !errors.Is(err, tc.want) {
				t.Fatalf("operation = %v, want %v", err, tc.want)
			}
			if err := <-fail; !errors.Is(err, errTest) {
				t.Fatalf("failing update = %v", err)
			}
			// Held; [op, failing] rolled back; [op]; failing alone.
			if got := g.commits(); !slices.Equal(got, []int{1, 2, 1, 1}) {
				t.Errorf("commit sizes = %v, want [1 2 1 1]: the operation did not run twice", got)
			}
			if tc.check != nil {
				tc.check(t, s)
			}
		})
	}
}

// TestConcurrentRecordsAllLand runs AddRecord's store calls (Put,
// SetPrepared, MarkAnchored) for many records at once.
func TestConcurrentRecordsAllLand(t *testing.T) {
	tests := map[string]struct {
		goroutines, perGoroutine int
		opts                     []Option
	}{
		"64 goroutines of 4 records each, with group commit":          {64, 4, nil},
		"16 goroutines of 4 records each, with one commit per update": {16, 4, []Option{withoutGroupCommit()}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g := newCommitGate()
			s, _, _ := newTestStore(t, append(tc.opts, withCommitHooks(commitHooks{commit: g.hooks().commit}))...)
			ctx := context.Background()
			var wg sync.WaitGroup
			errs := make(chan error, tc.goroutines*tc.perGoroutine)
			for gr := range tc.goroutines {
				wg.Go(func() {
					for i := range tc.perGoroutine {
						id := fmt.Sprintf("rec-l%d-%d", gr, i)
						if _, err := s.Put(ctx, id, 1, bytes.NewReader(content(id, 1<<10))); err != nil {
							errs <- err
							return
						}
						if err := s.SetPrepared(id, 1, []byte("prepared-"+id)); err != nil {
							errs <- err
							return
						}
						if err := s.MarkAnchored(id, 1, "tx-"+id, uint64(gr)); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			records := tc.goroutines * tc.perGoroutine
			for gr := range tc.goroutines {
				for i := range tc.perGoroutine {
					id := fmt.Sprintf("rec-l%d-%d", gr, i)
					e, err := s.Get(id, 1)
					if err != nil || e.State != StateAnchored || e.TxID != "tx-"+id || e.Block != uint64(gr) || e.Prepared != nil {
						t.Errorf("%s: Get = %+v, %v", id, e, err)
					}
				}
			}
			if c, err := s.Counts(ctx); err != nil || c != (Counts{Anchored: records}) {
				t.Errorf("Counts = %+v, %v; want %d anchored", c, err, records)
			}
			sizes := g.commits()
			sum := 0
			for _, n := range sizes {
				sum += n
			}
			// No update failed, so each ran exactly once.
			if sum != 3*records {
				t.Errorf("commits hold %d updates, want %d", sum, 3*records)
			}
			t.Logf("%d updates in %d commits", sum, len(sizes))
		})
	}
}

// TestSameRecordConflicts checks that calls on one record, serialised by
// the record's lock, still decide conflicts as before while other
// records' updates are grouped around them.
func TestSameRecordConflicts(t *testing.T) {
	ctx := context.Background()
	tests := map[string]struct {
		racers int
		setup  func(t *testing.T, s *Store, id string)
		op     func(s *Store, id string, i int) error
		check  func(t *testing.T, s *Store, id string, errs []error)
	}{
		"racing MarkAnchored with different transactions: one wins, the others get ErrExists": {
			racers: 4,
			setup:  func(t *testing.T, s *Store, id string) { put(t, s, id, 1, []byte("x")) },
			op: func(s *Store, id string, i int) error {
				return s.MarkAnchored(id, 1, fmt.Sprintf("tx-%d", i), uint64(i))
			},
			check: func(t *testing.T, s *Store, id string, errs []error) {
				winner := oneWinner(t, id, errs, ErrExists)
				if e, err := s.Get(id, 1); err != nil || e.TxID != fmt.Sprintf("tx-%d", winner) {
					t.Errorf("%s: Get = %+v, %v; want anchored by racer %d", id, e, err, winner)
				}
			},
		},
		"racing Puts of one version: one wins, the others get ErrExists": {
			racers: 4,
			op: func(s *Store, id string, i int) error {
				_, err := s.Put(ctx, id, 1, bytes.NewReader(content(fmt.Sprint(id, i), 500)))
				return err
			},
			check: func(t *testing.T, s *Store, id string, errs []error) {
				winner := oneWinner(t, id, errs, ErrExists)
				if got := readAll(t, s, id, 1); !bytes.Equal(got, content(fmt.Sprint(id, winner), 500)) {
					t.Errorf("%s: content is not the winner's", id)
				}
			},
		},
		"racing SetPrepared and MarkAnchored: anchoring wins and clears the prepared transaction": {
			racers: 2,
			setup:  func(t *testing.T, s *Store, id string) { put(t, s, id, 1, []byte("x")) },
			op: func(s *Store, id string, i int) error {
				if i == 0 {
					return s.SetPrepared(id, 1, []byte("prepared"))
				}
				return s.MarkAnchored(id, 1, "tx-"+id, 1)
			},
			check: func(t *testing.T, s *Store, id string, errs []error) {
				if errs[0] != nil && !errors.Is(errs[0], ErrNotPending) || errs[1] != nil {
					t.Errorf("%s: SetPrepared = %v, MarkAnchored = %v", id, errs[0], errs[1])
				}
				if e, err := s.Get(id, 1); err != nil || e.State != StateAnchored || e.Prepared != nil {
					t.Errorf("%s: Get = %+v, %v", id, e, err)
				}
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s, _, _ := newTestStore(t)
			const records = 16
			ids := make([]string, records)
			errs := make([][]error, records)
			for r := range ids {
				ids[r] = fmt.Sprintf("rec-same-%d", r)
				errs[r] = make([]error, tc.racers)
				if tc.setup != nil {
					tc.setup(t, s, ids[r])
				}
			}
			var wg sync.WaitGroup
			for r, id := range ids {
				for i := range tc.racers {
					wg.Go(func() { errs[r][i] = tc.op(s, id, i) })
				}
				// Other records' updates, to be grouped with the racers'.
				wg.Go(func() {
					if _, err := s.Put(ctx, "rec-other-"+id, 1, bytes.NewReader([]byte("o"))); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			for r, id := range ids {
				tc.check(t, s, id, errs[r])
			}
		})
	}
}

// oneWinner checks that exactly one of errs is nil and the others wrap
// loser, and returns the winner's index.
func oneWinner(t *testing.T, id string, errs []error, loser error) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner < 0:
			winner = i
		case err == nil:
			t.Errorf("%s: racers %d and %d both succeeded", id, winner, i)
		case !errors.Is(err, loser):
			t.Errorf("%s: racer %d = %v, want nil or %v", id, i, err, loser)
		}
	}
	if winner < 0 {
		t.Errorf("%s: no racer succeeded: %v", id, errs)
	}
	return winner
}

// TestLoneUpdateCommitsAtOnce runs a lone call in a synctest bubble, whose
// clock moves only when every goroutine in it waits: a commit that waited
// for a timer (as bbolt's Batch does, MaxBatchDelay) would return at a
// later instant. The last case is that control.
func TestLoneUpdateCommitsAtOnce(t *testing.T) {
	ctx := context.Background()
	tests := map[string]struct {
		call    func(s *Store) error
		commits []int // commits seen by the hook
		timer   bool  // the call waits for bbolt's MaxBatchDelay
	}{
		"a lone Put commits at once, alone": {
			call: func(s *Store) error {
				_, err := s.Put(ctx, "rec-lone", 2, bytes.NewReader([]byte("x")))
				return err
			},
			commits: []int{1},
		},
		"a lone MarkAnchored commits at once, alone": {
			call:    func(s *Store) error { return s.MarkAnchored("rec-lone", 1, "tx-lone", 1) },
			commits: []int{1},
		},
		"a lone failing update returns at once after one attempt": {
			call:    func(s *Store) error { return ignore(s.update(func(*bolt.Tx) error { return errTest }), errTest) },
			commits: []int{1},
		},
		"bbolt's Batch, the control, waits for its timer": {
			call:  func(s *Store) error { return s.db.Batch(writeKey("k", "v")) },
			timer: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s, _, g := newGatedStore(t)
				put(t, s, "rec-lone", 1, []byte("x"))
				g.commits()
				start := time.Now()
				if err := tc.call(s); err != nil {
					t.Fatal(err)
				}
				want := time.Duration(0)
				if tc.timer {
					want = s.db.MaxBatchDelay
				}
				if d := time.Since(start); d != want {
					t.Errorf("the call returned after %v on the bubble's clock, want %v", d, want)
				}
				if got := g.commits(); !slices.Equal(got, tc.commits) {
					t.Errorf("commit sizes = %v, want %v", got, tc.commits)
				}
			})
		})
	}
}

// ignore returns nil if err wraps want, and err otherwise (nil included,
// as an error).
func ignore(err, want error) error {
	if errors.Is(err, want) {
		return nil
	}
	return fmt.Errorf("got %v, want %v", err, want)
}

func TestCloseWaitsForQueuedUpdates(t *testing.T) {
	s, keys, g := newGatedStore(t)
	goroutines := runtime.NumGoroutine()
	release := g.holdCommits(t, s)
	var queued []<-chan error
	for i := range 3 {
		queued = append(queued, g.enqueue(t, func() error { return s.update(writeKey(fmt.Sprint("k", i), "v")) }))
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	// Close is waiting once new readers of s.mu are turned away.
	for s.mu.TryRLock() {
		s.mu.RUnlock()
		runtime.Gosched()
	}
	late := make(chan error, 1)
	go func() { late <- s.update(writeKey("late", "v")) }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while updates were queued", err)
	default:
	}
	release()
	for i, r := range queued {
		if err := <-r; err != nil {
			t.Errorf("queued update %d: %v", i, err)
		}
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-late; !errors.Is(err, ErrClosed) {
		t.Errorf("update after Close = %v, want ErrClosed", err)
	}
	if err := s.update(writeKey("later", "v")); !errors.Is(err, ErrClosed) {
		t.Errorf("update after Close = %v, want ErrClosed", err)
	}
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > goroutines; {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after Close, %d before the updates", runtime.NumGoroutine(), goroutines)
		}
		time.Sleep(time.Millisecond)
	}
	s2, err := Open(s.dir, keys)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got := readKeys(t, s2)
	if len(got) != 3 || got["k0"] != "v" || got["k1"] != "v" || got["k2"] != "v" {
		t.Errorf("after reopening, test bucket = %v, want k0, k1, k2", got)
	}
}

// TestUnwindingLeaderReleasesItsGroup makes a group's leader goroutine
// unwind inside bbolt's transaction (runtime.Goexit in a function, which
// no recover stops, as a panic inside bbolt would): the other calls of the
// group must get an error, and the store must keep working and close.
func TestUnwindingLeaderReleasesItsGroup(t *testing.T) {
	s, _, g := newGatedStore(t)
	release := g.holdCommits(t, s)
	leaderGone := make(chan struct{})
	leaderReturned := false
	go func() {
		defer close(leaderGone)
		_ = s.update(writeKey("a", "1")) // leads the group below
		leaderReturned = true
	}()
	<-g.queued
	exiting := g.enqueue(t, func() error {
		return s.update(func(*bolt.Tx) error { runtime.Goexit(); return nil })
	})
	other := g.enqueue(t, func() error { return s.update(writeKey("b", "2")) })
	release()
	<-leaderGone
	if leaderReturned {
		t.Fatal("the leader returned: its goroutine did not run the exiting function")
	}
	for name, r := range map[string]<-chan error{"the exiting call": exiting, "the other call": other} {
		if err := <-r; !errors.Is(err, errCommitAborted) {
			t.Errorf("%s = %v, want errCommitAborted", name, err)
		}
	}
	if err := s.update(writeKey("c", "3")); err != nil {
		t.Fatalf("update after the aborted group: %v", err)
	}
	if got := readKeys(t, s); len(got) != 1 || got["c"] != "3" {
		t.Errorf("test bucket = %v, want only c: the aborted group was rolled back", got)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}
