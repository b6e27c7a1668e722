package exchange

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/embedded"
	"github.com/medprov/medprov/gateway/internal/ledger"
	"github.com/medprov/medprov/internal/devnet"
)

const ttl = 5 * time.Minute

// clock is a clock shifted from the real one by an adjustable offset.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time      { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) set(d time.Duration) { c.offset.Store(int64(d)) }
func shifted(d time.Duration) func() time.Time {
	return func() time.Time { return time.Now().Add(d) }
}

// env is a devnet on which hospital A holds records of two patients, one
// of whom consented to hospital B, and the ledger the custodian reads.
type env struct {
	t         *testing.T
	ctx       context.Context
	net       *devnet.Network
	ledger    ledger.Ledger
	txClock   *clock // the clock of transaction timestamps
	custodian ledger.Identity
	officerA  *devnet.Client
	clinB     *devnet.Client
	consented string // a record of hospital A covered by a consent to B
	other     string // a record of hospital A with no consent
}

var seq atomic.Int64

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), txClock: &clock{}}
	n, err := devnet.Start(t.TempDir(), devnet.WithLedgerConfig(func(c *embedded.Config) { c.Clock = e.txClock.now }))
	if err != nil {
		t.Fatal(err)
	}
	e.net = n
	// The gateway ledger takes the embedded ledger over; closing it closes
	// the devnet's ledger.
	e.ledger = ledger.NewEmbedded(n.Ledger)
	t.Cleanup(func() { _ = e.ledger.Close() })

	e.officerA = e.user(devnet.HospitalA, "officer", domain.RoleRecordsOfficer)
	e.clinB = e.user(devnet.HospitalB, "clinician", domain.RoleClinician)
	e.custodian = identity(e.officerA)

	p1, p2 := e.patient(), e.patient()
	e.consented, e.other = e.anchor(p1.Pseudonym), e.anchor(p2.Pseudonym)
	now := time.Now().UTC()
	g := domain.ConsentGrant{
		ConsentID: "consent-1", Patient: p1.Pseudonym,
		Grantee:  domain.Grantee{MSPID: devnet.HospitalB},
		Scope:    domain.Scope{All: true},
		Purposes: []domain.Purpose{domain.PurposeTreatment}, MaxConfidentiality: domain.ConfNormal,
		NotBefore: now.Add(-time.Hour).Format(domain.TimeLayout), NotAfter: now.Add(24 * time.Hour).Format(domain.TimeLayout),
		Sequence: 1,
	}
	if g, _, _, err = g.Normalize(); err != nil {
		t.Fatal(err)
	}
	e.submit(e.officerA, domain.TxGrantConsent, asJSON(t, g), p1.Sign(g.CanonicalBytes()))
	return e
}

func identity(c *devnet.Client) ledger.Identity {
	return ledger.Identity{MSPID: c.MSPID(), CertPEM: c.Identity.CertPEM, Signer: c.Identity.Key}
}

func (e *env) user(msp, name string, role domain.Role) *devnet.Client {
	e.t.Helper()
	c, err := e.net.User(msp, name, string(role), string(domain.ConfNormal))
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) submit(c *devnet.Client, fn string, args ...string) []byte {
	e.t.Helper()
	res, err := e.ledger.Submit(e.ctx, identity(c), fn, args...)
	if err != nil {
		e.t.Fatalf("%s: %v", fn, err)
	}
	return res.Payload
}

func (e *env) patient() *devnet.Patient {
	e.t.Helper()
	p, err := devnet.NewPatient()
	if err != nil {
		e.t.Fatal(err)
	}
	e.submit(e.officerA, domain.TxRegisterPatient, p.PublicKey)
	return p
}

func (e *env) anchor(patient string) string {
	e.t.Helper()
	n := seq.Add(1)
	req := domain.AnchorRequest{RecordID: fmt.Sprintf("rec-%d", n), Patient: patient, DocType: "11506-3",
		Confidentiality: domain.ConfNormal, Commitment: fmt.Sprintf("%064x", n)}
	e.submit(e.officerA, domain.TxAnchorRecord, asJSON(e.t, req))
	return req.RecordID
}

// request commits RequestAccess by c and checks the decision.
func (e *env) request(c *devnet.Client, req domain.AccessRequest, want domain.Decision) domain.AccessEvent {
	e.t.Helper()
	var ev domain.AccessEvent
	if err := json.Unmarshal(e.submit(c, domain.TxRequestAccess, asJSON(e.t, req)), &ev); err != nil {
		e.t.Fatal(err)
	}
	if ev.Decision != want {
		e.t.Fatalf("RequestAccess: decision %s, want %s", ev.Decision, want)
	}
	return ev
}

// granted commits a fresh GRANTED ticket of hospital B's clinician.
func (e *env) granted() domain.AccessEvent {
	e.t.Helper()
	return e.request(e.clinB, domain.AccessRequest{RecordID: e.consented, Purpose: domain.PurposeTreatment}, domain.DecisionGranted)
}

// callerOf is the caller that presents the certificate of c.
func callerOf(c *devnet.Client) Caller {
	return Caller{MSPID: c.MSPID(), CertFingerprint: Fingerprint(c.Identity.Cert.Raw)}
}

// checker returns a Checker of hospital A over a fresh used-ticket store.
func (e *env) checker(now func() time.Time) (*Checker, *BoltUsed) {
	e.t.Helper()
	used := openUsed(e.t, filepath.Join(e.t.TempDir(), "used.db"))
	return e.checkerWith(used, now), used
}

func (e *env) checkerWith(used UsedTickets, now func() time.Time) *Checker {
	e.t.Helper()
	c, err := New(Config{Fetch: LedgerFetcher(e.ledger, e.custodian), MSPID: devnet.HospitalA, Used: used, TTL: ttl, Clock: now})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func openUsed(t *testing.T, path string) *BoltUsed {
	t.Helper()
	u, err := OpenUsed(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = u.Close() })
	return u
}

func asJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
