package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/medprov/medprov/internal/rpccode"
)

// Workload is what Run calls. Call makes one call as worker (0 to
// Concurrency-1) and returns once its transaction committed, or with the
// error that stopped it. It must be safe for concurrent use by Concurrency
// workers.
type Workload interface {
	Call(ctx context.Context, worker int) error
}

// WorkloadFunc adapts a function to Workload.
type WorkloadFunc func(ctx context.Context, worker int) error

// Call calls f.
func (f WorkloadFunc) Call(ctx context.Context, worker int) error { return f(ctx, worker) }

// Limits and defaults of Options.
const (
	// MaxConcurrency is the most calls Run keeps in flight.
	MaxConcurrency = 65536
	// DefaultProgressInterval is how often Run writes its progress line.
	DefaultProgressInterval = time.Second
	// DefaultDrain is how long Run waits, after the measured window, for
	// the calls still in flight before it cancels them.
	DefaultDrain = time.Minute
)

// Options configures Run.
type Options struct {
	// Name names the workload in the result, e.g. "anchor".
	Name string
	// Workload is called Concurrency times at once, again and again.
	Workload Workload
	// Concurrency is the number of calls in flight: 1 to MaxConcurrency.
	Concurrency int
	// Duration is the measured window; more than 0.
	Duration time.Duration
	// Warmup runs the workload before the measured window without counting
	// it, so that the window starts with Concurrency calls in flight; 0 for
	// none.
	Warmup time.Duration
	// Drain bounds the wait, after the window, for calls still in flight;
	// they are then canceled. They are never counted. 0 means DefaultDrain.
	Drain time.Duration
	// Progress receives one line per ProgressInterval (elapsed time,
	// committed, errors, in flight, current rate); nil for none.
	Progress io.Writer
	// ProgressInterval is the time between progress lines; 0 means
	// DefaultProgressInterval.
	ProgressInterval time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// CPUTime returns the CPU time this process used so far and whether it
	// is known; nil means ProcessCPUTime.
	CPUTime func() (time.Duration, bool)
}

// Latency is the latency of one committed call, in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Result is the outcome of a run. Committed, Errors, Latency and
// Throughput count only calls that ended inside the measured window.
type Result struct {
	// Workload is Options.Name.
	Workload string `json:"workload"`
	// Concurrency is the number of calls kept in flight.
	Concurrency int `json:"concurrency"`
	// Connections is the number of gRPC connections the workload used; 0
	// when it does not say.
	Connections int `json:"connections,omitempty"`
	// Started is when the run (its warm-up, if any) started.
	Started time.Time `json:"started"`
	// WarmupSeconds is the warm-up asked for.
	WarmupSeconds float64 `json:"warmupSeconds"`
	// DurationSeconds is the measured window: Options.Duration, or less
	// when the run was interrupted.
	DurationSeconds float64 `json:"durationSeconds"`
	// Interrupted reports that ctx ended before the window did.
	Interrupted bool `json:"interrupted,omitempty"`
	// Committed counts the calls that committed.
	Committed int64 `json:"committed"`
	// Errors counts the failed calls by code: a gRPC code name such as
	// ABORTED (an MVCC conflict the gateway gave up retrying) or
	// UNAVAILABLE, a Fabric validation code such as MVCC_READ_CONFLICT, or
	// a workload's own label such as DENIED.
	Errors map[string]int64 `json:"errors"`
	// Throughput is Committed per second of the window.
	Throughput float64 `json:"throughputTxPerSec"`
	// Latency of the committed calls; zero when none committed.
	Latency Latency `json:"latencyMs"`
	// MaxInFlight is the most calls that were in flight at once.
	MaxInFlight int `json:"maxInFlight"`
	// CPUSeconds is the CPU time this process used during the window;
	// omitted when unknown. With an in-process consortium it includes the
	// gateways and the ledger.
	CPUSeconds float64 `json:"cpuSeconds,omitempty"`
}

// ErrorCount is the total of r.Errors.
func (r Result) ErrorCount() int64 {
	var n int64
	for _, c := range r.Errors {
		n += c
	}
	return n
}

// Labeled is implemented by errors that name their own code in
// Result.Errors, such as a denied access or an invalid commit.
type Labeled interface {
	error
	Label() string
}

// labeledError is an error with a label.
type labeledError struct {
	label string
	err   error
}

func (e *labeledError) Error() string { return e.label + ": " + e.err.Error() }
func (e *labeledError) Unwrap() error { return e.err }
func (e *labeledError) Label() string { return e.label }

// WithLabel returns err counted under label in Result.Errors.
func WithLabel(label string, err error) error { return &labeledError{label: label, err: err} }

// Code returns the name err is counted under in Result.Errors: its label
// (Labeled), the gRPC status code name in upper case with underscores
// (ABORTED, DEADLINE_EXCEEDED), CANCELED or DEADLINE_EXCEEDED for context
// errors, and UNKNOWN otherwise.
func Code(err error) string {
	var l Labeled
	if errors.As(err, &l) {
		return l.Label()
	}
	if s, ok := status.FromError(err); ok {
		return rpccode.Name(s.Code())
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return rpccode.Name(codes.DeadlineExceeded)
	case errors.Is(err, context.Canceled):
		return rpccode.Name(codes.Canceled)
	}
	return rpccode.Name(codes.Unknown)
}

// ErrOptions is wrapped by Run's errors about its Options.
var ErrOptions = errors.New("bench: invalid options")

// check validates o and fills in its defaults.
func (o *Options) check() error {
	switch {
	case o.Workload == nil:
		return fmt.Errorf("%w: no workload", ErrOptions)
	case o.Concurrency < 1 || o.Concurrency > MaxConcurrency:
		return fmt.Errorf("%w: concurrency: want 1 to %d, not %d", ErrOptions, MaxConcurrency, o.Concurrency)
	case o.Duration <= 0:
		return fmt.Errorf("%w: duration: want more than 0", ErrOptions)
	case o.Warmup < 0:
		return fmt.Errorf("%w: warmup: want 0 or more", ErrOptions)
	case o.Drain < 0:
		return fmt.Errorf("%w: drain: want 0 or more", ErrOptions)
	}
	if o.Drain == 0 {
		o.Drain = DefaultDrain
	}
	if o.ProgressInterval <= 0 {
		o.ProgressInterval = DefaultProgressInterval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CPUTime == nil {
		o.CPUTime = ProcessCPUTime
	}
	return nil
}

// worker is one worker's tally of the calls that ended in the window.
type worker struct {
	latencies []time.Duration
	errors    map[string]int64
}

// run is the shared state of one Run.
type run struct {
	o                     Options
	windowFrom, windowTo  time.Time
	inFlight, maxInFlight atomic.Int64
	committed, failed     atomic.Int64 // in the window
	done                  atomic.Int64 // every committed call, for the rate
}

// Run calls o.Workload with o.Concurrency calls in flight: for o.Warmup
// uncounted, then for o.Duration counted. A call counts when it ends inside
// the window; calls still in flight at its end are waited for (at most
// o.Drain, then canceled) and not counted. When ctx ends first, Run cancels
// the calls in flight, does not count those that fail because of it, and
// returns the result of the window so far (Interrupted) with ctx's error.
// Errors: ErrOptions for bad options; ctx's error.
func Run(ctx context.Context, o Options) (Result, error) {
	if err := o.check(); err != nil {
		return Result{}, err
	}
	r := &run{o: o}
	started := o.Now()
	r.windowFrom = started.Add(o.Warmup)
	r.windowTo = r.windowFrom.Add(o.Duration)

	callCtx, cancelCalls := context.WithCancel(ctx)
	defer cancelCalls()
	stop := make(chan struct{}) // closed at the window's end: start no more calls
	workers := make([]worker, o.Concurrency)
	var wg sync.WaitGroup
	for i := range workers {
		workers[i].errors = map[string]int64{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.work(callCtx, ctx, stop, i, &workers[i])
		}()
	}
	finished := make(chan struct{})
	go func() {
		wg.Wait()
		close(finished)
	}()

	var progress <-chan time.Time
	if o.Progress != nil {
		t := time.NewTicker(o.ProgressInterval)
		defer t.Stop()
		progress = t.C
	}
	warmup := time.NewTimer(o.Warmup)
	defer warmup.Stop()
	end := time.NewTimer(o.Warmup + o.Duration)
	defer end.Stop()

	var cpuFrom, cpuTo time.Duration
	cpuKnown := true
	readCPU := func(dst *time.Duration) {
		d, ok := o.CPUTime()
		*dst, cpuKnown = d, cpuKnown && ok
	}
	if o.Warmup == 0 {
		readCPU(&cpuFrom)
	}
	windowEnd := r.windowTo
	interrupted := false
	lastDone, lastTick := int64(0), started
wait:
	for {
		select {
		case <-warmup.C:
			if o.Warmup > 0 {
				readCPU(&cpuFrom)
			}
		case <-end.C:
			readCPU(&cpuTo)
			close(stop)
			break wait
		case <-ctx.Done():
			windowEnd = o.Now()
			readCPU(&cpuTo)
			interrupted = true
			close(stop)
			break wait
		case now := <-progress:
			d := r.done.Load()
			r.printProgress(now, started, d-lastDone, now.Sub(lastTick))
			lastDone, lastTick = d, now
		}
	}
	if !interrupted {
		drain := time.NewTimer(o.Drain)
		select {
		case <-finished:
		case <-drain.C:
			cancelCalls()
		case <-ctx.Done():
			cancelCalls()
		}
		drain.Stop()
	} else {
		cancelCalls()
	}
	<-finished

	res := Result{
		Workload: o.Name, Concurrency: o.Concurrency, Started: started,
		WarmupSeconds: o.Warmup.Seconds(), Interrupted: interrupted,
		Errors: map[string]int64{}, MaxInFlight: int(r.maxInFlight.Load()),
	}
	window := max(windowEnd.Sub(r.windowFrom), 0)
	res.DurationSeconds = window.Seconds()
	var all []time.Duration
	for _, w := range workers {
		all = append(all, w.latencies...)
		for code, n := range w.errors {
			res.Errors[code] += n
		}
	}
	res.Committed = int64(len(all))
	if window > 0 {
		res.Throughput = float64(res.Committed) / window.Seconds()
	}
	res.Latency = latency(all)
	if cpuKnown && window > 0 {
		res.CPUSeconds = (cpuTo - cpuFrom).Seconds()
	}
	if interrupted {
		return res, fmt.Errorf("bench interrupted after %s of the window: %w", window.Round(time.Millisecond), context.Cause(ctx))
	}
	return res, nil
}

// work is one worker: it calls the workload until stop closes or ctx
// ends, and tallies the calls that end inside the window.
func (r *run) work(callCtx, ctx context.Context, stop <-chan struct{}, i int, w *worker) {
	for {
		select {
		case <-stop:
			return
		case <-callCtx.Done():
			return
		default:
		}
		n := r.inFlight.Add(1)
		for m := r.maxInFlight.Load(); n > m && !r.maxInFlight.CompareAndSwap(m, n); m = r.maxInFlight.Load() {
		}
		t0 := r.o.Now()
		err := r.o.Workload.Call(callCtx, i)
		t1 := r.o.Now()
		r.inFlight.Add(-1)
		if err == nil {
			r.done.Add(1)
		}
		if t1.Before(r.windowFrom) || t1.After(r.windowTo) {
			continue
		}
		if err != nil && ctx.Err() != nil {
			// Failed because the run was interrupted: not the system's
			// doing.
			continue
		}
		if err != nil {
			w.errors[Code(err)]++
			r.failed.Add(1)
			continue
		}
		w.latencies = append(w.latencies, t1.Sub(t0))
		r.committed.Add(1)
	}
}

// printProgress writes one progress line.
func (r *run) printProgress(now, started time.Time, done int64, interval time.Duration) {
	phase := ""
	if now.Before(r.windowFrom) {
		phase = " (warm-up)"
	}
	rate := 0.0
	if interval > 0 {
		rate = float64(done) / interval.Seconds()
	}
	fmt.Fprintf(r.o.Progress, "%s%s  %6s  committed %d  errors %d  in flight %d  rate %.1f tx/s\n",
		r.o.Name, phase, now.Sub(started).Round(time.Second), r.committed.Load(), r.failed.Load(), r.inFlight.Load(), rate)
}

// latency summarises the latencies of committed calls: nearest-rank
// percentiles of all samples.
func latency(all []time.Duration) Latency {
	if len(all) == 0 {
		return Latency{}
	}
	slices.Sort(all)
	var sum time.Duration
	for _, d := range all {
		sum += d
	}
	return Latency{
		P50: ms(Percentile(all, 50)), P95: ms(Percentile(all, 95)), P99: ms(Percentile(all, 99)),
		Max: ms(all[len(all)-1]), Mean: ms(sum / time.Duration(len(all))),
	}
}

// Percentile returns the p-th percentile (0 < p ≤ 100) of sorted by the
// nearest-rank method: the smallest sample with at least p % of the samples
// at or below it. sorted must be sorted and not empty.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
