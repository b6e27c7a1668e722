package anchor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	domain "github.com/medprov/medprov/chaincode/ledger"

	"github.com/medprov/medprov/gateway/internal/ledger"
	"github.com/medprov/medprov/gateway/internal/store"
)

// firstVersion is the version AnchorRecord anchors.
const firstVersion = 1

// DefaultConflictAttempts is how many transactions Add commits at most for
// one record when read conflicts invalidate them.
const DefaultConflictAttempts = 5

// Sentinel errors; match them with errors.Is.
var (
	// ErrInvalid reports a request that the chaincode would refuse anyway;
	// nothing was stored.
	ErrInvalid = errors.New("anchor: invalid request")
	// ErrBusy reports that the record is being anchored or reconciled by
	// another call in this process.
	ErrBusy = errors.New("anchor: record is being anchored")
)

// AddRequest describes a new record to store and anchor.
type AddRequest struct {
	RecordID        string
	Patient         string
	DocType         string
	Confidentiality domain.Confidentiality
	DerivedFrom     *domain.DerivedFrom
}

// Anchored is a record version stored and anchored on the ledger. Salt is
// secret (with it and the content, anyone can link the content to the
// commitment), so Anchored redacts it when formatted or logged.
type Anchored struct {
	RecordID   string
	Version    int
	Commitment string
	TxID       string
	Block      uint64
	Salt       []byte
}

// String renders the result with the salt redacted.
func (a Anchored) String() string {
	return fmt.Sprintf("Anchored{record %q version %d commitment %s tx %s block %d salt REDACTED}", a.RecordID, a.Version, a.Commitment, a.TxID, a.Block)
}

// GoString is String, so that %#v is safe to log too.
func (a Anchored) GoString() string { return a.String() }

// LogValue renders the result for slog with the salt redacted.
func (a Anchored) LogValue() slog.Value {
	return slog.GroupValue(slog.String("recordID", a.RecordID), slog.Int("version", a.Version),
		slog.String("commitment", a.Commitment), slog.String("txID", a.TxID), slog.Uint64("block", a.Block))
}

// Option configures an Anchorer.
type Option func(*Anchorer)

// WithClock sets the clock that times reconciliations. The default is
// time.Now.
func WithClock(now func() time.Time) Option { return func(a *Anchorer) { a.now = now } }

// WithConflictAttempts sets how many transactions Add commits at most for
// one record when read conflicts invalidate them (at least 1). The default
// is DefaultConflictAttempts.
func WithConflictAttempts(n int) Option {
	return func(a *Anchorer) { a.conflictAttempts = max(1, n) }
}

// Anchorer stores records and anchors them on the ledger, crash-safely. It
// is safe for use by many goroutines.
type Anchorer struct {
	store            *store.Store
	ledger           ledger.Ledger
	log              *slog.Logger
	now              func() time.Time
	conflictAttempts int

	mu      sync.Mutex
	claimed map[string]bool

	// crash, set by tests only, simulates a crash after a step: when it
	// returns true, Add returns errCrashed at once and cleans nothing up.
	crash func(step string) bool
}

// errCrashed is what Add returns when a test simulated a crash.
var errCrashed = errors.New("anchor: simulated crash")

// New returns an Anchorer that stores records in st and anchors them on l.
// A nil logger discards logs. It does not reconcile: call Reconcile (or
// Run) before serving, so that work a crash interrupted is finished or
// rolled back.
func New(st *store.Store, l ledger.Ledger, logger *slog.Logger, opts ...Option) (*Anchorer, error) {
	if st == nil || l == nil {
		return nil, fmt.Errorf("%w: nil store or ledger", ErrInvalid)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &Anchorer{store: st, ledger: l, log: logger, now: time.Now, conflictAttempts: DefaultConflictAttempts, claimed: map[string]bool{}}
	for _, o := range opts {
		o(a)
	}
	return a, nil
}

// claim marks recordID as being worked on; it returns false if it already
// is.
func (a *Anchorer) claim(recordID string) (release func(), ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.claimed[recordID] {
		return nil, false
	}
	a.claimed[recordID] = true
	return func() {
		a.mu.Lock()
		delete(a.claimed, recordID)
		a.mu.Unlock()
	}, true
}

func (a *Anchorer) crashed(step string) bool { return a.crash != nil && a.crash(step) }

// Add stores the content read from content as version 1 of req.RecordID and
// anchors its salted commitment on the ledger with AnchorRecord, submitted
// as id. It returns once the record is stored and anchored, and the store
// entry marked anchored.
//
// Errors:
//   - ErrInvalid for a request the chaincode would refuse; nothing is
//     stored.
//   - ErrBusy if the record is being anchored or reconciled already.
//   - The store's errors from Put (store.ErrExists, store.ErrErased, the
//     reader's error, ...); nothing is stored.
//   - The ledger's chaincode errors (errors.Is with domain.ErrNotFound,
//     domain.ErrAlreadyExists, ...; status.Code gives the gRPC code) and
//     ledger.ErrConflict after the allowed attempts: the pending entry was
//     discarded, nothing stays stored.
//   - Other ledger errors, such as ledger.ErrCommitStatusUnknown or
//     ledger.ErrClosed, and a failure to mark the entry anchored: the
//     transaction may have committed, so the entry stays pending with its
//     transaction, and Reconcile later marks it anchored or discards it.
func (a *Anchorer) Add(ctx context.Context, id ledger.Identity, req AddRequest, content io.Reader) (Anchored, error) {
	label := fmt.Sprintf("anchor record %q", req.RecordID)
	ar := domain.AnchorRequest{
		RecordID: req.RecordID, Patient: req.Patient, DocType: req.DocType,
		Confidentiality: req.Confidentiality, DerivedFrom: req.DerivedFrom,
		Commitment: strings.Repeat("0", 64), // checked now, replaced after Put
	}
	if err := ar.Validate(); err != nil {
		return Anchored{}, fmt.Errorf("%s: %w: %v", label, ErrInvalid, err)
	}
	release, ok := a.claim(req.RecordID)
	if !ok {
		return Anchored{}, fmt.Errorf("%s: %w", label, ErrBusy)
	}
	defer release()

	e, err := a.store.Put(ctx, req.RecordID, firstVersion, content)
	if err != nil {
		return Anchored{}, fmt.Errorf("%s: %w", label, err)
	}
	if a.crashed("put") {
		return Anchored{}, errCrashed
	}
	ar.Commitment = e.Commitment
	return a.anchorEntry(ctx, id, label, e, domain.TxAnchorRecord, ar)
}

// anchorEntry anchors the pending entry e, just stored by Put, with the
// chaincode function fn and its single JSON argument req (carrying e's
// commitment): it prepares the transaction, persists it in the entry
// (SetPrepared) before the first Commit, commits it and marks the entry
// anchored. A chaincode rejection, a failure before anything was sent and
// too many read conflicts discard the entry; an unknown outcome leaves it
// pending, with its transaction, for Reconcile. The caller holds the
// record's claim; label prefixes errors.
func (a *Anchorer) anchorEntry(ctx context.Context, id ledger.Identity, label string, e store.Entry, fn string, req any) (Anchored, error) {
	arg, err := json.Marshal(req)
	if err != nil {
		return Anchored{}, a.discard(e, fmt.Errorf("%s: %w", label, err))
	}
	for attempt := 1; ; attempt++ {
		tx, err := a.ledger.Prepare(ctx, id, fn, string(arg))
		if err != nil {
			// Nothing was sent.
			return Anchored{}, a.discard(e, fmt.Errorf("%s: prepare: %w", label, err))
		}
		enc, err := tx.MarshalBinary()
		if err == nil {
			err = a.store.SetPrepared(e.RecordID, e.Version, enc)
		}
		if err != nil {
			return Anchored{}, a.discard(e, fmt.Errorf("%s: persist transaction %s: %w", label, tx.ID(), err))
		}
		if a.crashed("prepared") {
			return Anchored{}, errCrashed
		}
		c, err := a.ledger.Commit(ctx, tx)
		switch {
		case err == nil:
			if a.crashed("committed") {
				return Anchored{}, errCrashed
			}
			a.checkVersion(ctx, e, fn, c)
			if err := a.store.MarkAnchored(e.RecordID, e.Version, c.TxID, c.Block); err != nil {
				a.log.LogAttrs(ctx, slog.LevelWarn, "anchored on the ledger but not marked in the store; the reconciler will", slog.Any("entry", e), slog.String("txID", c.TxID), slog.Any("error", err))
				return Anchored{}, fmt.Errorf("%s: anchored in transaction %s, but: %w", label, c.TxID, err)
			}
			a.log.LogAttrs(ctx, slog.LevelDebug, "record anchored", slog.String("recordID", e.RecordID), slog.Int("version", e.Version), slog.String("txID", c.TxID), slog.Uint64("block", c.Block))
			return Anchored{RecordID: e.RecordID, Version: e.Version, Commitment: e.Commitment, TxID: c.TxID, Block: c.Block, Salt: e.Salt}, nil
		case rejected(err):
			return Anchored{}, a.discard(e, fmt.Errorf("%s: %w", label, err))
		case errors.Is(err, ledger.ErrConflict):
			// Invalidated: this transaction ID can never commit, so a new
			// transaction may replace it in the entry.
			if attempt >= a.conflictAttempts {
				return Anchored{}, a.discard(e, fmt.Errorf("%s: after %d attempts: %w", label, attempt, err))
			}
			a.log.LogAttrs(ctx, slog.LevelDebug, "anchoring transaction invalidated by a conflict; preparing another", slog.String("recordID", e.RecordID), slog.Int("version", e.Version), slog.String("txID", tx.ID()))
			continue
		default:
			// The transaction may have committed: leave it to Reconcile.
			a.log.LogAttrs(ctx, slog.LevelWarn, "anchoring outcome unknown; left pending for the reconciler", slog.Any("entry", e), slog.String("txID", tx.ID()), slog.Any("error", err))
			return Anchored{}, fmt.Errorf("%s: %w", label, err)
		}
	}
}

// checkVersion logs an error if the chaincode's result names another
// version than the entry's: AmendRecord numbers the new version itself
// (previous + 1 on the ledger), so a ledger that holds versions this store
// does not (amended elsewhere) would anchor the content under another
// number. The transaction has committed by then, so this only reports it.
// A missing or unreadable payload is not checked.
func (a *Anchorer) checkVersion(ctx context.Context, e store.Entry, fn string, c *ledger.Committed) {
	if len(c.Payload) == 0 {
		return
	}
	var rec struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(c.Payload, &rec); err != nil || rec.Version == 0 || rec.Version == e.Version {
		return
	}
	a.log.LogAttrs(ctx, slog.LevelError, "the ledger anchored the content under another version than the store holds it",
		slog.String("function", fn), slog.Any("entry", e), slog.Int("ledgerVersion", rec.Version), slog.String("txID", c.TxID))
}

// rejected reports whether err is the chaincode's refusal of a transaction,
// which was then not ordered.
func rejected(err error) bool {
	var de *domain.Error
	return errors.As(err, &de)
}

// discard rolls back the pending entry e after cause, and returns cause,
// joined with the rollback's error if it failed (then the entry stays
// pending and Reconcile retries).
func (a *Anchorer) discard(e store.Entry, cause error) error {
	if err := a.store.Discard(e.RecordID, e.Version); err != nil && !errors.Is(err, store.ErrNotFound) {
		a.log.Warn("could not discard a pending entry; the reconciler will", slog.Any("entry", e), slog.Any("error", err))
		return errors.Join(cause, err)
	}
	return cause
}
