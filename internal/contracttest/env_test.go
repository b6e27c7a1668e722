package contracttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/embedded"
	"github.com/medprov/medprov/internal/devca"
	"github.com/medprov/medprov/internal/devnet"
)

// env is a development consortium for one test.
type env struct {
	t   testing.TB
	net *devnet.Network
	ctx context.Context
}

func newEnv(t testing.TB, opts ...devnet.Option) *env {
	t.Helper()
	n, err := devnet.Start(t.TempDir(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return &env{t: t, net: n, ctx: context.Background()}
}

// user returns a client of org msp with role and clearance.
func (e *env) user(msp, role, clearance string) *devnet.Client {
	e.t.Helper()
	c, err := e.net.User(msp, role+"-"+clearance, role, clearance)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// submit commits a transaction, retrying MVCC and phantom conflicts as a
// gateway does, and returns its payload or the chaincode error.
func submit(ctx context.Context, c *devnet.Client, fn string, args ...string) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		res, err := c.Submit(ctx, fn, args...)
		if err == nil {
			return res.Payload, nil
		}
		retry := errors.Is(err, embedded.ErrMVCCReadConflict) || errors.Is(err, embedded.ErrPhantomReadConflict)
		if !retry || attempt == 9 {
			return nil, err
		}
	}
}

// must returns a function that fails the test on err and decodes the JSON
// payload into T, so that must[T](t)(c.Evaluate(...)) reads in one line.
func must[T any](t testing.TB) func([]byte, error) T {
	return func(payload []byte, err error) T {
		t.Helper()
		var v T
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		if err := json.Unmarshal(payload, &v); err != nil {
			t.Fatalf("decode %T: %v", v, err)
		}
		return v
	}
}

func asJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var seq atomic.Int64

// uniqueID returns an ID no other call in this process returns.
func uniqueID(prefix string) string { return fmt.Sprintf("%s-%06d", prefix, seq.Add(1)) }

// commitment returns a syntactically valid commitment that differs per
// call; tests that verify content use ledger.Commitment.
func commitment(n int64) string { return fmt.Sprintf("%064x", n) }

// registerPatient registers a fresh synthetic patient through c.
func (e *env) registerPatient(c *devnet.Client) *devnet.Patient {
	e.t.Helper()
	p, err := devnet.NewPatient()
	if err != nil {
		e.t.Fatal(err)
	}
	must[ledger.Patient](e.t)(submit(e.ctx, c, ledger.TxRegisterPatient, p.PublicKey))
	return p
}

// anchor anchors a fresh record of patient with the given confidentiality.
func (e *env) anchor(c *devnet.Client, patient, docType string, conf ledger.Confidentiality) ledger.Record {
	e.t.Helper()
	req := ledger.AnchorRequest{RecordID: uniqueID("rec"), Patient: patient, DocType: docType, Confidentiality: conf, Commitment: commitment(seq.Add(1))}
	return must[ledger.Record](e.t)(submit(e.ctx, c, ledger.TxAnchorRecord, asJSON(e.t, req)))
}

// nextSequence reads the sequence number the patient's next statement needs.
func (e *env) nextSequence(c *devnet.Client, patient string) uint64 {
	e.t.Helper()
	p := must[ledger.Patient](e.t)(c.Evaluate(e.ctx, ledger.TxGetPatient, patient))
	return p.Sequence + 1
}

// grant builds, signs and submits a consent from patient p to grantee.
func (e *env) grant(c *devnet.Client, p *devnet.Patient, grantee string, mutate func(*ledger.ConsentGrant)) (ledger.Consent, error) {
	e.t.Helper()
	g := e.consentGrant(c, p, grantee, mutate)
	payload, err := submit(e.ctx, c, ledger.TxGrantConsent, asJSON(e.t, g), p.Sign(g.CanonicalBytes()))
	if err != nil {
		return ledger.Consent{}, err
	}
	return must[ledger.Consent](e.t)(payload, nil), nil
}

// consentGrant builds a normalised TREAT consent for every record, valid
// from an hour ago for a year, with the patient's next sequence number.
func (e *env) consentGrant(c *devnet.Client, p *devnet.Patient, grantee string, mutate func(*ledger.ConsentGrant)) ledger.ConsentGrant {
	e.t.Helper()
	now := time.Now().UTC()
	g := ledger.ConsentGrant{
		ConsentID: uniqueID("consent"), Patient: p.Pseudonym,
		Grantee:  ledger.Grantee{MSPID: grantee},
		Scope:    ledger.Scope{All: true},
		Purposes: []ledger.Purpose{ledger.PurposeTreatment}, MaxConfidentiality: ledger.ConfNormal,
		NotBefore: now.Add(-time.Hour).Format(ledger.TimeLayout), NotAfter: now.Add(365 * 24 * time.Hour).Format(ledger.TimeLayout),
		Sequence: e.nextSequence(c, p.Pseudonym),
	}
	if mutate != nil {
		mutate(&g)
	}
	g, _, _, err := g.Normalize()
	if err != nil {
		e.t.Fatal(err)
	}
	return g
}

// revoke signs and submits a revocation.
func (e *env) revoke(c *devnet.Client, p *devnet.Patient, consentID string) (ledger.Consent, error) {
	e.t.Helper()
	r := ledger.ConsentRevocation{ConsentID: consentID, Patient: p.Pseudonym, Sequence: e.nextSequence(c, p.Pseudonym)}
	payload, err := submit(e.ctx, c, ledger.TxRevokeConsent, asJSON(e.t, r), p.Sign(r.CanonicalBytes()))
	if err != nil {
		return ledger.Consent{}, err
	}
	return must[ledger.Consent](e.t)(payload, nil), nil
}

// requestAccess submits RequestAccess and returns the committed event.
func (e *env) requestAccess(c *devnet.Client, req ledger.AccessRequest) (ledger.AccessEvent, error) {
	e.t.Helper()
	payload, err := submit(e.ctx, c, ledger.TxRequestAccess, asJSON(e.t, req))
	if err != nil {
		return ledger.AccessEvent{}, err
	}
	return must[ledger.AccessEvent](e.t)(payload, nil), nil
}

func devcaOrderer() devca.IdentityRequest {
	return devca.IdentityRequest{Name: "bench-orderer", NodeOU: devca.NodeOUOrderer}
}
