package store

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// maxGroup is the most index updates one bbolt commit takes; calls queued
// beyond it form the next group.
const maxGroup = 256

// errUpdatePanicked is wrapped by the error of an index update whose
// function panicked.
var errUpdatePanicked = errors.New("index update panicked")

// errCommitAborted is returned to the calls of a group whose leader
// stopped without finishing it (a panic inside bbolt itself, or
// runtime.Goexit in a function).
var errCommitAborted = errors.New("index commit aborted")

// groupCommit lets concurrent index updates share one bbolt commit, and so
// its fsyncs, with a leader/follower protocol and no timer: a caller
// queues its function; if no commit is running it leads: it takes what is
// queued (at most maxGroup calls, itself first) and runs it all in one
// db.Update; calls that arrive meanwhile queue up, and when the commit is
// done the leader hands the lead to the oldest of them, which commits
// them as the next group. A lone caller therefore commits at once, alone.
//
// Each caller sees what it would see if its function had run alone, in
// its own transaction, in some serial order: when a function fails (or
// panics), the group's transaction is rolled back, the failing call is set
// aside, and the others run again as a group; the failing calls then run
// alone, each in its own transaction, after the group commits (so k
// failing calls in a group cost k rolled-back attempts and k commits of
// their own; failures are the exception: conflicts and missing entries).
// Functions may therefore run more than once and must have no effect
// outside the transaction but on variables they reset each time.
//
// Callers hold Store.mu for reading from before they queue until they
// have their result, so Close and compaction wait for every queued call.
// No goroutine is started: the leader is always one of the callers.
type groupCommit struct {
	mu      sync.Mutex
	queue   []*groupCall
	running bool // a leader is committing, or about to hand the lead on
}

// groupCall is one queued index update.
type groupCall struct {
	fn   func(*bolt.Tx) error
	err  error
	wake chan bool // receives true to lead the next group, false when err is set
}

// commitHooks observe the group commit; they are set by tests only.
type commitHooks struct {
	// queued runs after a call queued behind a running commit, with the
	// number of calls now queued.
	queued func(n int)
	// commit runs before every bbolt transaction of an update, with the
	// number of calls it holds.
	commit func(n int)
}

// withCommitHooks sets hooks that observe the group commit (tests).
func withCommitHooks(h commitHooks) Option { return func(s *Store) { s.hooks = h } }

// withoutGroupCommit makes every index update its own bbolt commit, as
// before group commit: the baseline of BenchmarkIndexUpdates.
func withoutGroupCommit() Option { return func(s *Store) { s.solo = true } }

// update runs fn in a read-write transaction of the index, possibly
// together with concurrent updates in one commit (see groupCommit), and
// returns once that commit is synced: fn's error, the commit's error, or
// ErrClosed. fn may run more than once (see groupCommit).
func (s *Store) update(fn func(*bolt.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	if s.solo {
		if s.hooks.commit != nil {
			s.hooks.commit(1)
		}
		return s.db.Update(fn)
	}
	c := &groupCall{fn: fn, wake: make(chan bool, 1)}
	g := &s.group
	g.mu.Lock()
	g.queue = append(g.queue, c)
	n, lead := len(g.queue), !g.running
	g.running = true
	g.mu.Unlock()
	if !lead {
		if s.hooks.queued != nil {
			s.hooks.queued(n)
		}
		if !<-c.wake {
			return c.err
		}
	}
	s.lead()
	return c.err
}

// lead commits the oldest queued calls as one group, delivers their
// results, and hands the lead to the oldest call still queued, if any.
// The caller holds s.mu for reading and has been made leader.
func (s *Store) lead() {
	g := &s.group
	g.mu.Lock()
	calls := slices.Clone(g.queue[:min(len(g.queue), maxGroup)])
	g.queue = slices.Delete(g.queue, 0, len(calls))
	g.mu.Unlock()

	delivered := 0
	defer func() {
		// Reached with delivered < len(calls) only if this goroutine
		// unwinds: bbolt itself panicked (functions' panics are recovered)
		// or a function called runtime.Goexit. The other callers must not
		// wait forever, nor the queue stay without a leader.
		for _, c := range calls[delivered:] {
			c.err = errCommitAborted
			c.wake <- false
		}
		g.mu.Lock()
		if len(g.queue) > 0 {
			g.queue[0].wake <- true
		} else {
			g.running = false
		}
		g.mu.Unlock()
	}()

	group, solo := s.commitGroup(calls)
	// The calls are reordered so that those delivered come first.
	calls = append(group, solo...)
	for _, c := range group {
		c.wake <- false
		delivered++
	}
	for _, c := range solo {
		c.err = s.commit([]*groupCall{c})
		c.wake <- false
		delivered++
	}
}

// commitGroup commits calls in one transaction. Every time a function
// fails the transaction is rolled back and the call set aside, and the
// remaining calls are tried again. It returns the calls committed
// together, their err set to the commit's result, and those set aside, in
// their order, to be run alone. A group of one is not set aside: its
// attempt is already a run alone.
func (s *Store) commitGroup(calls []*groupCall) (group, solo []*groupCall) {
	group = slices.Clone(calls)
	for {
		err := s.commit(group)
		var failed *groupCall
		if len(group) > 1 {
			for _, c := range group {
				if c.err != nil {
					failed = c
					break
				}
			}
		}
		if failed == nil {
			for _, c := range group {
				c.err = err
			}
			return group, solo
		}
		solo = append(solo, failed)
		group = slices.DeleteFunc(group, func(c *groupCall) bool { return c == failed })
		for _, c := range group {
			c.err = nil
		}
	}
}

// commit runs the functions of calls, in order, in one read-write
// transaction, and stops at the first that fails: then it sets that
// call's err to the function's error and rolls back. It returns what
// db.Update returns.
func (s *Store) commit(calls []*groupCall) error {
	if s.hooks.commit != nil {
		s.hooks.commit(len(calls))
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, c := range calls {
			if c.err = runUpdate(c.fn, tx); c.err != nil {
				return c.err
			}
		}
		return nil
	})
}

// runUpdate calls fn, turning a panic into an error wrapping
// errUpdatePanicked.
func runUpdate(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errUpdatePanicked, r)
		}
	}()
	return fn(tx)
}
