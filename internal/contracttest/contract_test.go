package contracttest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/embedded"
	"github.com/medprov/medprov/internal/devnet"
)

func TestEventsAreDeliveredAfterCommitInOrder(t *testing.T) {
	e := newEnv(t)
	events, err := e.net.Ledger.Events(e.ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	officer := e.user(devnet.HospitalA, "records-officer", "V")
	p := e.registerPatient(officer)
	rec := e.anchor(officer, p.Pseudonym, "18842-5", ledger.ConfNormal)
	if _, err := e.grant(officer, p, devnet.HospitalB, nil); err != nil {
		t.Fatal(err)
	}
	want := []string{ledger.EventPatientRegistered, ledger.EventRecordAnchored, ledger.EventConsentGranted}
	for i, name := range want {
		select {
		case ev := <-events:
			if ev.Name != name {
				t.Fatalf("event %d is %s, want %s", i, ev.Name, name)
			}
			if strings.Contains(string(ev.Payload), "18842-5") {
				t.Errorf("event %s carries the document type; events carry identifiers only", ev.Name)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("event %s not delivered", name)
		}
	}
	res, err := officer.Submit(e.ctx, ledger.TxAmendRecord, asJSON(t, ledger.AmendRequest{RecordID: rec.RecordID, Commitment: commitment(seq.Add(1)), Reason: ledger.AmendAddendum}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Event == nil || res.Event.Name != ledger.EventRecordAmended || res.Event.TxID != res.TxID || res.Event.BlockNumber != res.BlockNumber {
		t.Fatalf("amend result event = %+v, want RecordAmended for tx %s in block %d", res.Event, res.TxID, res.BlockNumber)
	}
}

func TestAmendmentsChainVersionsAndErasureTombstonesThemAll(t *testing.T) {
	e := newEnv(t)
	officer := e.user(devnet.HospitalA, "records-officer", "V")
	p := e.registerPatient(officer)
	rec := e.anchor(officer, p.Pseudonym, "18842-5", ledger.ConfNormal)
	for i := range 3 {
		amended := must[ledger.Record](t)(submit(e.ctx, officer, ledger.TxAmendRecord, asJSON(t, ledger.AmendRequest{RecordID: rec.RecordID, Commitment: commitment(seq.Add(1)), Reason: ledger.AmendCorrection})))
		if amended.Version != i+2 || amended.PreviousVersion != i+1 || amended.AmendmentReason != ledger.AmendCorrection {
			t.Fatalf("amendment %d: version %d previous %d reason %s", i, amended.Version, amended.PreviousVersion, amended.AmendmentReason)
		}
	}
	page1 := must[ledger.Page[ledger.Record]](t)(officer.Evaluate(e.ctx, ledger.TxRecordHistory, rec.RecordID, "3", ""))
	if len(page1.Items) != 3 || page1.Bookmark == "" {
		t.Fatalf("first history page: %d items, bookmark %q", len(page1.Items), page1.Bookmark)
	}
	page2 := must[ledger.Page[ledger.Record]](t)(officer.Evaluate(e.ctx, ledger.TxRecordHistory, rec.RecordID, "3", page1.Bookmark))
	if len(page2.Items) != 1 || page2.Items[0].Version != 4 || page2.Bookmark != "" {
		t.Fatalf("second history page: %+v", page2)
	}
	for _, r := range page1.Items {
		if r.Status != ledger.StatusSuperseded {
			t.Errorf("version %d is %s, want superseded", r.Version, r.Status)
		}
	}
	erased := must[ledger.Record](t)(submit(e.ctx, officer, ledger.TxEraseRecord, asJSON(t, ledger.EraseRequest{RecordID: rec.RecordID, Reason: ledger.EraseRetentionExpired})))
	if erased.Status != ledger.StatusErased || erased.Erasure == nil || erased.Erasure.Reason != ledger.EraseRetentionExpired {
		t.Fatalf("erased record: %+v", erased)
	}
	for v := 1; v <= 4; v++ {
		got := must[ledger.Record](t)(officer.Evaluate(e.ctx, ledger.TxGetRecordVersion, rec.RecordID, fmt.Sprint(v)))
		if got.Status != ledger.StatusErased || got.Commitment == "" {
			t.Errorf("version %d status %s after erasure, want erased", v, got.Status)
		}
	}
	_, err := officer.Submit(e.ctx, ledger.TxAmendRecord, asJSON(t, ledger.AmendRequest{RecordID: rec.RecordID, Commitment: commitment(1), Reason: ledger.AmendCorrection}))
	if !errors.Is(err, ledger.ErrFailedPrecondition) {
		t.Fatalf("amend after erasure: %v, want FAILED_PRECONDITION", err)
	}
	_, err = officer.Submit(e.ctx, ledger.TxEraseRecord, asJSON(t, ledger.EraseRequest{RecordID: rec.RecordID, Reason: ledger.EraseRetentionExpired}))
	if !errors.Is(err, ledger.ErrFailedPrecondition) {
		t.Fatalf("second erasure: %v, want FAILED_PRECONDITION", err)
	}
}

func TestConsentStatementsCannotBeReplayedReorderedOrForged(t *testing.T) {
	e := newEnv(t)
	officer := e.user(devnet.HospitalA, "records-officer", "V")
	p := e.registerPatient(officer)
	g := e.consentGrant(officer, p, devnet.HospitalB, nil)
	sig := p.Sign(g.CanonicalBytes())
	must[ledger.Consent](t)(submit(e.ctx, officer, ledger.TxGrantConsent, asJSON(t, g), sig))

	other, err := devnet.NewPatient()
	if err != nil {
		t.Fatal(err)
	}
	later := e.consentGrant(officer, p, devnet.HospitalB, nil) // sequence 2
	later.Sequence = 3
	skipped := later
	tampered := e.consentGrant(officer, p, devnet.HospitalB, nil)
	tamperedSig := p.Sign(tampered.CanonicalBytes())
	tampered.Purposes = []ledger.Purpose{ledger.PurposeResearch, ledger.PurposeTreatment}

	tests := map[string]struct {
		consent ledger.ConsentGrant
		sig     string
		want    error
	}{
		"a replayed grant does not take effect twice":     {g, sig, ledger.ErrFailedPrecondition},
		"a grant that skips a sequence number is refused": {skipped, p.Sign(skipped.CanonicalBytes()), ledger.ErrFailedPrecondition},
		"a grant changed after signing is refused":        {tampered, tamperedSig, ledger.ErrPermissionDenied},
		"a grant signed by another key is refused":        {tampered, other.Sign(tampered.CanonicalBytes()), ledger.ErrPermissionDenied},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			height := e.net.Ledger.Height()
			_, err := officer.Submit(e.ctx, ledger.TxGrantConsent, asJSON(t, tc.consent), tc.sig)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if h := e.net.Ledger.Height(); h != height {
				t.Fatalf("a refused grant changed the ledger height from %d to %d", height, h)
			}
		})
	}

	// A correctly signed revocation of a consent that does not exist, or
	// that another patient granted, finds nothing.
	stranger := e.registerPatient(officer)
	for _, id := range []string{"consent-never-granted", g.ConsentID} {
		r := ledger.ConsentRevocation{ConsentID: id, Patient: stranger.Pseudonym, Sequence: 1}
		if _, err := officer.Submit(e.ctx, ledger.TxRevokeConsent, asJSON(t, r), stranger.Sign(r.CanonicalBytes())); !errors.Is(err, ledger.ErrNotFound) {
			t.Fatalf("revoking %s as another patient: %v, want NOT_FOUND", id, err)
		}
	}

	r := ledger.ConsentRevocation{ConsentID: g.ConsentID, Patient: p.Pseudonym, Sequence: 2}
	rsig := p.Sign(r.CanonicalBytes())
	must[ledger.Consent](t)(submit(e.ctx, officer, ledger.TxRevokeConsent, asJSON(t, r), rsig))
	if _, err := officer.Submit(e.ctx, ledger.TxRevokeConsent, asJSON(t, r), rsig); !errors.Is(err, ledger.ErrFailedPrecondition) {
		t.Fatalf("replayed revocation: %v, want FAILED_PRECONDITION", err)
	}
}

func TestConcurrentGrantsWithOneSequenceNumberCommitOnce(t *testing.T) {
	e := newEnv(t)
	officer := e.user(devnet.HospitalA, "records-officer", "V")
	p := e.registerPatient(officer)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	grants := make([]ledger.ConsentGrant, n)
	for i := range n {
		grants[i] = e.consentGrant(officer, p, devnet.HospitalB, nil) // all with sequence 1
	}
	for i, g := range grants {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = submit(e.ctx, officer, ledger.TxGrantConsent, asJSON(t, g), p.Sign(g.CanonicalBytes()))
		}()
	}
	wg.Wait()
	okCount := 0
	for _, err := range errs {
		switch {
		case err == nil:
			okCount++
		case errors.Is(err, ledger.ErrFailedPrecondition):
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if okCount != 1 {
		t.Fatalf("%d grants with the same sequence number committed, want exactly 1", okCount)
	}
}

func TestRotatedKeyReplacesTheOldOne(t *testing.T) {
	e := newEnv(t)
	officer := e.user(devnet.HospitalA, "records-officer", "V")
	p := e.registerPatient(officer)
	next, err := devnet.NewPatient()
	if err != nil {
		t.Fatal(err)
	}
	r := ledger.KeyRotation{Patient: p.Pseudonym, NewPublicKey: next.PublicKey, Sequence: 1}
	rotated := must[ledger.Patient](t)(submit(e.ctx, officer, ledger.TxRotatePatientKey, asJSON(t, r), p.Sign(r.CanonicalBytes())))
	if rotated.Pseudonym != p.Pseudonym || rotated.KeyVersion != 2 {
		t.Fatalf("rotated patient: %+v", rotated)
	}
	g := e.consentGrant(officer, p, devnet.HospitalB, nil)
	if _, err := officer.Submit(e.ctx, ledger.TxGrantConsent, asJSON(t, g), p.Sign(g.CanonicalBytes())); !errors.Is(err, ledger.ErrPermissionDenied) {
		t.Fatalf("grant signed with the old key: %v, want PERMISSION_DENIED", err)
	}
	must[ledger.Consent](t)(submit(e.ctx, officer, ledger.TxGrantConsent, asJSON(t, g), next.Sign(g.CanonicalBytes())))
}

func TestAccessDecisions(t *testing.T) {
	e := newEnv(t)
	officer := e.user(devnet.HospitalA, "records-officer", "V")
	clinicianB := e.user(devnet.HospitalB, "clinician", "V")
	researcherB := e.user(devnet.HospitalB, "researcher", "V")
	now := time.Now().UTC()
	type setup struct {
		conf    ledger.Confidentiality
		consent func(*ledger.ConsentGrant) // nil: no consent
	}
	tests := map[string]struct {
		setup  setup
		caller *devnet.Client
		req    func(rec ledger.Record) ledger.AccessRequest
		want   ledger.Decision
		reason ledger.DenialReason
	}{
		"a consent for every record grants treatment": {
			setup{ledger.ConfNormal, func(*ledger.ConsentGrant) {}}, clinicianB, treat, ledger.DecisionGranted, "",
		},
		"no consent denies": {
			setup{ledger.ConfNormal, nil}, clinicianB, treat, ledger.DecisionDenied, ledger.DenyNoConsent,
		},
		"a consent for one record ID grants that record": {
			setup{ledger.ConfNormal, func(g *ledger.ConsentGrant) { g.Scope = ledger.Scope{RecordIDs: []string{"placeholder-replaced"}} }}, clinicianB, treat, ledger.DecisionGranted, "",
		},
		"a consent for another document type denies": {
			setup{ledger.ConfNormal, func(g *ledger.ConsentGrant) { g.Scope = ledger.Scope{DocTypes: []string{"11502-2"}} }}, clinicianB, treat, ledger.DecisionDenied, ledger.DenyScopeNotCovered,
		},
		"a consent for clinicians denies a researcher": {
			setup{ledger.ConfNormal, func(g *ledger.ConsentGrant) { g.Grantee.Role = ledger.RoleClinician }}, researcherB, treat, ledger.DecisionDenied, ledger.DenyRoleNotCovered,
		},
		"a consent for treatment denies research": {
			setup{ledger.ConfNormal, func(*ledger.ConsentGrant) {}}, researcherB, func(r ledger.Record) ledger.AccessRequest {
				return ledger.AccessRequest{RecordID: r.RecordID, Purpose: ledger.PurposeResearch}
			}, ledger.DecisionDenied, ledger.DenyPurposeNotCovered,
		},
		"a record above the consent's ceiling is denied": {
			setup{ledger.ConfRestricted, func(*ledger.ConsentGrant) {}}, clinicianB, treat, ledger.DecisionDenied, ledger.DenyConfidentialityAboveConsent,
		},
		"a consent that starts tomorrow denies today": {
			setup{ledger.ConfNormal, func(g *ledger.ConsentGrant) { g.NotBefore = now.Add(24 * time.Hour).Format(ledger.TimeLayout) }}, clinicianB, treat, ledger.DecisionDenied, ledger.DenyConsentNotYetValid,
		},
		"an expired consent denies": {
			setup{ledger.ConfNormal, func(g *ledger.ConsentGrant) {
				g.NotBefore, g.NotAfter = now.Add(-48*time.Hour).Format(ledger.TimeLayout), now.Add(-24*time.Hour).Format(ledger.TimeLayout)
			}}, clinicianB, treat, ledger.DecisionDenied, ledger.DenyConsentExpired,
		},
		"a clinician breaking the glass without consent gets emergency access": {
			setup{ledger.ConfNormal, nil}, clinicianB, func(r ledger.Record) ledger.AccessRequest {
				return ledger.AccessRequest{RecordID: r.RecordID, Purpose: ledger.PurposeEmergencyTreatment, JustificationCode: ledger.JustifyUnableToConsent, JustificationHash: commitment(7)}
			}, ledger.DecisionEmergency, "",
		},
		"a researcher cannot break the glass": {
			setup{ledger.ConfNormal, nil}, researcherB, func(r ledger.Record) ledger.AccessRequest {
				return ledger.AccessRequest{RecordID: r.RecordID, Purpose: ledger.PurposeEmergencyTreatment, JustificationCode: ledger.JustifyUnableToConsent}
			}, ledger.DecisionDenied, ledger.DenyNoConsent,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := e.registerPatient(officer)
			rec := e.anchor(officer, p.Pseudonym, "18842-5", tc.setup.conf)
			if tc.setup.consent != nil {
				if _, err := e.grant(officer, p, devnet.HospitalB, func(g *ledger.ConsentGrant) {
					tc.setup.consent(g)
					for i, id := range g.Scope.RecordIDs {
						if id == "placeholder-replaced" {
							g.Scope.RecordIDs[i] = rec.RecordID
						}
					}
				}); err != nil {
					t.Fatal(err)
				}
			}
			ev, err := e.requestAccess(tc.caller, tc.req(rec))
			if err != nil {
				t.Fatal(err)
			}
			if ev.Decision != tc.want || ev.DenialReason != tc.reason {
				t.Fatalf("got %s %s, want %s %s", ev.Decision, ev.DenialReason, tc.want, tc.reason)
			}
			stored := must[ledger.AccessEvent](t)(officer.Evaluate(e.ctx, ledger.TxGetAccessEvent, ev.TxID))
			if stored.TxID != ev.TxID || stored.Decision != ev.Decision {
				t.Fatalf("stored event %+v differs from the returned one", stored)
			}
		})
	}
}

func treat(r ledger.Record) ledger.AccessRequest {
	return ledger.AccessRequest{RecordID: r.RecordID, Purpose: ledger.PurposeTreatment}
}

func TestRepeatedDenialsRaiseABurstAlert(t *testing.T) {
	e := newEnv(t)
	officer := e.user(devnet.HospitalA, "records-officer", "V")
	clinicianB := e.user(devnet.HospitalB, "clinician", "N")
	p := e.registerPatient(officer)
	rec := e.anchor(officer, p.Pseudonym, "18842-5", ledger.ConfNormal)
	for i := 1; i <= ledger.DenialBurstThreshold+1; i++ {
		ev, err := e.requestAccess(clinicianB, treat(rec))
		if err != nil {
			t.Fatal(err)
		}
		flagged := strings.Contains(fmt.Sprint(ev.Alerts), string(ledger.AlertDenialBurst))
		if flagged != (i >= ledger.DenialBurstThreshold) {
			t.Fatalf("denial %d flagged=%v", i, flagged)
		}
	}
	auditor := e.user(devnet.HealthAuthority, "auditor", "U")
	alerts := must[ledger.Page[ledger.AccessEvent]](t)(auditor.Evaluate(e.ctx, ledger.TxAlerts, "{}"))
	if len(alerts.Items) != 2 {
		t.Fatalf("%d alerts, want 2 burst alerts", len(alerts.Items))
	}
}

func TestHiddenRecordsLookExactlyLikeMissingOnes(t *testing.T) {
	e := newEnv(t)
	officer := e.user(devnet.HospitalA, "records-officer", "V")
	low := e.user(devnet.HospitalA, "clinician", "M")
	p := e.registerPatient(officer)
	secret := e.anchor(officer, p.Pseudonym, "18842-5", ledger.ConfVeryRestricted)
	e.anchor(officer, p.Pseudonym, "18842-5", ledger.ConfLow)
	_, hiddenErr := low.Evaluate(e.ctx, ledger.TxGetRecord, secret.RecordID)
	_, missingErr := low.Evaluate(e.ctx, ledger.TxGetRecord, "rec-does-not-exist")
	if !errors.Is(hiddenErr, ledger.ErrNotFound) || !errors.Is(missingErr, ledger.ErrNotFound) {
		t.Fatalf("hidden: %v; missing: %v; want NOT_FOUND for both", hiddenErr, missingErr)
	}
	if strings.Replace(hiddenErr.Error(), secret.RecordID, "X", 1) != strings.Replace(missingErr.Error(), "rec-does-not-exist", "X", 1) {
		t.Fatalf("the messages differ: %q vs %q", hiddenErr, missingErr)
	}
	list := must[ledger.Page[ledger.Record]](t)(low.Evaluate(e.ctx, ledger.TxListPatientRecords, p.Pseudonym, "", ""))
	if len(list.Items) != 1 || list.Items[0].RecordID == secret.RecordID {
		t.Fatalf("list for clearance M: %+v, want only the L record", list.Items)
	}
}

func TestBadCallsGetClearErrorsAndChangeNothing(t *testing.T) {
	e := newEnv(t)
	officer := e.user(devnet.HospitalA, "records-officer", "V")
	p := e.registerPatient(officer)
	rec := e.anchor(officer, p.Pseudonym, "18842-5", ledger.ConfNormal)
	valid := ledger.AnchorRequest{RecordID: "rec-bad-input", Patient: p.Pseudonym, DocType: "18842-5", Confidentiality: ledger.ConfNormal, Commitment: commitment(1)}
	with := func(f func(*ledger.AnchorRequest)) string {
		r := valid
		f(&r)
		return asJSON(t, r)
	}
	tests := map[string]struct {
		fn   string
		args []string
		want error
		arg  string // the argument the message must name
	}{
		"an unknown transaction":                   {"DropLedger", nil, ledger.ErrInvalidArgument, "function"},
		"too few arguments":                        {ledger.TxAnchorRecord, nil, ledger.ErrInvalidArgument, "request"},
		"too many arguments":                       {ledger.TxGetRecord, []string{"a", "b"}, ledger.ErrInvalidArgument, "recordId"},
		"a request that is not JSON":               {ledger.TxAnchorRecord, []string{"not json"}, ledger.ErrInvalidArgument, "request"},
		"a request with an unknown field":          {ledger.TxAnchorRecord, []string{`{"recordId":"x","mrn":"123"}`}, ledger.ErrInvalidArgument, "unknown field"},
		"a field of the wrong type":                {ledger.TxAnchorRecord, []string{`{"recordId":5}`}, ledger.ErrInvalidArgument, "recordId"},
		"an oversized request":                     {ledger.TxAnchorRecord, []string{`{"recordId":"` + strings.Repeat("a", 20000) + `"}`}, ledger.ErrInvalidArgument, "request"},
		"a record ID with spaces":                  {ledger.TxAnchorRecord, []string{with(func(r *ledger.AnchorRequest) { r.RecordID = "John Smith" })}, ledger.ErrInvalidArgument, "request.recordId"},
		"a commitment that is not 32 bytes":        {ledger.TxAnchorRecord, []string{with(func(r *ledger.AnchorRequest) { r.Commitment = "abcd" })}, ledger.ErrInvalidArgument, "request.commitment"},
		"an unknown confidentiality code":          {ledger.TxAnchorRecord, []string{with(func(r *ledger.AnchorRequest) { r.Confidentiality = "X" })}, ledger.ErrInvalidArgument, "request.confidentiality"},
		"a LOINC code with a wrong check digit":    {ledger.TxAnchorRecord, []string{with(func(r *ledger.AnchorRequest) { r.DocType = "18842-4" })}, ledger.ErrInvalidArgument, "request.docType"},
		"an unregistered patient":                  {ledger.TxAnchorRecord, []string{with(func(r *ledger.AnchorRequest) { r.Patient = "pt-" + strings.Repeat("0", 40) })}, ledger.ErrNotFound, "patient"},
		"an existing record ID":                    {ledger.TxAnchorRecord, []string{with(func(r *ledger.AnchorRequest) { r.RecordID = rec.RecordID })}, ledger.ErrAlreadyExists, rec.RecordID},
		"a version that is not a number":           {ledger.TxGetRecordVersion, []string{rec.RecordID, "one"}, ledger.ErrInvalidArgument, "version"},
		"a page size out of range":                 {ledger.TxRecordHistory, []string{rec.RecordID, "100000", ""}, ledger.ErrInvalidArgument, "pageSize"},
		"a forged bookmark":                        {ledger.TxRecordHistory, []string{rec.RecordID, "", "Zm9yZ2Vk"}, ledger.ErrInvalidArgument, "bookmark"},
		"a public key that is not a key":           {ledger.TxRegisterPatient, []string{"aGVsbG8="}, ledger.ErrInvalidArgument, "publicKey"},
		"a transaction ID that is not hex":         {ledger.TxGetAccessEvent, []string{"xyz"}, ledger.ErrInvalidArgument, "txId"},
		"an unknown purpose of use":                {ledger.TxRequestAccess, []string{`{"recordId":"` + rec.RecordID + `","purpose":"CURIOSITY"}`}, ledger.ErrInvalidArgument, "request.purpose"},
		"a justification without an emergency":     {ledger.TxRequestAccess, []string{`{"recordId":"` + rec.RecordID + `","purpose":"TREAT","justificationCode":"LIFE-THREATENING"}`}, ledger.ErrInvalidArgument, "request.justificationCode"},
		"two audit filters at once":                {ledger.TxAccessHistory, []string{`{"recordId":"` + rec.RecordID + `","patient":"` + p.Pseudonym + `"}`}, ledger.ErrInvalidArgument, "query"},
		"an audit window longer than a year":       {ledger.TxAlerts, []string{`{"from":"2024-01-01T00:00:00Z","to":"2026-01-01T00:00:00Z"}`}, ledger.ErrInvalidArgument, "query.from"},
		"an erase reason outside the code list":    {ledger.TxEraseRecord, []string{`{"recordId":"` + rec.RecordID + `","reason":"because"}`}, ledger.ErrInvalidArgument, "request.reason"},
		"a log access without a care flag":         {ledger.TxLogAccess, []string{`{"recordId":"` + rec.RecordID + `","purpose":"TREAT"}`}, ledger.ErrInvalidArgument, "request.careRelationship"},
		"an amendment reason outside the list":     {ledger.TxAmendRecord, []string{`{"recordId":"` + rec.RecordID + `","commitment":"` + commitment(2) + `","reason":"typo in diagnosis"}`}, ledger.ErrInvalidArgument, "request.reason"},
		"a consent with neither scope nor all":     {ledger.TxGrantConsent, []string{`{"consentId":"c-1","patient":"` + p.Pseudonym + `","grantee":{"mspId":"HospitalBMSP"},"scope":{"all":false},"purposes":["TREAT"],"maxConfidentiality":"N","notBefore":"2026-01-01T00:00:00Z","notAfter":"2027-01-01T00:00:00Z","sequence":1}`, "c2ln"}, ledger.ErrInvalidArgument, "consent.scope"},
		"a directory endpoint without a port":      {ledger.TxSetOrgEndpoint, []string{`{"endpoint":"gateway.example","tlsCaCertPem":"x"}`}, ledger.ErrPermissionDenied, "admin"},
		"a pseudonym of the wrong form":            {ledger.TxGetPatient, []string{"patient-42"}, ledger.ErrInvalidArgument, "patient"},
		"a record ID in an MSP ID field":           {ledger.TxListConsentsByGrantee, []string{"Hospital B!", "", ""}, ledger.ErrInvalidArgument, "granteeMsp"},
		"a directory lookup of an unknown org":     {ledger.TxGetOrgEndpoint, []string{"NoSuchMSP"}, ledger.ErrNotFound, "NoSuchMSP"},
		"a verification of a missing version":      {ledger.TxVerifyRecord, []string{rec.RecordID, "9", commitment(1)}, ledger.ErrNotFound, rec.RecordID},
		"a time window with from after to":         {ledger.TxAccessHistory, []string{`{"patient":"` + p.Pseudonym + `","from":"2026-02-01T00:00:00Z","to":"2026-01-01T00:00:00Z"}`}, ledger.ErrInvalidArgument, "query.to"},
		"a time that is not UTC seconds":           {ledger.TxAlerts, []string{`{"from":"2026-01-01"}`}, ledger.ErrInvalidArgument, "query.from"},
		"a revocation with a bad signature":        {ledger.TxRevokeConsent, []string{`{"consentId":"c-missing","patient":"` + p.Pseudonym + `","sequence":1}`, "c2ln"}, ledger.ErrPermissionDenied, "signature"},
		"a rotation with a sequence of zero":       {ledger.TxRotatePatientKey, []string{`{"patient":"` + p.Pseudonym + `","newPublicKey":"` + p.PublicKey + `","sequence":0}`, "c2ln"}, ledger.ErrInvalidArgument, "rotation.sequence"},
		"a request for a record that is not there": {ledger.TxRequestAccess, []string{`{"recordId":"rec-missing","purpose":"TREAT"}`}, ledger.ErrNotFound, "rec-missing"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			height := e.net.Ledger.Height()
			_, err := officer.Submit(e.ctx, tc.fn, tc.args...)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.arg) {
				t.Errorf("error %q does not name %q", err, tc.arg)
			}
			if strings.Contains(err.Error(), "John Smith") || strings.Contains(err.Error(), "123") {
				t.Errorf("error %q echoes the bad value", err)
			}
			if h := e.net.Ledger.Height(); h != height {
				t.Fatalf("a failed call changed the ledger height from %d to %d", height, h)
			}
		})
	}
}

func TestAuditTrailPagesAcrossDaysAndFiltersByWindow(t *testing.T) {
	var mu sync.Mutex
	clock := time.Date(2026, 3, 1, 22, 0, 0, 0, time.UTC)
	e := newEnv(t, devnet.WithLedgerConfig(func(c *embedded.Config) {
		c.Clock = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	}))
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	officer := e.user(devnet.HospitalA, "records-officer", "V")
	clinicianB := e.user(devnet.HospitalB, "clinician", "N")
	p := e.registerPatient(officer)
	rec := e.anchor(officer, p.Pseudonym, "18842-5", ledger.ConfNormal)
	if _, err := e.grant(officer, p, devnet.HospitalB, func(g *ledger.ConsentGrant) {
		g.NotBefore, g.NotAfter = "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"
	}); err != nil {
		t.Fatal(err)
	}
	// 250 granted accesses, one every 20 minutes: they span four days.
	var txs []string
	for range 250 {
		ev, err := e.requestAccess(clinicianB, treat(rec))
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, ev.TxID)
		advance(20 * time.Minute)
	}
	auditor := e.user(devnet.HealthAuthority, "auditor", "U")
	collect := func(q ledger.AuditQuery) ([]string, []int) {
		var got []string
		var sizes []int
		for {
			page := must[ledger.Page[ledger.AccessEvent]](t)(auditor.Evaluate(e.ctx, ledger.TxAccessHistory, asJSON(t, q)))
			sizes = append(sizes, len(page.Items))
			for _, ev := range page.Items {
				got = append(got, ev.TxID)
			}
			if page.Bookmark == "" {
				return got, sizes
			}
			q.Bookmark = page.Bookmark
		}
	}
	tests := map[string]struct {
		query ledger.AuditQuery
		want  []string
		sizes []int
	}{
		"by record, in pages of 100":    {ledger.AuditQuery{RecordID: rec.RecordID, PageSize: 100}, txs, []int{100, 100, 50}},
		"by requester, in pages of 100": {ledger.AuditQuery{RequesterMSP: devnet.HospitalB, PageSize: 100}, txs, []int{100, 100, 50}},
		"by time, across four days":     {ledger.AuditQuery{From: "2026-03-01T00:00:00Z", To: "2026-03-06T00:00:00Z", PageSize: 100}, txs, []int{100, 100, 50}},
		"by patient within a window":    {ledger.AuditQuery{Patient: p.Pseudonym, From: "2026-03-02T00:00:00Z", To: "2026-03-03T00:00:00Z", PageSize: 30}, txs[6 : 6+72], []int{30, 30, 12}},
		"by time within a window":       {ledger.AuditQuery{From: "2026-03-02T00:00:00Z", To: "2026-03-03T00:00:00Z", PageSize: 50}, txs[6 : 6+72], []int{50, 22}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, sizes := collect(tc.query)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %d events, want %d, in order", len(got), len(tc.want))
			}
			if fmt.Sprint(sizes) != fmt.Sprint(tc.sizes) {
				t.Fatalf("page sizes %v, want %v", sizes, tc.sizes)
			}
		})
	}
	// A query without a window keeps the window its first page resolved,
	// even when the clock passes midnight before the next page.
	first := must[ledger.Page[ledger.AccessEvent]](t)(auditor.Evaluate(e.ctx, ledger.TxAccessHistory, asJSON(t, ledger.AuditQuery{PageSize: 200})))
	advance(48 * time.Hour)
	rest, _ := collect(ledger.AuditQuery{PageSize: 200, Bookmark: first.Bookmark})
	if len(first.Items)+len(rest) != len(txs) {
		t.Fatalf("a default-window query paged across midnight returned %d+%d events, want %d", len(first.Items), len(rest), len(txs))
	}
	bounded := ledger.AuditQuery{From: "2026-03-01T00:00:00Z", To: "2026-03-06T00:00:00Z", Bookmark: first.Bookmark}
	if _, err := auditor.Evaluate(e.ctx, ledger.TxAccessHistory, asJSON(t, bounded)); !errors.Is(err, ledger.ErrInvalidArgument) {
		t.Fatalf("a bookmark used with another window: %v, want INVALID_ARGUMENT", err)
	}

	q := ledger.AuditQuery{RecordID: rec.RecordID, PageSize: 10}
	page := must[ledger.Page[ledger.AccessEvent]](t)(auditor.Evaluate(e.ctx, ledger.TxAccessHistory, asJSON(t, q)))
	q = ledger.AuditQuery{RequesterMSP: devnet.HospitalB, Bookmark: page.Bookmark}
	if _, err := auditor.Evaluate(e.ctx, ledger.TxAccessHistory, asJSON(t, q)); !errors.Is(err, ledger.ErrInvalidArgument) {
		t.Fatalf("a bookmark from another query: %v, want INVALID_ARGUMENT", err)
	}
}

func TestOutputsAreDeterministic(t *testing.T) {
	e := newEnv(t)
	officer := e.user(devnet.HospitalA, "records-officer", "V")
	p := e.registerPatient(officer)
	rec := e.anchor(officer, p.Pseudonym, "18842-5", ledger.ConfNormal)
	first, err := officer.Evaluate(e.ctx, ledger.TxListPatientRecords, p.Pseudonym, "", "")
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, err := officer.Evaluate(e.ctx, ledger.TxListPatientRecords, p.Pseudonym, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if string(again) != string(first) {
			t.Fatalf("two evaluations of the same query differ")
		}
	}
	var page ledger.Page[json.RawMessage]
	if err := json.Unmarshal(first, &page); err != nil || len(page.Items) != 1 || !strings.Contains(string(page.Items[0]), rec.RecordID) {
		t.Fatalf("list: %s", first)
	}
}

func TestAnswersToOutsidersDiscloseNothingMore(t *testing.T) {
	e := newEnv(t)
	officer := e.user(devnet.HospitalA, "records-officer", "V")
	clinicianB := e.user(devnet.HospitalB, "clinician", "N")
	p := e.registerPatient(officer)
	rec := e.anchor(officer, p.Pseudonym, "18842-5", ledger.ConfNormal)

	t.Run("a verification that does not match returns no metadata", func(t *testing.T) {
		v := must[ledger.Verification](t)(clinicianB.Evaluate(e.ctx, ledger.TxVerifyRecord, rec.RecordID, "1", commitment(424242)))
		if v.Match || v.Custodian != "" || v.TxID != "" || v.Status != "" || v.AnchoredAt != nil {
			t.Fatalf("mismatch answer: %+v", v)
		}
		v = must[ledger.Verification](t)(clinicianB.Evaluate(e.ctx, ledger.TxVerifyRecord, rec.RecordID, "1", rec.Commitment))
		if !v.Match || v.Custodian != devnet.HospitalA || v.TxID != rec.TxID {
			t.Fatalf("match answer: %+v", v)
		}
	})
	t.Run("a denied requester does not learn the patient", func(t *testing.T) {
		ev, err := e.requestAccess(clinicianB, treat(rec))
		if err != nil {
			t.Fatal(err)
		}
		if ev.Decision != ledger.DecisionDenied || ev.Patient != "" {
			t.Fatalf("denied event as returned: %+v", ev)
		}
		stored := must[ledger.AccessEvent](t)(officer.Evaluate(e.ctx, ledger.TxGetAccessEvent, ev.TxID))
		if stored.Patient != p.Pseudonym {
			t.Fatalf("the stored event lost the patient: %+v", stored)
		}
	})
	t.Run("reads of an erased record cannot be logged as granted", func(t *testing.T) {
		gone := e.anchor(officer, p.Pseudonym, "18842-5", ledger.ConfNormal)
		must[ledger.Record](t)(submit(e.ctx, officer, ledger.TxEraseRecord, asJSON(t, ledger.EraseRequest{RecordID: gone.RecordID, Reason: ledger.EraseEnteredInError})))
		care := true
		_, err := officer.Submit(e.ctx, ledger.TxLogAccess, asJSON(t, ledger.LogAccessRequest{RecordID: gone.RecordID, Purpose: ledger.PurposeTreatment, CareRelationship: &care}))
		if !errors.Is(err, ledger.ErrFailedPrecondition) {
			t.Fatalf("log access to an erased record: %v, want FAILED_PRECONDITION", err)
		}
	})
}
