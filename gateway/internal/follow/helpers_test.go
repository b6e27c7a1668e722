package follow

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	domain "github.com/medprov/medprov/chaincode/ledger"

	"github.com/medprov/medprov/gateway/internal/anchor"
	"github.com/medprov/medprov/gateway/internal/ledger"
	"github.com/medprov/medprov/gateway/internal/store"
	"github.com/medprov/medprov/internal/devnet"
)

// env is a development consortium with hospital A's store and anchorer.
type env struct {
	dir     string
	net     *devnet.Network
	ledger  ledger.Ledger
	store   *store.Store
	a       *anchor.Anchorer
	clin    ledger.Identity // a clinician of hospital A
	officer ledger.Identity // a records officer of hospital A, clearance V
	clinB   ledger.Identity // a clinician of hospital B
	patient string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	dir := t.TempDir()
	n, err := devnet.Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{dir: dir, net: n, ledger: ledger.NewEmbedded(n.Ledger)}
	t.Cleanup(func() { _ = e.ledger.Close() })
	id := func(msp, name string, role domain.Role, conf domain.Confidentiality) ledger.Identity {
		c, err := n.User(msp, name, string(role), string(conf))
		if err != nil {
			t.Fatal(err)
		}
		return ledger.Identity{MSPID: c.MSPID(), CertPEM: c.Identity.CertPEM, Signer: c.Identity.Key}
	}
	e.clin = id(devnet.HospitalA, "clinician", domain.RoleClinician, domain.ConfNormal)
	e.officer = id(devnet.HospitalA, "officer", domain.RoleRecordsOfficer, domain.ConfVeryRestricted)
	e.clinB = id(devnet.HospitalB, "clinician", domain.RoleClinician, domain.ConfNormal)
	keys, err := store.NewFileKeyring(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	if e.store, err = store.Open(filepath.Join(dir, "store"), keys); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.store.Close() })
	if e.a, err = anchor.New(e.store, e.ledger, nil); err != nil {
		t.Fatal(err)
	}
	e.patient = e.registerPatient(t)
	return e
}

// registerPatient registers a new synthetic patient (one PatientRegistered
// event) and returns its pseudonym.
func (e *env) registerPatient(t testing.TB) string {
	t.Helper()
	p, err := devnet.NewPatient()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ledger.Submit(context.Background(), e.clin, domain.TxRegisterPatient, p.PublicKey); err != nil {
		t.Fatal(err)
	}
	return p.Pseudonym
}

// add stores and anchors record id as hospital A.
func (e *env) add(t testing.TB, id string) {
	t.Helper()
	req := anchor.AddRequest{RecordID: id, Patient: e.patient, DocType: "11506-3", Confidentiality: domain.ConfNormal}
	if _, err := e.a.Add(context.Background(), e.clin, req, bytes.NewReader([]byte("synthetic content of "+id))); err != nil {
		t.Fatal(err)
	}
}

// submit commits tx with one JSON argument as who.
func (e *env) submit(t testing.TB, who ledger.Identity, tx string, arg any) *ledger.Committed {
	t.Helper()
	b, err := json.Marshal(arg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.ledger.Submit(context.Background(), who, tx, string(b))
	if err != nil {
		t.Fatalf("%s: %v", tx, err)
	}
	return c
}

// height is the ledger's height, as the gateway reads it.
func (e *env) height(context.Context) (uint64, error) { return e.net.Ledger.Height(), nil }

// recorder is a Handler that records the events it handled.
type recorder struct {
	mu     sync.Mutex
	events []ledger.Event
	// onEvent, if set, runs before the event is recorded; returning false
	// leaves it unrecorded (as if a crash came first).
	onEvent func(ctx context.Context, ev ledger.Event, n int) bool
}

func (r *recorder) Handle(ctx context.Context, ev ledger.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.onEvent != nil && !r.onEvent(ctx, ev, len(r.events)) {
		return ctx.Err()
	}
	r.events = append(r.events, ev)
	return nil
}

func (r *recorder) handled() []ledger.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ledger.Event(nil), r.events...)
}

// run runs f until stop is called; stop returns Run's error.
func run(f *Follower) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	return func() error {
		cancel()
		return <-done
	}
}

// eventually polls cond for up to 20 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// allEvents commits one more transaction (a sentinel) and returns every
// event after from up to and including the sentinel's, as the ground
// truth.
func (e *env) allEvents(t testing.TB, from ledger.Checkpoint) []ledger.Event {
	t.Helper()
	h := e.net.Ledger.Height()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ch, err := e.ledger.Events(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	var out []ledger.Event
	// Every event of blocks below h is delivered before the stream waits
	// for block h; a sentinel transaction marks the end.
	e.registerPatient(t)
	for ev := range ch {
		out = append(out, ev)
		if ev.Block >= h {
			break
		}
	}
	return out
}
