package follow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/internal/ledger"
)

// submitConcurrently registers n patients from n goroutines, so that
// blocks hold several transactions.
func (e *env) submitConcurrently(t *testing.T, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { e.registerPatient(t) })
	}
	wg.Wait()
}

// TestRestartContinuity runs a follower, stops it in the middle of the
// stream, commits more transactions while it is stopped, and runs a second
// follower from the saved checkpoint: after dropping the replays of
// at-least-once delivery, every event was handled exactly once, in commit
// order, and none was skipped.
func TestRestartContinuity(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(e.dir, "store", "event-checkpoint.json")
	start, _, err := Start(context.Background(), path, e.height)
	if err != nil {
		t.Fatal(err)
	}
	e.submitConcurrently(t, 12)

	// The first run crashes while handling its 9th event: checkpoints are
	// saved every 3 events, so the file holds the one after the 6th, and
	// the crash prevents the save at stop (the file is put back as it was
	// when the crash came). The 7th and 8th events are handled again.
	const stopAt = 8
	ctx1, cancel1 := context.WithCancel(context.Background())
	var atCrash []byte
	first := &recorder{onEvent: func(_ context.Context, _ ledger.Event, n int) bool {
		if n == stopAt {
			var err error
			if atCrash, err = os.ReadFile(path); err != nil {
				t.Error(err)
			}
			cancel1()
			return false
		}
		return true
	}}
	f1, err := New(e.ledger, path, start, first, WithSave(3, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := f1.Run(ctx1); err != nil {
		t.Fatal(err)
	}
	if n := len(first.handled()); n != stopAt {
		t.Fatalf("first run handled %d events, want %d", n, stopAt)
	}
	if err := os.WriteFile(path, atCrash, 0o600); err != nil {
		t.Fatal(err)
	}

	// New transactions while the gateway is down.
	e.submitConcurrently(t, 6)
	truth := e.allEvents(t, start)
	if len(truth) != 19 {
		t.Fatalf("the ledger holds %d events after the start, want 19 (with the sentinel)", len(truth))
	}

	saved, found, err := ReadCheckpoint(path)
	if err != nil || !found {
		t.Fatalf("ReadCheckpoint = %v, %v", found, err)
	}
	second := &recorder{}
	f2, err := New(e.ledger, path, saved, second, WithSave(3, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	stop := run(f2)
	last := truth[len(truth)-1].TxID
	eventually(t, "the second run to reach the last event", func() bool {
		h := second.handled()
		return len(h) > 0 && h[len(h)-1].TxID == last
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// Each run handled a contiguous stretch of the truth, and the second
	// began no later than right after the first's last event.
	index := map[string]int{}
	for i, ev := range truth {
		index[ev.TxID] = i
	}
	pos := func(run string, evs []ledger.Event) (int, int) {
		t.Helper()
		if len(evs) == 0 {
			t.Fatalf("%s run handled nothing", run)
		}
		lo := index[evs[0].TxID]
		for i, ev := range evs {
			if j, ok := index[ev.TxID]; !ok || j != lo+i || truth[j].Block != ev.Block || truth[j].Name != ev.Name || !bytes.Equal(truth[j].Payload, ev.Payload) {
				t.Fatalf("%s run: event %d (%s) is not the truth's event %d", run, i, ev.TxID, lo+i)
			}
		}
		return lo, lo + len(evs) - 1
	}
	lo1, hi1 := pos("first", first.handled())
	lo2, hi2 := pos("second", second.handled())
	if lo1 != 0 || lo2 > hi1+1 || hi2 != len(truth)-1 {
		t.Errorf("first run handled %d..%d, second %d..%d of 0..%d: events skipped", lo1, hi1, lo2, hi2, len(truth)-1)
	}
	if want := 6; lo2 != want {
		t.Errorf("the second run began at event %d, want %d (after the last saved checkpoint)", lo2, want)
	}
	var merged []string
	seen := map[string]bool{}
	for _, ev := range append(first.handled(), second.handled()...) {
		if !seen[ev.TxID] {
			seen[ev.TxID] = true
			merged = append(merged, ev.TxID)
		}
	}
	for i, ev := range truth {
		if i >= len(merged) || merged[i] != ev.TxID {
			t.Fatalf("after dropping replays, event %d is not the ledger's", i)
		}
	}
	if len(merged) != len(truth) {
		t.Errorf("handled %d distinct events, want %d", len(merged), len(truth))
	}
	if cp, _, _ := ReadCheckpoint(path); cp != truth[len(truth)-1].Checkpoint() {
		t.Errorf("final checkpoint = %+v, want after the last event %+v", cp, truth[len(truth)-1].Checkpoint())
	}
}

// flaky is a ledger whose event streams fail: Events returns an error the
// first failOpen times, and the stream it returns after that is cut once
// after cutAfter events.
type flaky struct {
	ledger.Ledger
	mu       sync.Mutex
	failOpen int
	cutAfter int
	opens    int
}

func (l *flaky) Events(ctx context.Context, from ledger.Checkpoint) (<-chan ledger.Event, error) {
	l.mu.Lock()
	l.opens++
	if l.failOpen > 0 {
		l.failOpen--
		l.mu.Unlock()
		return nil, ledger.ErrClosed
	}
	cut := l.cutAfter
	l.cutAfter = 0
	l.mu.Unlock()
	sctx, cancel := context.WithCancel(ctx)
	src, err := l.Ledger.Events(sctx, from)
	if err != nil {
		cancel()
		return nil, err
	}
	out := make(chan ledger.Event)
	go func() {
		defer close(out)
		defer cancel()
		n := 0
		for ev := range src {
			if cut > 0 && n == cut {
				return
			}
			n++
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the log records with the given level.
func (b *syncBuffer) lines(t *testing.T, level string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["level"] == level {
			out = append(out, m)
		}
	}
	return out
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestStreamErrorsAreRetriedFromTheCheckpoint cuts the stream and refuses
// to open it again a few times: the follower retries from its checkpoint,
// warns once per outage, and handles every event once.
func TestStreamErrorsAreRetriedFromTheCheckpoint(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(e.dir, "cp.json")
	start, _, err := Start(context.Background(), path, e.height)
	if err != nil {
		t.Fatal(err)
	}
	e.submitConcurrently(t, 6)
	l := &flaky{Ledger: e.ledger, failOpen: 0, cutAfter: 3}
	logs := &syncBuffer{}
	rec := &recorder{}
	f, err := New(l, path, start, rec, WithBackoff(time.Millisecond, 20*time.Millisecond),
		WithLogger(slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	// After the cut, opening fails three times in a row: one outage.
	l.mu.Lock()
	l.failOpen = 0
	l.mu.Unlock()
	var once atomic.Bool
	rec.onEvent = func(_ context.Context, _ ledger.Event, n int) bool {
		if n == 2 && once.CompareAndSwap(false, true) {
			l.mu.Lock()
			l.failOpen = 3
			l.mu.Unlock()
		}
		return true
	}
	stop := run(f)
	eventually(t, "six events", func() bool { return len(rec.handled()) >= 6 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.handled()); n != 6 {
		t.Errorf("handled %d events, want each of the 6 once", n)
	}
	for i, ev := range rec.handled() {
		for _, prev := range rec.handled()[:i] {
			if prev.TxID == ev.TxID {
				t.Errorf("event %s handled twice", ev.TxID)
			}
		}
	}
	if w := logs.lines(t, "WARN"); len(w) != 1 {
		t.Errorf("%d WARN lines, want one per outage:\n%s", len(w), logs)
	}
	if i := logs.lines(t, "INFO"); len(i) != 1 || i[0]["msg"] != "ledger event stream resumed" {
		t.Errorf("INFO lines %v, want one resumption", i)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.opens != 5 {
		t.Errorf("the stream was opened %d times, want 5 (first, three refused, resumed)", l.opens)
	}
}

// TestHandlerErrorsAreRetriedThenSkipped checks that a failing event is
// retried, and skipped with an ERROR after the last attempt, while the
// following events are still handled.
func TestHandlerErrorsAreRetriedThenSkipped(t *testing.T) {
	calls, logs := failingRun(t, 3, errors.New("synthetic failure"), 1)
	if calls != 4 {
		t.Errorf("handler called %d times, want 3 for the first event and 1 for the second", calls)
	}
	if errs := logs.lines(t, "ERROR"); len(errs) != 1 || errs[0]["txID"] == "" {
		t.Errorf("ERROR lines %v, want one naming the skipped transaction", errs)
	}
}

// TestEventsThatMustBeHandledAreNotSkipped checks that an event whose
// handler fails with ErrMustHandle is tried again past the attempts after
// which another event would be skipped, with one ERROR line, and that
// neither the next event nor the checkpoint moves past it meanwhile.
func TestEventsThatMustBeHandledAreNotSkipped(t *testing.T) {
	const failures = 7 // more than WithHandleAttempts(3)
	calls, logs := failingRun(t, failures, fmt.Errorf("synthetic store failure: %w", ErrMustHandle), 2)
	if calls != failures+2 {
		t.Errorf("handler called %d times, want %d: %d failures and a success for the first event, 1 for the second", calls, failures+2, failures)
	}
	if errs := logs.lines(t, "ERROR"); len(errs) != 1 || errs[0]["txID"] == "" {
		t.Errorf("ERROR lines %v, want one naming the stalled transaction", errs)
	}
}

// failingRun follows two committed events, 3 attempts an event, with a
// handler that fails its first failures calls with fail (checking that the
// saved checkpoint has not moved meanwhile) and then succeeds, until
// wantHandled events succeeded. It returns the handler's calls and the
// follower's log.
func failingRun(t *testing.T, failures int32, fail error, wantHandled int32) (int32, *syncBuffer) {
	t.Helper()
	e := newEnv(t)
	path := filepath.Join(e.dir, "cp.json")
	start, _, err := Start(context.Background(), path, e.height)
	if err != nil {
		t.Fatal(err)
	}
	e.registerPatient(t)
	e.registerPatient(t)
	var calls, handled atomic.Int32
	h := HandlerFunc(func(ctx context.Context, ev ledger.Event) error {
		if calls.Add(1) <= failures {
			if cp, _, err := ReadCheckpoint(path); err != nil || cp != start {
				t.Errorf("checkpoint %+v (%v) while the first event fails, want %+v", cp, err, start)
			}
			return fail
		}
		handled.Add(1)
		return nil
	})
	logs := &syncBuffer{}
	f, err := New(e.ledger, path, start, h, WithHandleAttempts(3), WithBackoff(time.Millisecond, time.Millisecond),
		WithSave(1, time.Hour), WithLogger(slog.New(slog.NewJSONHandler(logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	stop := run(f)
	eventually(t, "the events handled", func() bool { return handled.Load() == wantHandled })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	return calls.Load(), logs
}

// TestFollowerMetrics checks the events counter and the checkpoint gauge.
func TestFollowerMetrics(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(e.dir, "cp.json")
	start, _, err := Start(context.Background(), path, e.height)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewMetrics(reg); err == nil {
		t.Error("registering the metrics twice succeeded")
	}
	e.registerPatient(t)
	e.registerPatient(t)
	rec := &recorder{}
	f, err := New(e.ledger, path, start, rec, WithMetrics(m), WithSave(1, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	stop := run(f)
	eventually(t, "two events", func() bool { return len(rec.handled()) == 2 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := gathered(t, reg, "medprov_ledger_events_total", "name", domain.EventPatientRegistered); got != 2 {
		t.Errorf("events{PatientRegistered} = %v, want 2", got)
	}
	if got, want := gathered(t, reg, "medprov_ledger_event_checkpoint_block", "", ""), float64(rec.handled()[1].Block); got != want {
		t.Errorf("checkpoint block = %v, want %v", got, want)
	}
}

func TestNewRefusesMissingParts(t *testing.T) {
	h := HandlerFunc(func(context.Context, ledger.Event) error { return nil })
	l := &flaky{}
	for name, tc := range map[string]struct {
		l    ledger.Ledger
		file string
		h    Handler
	}{
		"no ledger":  {nil, "cp.json", h},
		"no file":    {l, "", h},
		"no handler": {l, "cp.json", nil},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := New(tc.l, tc.file, ledger.Checkpoint{}, tc.h); err == nil {
				t.Error("New succeeded")
			}
		})
	}
}

// gathered returns the value of metric name (with label=value, if label
// is set) in reg, or -1 if there is none.
func gathered(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range fams {
		if fam.GetName() != name {
			continue
		}
		for _, m := range fam.GetMetric() {
			match := label == ""
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					match = true
				}
			}
			if !match {
				continue
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return -1
}
