package bench

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestLatencyPercentilesOfKnownSamples(t *testing.T) {
	// 1..1000 ms in random order: nearest-rank p50 is 500, p95 950, p99 990.
	samples := make([]time.Duration, 1000)
	for i := range samples {
		samples[i] = time.Duration(i+1) * time.Millisecond
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(samples), func(i, j int) { samples[i], samples[j] = samples[j], samples[i] })
	got := latency(samples)
	want := Latency{P50: 500, P95: 950, P99: 990, Max: 1000, Mean: 500.5}
	if got != want {
		t.Errorf("latency = %+v, want %+v", got, want)
	}
	if l := latency(nil); l != (Latency{}) {
		t.Errorf("latency of no samples = %+v, want zero", l)
	}
	one := []time.Duration{7 * time.Millisecond}
	if l := latency(one); l.P50 != 7 || l.P99 != 7 || l.Max != 7 {
		t.Errorf("latency of one sample = %+v", l)
	}
}

// fakeClock is a clock that only a scripted workload moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// script is a workload for one worker on a fake clock: call i takes
// steps[i].took and returns steps[i].err; after the script a call waits
// for its context and ends an hour later, after the window.
type script struct {
	clock *fakeClock
	steps []step
	next  atomic.Int64
}

type step struct {
	took time.Duration
	err  error
}

func (s *script) Call(ctx context.Context, _ int) error {
	i := int(s.next.Add(1) - 1)
	if i < len(s.steps) {
		s.clock.advance(s.steps[i].took)
		return s.steps[i].err
	}
	<-ctx.Done()
	s.clock.advance(time.Hour)
	return ctx.Err()
}

func TestRunCountsLatenciesAndErrorsByCode(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	var steps []step
	for i := 1; i <= 100; i++ {
		steps = append(steps, step{took: time.Duration(i) * time.Microsecond})
	}
	steps = append(steps,
		step{time.Microsecond, status.Error(codes.Aborted, "MVCC read conflict")},
		step{time.Microsecond, status.Error(codes.Aborted, "MVCC read conflict")},
		step{time.Microsecond, status.Error(codes.Unavailable, "gateway down")},
		step{time.Microsecond, WithLabel(LabelDenied, errors.New("no consent"))},
		step{time.Microsecond, errors.New("something else")},
	)
	w := &script{clock: clock, steps: steps}
	res, err := Run(context.Background(), Options{
		Name: "script", Workload: w, Concurrency: 1,
		Duration: 200 * time.Millisecond, Drain: time.Millisecond, Now: clock.Now,
		CPUTime: func() (time.Duration, bool) { return 0, false },
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Committed != 100 {
		t.Errorf("committed %d, want 100", res.Committed)
	}
	// 1..100 µs: nearest-rank p50 is 50 µs, p95 95 µs, p99 99 µs.
	if want := (Latency{P50: 0.05, P95: 0.095, P99: 0.099, Max: 0.1, Mean: 0.0505}); res.Latency != want {
		t.Errorf("latency %+v, want %+v", res.Latency, want)
	}
	want := map[string]int64{"ABORTED": 2, "UNAVAILABLE": 1, "DENIED": 1, "UNKNOWN": 1}
	if len(res.Errors) != len(want) {
		t.Errorf("errors %v, want %v", res.Errors, want)
	}
	for code, n := range want {
		if res.Errors[code] != n {
			t.Errorf("errors[%s] = %d, want %d (all: %v)", code, res.Errors[code], n, res.Errors)
		}
	}
	if res.ErrorCount() != 5 {
		t.Errorf("ErrorCount = %d, want 5", res.ErrorCount())
	}
	if res.Workload != "script" || res.Concurrency != 1 || res.DurationSeconds != 0.2 || res.MaxInFlight != 1 {
		t.Errorf("result %+v", res)
	}
	if res.CPUSeconds != 0 {
		t.Errorf("cpu %v, want 0 when unknown", res.CPUSeconds)
	}
	if res.Throughput != 500 { // 100 committed in a 0.2 s window
		t.Errorf("throughput %v, want 500", res.Throughput)
	}
}

func TestRunReachesTheConcurrencyAsked(t *testing.T) {
	const n = 600 // more than one connection's worth
	var arrived atomic.Int64
	all := make(chan struct{})
	var once sync.Once
	var workers sync.Map
	w := WorkloadFunc(func(ctx context.Context, worker int) error {
		workers.Store(worker, true)
		if arrived.Add(1) == n {
			once.Do(func() { close(all) })
		}
		select {
		case <-all: // every worker had a call in flight at once
		case <-ctx.Done():
			return ctx.Err()
		}
		time.Sleep(time.Millisecond)
		return nil
	})
	res, err := Run(context.Background(), Options{Name: "barrier", Workload: w, Concurrency: n, Duration: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.MaxInFlight != n {
		t.Errorf("at most %d calls in flight, want %d", res.MaxInFlight, n)
	}
	seen := 0
	workers.Range(func(_, _ any) bool { seen++; return true })
	if seen != n {
		t.Errorf("%d workers called, want %d", seen, n)
	}
	if res.Committed == 0 || res.ErrorCount() != 0 {
		t.Errorf("committed %d, errors %v", res.Committed, res.Errors)
	}
}

func TestRunRespectsWarmupAndDuration(t *testing.T) {
	var calls atomic.Int64
	w := WorkloadFunc(func(ctx context.Context, _ int) error {
		calls.Add(1)
		time.Sleep(2 * time.Millisecond)
		return nil
	})
	var progress bytes.Buffer
	start := time.Now()
	res, err := Run(context.Background(), Options{
		Name: "sleep", Workload: w, Concurrency: 4,
		Warmup: 150 * time.Millisecond, Duration: 300 * time.Millisecond,
		Progress: &progress, ProgressInterval: 50 * time.Millisecond,
	})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if elapsed < 450*time.Millisecond || elapsed > 3*time.Second {
		t.Errorf("Run took %s, want about 450ms", elapsed)
	}
	if res.DurationSeconds != 0.3 || res.WarmupSeconds != 0.15 {
		t.Errorf("window %vs after %vs warm-up, want 0.3 after 0.15", res.DurationSeconds, res.WarmupSeconds)
	}
	// The warm-up's calls are made but not counted.
	if res.Committed == 0 || res.Committed >= calls.Load() {
		t.Errorf("committed %d of %d calls; want some, and fewer than all", res.Committed, calls.Load())
	}
	if got := res.Throughput * 0.3; got < float64(res.Committed)-0.5 || got > float64(res.Committed)+0.5 {
		t.Errorf("throughput %v for %d committed in 0.3 s", res.Throughput, res.Committed)
	}
	if res.Latency.P50 < 2 || res.Latency.Max < res.Latency.P99 || res.Latency.P99 < res.Latency.P95 || res.Latency.P95 < res.Latency.P50 {
		t.Errorf("latency %+v", res.Latency)
	}
	lines := strings.Split(strings.TrimSpace(progress.String()), "\n")
	if len(lines) < 4 || !strings.Contains(lines[0], "sleep (warm-up)") || !strings.Contains(lines[len(lines)-1], "in flight") || !strings.Contains(lines[len(lines)-1], "tx/s") {
		t.Errorf("progress lines:\n%s", progress.String())
	}
	if res.Started.IsZero() || res.Started.After(start.Add(time.Second)) {
		t.Errorf("started %v", res.Started)
	}
}

func TestRunStopsWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	w := WorkloadFunc(func(ctx context.Context, _ int) error {
		select {
		case <-time.After(5 * time.Millisecond):
			return nil
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	})
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	res, err := Run(ctx, Options{Name: "cancel", Workload: w, Concurrency: 8, Duration: time.Minute})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("Run took %s after the cancel", time.Since(start))
	}
	if !res.Interrupted || res.DurationSeconds < 0.15 || res.DurationSeconds > 2 {
		t.Errorf("interrupted %v after %vs, want true after about 0.2s", res.Interrupted, res.DurationSeconds)
	}
	if res.Committed == 0 || res.Errors["CANCELED"] != 0 {
		t.Errorf("committed %d, errors %v; calls canceled by the interruption must not count", res.Committed, res.Errors)
	}
}

func TestRunRefusesBadOptions(t *testing.T) {
	ok := WorkloadFunc(func(context.Context, int) error { return nil })
	tests := map[string]struct {
		o    Options
		want string
	}{
		"no workload is refused":           {Options{Concurrency: 1, Duration: time.Second}, "workload"},
		"zero concurrency is refused":      {Options{Workload: ok, Duration: time.Second}, "concurrency"},
		"huge concurrency is refused":      {Options{Workload: ok, Concurrency: MaxConcurrency + 1, Duration: time.Second}, "concurrency"},
		"a zero duration is refused":       {Options{Workload: ok, Concurrency: 1}, "duration"},
		"a negative warm-up is refused":    {Options{Workload: ok, Concurrency: 1, Duration: time.Second, Warmup: -1}, "warmup"},
		"a negative drain time is refused": {Options{Workload: ok, Concurrency: 1, Duration: time.Second, Drain: -1}, "drain"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Run(context.Background(), tc.o)
			if !errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrOptions naming %s", err, tc.want)
			}
		})
	}
}

func TestCode(t *testing.T) {
	tests := map[string]struct {
		err  error
		want string
	}{
		"a gRPC status is its code name":      {status.Error(codes.DeadlineExceeded, "slow"), "DEADLINE_EXCEEDED"},
		"a wrapped status is its code name":   {errors.Join(errors.New("ctx"), status.Error(codes.NotFound, "x")), "NOT_FOUND"},
		"a label wins":                        {WithLabel("MVCC_READ_CONFLICT", status.Error(codes.Aborted, "x")), "MVCC_READ_CONFLICT"},
		"a context deadline is its code name": {context.DeadlineExceeded, "DEADLINE_EXCEEDED"},
		"a canceled context is CANCELED":      {context.Canceled, "CANCELED"},
		"anything else is UNKNOWN":            {errors.New("boom"), "UNKNOWN"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Code(tc.err); got != tc.want {
				t.Errorf("Code = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestConnections(t *testing.T) {
	for conc, want := range map[int]int{1: 1, 512: 1, 513: 2, 1024: 2, 2048: 4, 2049: 5} {
		if got := Connections(conc); got != want {
			t.Errorf("Connections(%d) = %d, want %d", conc, got, want)
		}
	}
	gws := make([]Gateway, Connections(2048))
	perConn := map[int]int{}
	for w := range 2048 {
		for i := range gws {
			if &gws[i] == &gws[(w/StreamsPerConnection)%len(gws)] {
				perConn[i]++
			}
		}
	}
	for i, n := range perConn {
		if n > StreamsPerConnection {
			t.Errorf("connection %d carries %d workers", i, n)
		}
	}
}

func TestContentIsDistinctPerCall(t *testing.T) {
	var s [32]byte
	a, b := make([]byte, ContentSize), make([]byte, ContentSize)
	content(a, s, 1)
	content(b, s, 2)
	if bytes.Equal(a, b) || bytes.Equal(a[8:], b[8:]) {
		t.Error("two calls got the same content")
	}
	if a[7] != 1 || b[7] != 2 {
		t.Errorf("the call number is not in the first 8 bytes: % x, % x", a[:8], b[:8])
	}
	c := make([]byte, ContentSize)
	content(c, s, 1)
	if !bytes.Equal(a, c) {
		t.Error("the same seed and call gave different content")
	}
}
