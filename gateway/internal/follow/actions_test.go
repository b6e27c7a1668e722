package follow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	domain "github.com/medprov/medprov/chaincode/ledger"

	"github.com/medprov/medprov/gateway/internal/anchor"
	"github.com/medprov/medprov/gateway/internal/ledger"
	"github.com/medprov/medprov/gateway/internal/store"
	"github.com/medprov/medprov/internal/devnet"
)

// followWithActions runs a follower with hospital A's actions from start
// until stop is called.
func (e *env) followWithActions(t *testing.T, start ledger.Checkpoint, logs *syncBuffer, reg prometheus.Registerer) (stop func() error) {
	t.Helper()
	var m *Metrics
	if reg != nil {
		var err error
		if m, err = NewMetrics(reg); err != nil {
			t.Fatal(err)
		}
	}
	logger := slog.New(slog.DiscardHandler)
	if logs != nil {
		logger = slog.New(slog.NewJSONHandler(logs, nil))
	}
	acts, err := NewActions(devnet.HospitalA, e.a, e.store, m, logger)
	if err != nil {
		t.Fatal(err)
	}
	f, err := New(e.ledger, filepath.Join(e.dir, "cp.json"), start, acts, WithMetrics(m), WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	return run(f)
}

// TestInterruptedErasureIsFinished erases a record on the ledger only, as
// an EraseRecord interrupted between the ledger's tombstone and the
// shredding leaves it: the follower shreds it in the store.
func TestInterruptedErasureIsFinished(t *testing.T) {
	e := newEnv(t)
	const id = "rec-erase"
	e.add(t, id)
	start := ledger.Checkpoint{Block: e.net.Ledger.Height()}
	// The gateway is down: the ledger erases, the store still holds it.
	e.submit(t, e.officer, domain.TxEraseRecord, domain.EraseRequest{RecordID: id, Reason: domain.ErasePatientRequest})
	if entry, err := e.store.Get(id, 1); err != nil || entry.State != store.StateAnchored {
		t.Fatalf("store.Get = %v, %v; want the record still anchored", entry, err)
	}
	logs := &syncBuffer{}
	stop := e.followWithActions(t, start, logs, nil)
	eventually(t, "the erasure", func() bool {
		entry, err := e.store.Get(id, 1)
		return err == nil && entry.State == store.StateErased
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if entry, _ := e.store.Get(id, 1); entry.Salt != nil || entry.KEKID != "" {
		t.Errorf("erased entry still holds key material: %v", entry)
	}
	if _, _, err := e.store.Open(context.Background(), id, 1); !errors.Is(err, store.ErrErased) {
		t.Errorf("store.Open = %v, want ErrErased", err)
	}
	if !strings.Contains(logs.String(), id) {
		t.Errorf("no log line names the finished erasure:\n%s", logs)
	}
	if strings.Contains(logs.String(), e.patient) {
		t.Error("a log line names the patient")
	}
}

// TestPendingRecordAnchoredWhileDownIsMarked leaves a record version
// pending whose anchoring transaction committed (a crash after Commit,
// before MarkAnchored): the follower, with no reconciler running, marks it
// anchored on its RecordAnchored event.
func TestPendingRecordAnchoredWhileDownIsMarked(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const id = "rec-pending"
	start := ledger.Checkpoint{Block: e.net.Ledger.Height()}
	entry, err := e.store.Put(ctx, id, 1, bytes.NewReader([]byte("synthetic content")))
	if err != nil {
		t.Fatal(err)
	}
	arg, _ := json.Marshal(domain.AnchorRequest{RecordID: id, Patient: e.patient, DocType: "11506-3", Confidentiality: domain.ConfNormal, Commitment: entry.Commitment})
	tx, err := e.ledger.Prepare(ctx, e.clin, domain.TxAnchorRecord, string(arg))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := tx.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetPrepared(id, 1, enc); err != nil {
		t.Fatal(err)
	}
	c, err := e.ledger.Commit(ctx, tx)
	if err != nil {
		t.Fatal(err)
	}
	// Another organisation's record: nothing of it is in this store.
	e.submit(t, e.clinB, domain.TxAnchorRecord, domain.AnchorRequest{RecordID: "rec-of-b", Patient: e.patient, DocType: "11506-3", Confidentiality: domain.ConfNormal, Commitment: strings.Repeat("ab", 32)})

	stop := e.followWithActions(t, start, nil, nil)
	eventually(t, "the entry to be anchored", func() bool {
		got, err := e.store.Get(id, 1)
		return err == nil && got.State == store.StateAnchored
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got, _ := e.store.Get(id, 1)
	if got.TxID != c.TxID || got.Block != c.Block {
		t.Errorf("anchored in %s block %d, want %s block %d", got.TxID, got.Block, c.TxID, c.Block)
	}
	if _, err := e.store.Get("rec-of-b", 1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("store.Get(rec-of-b) = %v, want ErrNotFound", err)
	}
}

// TestOutOfCareAccessRaisesAnAlert logs an access outside a care
// relationship on a record of hospital A and one on a record of hospital
// B: only hospital A's is logged and counted by hospital A's follower.
func TestOutOfCareAccessRaisesAnAlert(t *testing.T) {
	e := newEnv(t)
	e.add(t, "rec-a")
	e.submit(t, e.clinB, domain.TxAnchorRecord, domain.AnchorRequest{RecordID: "rec-b", Patient: e.patient, DocType: "11506-3", Confidentiality: domain.ConfNormal, Commitment: strings.Repeat("ab", 32)})
	start := ledger.Checkpoint{Block: e.net.Ledger.Height()}
	no := false
	e.submit(t, e.clinB, domain.TxLogAccess, domain.LogAccessRequest{RecordID: "rec-b", Purpose: domain.PurposeTreatment, CareRelationship: &no})
	c := e.submit(t, e.clin, domain.TxLogAccess, domain.LogAccessRequest{RecordID: "rec-a", Purpose: domain.PurposeTreatment, CareRelationship: &no})

	logs := &syncBuffer{}
	reg := prometheus.NewRegistry()
	stop := e.followWithActions(t, start, logs, reg)
	eventually(t, "the alert", func() bool { return len(logs.lines(t, "WARN")) > 0 })
	time.Sleep(50 * time.Millisecond) // a second alert would show by now
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	warns := logs.lines(t, "WARN")
	if len(warns) != 1 {
		t.Fatalf("%d WARN lines, want 1:\n%s", len(warns), logs)
	}
	w := warns[0]
	if w["txID"] != c.TxID || w["kind"] != string(domain.AlertOutsideCare) || w["recordID"] != "rec-a" || w["requesterMSP"] != devnet.HospitalA {
		t.Errorf("alert line %v; want tx %s, kind, record rec-a and requester %s", w, c.TxID, devnet.HospitalA)
	}
	if strings.Contains(logs.String(), e.patient) {
		t.Error("a log line names the patient")
	}
	if got := gathered(t, reg, "medprov_ledger_alerts_total", "kind", string(domain.AlertOutsideCare)); got != 1 {
		t.Errorf("alerts{OUTSIDE_CARE_RELATIONSHIP} = %v, want 1", got)
	}
}

// fakeReconciler records the versions it is asked to resolve.
type fakeReconciler struct {
	calls []string
	err   error
}

func (f *fakeReconciler) ReconcileVersion(_ context.Context, id string, v int) (anchor.Report, error) {
	f.calls = append(f.calls, id)
	return anchor.Report{Pending: 1, Anchored: 1}, f.err
}

// fakeStore holds entries by record ID (version 1 only) and records
// erasures.
type fakeStore struct {
	entries map[string]store.State
	getErr  error
	erased  []string
}

func (f *fakeStore) Get(id string, v int) (store.Entry, error) {
	if f.getErr != nil {
		return store.Entry{}, f.getErr
	}
	st, ok := f.entries[id]
	if !ok || v != 1 {
		return store.Entry{}, store.ErrNotFound
	}
	return store.Entry{RecordID: id, Version: v, State: st}, nil
}

func (f *fakeStore) Erase(id string) error {
	f.erased = append(f.erased, id)
	return nil
}

// TestActions covers each event the actions look at, with fakes.
func TestActions(t *testing.T) {
	const me, other = "HospitalAMSP", "HospitalBMSP"
	rec := func(name, id, custodian string) ledger.Event {
		b, _ := json.Marshal(map[string]any{"recordId": id, "version": 1, "custodian": custodian, "status": "active"})
		return ledger.Event{Block: 9, TxID: txA, Name: name, Payload: b}
	}
	access := func(name, custodian string, decision domain.Decision, alerts ...domain.Alert) ledger.Event {
		b, _ := json.Marshal(map[string]any{"txId": txA, "recordId": "r1", "version": 1, "custodian": custodian, "requester": other, "decision": decision, "alerts": alerts})
		return ledger.Event{Block: 9, TxID: txA, Name: name, Payload: b}
	}
	tests := map[string]struct {
		ev          ledger.Event
		getErr      error
		wantErr     bool
		wantRecon   int
		wantErase   int
		wantAlerts  map[string]float64
		wantErrLogs int
	}{
		"a pending version of ours is reconciled":       {ev: rec(domain.EventRecordAnchored, "pending", me), wantRecon: 1},
		"a pending amendment of ours is reconciled":     {ev: rec(domain.EventRecordAmended, "pending", me), wantRecon: 1},
		"an anchored version needs nothing":             {ev: rec(domain.EventRecordAnchored, "anchored", me)},
		"a version not stored here needs nothing":       {ev: rec(domain.EventRecordAnchored, "unknown", me)},
		"another custodian's version is ignored":        {ev: rec(domain.EventRecordAnchored, "pending", other)},
		"a live erased record of ours is shredded":      {ev: rec(domain.EventRecordErased, "anchored", me), wantErase: 1},
		"a pending erased record of ours is shredded":   {ev: rec(domain.EventRecordErased, "pending", me), wantErase: 1},
		"an already shredded record needs nothing":      {ev: rec(domain.EventRecordErased, "erased", me)},
		"another custodian's erasure is ignored":        {ev: rec(domain.EventRecordErased, "anchored", other)},
		"a store failure on erasure is returned":        {ev: rec(domain.EventRecordErased, "anchored", me), getErr: store.ErrClosed, wantErr: true},
		"an emergency decision on ours is an alert":     {ev: access(domain.EventAccessDecided, me, domain.DecisionEmergency, domain.AlertEmergency), wantAlerts: map[string]float64{"EMERGENCY_ACCESS": 1}},
		"an emergency without its flag is still one":    {ev: access(domain.EventAccessDecided, me, domain.DecisionEmergency), wantAlerts: map[string]float64{"EMERGENCY_ACCESS": 1}},
		"a denial burst on ours is an alert":            {ev: access(domain.EventAccessDecided, me, domain.DecisionDenied, domain.AlertDenialBurst), wantAlerts: map[string]float64{"DENIAL_BURST": 1}},
		"an out-of-care access on ours is an alert":     {ev: access(domain.EventAccessLogged, me, domain.DecisionGranted, domain.AlertOutsideCare), wantAlerts: map[string]float64{"OUTSIDE_CARE_RELATIONSHIP": 1}},
		"an unknown alert kind is counted as other":     {ev: access(domain.EventAccessLogged, me, domain.DecisionGranted, "NEW_KIND"), wantAlerts: map[string]float64{"other": 1}},
		"a granted access without alerts is no alert":   {ev: access(domain.EventAccessDecided, me, domain.DecisionGranted)},
		"an alert on another custodian's record is not": {ev: access(domain.EventAccessDecided, other, domain.DecisionEmergency, domain.AlertEmergency)},
		"a payload that does not decode is skipped":     {ev: ledger.Event{Name: domain.EventRecordErased, TxID: txA, Payload: []byte("{")}, wantErrLogs: 1},
		"other events need nothing":                     {ev: ledger.Event{Name: domain.EventConsentGranted, TxID: txA, Payload: []byte("{}")}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fr := &fakeReconciler{}
			fs := &fakeStore{entries: map[string]store.State{"pending": store.StatePending, "anchored": store.StateAnchored, "erased": store.StateErased}, getErr: tc.getErr}
			reg := prometheus.NewRegistry()
			m, err := NewMetrics(reg)
			if err != nil {
				t.Fatal(err)
			}
			logs := &syncBuffer{}
			a, err := NewActions(me, fr, fs, m, slog.New(slog.NewJSONHandler(logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			err = a.Handle(context.Background(), tc.ev)
			if (err != nil) != tc.wantErr {
				t.Errorf("Handle = %v, want error %v", err, tc.wantErr)
			}
			if len(fr.calls) != tc.wantRecon {
				t.Errorf("ReconcileVersion called %d times, want %d", len(fr.calls), tc.wantRecon)
			}
			if len(fs.erased) != tc.wantErase {
				t.Errorf("Erase called %d times, want %d", len(fs.erased), tc.wantErase)
			}
			for _, kind := range []string{"EMERGENCY_ACCESS", "DENIAL_BURST", "OUTSIDE_CARE_RELATIONSHIP", "other"} {
				want := tc.wantAlerts[kind]
				if got := max(gathered(t, reg, "medprov_ledger_alerts_total", "kind", kind), 0); got != want {
					t.Errorf("alerts{%s} = %v, want %v", kind, got, want)
				}
			}
			if n := len(logs.lines(t, "WARN")); n != len(tc.wantAlerts) {
				t.Errorf("%d WARN lines, want %d:\n%s", n, len(tc.wantAlerts), logs)
			}
			if n := len(logs.lines(t, "ERROR")); n != tc.wantErrLogs {
				t.Errorf("%d ERROR lines, want %d", n, tc.wantErrLogs)
			}
		})
	}
}

// TestActionsLeaveAFailedReconciliationToTheReconciler checks that an
// anchorer failure is logged, not retried by the follower.
func TestActionsLeaveAFailedReconciliationToTheReconciler(t *testing.T) {
	fr := &fakeReconciler{err: ledger.ErrClosed}
	fs := &fakeStore{entries: map[string]store.State{"pending": store.StatePending}}
	logs := &syncBuffer{}
	a, err := NewActions("HospitalAMSP", fr, fs, nil, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"recordId": "pending", "version": 1, "custodian": "HospitalAMSP"})
	if err := a.Handle(context.Background(), ledger.Event{Name: domain.EventRecordAnchored, TxID: txA, Payload: b}); err != nil {
		t.Errorf("Handle = %v, want nil", err)
	}
	if n := len(logs.lines(t, "WARN")); n != 1 {
		t.Errorf("%d WARN lines, want 1", n)
	}
}
