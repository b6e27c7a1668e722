// Package walkthrough is the scripted tour of medprov's on-chain flows that
// `make demo` prints: hospitals anchor evidence, a patient consents and
// revokes, a second hospital is granted, denied and breaks the glass, an
// auditor reads the trail, a copy is verified and a record is erased. Each
// step checks that the ledger behaved as expected; Run stops at the first
// step that did not. The same steps run as a test.
//
// Everything in it is synthetic: generated keys, made-up document bytes.
package walkthrough

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/internal/devnet"
)

// Step is one line of the walkthrough's report.
type Step struct {
	Name   string
	Detail string
}

// Document types used by the walkthrough (LOINC).
const (
	dischargeSummary = "18842-5"
	labReport        = "11502-2"
)

type tour struct {
	ctx     context.Context
	net     *devnet.Network
	report  func(Step)
	patient *devnet.Patient

	aOfficer, aClinician, aAdmin *devnet.Client
	bClinician                   *devnet.Client
	auditor                      *devnet.Client

	summary, lab     ledger.Record
	summarySalt      []byte
	summaryContent   []byte
	consentID        string
	expectAlertCount int
}

// Run plays the walkthrough on net, calling report after each step that
// behaved as expected, and returns an error naming the first that did not.
func Run(ctx context.Context, net *devnet.Network, report func(Step)) error {
	t := &tour{ctx: ctx, net: net, report: report}
	steps := []func() error{
		t.identities, t.registerPatient, t.anchorRecords, t.grantConsent,
		t.grantedAccess, t.verifyCopy, t.deniedOutsideScope, t.deniedOutsidePurpose,
		t.breakTheGlass, t.outsideCare, t.patientSeesAccesses, t.revokeConsent,
		t.auditTrail, t.verifyReceipt, t.erase, t.chainIntegrity,
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

func (t *tour) ok(name, format string, args ...any) {
	t.report(Step{Name: name, Detail: fmt.Sprintf(format, args...)})
}

func (t *tour) identities() error {
	var err error
	user := func(msp, role, clearance string) *devnet.Client {
		if err != nil {
			return nil
		}
		var c *devnet.Client
		c, err = t.net.User(msp, role, role, clearance)
		return c
	}
	t.aOfficer = user(devnet.HospitalA, "records-officer", "R")
	t.aClinician = user(devnet.HospitalA, "clinician", "N")
	t.aAdmin = user(devnet.HospitalA, "admin", "U")
	t.bClinician = user(devnet.HospitalB, "clinician", "N")
	t.auditor = user(devnet.HealthAuthority, "auditor", "N")
	if err != nil {
		return fmt.Errorf("issue identities: %w", err)
	}
	t.ok("identities", "issued 5 users with role and clearance attributes from 3 organisations' development CAs")
	return nil
}

func submit[T any](ctx context.Context, c *devnet.Client, fn string, args ...string) (T, error) {
	var v T
	res, err := c.Submit(ctx, fn, args...)
	if err != nil {
		return v, fmt.Errorf("%s: %w", fn, err)
	}
	return v, json.Unmarshal(res.Payload, &v)
}

func evaluate[T any](ctx context.Context, c *devnet.Client, fn string, args ...string) (T, error) {
	var v T
	out, err := c.Evaluate(ctx, fn, args...)
	if err != nil {
		return v, fmt.Errorf("%s: %w", fn, err)
	}
	return v, json.Unmarshal(out, &v)
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func (t *tour) registerPatient() error {
	var err error
	if t.patient, err = devnet.NewPatient(); err != nil {
		return err
	}
	p, err := submit[ledger.Patient](t.ctx, t.aOfficer, ledger.TxRegisterPatient, t.patient.PublicKey)
	if err != nil {
		return err
	}
	if p.Pseudonym != t.patient.Pseudonym {
		return fmt.Errorf("register patient: pseudonym %s, want %s", p.Pseudonym, t.patient.Pseudonym)
	}
	t.ok("register patient", "HospitalA registered a patient key; the ledger knows only the pseudonym %s", p.Pseudonym)
	return nil
}

// anchorDoc anchors synthetic content and returns the record with its salt.
func (t *tour) anchorDoc(docType string, content []byte) (ledger.Record, []byte, error) {
	salt := make([]byte, ledger.SaltSize)
	if _, err := rand.Read(salt); err != nil {
		return ledger.Record{}, nil, err
	}
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return ledger.Record{}, nil, err
	}
	req := ledger.AnchorRequest{
		RecordID: fmt.Sprintf("rec-%x", id), Patient: t.patient.Pseudonym, DocType: docType,
		Confidentiality: ledger.ConfNormal, Commitment: ledger.Commitment(salt, sha256.Sum256(content)),
	}
	rec, err := submit[ledger.Record](t.ctx, t.aClinician, ledger.TxAnchorRecord, toJSON(req))
	return rec, salt, err
}

func (t *tour) anchorRecords() error {
	var err error
	t.summaryContent = []byte("synthetic discharge summary for the medprov walkthrough")
	if t.summary, t.summarySalt, err = t.anchorDoc(dischargeSummary, t.summaryContent); err != nil {
		return err
	}
	if t.lab, _, err = t.anchorDoc(labReport, []byte("synthetic lab report for the medprov walkthrough")); err != nil {
		return err
	}
	t.ok("anchor records", "HospitalA anchored %s (discharge summary) and %s (lab report): salted commitments only", t.summary.RecordID, t.lab.RecordID)
	return nil
}

func (t *tour) grantConsent() error {
	now := time.Now().UTC()
	g := ledger.ConsentGrant{
		ConsentID: "consent-" + t.summary.RecordID, Patient: t.patient.Pseudonym,
		Grantee:  ledger.Grantee{MSPID: devnet.HospitalB},
		Scope:    ledger.Scope{DocTypes: []string{dischargeSummary}},
		Purposes: []ledger.Purpose{ledger.PurposeTreatment}, MaxConfidentiality: ledger.ConfNormal,
		NotBefore: now.Add(-time.Minute).Format(ledger.TimeLayout), NotAfter: now.Add(90 * 24 * time.Hour).Format(ledger.TimeLayout),
		Sequence: 1,
	}
	g, _, _, err := g.Normalize()
	if err != nil {
		return err
	}
	c, err := submit[ledger.Consent](t.ctx, t.aOfficer, ledger.TxGrantConsent, toJSON(g), t.patient.Sign(g.CanonicalBytes()))
	if err != nil {
		return err
	}
	t.consentID = c.ConsentID
	t.ok("patient consents", "the patient signed consent %s: HospitalB, TREAT, discharge summaries only", c.ConsentID)
	return nil
}

// expectDecision requests access and checks the decision and reason.
func (t *tour) expectDecision(c *devnet.Client, req ledger.AccessRequest, want ledger.Decision, reason ledger.DenialReason) (ledger.AccessEvent, error) {
	ev, err := submit[ledger.AccessEvent](t.ctx, c, ledger.TxRequestAccess, toJSON(req))
	if err != nil {
		return ev, err
	}
	if ev.Decision != want || ev.DenialReason != reason {
		return ev, fmt.Errorf("request access to %s for %s: got %s %s, want %s %s", req.RecordID, req.Purpose, ev.Decision, ev.DenialReason, want, reason)
	}
	return ev, nil
}

func (t *tour) grantedAccess() error {
	ev, err := t.expectDecision(t.bClinician, ledger.AccessRequest{RecordID: t.summary.RecordID, Purpose: ledger.PurposeTreatment}, ledger.DecisionGranted, "")
	if err != nil {
		return err
	}
	t.ok("access granted", "HospitalB asked for the discharge summary to treat: GRANTED on consent %s, tx %.12s…", ev.Basis.ConsentID, ev.TxID)
	return nil
}

func (t *tour) verifyCopy() error {
	// HospitalA's gateway would stream the document and its salt to B; here
	// B holds the same bytes and checks them against the ledger.
	got := ledger.Commitment(t.summarySalt, sha256.Sum256(t.summaryContent))
	v, err := evaluate[ledger.Verification](t.ctx, t.bClinician, ledger.TxVerifyRecord, t.summary.RecordID, "1", got)
	if err != nil {
		return err
	}
	if !v.Match {
		return errors.New("verify copy: the commitment of the received copy does not match the ledger")
	}
	t.ok("copy verified", "HospitalB recomputed the salted commitment of its copy: it matches version 1, anchored in tx %.12s…", v.TxID)
	return nil
}

func (t *tour) deniedOutsideScope() error {
	ev, err := t.expectDecision(t.bClinician, ledger.AccessRequest{RecordID: t.lab.RecordID, Purpose: ledger.PurposeTreatment}, ledger.DecisionDenied, ledger.DenyScopeNotCovered)
	if err != nil {
		return err
	}
	t.ok("denied: scope", "HospitalB asked for the lab report: DENIED %s, and the denial is on the ledger (tx %.12s…)", ev.DenialReason, ev.TxID)
	return nil
}

func (t *tour) deniedOutsidePurpose() error {
	ev, err := t.expectDecision(t.bClinician, ledger.AccessRequest{RecordID: t.summary.RecordID, Purpose: ledger.PurposeResearch}, ledger.DecisionDenied, ledger.DenyPurposeNotCovered)
	if err != nil {
		return err
	}
	t.ok("denied: purpose", "HospitalB asked for the discharge summary for research: DENIED %s", ev.DenialReason)
	return nil
}

func (t *tour) breakTheGlass() error {
	req := ledger.AccessRequest{RecordID: t.lab.RecordID, Purpose: ledger.PurposeEmergencyTreatment, JustificationCode: ledger.JustifyLifeThreatening}
	ev, err := t.expectDecision(t.bClinician, req, ledger.DecisionEmergency, "")
	if err != nil {
		return err
	}
	if !slices.Contains(ev.Alerts, ledger.AlertEmergency) {
		return errors.New("break the glass: the emergency access carries no alert")
	}
	t.expectAlertCount++
	t.ok("break the glass", "HospitalB's clinician took the lab report in an emergency: EMERGENCY, flagged %s", ledger.AlertEmergency)
	return nil
}

func (t *tour) outsideCare() error {
	care := false
	req := ledger.LogAccessRequest{RecordID: t.lab.RecordID, Purpose: ledger.PurposeTreatment, CareRelationship: &care}
	ev, err := submit[ledger.AccessEvent](t.ctx, t.aClinician, ledger.TxLogAccess, toJSON(req))
	if err != nil {
		return err
	}
	if !slices.Contains(ev.Alerts, ledger.AlertOutsideCare) {
		return errors.New("log access: a read outside a care relationship carries no alert")
	}
	t.expectAlertCount++
	t.ok("outside care", "a HospitalA clinician with no care relationship opened the lab report: logged and flagged %s", ledger.AlertOutsideCare)
	return nil
}

func (t *tour) patientSeesAccesses() error {
	// The patient reads through the custodian: HospitalA's records officer
	// lists the accesses to the patient's records that HospitalA holds.
	q := ledger.AuditQuery{Patient: t.patient.Pseudonym}
	page, err := evaluate[ledger.Page[ledger.AccessEvent]](t.ctx, t.aOfficer, ledger.TxAccessHistory, toJSON(q))
	if err != nil {
		return err
	}
	if len(page.Items) != 5 {
		return fmt.Errorf("patient history: %d access events, want 5", len(page.Items))
	}
	t.ok("patient history", "the patient's custodian lists %d access decisions about the patient's records, denials included", len(page.Items))
	return nil
}

func (t *tour) revokeConsent() error {
	r := ledger.ConsentRevocation{ConsentID: t.consentID, Patient: t.patient.Pseudonym, Sequence: 2}
	if _, err := submit[ledger.Consent](t.ctx, t.aOfficer, ledger.TxRevokeConsent, toJSON(r), t.patient.Sign(r.CanonicalBytes())); err != nil {
		return err
	}
	ev, err := t.expectDecision(t.bClinician, ledger.AccessRequest{RecordID: t.summary.RecordID, Purpose: ledger.PurposeTreatment}, ledger.DecisionDenied, ledger.DenyConsentRevoked)
	if err != nil {
		return err
	}
	t.ok("consent revoked", "the patient revoked %s; HospitalB asked again: DENIED %s", t.consentID, ev.DenialReason)
	return nil
}

func (t *tour) auditTrail() error {
	trail, err := evaluate[ledger.Page[ledger.AccessEvent]](t.ctx, t.auditor, ledger.TxAccessHistory, toJSON(ledger.AuditQuery{Patient: t.patient.Pseudonym}))
	if err != nil {
		return err
	}
	alerts, err := evaluate[ledger.Page[ledger.AccessEvent]](t.ctx, t.auditor, ledger.TxAlerts, toJSON(ledger.AlertQuery{}))
	if err != nil {
		return err
	}
	if len(trail.Items) != 6 || len(alerts.Items) != t.expectAlertCount {
		return fmt.Errorf("audit: %d events and %d alerts, want 6 and %d", len(trail.Items), len(alerts.Items), t.expectAlertCount)
	}
	t.ok("audit trail", "the HealthAuthority auditor reads %d access events and %d alerts; it can read no record", len(trail.Items), len(alerts.Items))
	if _, err := t.auditor.Evaluate(t.ctx, ledger.TxGetRecord, t.summary.RecordID); !errors.Is(err, ledger.ErrPermissionDenied) {
		return fmt.Errorf("audit: an auditor reading a record got %v, want PERMISSION_DENIED", err)
	}
	return nil
}

func (t *tour) verifyReceipt() error {
	// A receipt holds record ID, version, salt and transaction; anyone with
	// it and the document checks it against the ledger, not the custodian.
	tampered := append([]byte{}, t.summaryContent...)
	tampered[0] ^= 1
	for _, c := range []struct {
		content []byte
		match   bool
	}{{t.summaryContent, true}, {tampered, false}} {
		v, err := evaluate[ledger.Verification](t.ctx, t.auditor, ledger.TxVerifyRecord, t.summary.RecordID, "1", ledger.Commitment(t.summarySalt, sha256.Sum256(c.content)))
		if err != nil {
			return err
		}
		if v.Match != c.match {
			return fmt.Errorf("verify receipt: match %v, want %v", v.Match, c.match)
		}
	}
	t.ok("receipt verified", "the original document matches its receipt; a copy with one bit flipped does not")
	return nil
}

func (t *tour) erase() error {
	req := ledger.EraseRequest{RecordID: t.lab.RecordID, Reason: ledger.ErasePatientRequest}
	rec, err := submit[ledger.Record](t.ctx, t.aOfficer, ledger.TxEraseRecord, toJSON(req))
	if err != nil {
		return err
	}
	if rec.Status != ledger.StatusErased {
		return fmt.Errorf("erase: status %s, want erased", rec.Status)
	}
	ev, err := t.expectDecision(t.bClinician, ledger.AccessRequest{RecordID: t.lab.RecordID, Purpose: ledger.PurposeEmergencyTreatment, JustificationCode: ledger.JustifyLifeThreatening}, ledger.DecisionDenied, ledger.DenyRecordErased)
	if err != nil {
		return err
	}
	t.ok("erasure", "HospitalA erased the lab report: tombstone on the ledger, commitment kept, later requests DENIED %s", ev.DenialReason)
	return nil
}

func (t *tour) chainIntegrity() error {
	if err := t.net.Ledger.VerifyChain(t.ctx); err != nil {
		return fmt.Errorf("verify chain: %w", err)
	}
	t.ok("ledger integrity", "%d blocks form one hash chain, each signed by the orderer", t.net.Ledger.Height())
	return nil
}
