package follow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	domain "github.com/medprov/medprov/chaincode/ledger"

	"github.com/medprov/medprov/gateway/internal/anchor"
	"github.com/medprov/medprov/gateway/internal/ledger"
	"github.com/medprov/medprov/gateway/internal/store"
)

// eventNames is the set of known event names (the chaincode's), the
// values of the events metric's label.
var eventNames = []string{
	domain.EventRecordAnchored, domain.EventRecordAmended, domain.EventRecordErased,
	domain.EventPatientRegistered, domain.EventPatientKeyRotated, domain.EventConsentGranted, domain.EventConsentRevoked,
	domain.EventAccessDecided, domain.EventAccessLogged, domain.EventOrgEndpointSet,
	domain.EventBaselinePut,
}

// eventLabel bounds the metric label to the known names.
func eventLabel(name string) string {
	if slices.Contains(eventNames, name) {
		return name
	}
	return "other"
}

// alertKinds are the alert values of the metric's label.
var alertKinds = []domain.Alert{domain.AlertEmergency, domain.AlertOutsideCare, domain.AlertDenialBurst}

// recordEvent is the payload of RecordAnchored, RecordAmended and
// RecordErased.
type recordEvent struct {
	RecordID  string `json:"recordId"`
	Version   int    `json:"version"`
	Custodian string `json:"custodian"`
}

// accessEvent is the payload of AccessDecided and AccessLogged.
type accessEvent struct {
	TxID      string          `json:"txId"`
	RecordID  string          `json:"recordId"`
	Version   int             `json:"version"`
	Custodian string          `json:"custodian"`
	Requester string          `json:"requester"`
	Decision  domain.Decision `json:"decision"`
	Alerts    []domain.Alert  `json:"alerts"`
}

// Reconciler resolves one pending record version; *anchor.Anchorer is one.
type Reconciler interface {
	ReconcileVersion(ctx context.Context, recordID string, version int) (anchor.Report, error)
}

// Store is the part of *store.Store the actions use.
type Store interface {
	Get(recordID string, version int) (store.Entry, error)
	Erase(recordID string) error
}

// Actions is the Handler the gateway runs: what one organisation's gateway
// does about the chaincode's events (see the package documentation). It is
// safe for use by one Follower at a time.
type Actions struct {
	mspID    string
	anchorer Reconciler
	store    Store
	metrics  *Metrics
	log      *slog.Logger
}

// NewActions returns the actions of organisation mspID's gateway, which
// resolves pending versions with anchorer and erases records in st.
// metrics may be nil; a nil logger discards logs. It fails if mspID is
// empty or anchorer or st is nil.
func NewActions(mspID string, anchorer Reconciler, st Store, metrics *Metrics, logger *slog.Logger) (*Actions, error) {
	if mspID == "" || anchorer == nil || st == nil {
		return nil, errors.New("follow: actions need an MSP ID, an anchorer and a store")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Actions{mspID: mspID, anchorer: anchorer, store: st, metrics: metrics, log: logger}, nil
}

// Handle acts on one event. Events of other names, and those about records
// of other organisations, need nothing. A payload that does not decode is
// logged as an error and skipped (nil): handling it again would not help.
// Errors, which the Follower retries: the store's errors while reading or
// erasing a record, and ctx's error. An anchorer that leaves a version
// pending is logged, not returned: the periodic reconciler retries it.
func (a *Actions) Handle(ctx context.Context, ev ledger.Event) error {
	switch ev.Name {
	case domain.EventRecordAnchored, domain.EventRecordAmended:
		var p recordEvent
		if !a.decode(ctx, ev, &p) || p.Custodian != a.mspID {
			return nil
		}
		return a.anchored(ctx, ev, p)
	case domain.EventRecordErased:
		var p recordEvent
		if !a.decode(ctx, ev, &p) || p.Custodian != a.mspID {
			return nil
		}
		return a.erased(ctx, ev, p)
	case domain.EventAccessDecided, domain.EventAccessLogged:
		var p accessEvent
		if !a.decode(ctx, ev, &p) || p.Custodian != a.mspID {
			return nil
		}
		a.alerts(ctx, ev, p)
	}
	return nil
}

// decode decodes the payload of ev into v, logging a failure.
func (a *Actions) decode(ctx context.Context, ev ledger.Event, v any) bool {
	if err := json.Unmarshal(ev.Payload, v); err != nil {
		a.log.LogAttrs(ctx, slog.LevelError, "ledger event payload does not decode; event skipped",
			slog.String("event", ev.Name), slog.String("txID", ev.TxID), slog.Uint64("block", ev.Block))
		return false
	}
	return true
}

// anchored resolves the version's pending entry, if there is one.
func (a *Actions) anchored(ctx context.Context, ev ledger.Event, p recordEvent) error {
	e, err := a.store.Get(p.RecordID, p.Version)
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrInvalid):
		return nil
	case err != nil:
		return fmt.Errorf("%s event of record %q version %d: %w", ev.Name, p.RecordID, p.Version, err)
	case e.State != store.StatePending:
		return nil
	}
	rep, err := a.anchorer.ReconcileVersion(ctx, p.RecordID, p.Version)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		a.log.LogAttrs(ctx, slog.LevelWarn, "could not resolve a pending record on its ledger event; left to the reconciler",
			slog.String("event", ev.Name), slog.String("txID", ev.TxID), slog.String("recordID", p.RecordID),
			slog.Int("version", p.Version), slog.String("error", err.Error()))
		return nil
	}
	if rep.Anchored+rep.Recommitted+rep.Discarded > 0 {
		a.log.LogAttrs(ctx, slog.LevelInfo, "pending record resolved on its ledger event",
			slog.String("event", ev.Name), slog.String("txID", ev.TxID), slog.String("recordID", p.RecordID),
			slog.Int("version", p.Version), slog.Int("anchored", rep.Anchored+rep.Recommitted), slog.Int("discarded", rep.Discarded))
	}
	return nil
}

// erased shreds the record if the store still holds a version of it that
// is not erased.
func (a *Actions) erased(ctx context.Context, ev ledger.Event, p recordEvent) error {
	live := false
	for v := 1; v <= p.Version && !live; v++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		e, err := a.store.Get(p.RecordID, v)
		switch {
		case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrInvalid):
		case err != nil:
			return fmt.Errorf("%s event of record %q: %w: %w", ev.Name, p.RecordID, ErrMustHandle, err)
		case e.State != store.StateErased:
			live = true
		}
	}
	if !live {
		return nil
	}
	if err := a.store.Erase(p.RecordID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%s event of record %q: erase in the store: %w: %w", ev.Name, p.RecordID, ErrMustHandle, err)
	}
	a.log.LogAttrs(ctx, slog.LevelInfo, "erasure finished on its ledger event: the store held versions the ledger had erased",
		slog.String("txID", ev.TxID), slog.String("recordID", p.RecordID))
	return nil
}

// alerts logs and counts the alerts of an access event.
func (a *Actions) alerts(ctx context.Context, ev ledger.Event, p accessEvent) {
	kinds := slices.Clone(p.Alerts)
	if p.Decision == domain.DecisionEmergency && !slices.Contains(kinds, domain.AlertEmergency) {
		kinds = append(kinds, domain.AlertEmergency)
	}
	for _, k := range kinds {
		kind := string(k)
		if !slices.Contains(alertKinds, k) {
			kind = "other"
		}
		a.metrics.alert(kind)
		a.log.LogAttrs(ctx, slog.LevelWarn, "ledger alert on a record of this organisation",
			slog.String("txID", ev.TxID), slog.String("kind", kind), slog.String("recordID", p.RecordID),
			slog.Int("version", p.Version), slog.String("requesterMSP", p.Requester), slog.String("decision", string(p.Decision)))
	}
}
