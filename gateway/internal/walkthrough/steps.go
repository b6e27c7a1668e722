package walkthrough

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The consortium's organisations, as dev up names them.
const (
	hospitalA = "HospitalAMSP"
	hospitalB = "HospitalBMSP"
	authority = "HealthAuthorityMSP"
)

// The users the steps act as.
var (
	aClinician = User{hospitalA, "clinician"}
	aOfficer   = User{hospitalA, "officer"}
	bClinician = User{hospitalB, "clinician"}
	haAuditor  = User{authority, "auditor"}
	offline    = User{}
)

// Document types (LOINC) and the synthetic documents hospital A adds.
const (
	dischargeSummaryType = "18842-5"
	labReportType        = "11502-2"
	summaryFile          = "documents/discharge-summary.txt"
	labFile              = "documents/lab-report.txt"
	copyFile             = "hospital-b/discharge-summary-copy.txt"
	tamperedFile         = "hospital-b/discharge-summary-tampered.txt"
	justificationFile    = "hospital-b/justification.txt"
	keyDir               = "patient"
)

var documents = map[string]string{
	summaryFile:       "Synthetic discharge summary #1 — test data, no real patient.\nAdmitted for observation; discharged the next day.\n",
	labFile:           "Synthetic lab report #1 — test data, no real patient.\nHaemoglobin 14.2 g/dL (synthetic).\n",
	justificationFile: "Synthetic justification — test data: unconscious on arrival, no consent on file.\n",
}

// Exit codes of medprov that the steps expect (cli/README.md).
const (
	exitOK      = 0
	exitError   = 1
	exitVerify  = 3
	exitRefused = 4
)

// step is one line of the walkthrough: run returns the line to print
// after "[ok] ", or an error.
type step struct {
	name string
	run  func(ctx context.Context) (string, error)
}

// tour is the walkthrough's state: what earlier steps made and saw.
type tour struct {
	cfg Config
	run *Runner

	patient    string // pseudonym
	sequence   uint64 // the patient's last used sequence number
	summary    addOut
	lab        addOut
	summarySum string // SHA-256 of the discharge summary, hex
	consentID  string
	commitment string // the discharge summary's anchored commitment
	copyID     string // B's copy of the discharge summary

	// Access events the steps caused, by transaction ID.
	grantedTx, copyReadTx, scopeTx, purposeTx, emergencyTx, revokedTx string
}

func (t *tour) steps() []step {
	return []step{
		{"three gateways serve", t.devUp},
		{"a patient registers at hospital A", t.registerPatient},
		{"hospital A adds records", t.addRecords},
		{"the patient signs a consent for hospital B", t.grantConsent},
		{"hospital B requests, fetches and verifies a record", t.exchange},
		{"hospital B's requests outside the consent are denied", t.outsideConsent},
		{"an emergency access shows as an alert", t.emergency},
		{"the patient lists who accessed their records", t.patientHistory},
		{"the patient revokes and hospital B is denied", t.revoke},
		{"the auditor lists the trail and the alerts", t.audit},
		{"a receipt is verified without the custodian", t.verifyReceipt},
		{"hospital A erases a record and the erasure shows", t.erase},
	}
}

func (t *tour) devUp(ctx context.Context) (string, error) {
	var parts []string
	var height uint64
	for _, msp := range []string{hospitalA, hospitalB, authority} {
		var s statusOut
		res, err := t.run.Expect(ctx, User{msp, "admin"}, exitOK, &s, "gateway", "status", "-o", "json")
		if err != nil {
			return "", err
		}
		if s.MSPID != msp || s.LedgerBackend != t.cfg.backend() {
			return "", res.errorf("organisation %q on ledger %q, want %s on the %s ledger", s.MSPID, s.LedgerBackend, msp, t.cfg.backend())
		}
		height = max(height, s.BlockHeight)
		parts = append(parts, msp+" "+t.address(User{msp, "admin"}))
	}
	if t.cfg.Gateways != "" {
		return fmt.Sprintf("3 gateways with mTLS on the Fabric network (height %d): %s", height, strings.Join(parts, ", ")), nil
	}
	return fmt.Sprintf("dev up: 3 gateways with mTLS on one embedded ledger (height %d): %s", height, strings.Join(parts, ", ")), nil
}

// address returns the gateway address in a user's settings.
func (t *tour) address(u User) string {
	for _, kv := range t.run.Env[u] {
		if v, ok := strings.CutPrefix(kv, "MEDPROV_GATEWAY="); ok {
			return v
		}
	}
	return "?"
}

func (t *tour) registerPatient(ctx context.Context) (string, error) {
	var k keygenOut
	res, err := t.run.Expect(ctx, offline, exitOK, &k, "patient", "keygen", "--out", keyDir, "-o", "json")
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(k.Pseudonym, "pt-") {
		return "", res.errorf("pseudonym %q, want pt-...", k.Pseudonym)
	}
	var p patientOut
	res, err = t.run.Expect(ctx, aClinician, exitOK, &p, "patient", "register", "--public-key", filepath.Join(keyDir, "patient.pub"), "-o", "json")
	if err != nil {
		return "", err
	}
	if p.Pseudonym != k.Pseudonym || p.RegisteredBy != hospitalA {
		return "", res.errorf("registered %q by %q, want %q by %s", p.Pseudonym, p.RegisteredBy, k.Pseudonym, hospitalA)
	}
	t.patient, t.sequence = p.Pseudonym, p.Sequence
	return fmt.Sprintf("a patient makes a key pair on their device and registers it at hospital A: the ledger knows only %s", short(t.patient)), nil
}

func (t *tour) addRecords(ctx context.Context) (string, error) {
	for name, content := range documents {
		path := filepath.Join(t.cfg.Dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return "", err
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			return "", err
		}
	}
	add := func(file, docType string) (addOut, error) {
		var out []addOut
		res, err := t.run.Expect(ctx, aClinician, exitOK, &out, "record", "add", file, "--patient", t.patient, "--doc-type", docType, "-o", "json")
		if err != nil {
			return addOut{}, err
		}
		if len(out) != 1 || out[0].Version != 1 || out[0].ContentSHA256 != sha256Hex(documents[file]) {
			return addOut{}, res.errorf("want one record at version 1 with the file's SHA-256, got %+v", out)
		}
		return out[0], nil
	}
	var err error
	if t.summary, err = add(summaryFile, dischargeSummaryType); err != nil {
		return "", err
	}
	if t.lab, err = add(labFile, labReportType); err != nil {
		return "", err
	}
	t.summarySum = t.summary.ContentSHA256
	return fmt.Sprintf("hospital A's clinician adds a discharge summary (%s) and a lab report (%s): stored encrypted at A, commitments anchored in blocks %d and %d",
		short(t.summary.RecordID), short(t.lab.RecordID), t.summary.BlockNumber, t.lab.BlockNumber), nil
}

func (t *tour) grantConsent(ctx context.Context) (string, error) {
	now := t.cfg.Now().UTC().Truncate(time.Second)
	notAfter := now.Add(30 * 24 * time.Hour)
	id := strings.TrimPrefix(t.patient, "pt-")
	t.consentID = "c-" + id[:min(len(id), 12)] + "-1"
	var signed signedConsentOut
	res, err := t.run.Expect(ctx, offline, exitOK, &signed, "consent", "sign",
		"--key", filepath.Join(keyDir, "patient.key"), "--consent-id", t.consentID, "--patient", t.patient,
		"--grantee", hospitalB, "--doc-type", dischargeSummaryType, "--purpose", "TREAT", "--max-confidentiality", "N",
		"--not-before", now.Add(-time.Minute).Format(time.RFC3339), "--not-after", notAfter.Format(time.RFC3339),
		"--sequence", strconv.FormatUint(t.sequence+1, 10), "-o", "json")
	if err != nil {
		return "", err
	}
	if signed.Consent.ConsentID != t.consentID || signed.Signature == "" {
		return "", res.errorf("signed consent %q with signature %q, want %q signed", signed.Consent.ConsentID, signed.Signature, t.consentID)
	}
	if err := os.WriteFile(filepath.Join(t.cfg.Dir, keyDir, "consent.json"), res.Stdout, 0o600); err != nil {
		return "", err
	}
	var c consentOut
	res, err = t.run.Expect(ctx, aClinician, exitOK, &c, "consent", "grant", "--file", filepath.Join(keyDir, "consent.json"), "-o", "json")
	if err != nil {
		return "", err
	}
	if c.ConsentID != t.consentID || c.Status != "active" {
		return "", res.errorf("consent %q is %q, want %q active", c.ConsentID, c.Status, t.consentID)
	}
	t.sequence++
	return fmt.Sprintf("the patient signs consent %s on their device (HospitalBMSP, TREAT, discharge summaries only, until %s) and hospital A submits it: active",
		t.consentID, notAfter.Format(time.DateOnly)), nil
}

func (t *tour) exchange(ctx context.Context) (string, error) {
	var d decisionOut
	res, err := t.run.Expect(ctx, bClinician, exitOK, &d, "access", "request", t.summary.RecordID, "--purpose", "TREAT", "-o", "json")
	if err != nil {
		return "", err
	}
	if ev := d.Event; ev.Decision != "GRANTED" || ev.Basis == nil || ev.Basis.Type != "CONSENT" || ev.Basis.ConsentID != t.consentID {
		return "", res.errorf("decision %s on basis %+v, want GRANTED by consent %s", ev.Decision, ev.Basis, t.consentID)
	}
	t.grantedTx = d.Event.TxID
	if err := os.MkdirAll(filepath.Join(t.cfg.Dir, filepath.Dir(copyFile)), 0o700); err != nil {
		return "", err
	}
	var f fetchOut
	res, err = t.run.Expect(ctx, bClinician, exitOK, &f, "access", "fetch", t.grantedTx, "--out", copyFile, "--care-relationship", "-o", "json")
	if err != nil {
		return "", err
	}
	want := derivedFromOut{Custodian: hospitalA, RecordID: t.summary.RecordID, Version: 1}
	switch {
	case f.Copy.Custodian != hospitalB || f.Copy.DerivedFrom == nil || *f.Copy.DerivedFrom != want:
		return "", res.errorf("copy held by %s derived from %+v, want held by %s derived from %+v", f.Copy.Custodian, f.Copy.DerivedFrom, hospitalB, want)
	case f.Download == nil || f.Download.ContentSHA256 != t.summarySum:
		return "", res.errorf("the downloaded copy's SHA-256 is not the original's %s", t.summarySum)
	}
	got, err := os.ReadFile(filepath.Join(t.cfg.Dir, copyFile))
	if err != nil {
		return "", err
	}
	if string(got) != documents[summaryFile] {
		return "", res.errorf("%s differs from the document hospital A added", copyFile)
	}
	t.commitment, t.copyID, t.copyReadTx = f.Source.Commitment, f.Copy.RecordID, f.Download.AccessTxID
	return fmt.Sprintf("hospital B's clinician requests the discharge summary (GRANTED by %s), fetches it with the ticket and verifies it: copy %s at B, derived from A's %s v1, byte for byte",
		t.consentID, short(t.copyID), short(t.summary.RecordID)), nil
}

// expectDenied requests access as B's clinician and expects exit 4 and a
// DENIED decision for reason.
func (t *tour) expectDenied(ctx context.Context, recordID, purpose, reason string) (eventOut, error) {
	var d decisionOut
	res, err := t.run.Expect(ctx, bClinician, exitRefused, &d, "access", "request", recordID, "--purpose", purpose, "-o", "json")
	if err != nil {
		return eventOut{}, err
	}
	if d.Event.Decision != "DENIED" || d.Event.DenialReason != reason || d.Event.TxID == "" {
		return eventOut{}, res.errorf("decision %s %s, want DENIED %s in a transaction", d.Event.Decision, d.Event.DenialReason, reason)
	}
	return d.Event, nil
}

func (t *tour) outsideConsent(ctx context.Context) (string, error) {
	scope, err := t.expectDenied(ctx, t.lab.RecordID, "TREAT", "SCOPE_NOT_COVERED")
	if err != nil {
		return "", err
	}
	purpose, err := t.expectDenied(ctx, t.summary.RecordID, "HRESCH", "PURPOSE_NOT_COVERED")
	if err != nil {
		return "", err
	}
	t.scopeTx, t.purposeTx = scope.TxID, purpose.TxID
	return "hospital B's requests outside the consent exit 4, DENIED and committed: the lab report (SCOPE_NOT_COVERED), the summary for research (PURPOSE_NOT_COVERED)", nil
}

func (t *tour) emergency(ctx context.Context) (string, error) {
	var d decisionOut
	res, err := t.run.Expect(ctx, bClinician, exitOK, &d, "access", "request", t.lab.RecordID,
		"--purpose", "ETREAT", "--emergency", "LIFE-THREATENING", "--justification-file", justificationFile, "-o", "json")
	if err != nil {
		return "", err
	}
	ev := d.Event
	if ev.Decision != "EMERGENCY" || ev.Basis == nil || ev.Basis.Type != "BREAK_THE_GLASS" || !slices.Contains(ev.Alerts, "EMERGENCY_ACCESS") {
		return "", res.errorf("decision %s on basis %+v with alerts %v, want EMERGENCY, BREAK_THE_GLASS, EMERGENCY_ACCESS", ev.Decision, ev.Basis, ev.Alerts)
	}
	t.emergencyTx = ev.TxID
	var alerts []eventOut
	res, err = t.run.Expect(ctx, haAuditor, exitOK, &alerts, "audit", "alerts", "-o", "json")
	if err != nil {
		return "", err
	}
	if i := slices.IndexFunc(alerts, func(e eventOut) bool { return e.TxID == t.emergencyTx }); i < 0 || !slices.Contains(alerts[i].Alerts, "EMERGENCY_ACCESS") {
		return "", res.errorf("the alerts do not list the emergency access %s", t.emergencyTx)
	}
	return "hospital B's clinician breaks the glass for the lab report (LIFE-THREATENING; only the note's hash is sent): EMERGENCY, and the health authority's auditor sees the EMERGENCY_ACCESS alert", nil
}

// sameEvents checks that events are exactly the transactions want, in
// any order.
func sameEvents(res Result, events []eventOut, want ...string) error {
	var got []string
	for _, e := range events {
		got = append(got, e.TxID)
	}
	slices.Sort(got)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		return res.errorf("events %v, want exactly %v", got, want)
	}
	return nil
}

func (t *tour) patientHistory(ctx context.Context) (string, error) {
	var events []eventOut
	res, err := t.run.Expect(ctx, aClinician, exitOK, &events, "patient", "history", "--key", filepath.Join(keyDir, "patient.key"), "-o", "json")
	if err != nil {
		return "", err
	}
	if err := sameEvents(res, events, t.grantedTx, t.scopeTx, t.purposeTx, t.emergencyTx); err != nil {
		return "", err
	}
	var parts []string
	for _, e := range events {
		if e.Requester.MSPID != hospitalB {
			return "", res.errorf("event %s by %s, want %s", e.TxID, e.Requester.MSPID, hospitalB)
		}
		parts = append(parts, e.Decision+" "+e.Purpose)
	}
	return fmt.Sprintf("the patient signs hospital A's challenge with their key and lists who accessed their records: HospitalBMSP/clinician %s", strings.Join(parts, ", ")), nil
}

func (t *tour) revoke(ctx context.Context) (string, error) {
	file := filepath.Join(keyDir, "revocation.json")
	res, err := t.run.Expect(ctx, offline, exitOK, nil, "consent", "sign-revocation", "--key", filepath.Join(keyDir, "patient.key"),
		"--consent-id", t.consentID, "--patient", t.patient, "--sequence", strconv.FormatUint(t.sequence+1, 10), "-o", "json")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(t.cfg.Dir, file), res.Stdout, 0o600); err != nil {
		return "", err
	}
	var c consentOut
	res, err = t.run.Expect(ctx, aClinician, exitOK, &c, "consent", "revoke", "--file", file, "-o", "json")
	if err != nil {
		return "", err
	}
	if c.ConsentID != t.consentID || c.Status != "revoked" {
		return "", res.errorf("consent %q is %q, want %q revoked", c.ConsentID, c.Status, t.consentID)
	}
	t.sequence++
	ev, err := t.expectDenied(ctx, t.summary.RecordID, "TREAT", "CONSENT_REVOKED")
	if err != nil {
		return "", err
	}
	t.revokedTx = ev.TxID
	return fmt.Sprintf("the patient signs the revocation of %s and hospital A submits it; hospital B asks again: DENIED CONSENT_REVOKED (exit 4)", t.consentID), nil
}

func (t *tour) audit(ctx context.Context) (string, error) {
	var trail []eventOut
	res, err := t.run.Expect(ctx, haAuditor, exitOK, &trail, "audit", "trail", "--patient", t.patient, "-o", "json")
	if err != nil {
		return "", err
	}
	if err := sameEvents(res, trail, t.grantedTx, t.copyReadTx, t.scopeTx, t.purposeTx, t.emergencyTx, t.revokedTx); err != nil {
		return "", err
	}
	decisions := map[string]int{}
	for _, e := range trail {
		decisions[e.Decision]++
	}
	var alerts []eventOut
	res, err = t.run.Expect(ctx, haAuditor, exitOK, &alerts, "audit", "alerts", "-o", "json")
	if err != nil {
		return "", err
	}
	// A shared network (demo-fabric run twice) holds the alerts of earlier
	// runs too, and hospital B's denials of every run add up to a
	// DENIAL_BURST: only the emergency alerts on this tour's records count.
	alerts = slices.DeleteFunc(alerts, func(e eventOut) bool {
		ours := e.RecordID == t.summary.RecordID || e.RecordID == t.lab.RecordID || e.RecordID == t.copyID
		return !ours || !slices.Contains(e.Alerts, "EMERGENCY_ACCESS")
	})
	if err := sameEvents(res, alerts, t.emergencyTx); err != nil {
		return "", err
	}
	return fmt.Sprintf("the health authority's auditor lists the patient's trail (%d events: %d GRANTED, %d DENIED, %d EMERGENCY) and the alerts (1: EMERGENCY_ACCESS by HospitalBMSP/clinician)",
		len(trail), decisions["GRANTED"], decisions["DENIED"], decisions["EMERGENCY"]), nil
}

func (t *tour) verifyReceipt(ctx context.Context) (string, error) {
	const receiptFile = "discharge-summary.receipt.json"
	var r receiptOut
	res, err := t.run.Expect(ctx, aClinician, exitOK, &r, "record", "receipt", t.summary.RecordID, "--out", receiptFile, "-o", "json")
	if err != nil {
		return "", err
	}
	if r.RecordID != t.summary.RecordID || r.Version != 1 || r.Commitment != t.commitment {
		return "", res.errorf("receipt for %s v%d committing to %s, want %s v1 committing to %s", r.RecordID, r.Version, r.Commitment, t.summary.RecordID, t.commitment)
	}
	var v verifyOut
	res, err = t.run.Expect(ctx, offline, exitOK, &v, "verify", copyFile, "--receipt", receiptFile, "-o", "json")
	if err != nil {
		return "", err
	}
	if !v.Match || v.VerifyRecord.Commitment != t.commitment || v.ContentSHA256 != t.summarySum {
		return "", res.errorf("match %v for commitment %s, want a match for %s", v.Match, v.VerifyRecord.Commitment, t.commitment)
	}
	tampered := []byte(documents[summaryFile])
	tampered[len("Synthetic discharge summary #")] ^= 1
	if err := os.WriteFile(filepath.Join(t.cfg.Dir, tamperedFile), tampered, 0o600); err != nil {
		return "", err
	}
	res, err = t.run.Expect(ctx, offline, exitVerify, &v, "verify", tamperedFile, "--receipt", receiptFile, "-o", "json")
	if err != nil {
		return "", err
	}
	if v.Match {
		return "", res.errorf("a changed copy matches the receipt")
	}
	return fmt.Sprintf("hospital A's receipt verifies B's copy offline, with no gateway: match, commitment %s; a copy with one bit flipped fails (exit 3)",
		short(t.commitment)), nil
}

func (t *tour) erase(ctx context.Context) (string, error) {
	var e evidenceOut
	res, err := t.run.Expect(ctx, aOfficer, exitOK, &e, "record", "erase", t.lab.RecordID, "--reason", "PATIENT-REQUEST", "--yes", "-o", "json")
	if err != nil {
		return "", err
	}
	if e.Status != "erased" || e.Erasure == nil || e.Erasure.Reason != "PATIENT-REQUEST" {
		return "", res.errorf("status %s, erasure %+v, want erased for PATIENT-REQUEST", e.Status, e.Erasure)
	}
	var history []evidenceOut
	res, err = t.run.Expect(ctx, aOfficer, exitOK, &history, "record", "history", t.lab.RecordID, "-o", "json")
	if err != nil {
		return "", err
	}
	if len(history) != 1 || history[0].Status != "erased" || history[0].Erasure == nil || history[0].Erasure.TxID != e.Erasure.TxID || history[0].Commitment == "" {
		return "", res.errorf("history %+v, want version 1 erased in transaction %s, its commitment kept", history, e.Erasure.TxID)
	}
	res, err = t.run.Expect(ctx, aClinician, exitError, nil, "record", "get", t.lab.RecordID, "--out", "erased-lab-report.txt")
	if err != nil {
		return "", err
	}
	if !strings.Contains(string(res.Stderr), "FAILED_PRECONDITION") {
		return "", res.errorf("reading an erased record failed otherwise than with FAILED_PRECONDITION")
	}
	if _, err := os.Stat(filepath.Join(t.cfg.Dir, "erased-lab-report.txt")); err == nil {
		return "", res.errorf("reading an erased record left a file")
	}
	return fmt.Sprintf("hospital A's records officer erases the lab report (PATIENT-REQUEST): its history shows it erased in tx %s, the commitment stays, the content is gone",
		short(e.Erasure.TxID)), nil
}

// short abbreviates a long identifier for a step's line.
func short(id string) string {
	const n = 12
	if len(id) <= n+2 {
		return id
	}
	return id[:n] + "…"
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
