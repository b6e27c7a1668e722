package contracttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/internal/devnet"
)

// The authorization matrix: for every transaction, what each role at each
// kind of organisation, with a clearance at or below the fixture record's
// confidentiality (N), gets.
//
//	allow   the call succeeds (and a list shows the fixture item)
//	omit    the call succeeds but the fixture item is left out of the list
//	deny    PERMISSION_DENIED
//	hidden  NOT_FOUND, exactly as for something that does not exist
//	refuse  FAILED_PRECONDITION
//
// Organisations: cust is HospitalA, custodian of the fixture record and
// submitter of the fixture consent; other is HospitalB, the consent's
// grantee; auth is HealthAuthority. Columns are the roles in the order
// clinician, records-officer, researcher, auditor, admin.
var authzMatrix = map[string]map[string]string{
	ledger.TxAnchorRecord: {
		"cust/N": "allow allow deny deny deny", "cust/L": "deny deny deny deny deny",
		"other/N": "allow allow deny deny deny", "other/L": "deny deny deny deny deny",
		"auth/N": "allow allow deny deny deny", "auth/L": "deny deny deny deny deny",
	},
	ledger.TxAmendRecord: {
		"cust/N": "allow allow deny deny deny", "cust/L": "hidden hidden deny deny deny",
		"other/N": "hidden hidden deny deny deny", "other/L": "hidden hidden deny deny deny",
		"auth/N": "hidden hidden deny deny deny", "auth/L": "hidden hidden deny deny deny",
	},
	ledger.TxEraseRecord: {
		"cust/N": "deny allow deny deny deny", "cust/L": "deny hidden deny deny deny",
		"other/N": "deny hidden deny deny deny", "other/L": "deny hidden deny deny deny",
		"auth/N": "deny hidden deny deny deny", "auth/L": "deny hidden deny deny deny",
	},
	ledger.TxGetRecord: {
		"cust/N": "allow allow deny deny deny", "cust/L": "hidden hidden deny deny deny",
		"other/N": "hidden hidden deny deny deny", "other/L": "hidden hidden deny deny deny",
		"auth/N": "hidden hidden deny deny deny", "auth/L": "hidden hidden deny deny deny",
	},
	ledger.TxGetRecordVersion: {
		"cust/N": "allow allow deny deny deny", "cust/L": "hidden hidden deny deny deny",
		"other/N": "hidden hidden deny deny deny", "other/L": "hidden hidden deny deny deny",
		"auth/N": "hidden hidden deny deny deny", "auth/L": "hidden hidden deny deny deny",
	},
	ledger.TxRecordHistory: {
		"cust/N": "allow allow deny deny deny", "cust/L": "hidden hidden deny deny deny",
		"other/N": "hidden hidden deny deny deny", "other/L": "hidden hidden deny deny deny",
		"auth/N": "hidden hidden deny deny deny", "auth/L": "hidden hidden deny deny deny",
	},
	ledger.TxListPatientRecords: {
		"cust/N": "allow allow deny deny deny", "cust/L": "omit omit deny deny deny",
		"other/N": "omit omit deny deny deny", "other/L": "omit omit deny deny deny",
		"auth/N": "omit omit deny deny deny", "auth/L": "omit omit deny deny deny",
	},
	ledger.TxVerifyRecord: {
		"cust/N": "allow allow allow allow allow", "cust/L": "hidden hidden hidden hidden hidden",
		"other/N": "allow allow allow allow allow", "other/L": "hidden hidden hidden hidden hidden",
		"auth/N": "allow allow allow allow allow", "auth/L": "hidden hidden hidden hidden hidden",
	},
	ledger.TxRegisterPatient: {
		"cust/N": "allow allow deny deny deny", "cust/L": "allow allow deny deny deny",
		"other/N": "allow allow deny deny deny", "other/L": "allow allow deny deny deny",
		"auth/N": "allow allow deny deny deny", "auth/L": "allow allow deny deny deny",
	},
	ledger.TxRotatePatientKey: {
		"cust/N": "allow allow deny deny deny", "cust/L": "allow allow deny deny deny",
		"other/N": "allow allow deny deny deny", "other/L": "allow allow deny deny deny",
		"auth/N": "allow allow deny deny deny", "auth/L": "allow allow deny deny deny",
	},
	ledger.TxGetPatient: {
		"cust/N": "allow allow allow allow allow", "cust/L": "allow allow allow allow allow",
		"other/N": "allow allow allow allow allow", "other/L": "allow allow allow allow allow",
		"auth/N": "allow allow allow allow allow", "auth/L": "allow allow allow allow allow",
	},
	ledger.TxGrantConsent: {
		"cust/N": "allow allow deny deny deny", "cust/L": "allow allow deny deny deny",
		"other/N": "allow allow deny deny deny", "other/L": "allow allow deny deny deny",
		"auth/N": "allow allow deny deny deny", "auth/L": "allow allow deny deny deny",
	},
	ledger.TxRevokeConsent: {
		"cust/N": "allow allow deny deny deny", "cust/L": "allow allow deny deny deny",
		"other/N": "allow allow deny deny deny", "other/L": "allow allow deny deny deny",
		"auth/N": "allow allow deny deny deny", "auth/L": "allow allow deny deny deny",
	},
	ledger.TxGetConsent: {
		"cust/N": "allow allow allow allow allow", "cust/L": "allow allow allow allow allow",
		"other/N": "allow allow allow allow allow", "other/L": "allow allow allow allow allow",
		"auth/N": "hidden hidden hidden allow hidden", "auth/L": "hidden hidden hidden allow hidden",
	},
	ledger.TxListConsentsByPatient: {
		"cust/N": "allow allow allow allow allow", "cust/L": "allow allow allow allow allow",
		"other/N": "allow allow allow allow allow", "other/L": "allow allow allow allow allow",
		"auth/N": "omit omit omit allow omit", "auth/L": "omit omit omit allow omit",
	},
	ledger.TxListConsentsByGrantee: {
		"cust/N": "deny deny deny allow deny", "cust/L": "deny deny deny allow deny",
		"other/N": "allow allow allow allow allow", "other/L": "allow allow allow allow allow",
		"auth/N": "deny deny deny allow deny", "auth/L": "deny deny deny allow deny",
	},
	ledger.TxRequestAccess: {
		"cust/N": "refuse refuse refuse deny deny", "cust/L": "hidden hidden hidden deny deny",
		"other/N": "allow allow allow deny deny", "other/L": "hidden hidden hidden deny deny",
		"auth/N": "allow allow allow deny deny", "auth/L": "hidden hidden hidden deny deny",
	},
	ledger.TxLogAccess: {
		"cust/N": "allow allow allow deny deny", "cust/L": "hidden hidden hidden deny deny",
		"other/N": "hidden hidden hidden deny deny", "other/L": "hidden hidden hidden deny deny",
		"auth/N": "hidden hidden hidden deny deny", "auth/L": "hidden hidden hidden deny deny",
	},
	ledger.TxGetAccessEvent: {
		"cust/N": "allow allow allow allow allow", "cust/L": "allow allow allow allow allow",
		"other/N": "hidden hidden hidden allow hidden", "other/L": "hidden hidden hidden allow hidden",
		"auth/N": "hidden hidden hidden allow hidden", "auth/L": "hidden hidden hidden allow hidden",
	},
	ledger.TxAccessHistory: {
		"cust/N": "deny allow deny allow allow", "cust/L": "deny hidden deny allow hidden",
		"other/N": "deny hidden deny allow hidden", "other/L": "deny hidden deny allow hidden",
		"auth/N": "deny hidden deny allow hidden", "auth/L": "deny hidden deny allow hidden",
	},
	ledger.TxAlerts: {
		"cust/N": "deny allow deny allow allow", "cust/L": "deny allow deny allow allow",
		"other/N": "deny omit deny allow omit", "other/L": "deny omit deny allow omit",
		"auth/N": "deny omit deny allow omit", "auth/L": "deny omit deny allow omit",
	},
	ledger.TxSetOrgEndpoint: {
		"cust/N": "deny deny deny deny allow", "cust/L": "deny deny deny deny allow",
		"other/N": "deny deny deny deny allow", "other/L": "deny deny deny deny allow",
		"auth/N": "deny deny deny deny allow", "auth/L": "deny deny deny deny allow",
	},
	ledger.TxGetOrgEndpoint: {
		"cust/N": "allow allow allow allow allow", "cust/L": "allow allow allow allow allow",
		"other/N": "allow allow allow allow allow", "other/L": "allow allow allow allow allow",
		"auth/N": "allow allow allow allow allow", "auth/L": "allow allow allow allow allow",
	},
	ledger.TxBaselinePut: {
		"cust/N": "deny allow deny deny allow", "cust/L": "deny allow deny deny allow",
		"other/N": "deny allow deny deny allow", "other/L": "deny allow deny deny allow",
		"auth/N": "deny allow deny deny allow", "auth/L": "deny allow deny deny allow",
	},
}

var matrixOrgs = map[string]string{"cust": devnet.HospitalA, "other": devnet.HospitalB, "auth": devnet.HealthAuthority}

// fixture is the shared state the matrix reads: a patient with a record
// (confidentiality N) at HospitalA, a consent to HospitalB submitted by
// HospitalA, an access event on the record flagged as an alert, and
// HospitalA's directory entry.
type fixture struct {
	patient *devnet.Patient
	record  ledger.Record
	consent ledger.Consent
	eventTx string
	setup   *devnet.Client // HospitalA records officer, clearance V
	setupB  *devnet.Client // HospitalB records officer, clearance V
}

func newFixture(e *env) *fixture {
	f := &fixture{setup: e.user(devnet.HospitalA, "records-officer", "V"), setupB: e.user(devnet.HospitalB, "records-officer", "V")}
	f.patient = e.registerPatient(f.setup)
	f.record = e.anchor(f.setup, f.patient.Pseudonym, "18842-5", ledger.ConfNormal)
	c, err := e.grant(f.setup, f.patient, devnet.HospitalB, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	f.consent = c
	care := false
	ev := must[ledger.AccessEvent](e.t)(submit(e.ctx, f.setup, ledger.TxLogAccess, asJSON(e.t, ledger.LogAccessRequest{RecordID: f.record.RecordID, Purpose: ledger.PurposeTreatment, CareRelationship: &care})))
	f.eventTx = ev.TxID
	admin := e.user(devnet.HospitalA, "admin", "U")
	must[ledger.OrgEndpoint](e.t)(submit(e.ctx, admin, ledger.TxSetOrgEndpoint, asJSON(e.t, endpointRequest(e.t, e.net))))
	return f
}

func endpointRequest(t testing.TB, n *devnet.Network) ledger.EndpointRequest {
	return ledger.EndpointRequest{Endpoint: "127.0.0.1:7443", TLSCACertPEM: string(n.Org(devnet.HospitalA).TLSCACertPEM())}
}

// call makes one matrix call as c; it prepares what a write needs (a fresh
// record, patient or consent) with the fixture's setup identities, and
// reports whether a list showed the fixture item.
type call func(e *env, f *fixture, c *devnet.Client) (shown bool, err error)

func contains[T any](payload []byte, err error, match func(T) bool) (bool, error) {
	if err != nil {
		return false, err
	}
	var page ledger.Page[T]
	if err := json.Unmarshal(payload, &page); err != nil {
		return false, err
	}
	return slices.ContainsFunc(page.Items, match), nil
}

func ok(_ []byte, err error) (bool, error) { return true, err }

var matrixCalls = map[string]call{
	ledger.TxAnchorRecord: func(e *env, f *fixture, c *devnet.Client) (bool, error) {
		req := ledger.AnchorRequest{RecordID: uniqueID("rec"), Patient: f.patient.Pseudonym, DocType: "18842-5", Confidentiality: ledger.ConfNormal, Commitment: commitment(seq.Add(1))}
		return ok(submit(e.ctx, c, ledger.TxAnchorRecord, asJSON(e.t, req)))
	},
	ledger.TxAmendRecord: func(e *env, f *fixture, c *devnet.Client) (bool, error) {
		rec := e.anchor(f.setup, f.patient.Pseudonym, "18842-5", ledger.ConfNormal)
		req := ledger.AmendRequest{RecordID: rec.RecordID, Commitment: commitment(seq.Add(1)), Reason: ledger.AmendCorrection}
		return ok(submit(e.ctx, c, ledger.TxAmendRecord, asJSON(e.t, req)))
	},
	ledger.TxEraseRecord: func(e *env, f *fixture, c *devnet.Client) (bool, error) {
		rec := e.anchor(f.setup, f.patient.Pseudonym, "18842-5", ledger.ConfNormal)
		return ok(submit(e.ctx, c, ledger.TxEraseRecord, asJSON(e.t, ledger.EraseRequest{RecordID: rec.RecordID, Reason: ledger.ErasePatientRequest})))
	},
	ledger.TxGetRecord: func(e *env, f *fixture, c *devnet.Client) (bool, error) {
		return ok(c.Evaluate(e.ctx, ledger.TxGetRecord, f.record.RecordID))
	},
	ledger.TxGetRecordVersion: func(e *env, f *fixture, c *devnet.Client) (bool, error) {
		return ok(c.Evaluate(e.ctx, ledger.TxGetRecordVersion, f.record.RecordID, "1"))
	},
	ledger.TxRecordHistory: func(e *env, f *fixture, c *devnet.Client) (bool, error) {
		return ok(c.Evaluate(e.ctx, ledger.TxRecordHistory, f.record.RecordID, "", ""))
	},
	ledger.TxListPatientRecords: func(e *env, f *fixture, c *devnet.Client) (bool, error) {
		out, err := c.Evaluate(e.ctx, ledger.TxListPatientRecords, f.patient.Pseudonym, "", "")
		return contains(out, err, func(r ledger.Record) bool { return r.RecordID == f.record.RecordID })
	},
	ledger.TxVerifyRecord: func(e *env, f *fixture, c *devnet.Client) (bool, error) {
		return ok(c.Evaluate(e.ctx, ledger.TxVerifyRecord, f.record.RecordID, "1", f.record.Commitment))
	},
	ledger.TxRegisterPatient: func(e *env, f *fixture, c *devnet.Client) (bool, error) {
		p, err := devnet.NewPatient()
		if err != nil {
			return false, err
		}
		return ok(submit(e.ctx, c, ledger.TxRegisterPatient, p.PublicKey))
	},
	ledger.TxRotatePatientKey: func(e *env, f *fixture, c *devnet.Client) (bool, error) {
		p := e.registerPatient(f.setup)
		next, err := devnet.NewPatient()
		if err != nil {
			return false, err
		}
		r := ledger.KeyRotation{Patient: p.Pseudonym, NewPublicKey: next.PublicKey, Sequence: 1}
		return ok(submit(e.ctx, c, ledger.TxRotatePatientKey, asJSON(e.t, r), p.Sign(r.CanonicalBytes())))
	},
	ledger.TxGetPatient: func(e *env, f *fixture, c *devnet.Client) (bool, error) {
		return ok(c.Evaluate(e.ctx, ledger.TxGetPatient, f.patient.Pseudonym))
	},
	ledger.TxGrantConsent: func(e *env, f *fixture, c *devnet.Client) (bool, error) {
		p := e.registerPatient(f.setup)
		g := e.consentGrant(f.setup, p, devnet.HospitalB, nil)
		return ok(submit(e.ctx, c, ledger.TxGrantConsent, asJSON(e.t, g), p.Sign(g.CanonicalBytes())))
	},
	ledger.TxRevokeConsent: func(e *env, f *fixture, c *devnet.Client) (bool, error) {
		p := e.registerPatient(f.setup)
		granted, err := e.grant(f.setup, p, devnet.HospitalB, nil)
		if err != nil {
			return false, err
		}
		r := ledger.ConsentRevocation{ConsentID: granted.ConsentID, Patient: p.Pseudonym, Sequence: 2}
		return ok(submit(e.ctx, c, ledger.TxRevokeConsent, asJSON(e.t, r), p.Sign(r.CanonicalBytes())))
	},
	ledger.TxGetConsent: func(e *env, f *fixture, c *devnet.Client) (bool, error) {
		return ok(c.Evaluate(e.ctx, ledger.TxGetConsent, f.consent.ConsentID))
	},
	ledger.TxListConsentsByPatient: func(e *env, f *fixture, c *devnet.Client) (bool, error) {
		out, err := c.Evaluate(e.ctx, ledger.TxListConsentsByPatient, f.patient.Pseudonym, "", "")
		return contains(out, err, func(x ledger.Consent) bool { return x.ConsentID == f.consent.ConsentID })
	},
	ledger.TxListConsentsByGrantee: func(e *env, f *fixture, c *devnet.Client) (bool, error) {
		out, err := c.Evaluate(e.ctx, ledger.TxListConsentsByGrantee, devnet.HospitalB, "1000", "")
		return contains(out, err, func(x ledger.Consent) bool { return x.ConsentID == f.consent.ConsentID })
	},
	ledger.TxRequestAccess: func(e *env, f *fixture, c *devnet.Client) (bool, error) {
		return ok(submit(e.ctx, c, ledger.TxRequestAccess, asJSON(e.t, ledger.AccessRequest{RecordID: f.record.RecordID, Purpose: ledger.PurposeTreatment})))
	},
	ledger.TxLogAccess: func(e *env, f *fixture, c *devnet.Client) (bool, error) {
		care := true
		return ok(submit(e.ctx, c, ledger.TxLogAccess, asJSON(e.t, ledger.LogAccessRequest{RecordID: f.record.RecordID, Purpose: ledger.PurposeTreatment, CareRelationship: &care})))
	},
	ledger.TxGetAccessEvent: func(e *env, f *fixture, c *devnet.Client) (bool, error) {
		return ok(c.Evaluate(e.ctx, ledger.TxGetAccessEvent, f.eventTx))
	},
	ledger.TxAccessHistory: func(e *env, f *fixture, c *devnet.Client) (bool, error) {
		out, err := c.Evaluate(e.ctx, ledger.TxAccessHistory, asJSON(e.t, ledger.AuditQuery{RecordID: f.record.RecordID, PageSize: 1000}))
		return contains(out, err, func(ev ledger.AccessEvent) bool { return ev.TxID == f.eventTx })
	},
	ledger.TxAlerts: func(e *env, f *fixture, c *devnet.Client) (bool, error) {
		out, err := c.Evaluate(e.ctx, ledger.TxAlerts, asJSON(e.t, ledger.AlertQuery{PageSize: 1000}))
		return contains(out, err, func(ev ledger.AccessEvent) bool { return ev.TxID == f.eventTx })
	},
	ledger.TxSetOrgEndpoint: func(e *env, f *fixture, c *devnet.Client) (bool, error) {
		req := ledger.EndpointRequest{Endpoint: "127.0.0.1:7443", TLSCACertPEM: string(e.net.Org(c.MSPID()).TLSCACertPEM())}
		return ok(submit(e.ctx, c, ledger.TxSetOrgEndpoint, asJSON(e.t, req)))
	},
	ledger.TxGetOrgEndpoint: func(e *env, f *fixture, c *devnet.Client) (bool, error) {
		return ok(c.Evaluate(e.ctx, ledger.TxGetOrgEndpoint, devnet.HospitalA))
	},
	ledger.TxBaselinePut: func(e *env, f *fixture, c *devnet.Client) (bool, error) {
		return ok(submit(e.ctx, c, ledger.TxBaselinePut, fmt.Sprintf("%x", seq.Add(1))))
	},
}

func outcomeOf(shown bool, err error) string {
	switch {
	case err == nil && shown:
		return "allow"
	case err == nil:
		return "omit"
	case errors.Is(err, ledger.ErrPermissionDenied):
		return "deny"
	case errors.Is(err, ledger.ErrNotFound):
		return "hidden"
	case errors.Is(err, ledger.ErrFailedPrecondition):
		return "refuse"
	default:
		return "error: " + err.Error()
	}
}

func TestAuthorizationMatrix(t *testing.T) {
	e := newEnv(t)
	f := newFixture(e)
	for _, sig := range contractSignatures() {
		if _, ok := authzMatrix[sig]; !ok {
			t.Errorf("transaction %s has no row in the authorization matrix", sig)
		}
	}
	roles := ledger.Roles
	for tx, rows := range authzMatrix {
		for cell, want := range rows {
			org, clearance, _ := strings.Cut(cell, "/")
			wants := strings.Fields(want)
			if len(wants) != len(roles) {
				t.Fatalf("%s %s: %d outcomes, want one per role", tx, cell, len(wants))
			}
			for i, role := range roles {
				name := tx + "/" + cell + "/" + string(role)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					te := &env{t: t, net: e.net, ctx: context.Background()}
					c := te.user(matrixOrgs[org], string(role), clearance)
					got := outcomeOf(matrixCalls[tx](te, f, c))
					if got != wants[i] {
						t.Errorf("%s as %s at %s with clearance %s: got %s, want %s", tx, role, matrixOrgs[org], clearance, got, wants[i])
					}
				})
			}
		}
	}
}
