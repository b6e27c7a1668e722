// Package scenario is medprov's end-to-end scenario suite: one set of test
// bodies that drive real gateways of a running consortium over real gRPC
// with mTLS, as the organisations' users do, and check the exact outcome of
// every step (decision, denial reason, status code, alert, bytes).
//
// The suite is backend-neutral, in the style of etcd's tests/framework: a
// backend supplies a Cluster (a way to connect to each organisation's
// gateway as one of its users), and Run runs every scenario against it.
// The embedded ledger's runner (embedded_test.go, on gateway/devup) runs
// always; a Fabric runner only has to implement Cluster for gateways whose
// ledger is Fabric and call Run.
//
// The bodies use only the public gRPC API (api/gen/medprov/gateway/v1), the
// patient's side of the protocol (chaincode/ledger's canonical encodings,
// internal/devnet's synthetic patient keys, internal/patientproof) and the
// offline receipt check (internal/receipt). This package must not import
// anything of a gateway's internals (gateway/..., the embedded ledger
// directly, a store or a ledger client): whatever passes here passes through
// the API alone. Every patient and document is synthetic.
package scenario

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
)

// Users of every organisation, as the consortium enrols them (the names of
// gateway/devup): role and clearance follow each name.
const (
	// UserClinician is a clinician with clearance N.
	UserClinician = "clinician"
	// UserClinicianL is a clinician with clearance L.
	UserClinicianL = "clinician-l"
	// UserOfficer is a records officer with clearance V.
	UserOfficer = "officer"
	// UserResearcher is a researcher with clearance N.
	UserResearcher = "researcher"
	// UserAdmin is an admin with clearance V.
	UserAdmin = "admin"
	// UserAuditor is an auditor with clearance V.
	UserAuditor = "auditor"
)

// Cluster is a running consortium of three organisations, each with its
// own gateway: two hospitals and a health authority. Its users are those
// named by the User constants, enrolled in every organisation's wallet.
//
// A Cluster may be fresh for each scenario or shared by several, run one
// after another or in parallel: scenarios use fresh patients and random
// record and consent IDs, and only ever assert about their own entries in
// consortium-wide listings.
type Cluster interface {
	// Orgs returns the MSP IDs of the two hospitals and of the health
	// authority.
	Orgs() (hospitalA, hospitalB, authority string)
	// Dial connects to msp's gateway as its enrolled user named user, with
	// mTLS. The caller closes the connection.
	Dial(ctx context.Context, msp, user string) (*grpc.ClientConn, error)
	// Stranger connects to msp's gateway with a client certificate that
	// chains to the organisation's CA but that no wallet holds. The caller
	// closes the connection.
	Stranger(ctx context.Context, msp string) (*grpc.ClientConn, error)
}

// timeout bounds each scenario, setup included.
const timeout = 2 * time.Minute

// scenarios are the bodies, in the order Run starts them.
var scenarios = []struct {
	name string
	body func(e *env)
}{
	{"a record is anchored, verified at another organisation and its receipt checks offline", anchorAndVerify},
	{"a consented exchange copies a record to the grantee, byte for byte, and its ticket works once", consentedExchange},
	{"access outside the consent is denied with the chaincode's reason and fetches nothing", outsideTheConsent},
	{"emergency access breaks the glass and alerts the health authority", emergencyAccess},
	{"a patient who answers a challenge sees their records and who accessed them", patientView},
	{"a revoked consent denies the next request", revocation},
	{"the health authority's auditor finds every access by record, patient, organisation and time", audit},
	{"an amended record keeps its history and an erased one can no longer be read or granted", amendmentAndErasure},
	{"identities outside the wallet, below the clearance or in the wrong role are refused", identities},
	{"a 20 MiB record round-trips through the streams intact", streaming},
}

// Run runs every scenario as a parallel subtest of t, each against the
// Cluster newCluster returns for it (which may register its own cleanup
// with the subtest's t). A scenario stops at its first unexpected outcome.
func Run(t *testing.T, newCluster func(t *testing.T) Cluster) {
	t.Helper()
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			c := newCluster(t)
			ctx, cancel := context.WithTimeout(t.Context(), timeout)
			defer cancel()
			e := newEnv(ctx, t, c)
			defer e.close()
			s.body(e)
		})
	}
}

// env is one scenario's view of a Cluster: its connections, one per user,
// and the organisations.
type env struct {
	t   *testing.T
	ctx context.Context
	c   Cluster

	a, b, ha string // hospital A, hospital B, the health authority

	mu    sync.Mutex
	conns map[[2]string]*grpc.ClientConn
	fps   map[string]string // certificate fingerprint by user, as events show it
}

func newEnv(ctx context.Context, t *testing.T, c Cluster) *env {
	a, b, ha := c.Orgs()
	return &env{t: t, ctx: ctx, c: c, a: a, b: b, ha: ha, conns: map[[2]string]*grpc.ClientConn{}}
}

// conn returns the scenario's connection to msp's gateway as user,
// dialling it the first time.
func (e *env) conn(msp, user string) *grpc.ClientConn {
	e.t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	k := [2]string{msp, user}
	if cc, ok := e.conns[k]; ok {
		return cc
	}
	cc, err := e.c.Dial(e.ctx, msp, user)
	if err != nil {
		e.t.Fatalf("dial %s as %s: %v", msp, user, err)
	}
	e.conns[k] = cc
	return cc
}

// stranger returns a connection to msp's gateway with a certificate no
// wallet holds; it is closed with the scenario.
func (e *env) stranger(msp string) *grpc.ClientConn {
	e.t.Helper()
	cc, err := e.c.Stranger(e.ctx, msp)
	if err != nil {
		e.t.Fatalf("dial %s as a stranger: %v", msp, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.conns[[2]string{msp, "\x00stranger"}] = cc
	return cc
}

func (e *env) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, cc := range e.conns {
		if err := cc.Close(); err != nil {
			e.t.Errorf("close connection to %s as %s: %v", k[0], k[1], err)
		}
	}
}

// id returns a fresh record or consent ID with the given prefix: unique on
// the channel, so that scenarios can share a ledger.
func (e *env) id(prefix string) string {
	e.t.Helper()
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		e.t.Fatalf("random ID: %v", err)
	}
	return prefix + "-" + hex.EncodeToString(b[:])
}
