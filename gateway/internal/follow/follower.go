package follow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/medprov/medprov/gateway/internal/ledger"
)

// Defaults of a Follower.
const (
	// DefaultSaveInterval is the longest the checkpoint lags behind the
	// events handled.
	DefaultSaveInterval = time.Second
	// DefaultSaveEvery is how many handled events trigger a save.
	DefaultSaveEvery = 100
	// DefaultBaseDelay and DefaultMaxDelay bound the wait before the stream
	// is opened again after it failed.
	DefaultBaseDelay = 200 * time.Millisecond
	DefaultMaxDelay  = 30 * time.Second
	// DefaultHandleAttempts is how often an event whose handler fails is
	// tried before it is skipped.
	DefaultHandleAttempts = 3
)

// Handler acts on one event. It must be idempotent: after a restart the
// events since the last saved checkpoint are handled again. An error makes
// the Follower try the event again (a few times, then skip it with an
// ERROR log), unless it wraps ErrMustHandle: then the Follower keeps
// trying it, with capped backoff, and does not move past it; ctx's end
// stops the Follower without moving past the event.
type Handler interface {
	Handle(ctx context.Context, ev ledger.Event) error
}

// ErrMustHandle marks a handler error whose event must not be skipped: no
// other part of the gateway would do its work (an erasure the store has
// not finished). The Follower stalls on it, logging an ERROR once it has
// failed as often as a skippable event may, until it succeeds.
var ErrMustHandle = errors.New("follow: the event must be handled before the next")

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, ev ledger.Event) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, ev ledger.Event) error { return f(ctx, ev) }

// Option configures a Follower.
type Option func(*Follower)

// WithLogger sets the logger; the default discards logs.
func WithLogger(l *slog.Logger) Option { return func(f *Follower) { f.log = l } }

// WithMetrics sets the metrics the Follower updates (events and the
// checkpoint block).
func WithMetrics(m *Metrics) Option { return func(f *Follower) { f.metrics = m } }

// WithSave sets when the checkpoint is saved: after every events handled
// events (at least 1) or once interval passed since the last save with
// events handled since (at least 1ms), whichever comes first, and always
// when Run stops. The defaults are DefaultSaveEvery and
// DefaultSaveInterval.
func WithSave(every int, interval time.Duration) Option {
	return func(f *Follower) { f.saveEvery, f.saveInterval = max(every, 1), max(interval, time.Millisecond) }
}

// WithBackoff sets the delay before the stream is opened again after a
// failure (base, at least 1ms) and its cap (limit); each failure in a row
// doubles it. The defaults are DefaultBaseDelay and DefaultMaxDelay.
func WithBackoff(base, limit time.Duration) Option {
	return func(f *Follower) {
		f.base = max(base, time.Millisecond)
		f.limit = max(f.base, limit)
	}
}

// WithHandleAttempts sets how often a failing event is tried (at least 1)
// before it is skipped; the default is DefaultHandleAttempts.
func WithHandleAttempts(n int) Option { return func(f *Follower) { f.attempts = max(n, 1) } }

// WithClock replaces the clock, for tests. The default is time.Now.
func WithClock(now func() time.Time) Option { return func(f *Follower) { f.now = now } }

// Follower follows a ledger's chaincode events from a checkpoint, hands
// each to a Handler and persists the checkpoint. Run it once at a time.
type Follower struct {
	ledger  ledger.Ledger
	file    string
	handler Handler
	log     *slog.Logger
	metrics *Metrics
	now     func() time.Time

	saveEvery    int
	saveInterval time.Duration
	base, limit  time.Duration
	attempts     int

	// cp is the checkpoint after the last event handled; saved is the one
	// last written to file; outage is set from a stream failure until the
	// stream works again. Only Run's goroutine touches them.
	cp, saved ledger.Checkpoint
	outage    bool
}

// New returns a Follower of l's events that starts after the checkpoint
// from (read with ReadCheckpoint, or Start for a first start), hands each
// event to h and saves its checkpoint in file. It fails if l or h is nil
// or file is empty.
func New(l ledger.Ledger, file string, from ledger.Checkpoint, h Handler, opts ...Option) (*Follower, error) {
	if l == nil || h == nil || file == "" {
		return nil, errors.New("follow: a follower needs a ledger, a checkpoint file and a handler")
	}
	f := &Follower{
		ledger: l, file: file, handler: h, cp: from, saved: from,
		log: slog.New(slog.DiscardHandler), now: time.Now,
		saveEvery: DefaultSaveEvery, saveInterval: DefaultSaveInterval,
		base: DefaultBaseDelay, limit: DefaultMaxDelay, attempts: DefaultHandleAttempts,
	}
	for _, o := range opts {
		o(f)
	}
	f.metrics.checkpoint(from.Block)
	return f, nil
}

// Start returns the checkpoint in file or, when there is none (a first
// start), the ledger's current height from height, which it writes to
// file at once; fresh says which. Events committed before that height are
// never delivered: at a first start nothing before it concerns this
// gateway's own work, which the reconciler covers. Errors: those of
// ReadCheckpoint (a corrupt file wraps ErrCorrupt and names the file),
// height's error, and WriteCheckpoint's.
func Start(ctx context.Context, file string, height func(context.Context) (uint64, error)) (cp ledger.Checkpoint, fresh bool, err error) {
	cp, found, err := ReadCheckpoint(file)
	if err != nil || found {
		return cp, false, err
	}
	h, err := height(ctx)
	if err != nil {
		return ledger.Checkpoint{}, false, fmt.Errorf("event checkpoint %s: ledger height: %w", file, err)
	}
	// Height counts blocks, so the next block to commit is number h.
	cp = ledger.Checkpoint{Block: h}
	if err := WriteCheckpoint(file, cp); err != nil {
		return ledger.Checkpoint{}, false, err
	}
	return cp, true, nil
}

// Checkpoint returns the checkpoint after the last event handled. Call it
// only when Run is not running.
func (f *Follower) Checkpoint() ledger.Checkpoint { return f.cp }

// Run follows the events until ctx ends, then saves the checkpoint and
// returns. A failed or ended stream is opened again from the last
// checkpoint after a doubling delay capped at the backoff limit; the first
// failure of an outage is logged as a WARN, the recovery as INFO. Errors:
// only the final save's (then the checkpoint on disk is an earlier one and
// some events will be handled again at the next start).
func (f *Follower) Run(ctx context.Context) error {
	delay := f.base
	f.outage = false
	for ctx.Err() == nil {
		began := f.now()
		progressed, err := f.follow(ctx)
		if ctx.Err() != nil {
			break
		}
		if progressed || f.now().Sub(began) >= f.limit {
			// The stream worked for a while: this is a new failure.
			delay = f.base
		}
		if err == nil {
			err = errors.New("the event stream ended")
		}
		switch {
		case !f.outage && status.Code(err) == codes.InvalidArgument:
			f.log.LogAttrs(ctx, slog.LevelError, "the ledger refuses the event checkpoint; retrying. If the ledger was restored or replaced, stop the gateway and delete the checkpoint file to start at the current height",
				slog.String("file", f.file), slog.Uint64("block", f.cp.Block), slog.String("txID", f.cp.TxID), slog.String("error", err.Error()))
		case !f.outage:
			f.log.LogAttrs(ctx, slog.LevelWarn, "ledger event stream interrupted; retrying from the checkpoint",
				slog.Uint64("block", f.cp.Block), slog.String("error", err.Error()))
		default:
			f.log.LogAttrs(ctx, slog.LevelDebug, "ledger event stream still unavailable",
				slog.Duration("retryIn", delay), slog.String("error", err.Error()))
		}
		f.outage = true
		f.save(ctx)
		if !sleep(ctx, delay) {
			break
		}
		delay = min(2*delay, f.limit)
	}
	return f.saveNow()
}

// resumed ends an outage: the stream delivered an event, or stayed open
// for the backoff limit.
func (f *Follower) resumed(ctx context.Context) {
	if f.outage {
		f.outage = false
		f.log.LogAttrs(ctx, slog.LevelInfo, "ledger event stream resumed", slog.Uint64("block", f.cp.Block))
	}
}

// follow opens the stream after f.cp and handles its events until it
// closes, ctx ends or a handler stops for ctx. It reports whether any event
// was handled, and why the stream could not be opened.
func (f *Follower) follow(ctx context.Context) (progressed bool, err error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := f.ledger.Events(sctx, f.cp)
	if err != nil {
		return false, fmt.Errorf("open the event stream after block %d: %w", f.cp.Block, err)
	}
	tick := time.NewTicker(min(f.saveInterval, f.limit))
	defer tick.Stop()
	pending := 0
	opened := f.now()
	last := opened
	for {
		select {
		case <-ctx.Done():
			return progressed, nil
		case <-tick.C:
			if f.now().Sub(opened) >= f.limit {
				f.resumed(ctx)
			}
			if pending > 0 && f.now().Sub(last) >= f.saveInterval {
				f.save(ctx)
				pending, last = 0, f.now()
			}
		case ev, ok := <-events:
			if !ok {
				return progressed, nil
			}
			if !f.handle(ctx, ev) {
				return progressed, nil
			}
			progressed = true
			f.cp = ev.Checkpoint()
			f.resumed(ctx)
			f.metrics.event(ev.Name)
			pending++
			if pending >= f.saveEvery || f.now().Sub(last) >= f.saveInterval {
				f.save(ctx)
				pending, last = 0, f.now()
			}
		}
	}
}

// handle hands ev to the handler, trying a failing event f.attempts times.
// It returns false if ctx ended first; the event is then not done.
func (f *Follower) handle(ctx context.Context, ev ledger.Event) bool {
	delay := f.base
	for attempt := 1; ; attempt++ {
		err := f.handler.Handle(ctx, ev)
		if ctx.Err() != nil {
			return false
		}
		if err == nil {
			return true
		}
		switch {
		case attempt >= f.attempts && !errors.Is(err, ErrMustHandle):
			f.log.LogAttrs(ctx, slog.LevelError, "ledger event could not be handled; skipped",
				slog.String("event", ev.Name), slog.String("txID", ev.TxID), slog.Uint64("block", ev.Block),
				slog.Int("attempts", attempt), slog.String("error", err.Error()))
			f.metrics.skipped(ev.Name)
			return true
		case attempt == f.attempts:
			f.log.LogAttrs(ctx, slog.LevelError, "ledger event could not be handled; following stalls on it until it can",
				slog.String("event", ev.Name), slog.String("txID", ev.TxID), slog.Uint64("block", ev.Block),
				slog.Int("attempts", attempt), slog.String("error", err.Error()))
		}
		f.log.LogAttrs(ctx, slog.LevelDebug, "ledger event handler failed; retrying",
			slog.String("event", ev.Name), slog.String("txID", ev.TxID), slog.String("error", err.Error()))
		if !sleep(ctx, delay) {
			return false
		}
		delay = min(2*delay, f.limit)
	}
}

// save writes the checkpoint if it moved, logging a failure (the next save
// tries again; meanwhile a restart would replay a few more events).
func (f *Follower) save(ctx context.Context) {
	if err := f.saveNow(); err != nil {
		f.log.LogAttrs(ctx, slog.LevelWarn, "could not save the event checkpoint", slog.String("error", err.Error()))
	}
}

func (f *Follower) saveNow() error {
	if f.cp == f.saved {
		return nil
	}
	if err := WriteCheckpoint(f.file, f.cp); err != nil {
		return err
	}
	f.saved = f.cp
	f.metrics.checkpoint(f.cp.Block)
	return nil
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
