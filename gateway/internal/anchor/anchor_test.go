package anchor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	domain "github.com/medprov/medprov/chaincode/ledger"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/medprov/medprov/gateway/internal/ledger"
	"github.com/medprov/medprov/gateway/internal/store"
	"github.com/medprov/medprov/internal/devnet"
)

func TestAddStoresAndAnchors(t *testing.T) {
	e := newEnv(t)
	content := contentOf("rec-happy")
	got, err := e.a.Add(context.Background(), e.id, e.request("rec-happy"), bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	if want := commitmentOf(got.Salt, content); got.Commitment != want {
		t.Errorf("commitment %s, want ledger.Commitment(salt, sha256(content)) = %s", got.Commitment, want)
	}
	if got.RecordID != "rec-happy" || got.Version != 1 || got.TxID == "" {
		t.Errorf("Add = %v", got)
	}
	entry, err := e.store.Get("rec-happy", 1)
	if err != nil {
		t.Fatal(err)
	}
	if entry.State != store.StateAnchored || entry.TxID != got.TxID || entry.Block != got.Block || entry.Commitment != got.Commitment || entry.Prepared != nil {
		t.Errorf("store entry %v tx %s block %d, want anchored in %s block %d", entry, entry.TxID, entry.Block, got.TxID, got.Block)
	}
	if v := e.verify(t, "rec-happy", got.Commitment); !v.Match || v.TxID != got.TxID {
		t.Errorf("VerifyRecord = %+v, want a match in %s", v, got.TxID)
	}
	raw, err := e.ledger.Evaluate(context.Background(), e.id, domain.TxGetRecord, "rec-happy")
	if err != nil {
		t.Fatal(err)
	}
	var rec domain.Record
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Commitment != got.Commitment || rec.Patient != e.patient || rec.DocType != "11506-3" {
		t.Errorf("GetRecord = %+v", rec)
	}
	if !bytes.Equal(e.readContent(t, "rec-happy"), content) {
		t.Error("stored content differs")
	}
	if s := got.String(); bytes.Contains([]byte(s), []byte(string(got.Salt))) {
		t.Errorf("String leaks the salt: %s", s)
	}
}

func TestAddRefusedStoresNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// rec-taken is anchored on the ledger without going through the store.
	taken := domain.AnchorRequest{RecordID: "rec-taken", Patient: e.patient, DocType: "11506-3", Confidentiality: domain.ConfNormal, Commitment: commitmentOf(make([]byte, 32), nil)}
	arg, _ := json.Marshal(taken)
	if _, err := e.ledger.Submit(ctx, e.id, domain.TxAnchorRecord, string(arg)); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		req      func(AddRequest) AddRequest
		wantCode codes.Code
		wantIs   error
	}{
		"an unregistered patient": {
			req:      func(r AddRequest) AddRequest { r.Patient = "pt-" + string(bytes.Repeat([]byte("ab"), 20)); return r },
			wantCode: codes.NotFound, wantIs: domain.ErrNotFound,
		},
		"a record ID already on the ledger": {
			req:      func(r AddRequest) AddRequest { r.RecordID = "rec-taken"; return r },
			wantCode: codes.AlreadyExists, wantIs: domain.ErrAlreadyExists,
		},
		"a confidentiality above the caller's clearance": {
			req:      func(r AddRequest) AddRequest { r.Confidentiality = domain.ConfVeryRestricted; return r },
			wantCode: codes.PermissionDenied, wantIs: domain.ErrPermissionDenied,
		},
		"a copy derived from the caller's own organisation": {
			req: func(r AddRequest) AddRequest {
				r.DerivedFrom = &domain.DerivedFrom{Custodian: devnet.HospitalA, RecordID: "rec-src", Version: 1}
				return r
			},
			wantCode: codes.InvalidArgument, wantIs: domain.ErrInvalidArgument,
		},
		"a malformed document type": {
			req:      func(r AddRequest) AddRequest { r.DocType = "not a type"; return r },
			wantCode: codes.Unknown, wantIs: ErrInvalid,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			req := tc.req(e.request("rec-refused"))
			_, err := e.a.Add(ctx, e.id, req, bytes.NewReader([]byte("x")))
			if !errors.Is(err, tc.wantIs) {
				t.Fatalf("Add = %v, want %v", err, tc.wantIs)
			}
			if tc.wantCode != codes.Unknown && status.Code(err) != tc.wantCode {
				t.Errorf("status.Code = %v, want %v", status.Code(err), tc.wantCode)
			}
			if _, err := e.store.Get(req.RecordID, 1); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("store.Get = %v, want ErrNotFound", err)
			}
			if p, err := e.store.Pending(ctx); err != nil || len(p) != 0 {
				t.Errorf("Pending = %v, %v; want none", p, err)
			}
			if ids := e.storedIDs(t); len(ids) != 0 {
				t.Errorf("blobs left: %v", ids)
			}
		})
	}
}

// TestReconcileResolvesEachCrashPoint simulates a crash after each step of
// Add and checks that Reconcile leaves exactly one anchored record or
// none, and that a second Reconcile changes nothing.
func TestReconcileResolvesEachCrashPoint(t *testing.T) {
	tests := map[string]struct {
		step string
		// takenOnLedger anchors the record ID on the ledger, in another
		// transaction, before the crashed Add's transaction is committed
		// again, so that the chaincode rejects it.
		takenOnLedger bool
		wantAnchored  bool
		want          Report
	}{
		"after Put":                                {step: "put", want: Report{Pending: 1, Discarded: 1}},
		"after SetPrepared, before Commit":         {step: "prepared", wantAnchored: true, want: Report{Pending: 1, Recommitted: 1}},
		"after SetPrepared, then the ID was taken": {step: "prepared", takenOnLedger: true, want: Report{Pending: 1, Discarded: 1}},
		"after Commit, before MarkAnchored":        {step: "committed", wantAnchored: true, want: Report{Pending: 1, Anchored: 1}},
		"no crash":                                 {step: "", wantAnchored: true, want: Report{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			e.a.crash = func(step string) bool { return step == tc.step }
			const id = "rec-crash"
			content := contentOf(id)
			_, err := e.a.Add(ctx, e.id, e.request(id), bytes.NewReader(content))
			if tc.step != "" && !errors.Is(err, errCrashed) {
				t.Fatalf("Add = %v, want the simulated crash", err)
			} else if tc.step == "" && err != nil {
				t.Fatal(err)
			}
			e.a.crash = nil
			if tc.takenOnLedger {
				other := domain.AnchorRequest{RecordID: id, Patient: e.patient, DocType: "11506-3", Confidentiality: domain.ConfNormal, Commitment: commitmentOf(make([]byte, 32), nil)}
				arg, _ := json.Marshal(other)
				if _, err := e.ledger.Submit(ctx, e.id, domain.TxAnchorRecord, string(arg)); err != nil {
					t.Fatal(err)
				}
			}
			// Reopen everything, as a restart would.
			dir := e.dir
			e.close()
			e = openEnv(t, dir)
			defer e.close()

			rep, err := e.a.Reconcile(ctx)
			if err != nil {
				t.Fatal(err)
			}
			rep.Duration = 0
			if rep != tc.want {
				t.Errorf("Reconcile = %+v, want %+v", rep, tc.want)
			}
			check := func() {
				t.Helper()
				entry, err := e.store.Get(id, 1)
				if !tc.wantAnchored {
					if !errors.Is(err, store.ErrNotFound) {
						t.Errorf("store.Get = %v, %v; want ErrNotFound", entry, err)
					}
					if !tc.takenOnLedger && e.onLedger(t, id) {
						t.Error("the record is on the ledger but not stored")
					}
					if ids := e.storedIDs(t); len(ids) != 0 {
						t.Errorf("blobs left: %v", ids)
					}
					return
				}
				if err != nil || entry.State != store.StateAnchored {
					t.Fatalf("store.Get = %v, %v; want anchored", entry, err)
				}
				if entry.Commitment != commitmentOf(entry.Salt, content) {
					t.Error("stored commitment does not match the content")
				}
				if v := e.verify(t, id, entry.Commitment); !v.Match || v.TxID != entry.TxID {
					t.Errorf("VerifyRecord = %+v, want a match in %s", v, entry.TxID)
				}
				if !bytes.Equal(e.readContent(t, id), content) {
					t.Error("stored content differs")
				}
			}
			check()
			rep, err = e.a.Reconcile(ctx)
			if rep.Duration = 0; err != nil || rep != (Report{}) {
				t.Errorf("second Reconcile = %+v, %v; want nothing to do", rep, err)
			}
			check()
		})
	}
}

// TestReconcileDiscardsAnInvalidatedOrUnreadableTransaction covers entries
// whose transaction cannot commit any more, and one whose encoding is
// garbage.
func TestReconcileDiscardsUnrebuildableTransactions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.store.Put(ctx, "rec-garbage", 1, bytes.NewReader([]byte("x"))); err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetPrepared("rec-garbage", 1, []byte("{")); err != nil {
		t.Fatal(err)
	}
	rep, err := e.a.Reconcile(ctx)
	if err != nil || rep.Discarded != 1 {
		t.Fatalf("Reconcile = %+v, %v; want one discarded", rep, err)
	}
	if _, err := e.store.Get("rec-garbage", 1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("store.Get = %v, want ErrNotFound", err)
	}
}

func TestReconcileSkipsRecordsInFlight(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.store.Put(ctx, "rec-busy", 1, bytes.NewReader([]byte("x"))); err != nil {
		t.Fatal(err)
	}
	release, ok := e.a.claim("rec-busy")
	if !ok {
		t.Fatal("claim failed")
	}
	if _, err := e.a.Add(ctx, e.id, e.request("rec-busy"), bytes.NewReader(nil)); !errors.Is(err, ErrBusy) {
		t.Errorf("Add of a claimed record = %v, want ErrBusy", err)
	}
	rep, err := e.a.Reconcile(ctx)
	if err != nil || rep.Skipped != 1 || rep.Discarded != 0 {
		t.Errorf("Reconcile = %+v, %v; want one skipped", rep, err)
	}
	release()
	if rep, err := e.a.Reconcile(ctx); err != nil || rep.Discarded != 1 {
		t.Errorf("Reconcile after release = %+v, %v; want one discarded", rep, err)
	}
}

func TestReconcileLeavesEntriesPendingWhenTheLedgerFails(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.a.crash = func(step string) bool { return step == "prepared" }
	if _, err := e.a.Add(ctx, e.id, e.request("rec-later"), bytes.NewReader([]byte("x"))); !errors.Is(err, errCrashed) {
		t.Fatal(err)
	}
	e.a.crash = nil
	dir := e.dir
	e.close()
	e = openEnv(t, dir)
	defer e.close()
	if err := e.ledger.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := e.a.Reconcile(ctx)
	if !errors.Is(err, ledger.ErrClosed) || rep.Failed != 1 {
		t.Fatalf("Reconcile on a closed ledger = %+v, %v; want one failure", rep, err)
	}
	if p, err := e.store.Pending(ctx); err != nil || len(p) != 1 || p[0].Prepared == nil {
		t.Errorf("Pending = %v, %v; want the entry, with its transaction", p, err)
	}
}

func TestRunReconcilesUntilCancelled(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	e.a.crash = func(step string) bool { return step == "committed" }
	if _, err := e.a.Add(ctx, e.id, e.request("rec-run"), bytes.NewReader([]byte("x"))); !errors.Is(err, errCrashed) {
		t.Fatal(err)
	}
	e.a.crash = nil
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.a.Run(ctx, 10*time.Millisecond)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		entry, err := e.store.Get("rec-run", 1)
		if err == nil && entry.State == store.StateAnchored {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not anchored by Run: %v, %v", entry, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
