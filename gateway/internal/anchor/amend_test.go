package anchor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"testing"

	domain "github.com/medprov/medprov/chaincode/ledger"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/medprov/medprov/gateway/internal/ledger"
	"github.com/medprov/medprov/gateway/internal/store"
	"github.com/medprov/medprov/internal/devnet"
)

// versionVerification is VerifyRecord's answer, with the status.
type versionVerification struct {
	Match  bool   `json:"match"`
	Status string `json:"status"`
	TxID   string `json:"txId"`
}

// verifyVersion runs VerifyRecord for version of recordID with commitment.
func (e *env) verifyVersion(t testing.TB, recordID string, version int, commitment string) versionVerification {
	t.Helper()
	out, err := e.ledger.Evaluate(context.Background(), e.id, domain.TxVerifyRecord, recordID, strconv.Itoa(version), commitment)
	if err != nil {
		t.Fatalf("VerifyRecord %s version %d: %v", recordID, version, err)
	}
	var v versionVerification
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// readVersion decrypts version of recordID.
func (e *env) readVersion(t testing.TB, recordID string, version int) []byte {
	t.Helper()
	r, _, err := e.store.Open(context.Background(), recordID, version)
	if err != nil {
		t.Fatalf("open %s version %d: %v", recordID, version, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func amendRequest(recordID string) AmendRequest {
	return AmendRequest{RecordID: recordID, Reason: domain.AmendCorrection}
}

func TestAmendAnchorsTheNextVersion(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const id = "rec-amend"
	v1, err := e.a.Add(ctx, e.id, e.request(id), bytes.NewReader(contentOf(id)))
	if err != nil {
		t.Fatal(err)
	}
	content := []byte("corrected content")
	got, err := e.a.Amend(ctx, e.id, amendRequest(id), bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	if got.RecordID != id || got.Version != 2 || got.TxID == "" || got.Commitment != commitmentOf(got.Salt, content) {
		t.Errorf("Amend = %v", got)
	}
	entry, err := e.store.Get(id, 2)
	if err != nil || entry.State != store.StateAnchored || entry.TxID != got.TxID || entry.Commitment != got.Commitment || entry.Prepared != nil {
		t.Errorf("store entry %v, %v; want version 2 anchored in %s", entry, err, got.TxID)
	}
	if v := e.verifyVersion(t, id, 2, got.Commitment); !v.Match || v.TxID != got.TxID || v.Status != "active" {
		t.Errorf("VerifyRecord version 2 = %+v, want an active match in %s", v, got.TxID)
	}
	if v := e.verifyVersion(t, id, 1, v1.Commitment); !v.Match || v.Status != "superseded" {
		t.Errorf("VerifyRecord version 1 = %+v, want a superseded match", v)
	}
	if !bytes.Equal(e.readVersion(t, id, 2), content) || !bytes.Equal(e.readVersion(t, id, 1), contentOf(id)) {
		t.Error("stored content differs")
	}
	// And once more: version 3.
	if got, err := e.a.Amend(ctx, e.id, AmendRequest{RecordID: id, Reason: domain.AmendAddendum, DocType: "11506-3"}, bytes.NewReader([]byte("v3"))); err != nil || got.Version != 3 {
		t.Errorf("second Amend = %v, %v; want version 3", got, err)
	}
}

func TestAmendRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.a.Add(ctx, e.id, e.request("rec-known"), bytes.NewReader([]byte("x"))); err != nil {
		t.Fatal(err)
	}
	// rec-pending has a pending version 1 (an Add left to the reconciler).
	if _, err := e.store.Put(ctx, "rec-pending", 1, bytes.NewReader([]byte("x"))); err != nil {
		t.Fatal(err)
	}
	// rec-erased was stored and erased.
	if _, err := e.a.Add(ctx, e.id, e.request("rec-erased"), bytes.NewReader([]byte("x"))); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Erase("rec-erased"); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		req    AmendRequest
		wantIs error
	}{
		"an unknown record":     {req: amendRequest("rec-unknown"), wantIs: store.ErrNotFound},
		"a pending record":      {req: amendRequest("rec-pending"), wantIs: ErrPending},
		"an erased record":      {req: amendRequest("rec-erased"), wantIs: store.ErrErased},
		"an invalid reason":     {req: AmendRequest{RecordID: "rec-known", Reason: "BECAUSE"}, wantIs: ErrInvalid},
		"a malformed doc type":  {req: AmendRequest{RecordID: "rec-known", Reason: domain.AmendCorrection, DocType: "not a type"}, wantIs: ErrInvalid},
		"a malformed record ID": {req: amendRequest(""), wantIs: ErrInvalid},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := e.a.Amend(ctx, e.id, tc.req, bytes.NewReader([]byte("new")))
			if !errors.Is(err, tc.wantIs) {
				t.Fatalf("Amend = %v, want %v", err, tc.wantIs)
			}
			if tc.req.RecordID == "" {
				return
			}
			if _, err := e.store.Get(tc.req.RecordID, 2); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("store.Get version 2 = %v, want ErrNotFound", err)
			}
		})
	}
	if p, err := e.store.Pending(ctx); err != nil || len(p) != 1 {
		t.Errorf("Pending = %v, %v; want only rec-pending's version 1", p, err)
	}
}

// TestAmendRejectedStoresNothing: the chaincode refuses an amendment by
// another organisation (NOT_FOUND) and one above the caller's clearance
// (PERMISSION_DENIED); version 2 is discarded each time.
func TestAmendRejectedStoresNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const id = "rec-theirs"
	v1, err := e.a.Add(ctx, e.id, e.request(id), bytes.NewReader(contentOf(id)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.net.User(devnet.HospitalB, "clinician", string(domain.RoleClinician), string(domain.ConfNormal))
	if err != nil {
		t.Fatal(err)
	}
	other := ledger.Identity{MSPID: c.MSPID(), CertPEM: c.Identity.CertPEM, Signer: c.Identity.Key}
	tests := map[string]struct {
		id       ledger.Identity
		req      AmendRequest
		wantCode codes.Code
		wantIs   error
	}{
		"another organisation": {id: other, req: amendRequest(id), wantCode: codes.NotFound, wantIs: domain.ErrNotFound},
		"above the clearance": {
			id: e.id, req: AmendRequest{RecordID: id, Reason: domain.AmendCorrection, Confidentiality: domain.ConfVeryRestricted},
			wantCode: codes.PermissionDenied, wantIs: domain.ErrPermissionDenied,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := e.a.Amend(ctx, tc.id, tc.req, bytes.NewReader([]byte("new")))
			if !errors.Is(err, tc.wantIs) || status.Code(err) != tc.wantCode {
				t.Fatalf("Amend = %v (%v), want %v", err, status.Code(err), tc.wantCode)
			}
			if _, err := e.store.Get(id, 2); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("store.Get version 2 = %v, want ErrNotFound", err)
			}
			if p, err := e.store.Pending(ctx); err != nil || len(p) != 0 {
				t.Errorf("Pending = %v, %v; want none", p, err)
			}
			if vs := e.storedIDs(t)[id]; len(vs) != 1 || vs[0] != 1 {
				t.Errorf("stored versions %v, want only 1", vs)
			}
			if v := e.verifyVersion(t, id, 1, v1.Commitment); !v.Match || v.Status != "active" {
				t.Errorf("VerifyRecord version 1 = %+v, want an active match", v)
			}
		})
	}
}

// TestReconcileResolvesAnAmendCrash: a crash after SetPrepared of an
// amendment is finished by Reconcile after a restart, with exactly one
// version 2 on the ledger and in the store.
func TestReconcileResolvesAnAmendCrash(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const id = "rec-amend-crash"
	v1, err := e.a.Add(ctx, e.id, e.request(id), bytes.NewReader(contentOf(id)))
	if err != nil {
		t.Fatal(err)
	}
	content := []byte("amended before the crash")
	e.a.crash = func(step string) bool { return step == "prepared" }
	if _, err := e.a.Amend(ctx, e.id, amendRequest(id), bytes.NewReader(content)); !errors.Is(err, errCrashed) {
		t.Fatalf("Amend = %v, want the simulated crash", err)
	}
	if _, err := e.a.Amend(ctx, e.id, amendRequest(id), bytes.NewReader(content)); !errors.Is(err, ErrPending) {
		t.Fatalf("Amend while version 2 is pending = %v, want ErrPending", err)
	}
	dir := e.dir
	e.close()
	e = openEnv(t, dir)
	defer e.close()

	rep, err := e.a.Reconcile(ctx)
	if rep.Duration = 0; err != nil || rep != (Report{Pending: 1, Recommitted: 1}) {
		t.Fatalf("Reconcile = %+v, %v; want one recommitted", rep, err)
	}
	check := func() {
		t.Helper()
		entry, err := e.store.Get(id, 2)
		if err != nil || entry.State != store.StateAnchored {
			t.Fatalf("store.Get version 2 = %v, %v; want anchored", entry, err)
		}
		if entry.Commitment != commitmentOf(entry.Salt, content) {
			t.Error("stored commitment does not match the content")
		}
		if v := e.verifyVersion(t, id, 2, entry.Commitment); !v.Match || v.TxID != entry.TxID || v.Status != "active" {
			t.Errorf("VerifyRecord version 2 = %+v, want an active match in %s", v, entry.TxID)
		}
		if v := e.verifyVersion(t, id, 1, v1.Commitment); !v.Match || v.Status != "superseded" {
			t.Errorf("VerifyRecord version 1 = %+v, want a superseded match", v)
		}
		if _, err := e.ledger.Evaluate(ctx, e.id, domain.TxGetRecordVersion, id, "3"); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("GetRecordVersion 3 = %v, want NOT_FOUND: amended twice", err)
		}
		if vs := e.storedIDs(t)[id]; len(vs) != 2 {
			t.Errorf("stored versions %v, want 1 and 2", vs)
		}
		if !bytes.Equal(e.readVersion(t, id, 2), content) {
			t.Error("stored content differs")
		}
	}
	check()
	rep, err = e.a.Reconcile(ctx)
	if rep.Duration = 0; err != nil || rep != (Report{}) {
		t.Errorf("second Reconcile = %+v, %v; want nothing to do", rep, err)
	}
	check()
}
