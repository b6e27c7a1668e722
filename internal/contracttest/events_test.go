package contracttest

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/medprov/medprov/chaincode/contract"
	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/internal/devnet"
)

// TestEveryWriteTransactionEmitsItsEvent makes one successful call of every
// write transaction and checks the event it committed: the right name, the
// transaction's own ID and block, and a payload of identifiers only.
func TestEveryWriteTransactionEmitsItsEvent(t *testing.T) {
	e := newEnv(t)
	officer := e.user(devnet.HospitalA, "records-officer", "V")
	admin := e.user(devnet.HospitalA, "admin", "U")
	clinicianB := e.user(devnet.HospitalB, "clinician", "N")
	p, err := devnet.NewPatient()
	if err != nil {
		t.Fatal(err)
	}
	next, err := devnet.NewPatient()
	if err != nil {
		t.Fatal(err)
	}
	recordID := uniqueID("rec")
	var consentID string
	care := false
	steps := []struct {
		tx, event string
		as        *devnet.Client
		args      func() []string
	}{
		{ledger.TxRegisterPatient, ledger.EventPatientRegistered, officer, func() []string { return []string{p.PublicKey} }},
		{ledger.TxAnchorRecord, ledger.EventRecordAnchored, officer, func() []string {
			return []string{asJSON(t, ledger.AnchorRequest{RecordID: recordID, Patient: p.Pseudonym, DocType: "18842-5", Confidentiality: ledger.ConfNormal, Commitment: commitment(1)})}
		}},
		{ledger.TxAmendRecord, ledger.EventRecordAmended, officer, func() []string {
			return []string{asJSON(t, ledger.AmendRequest{RecordID: recordID, Commitment: commitment(2), Reason: ledger.AmendAddendum})}
		}},
		{ledger.TxGrantConsent, ledger.EventConsentGranted, officer, func() []string {
			g := e.consentGrant(officer, p, devnet.HospitalB, nil)
			consentID = g.ConsentID
			return []string{asJSON(t, g), p.Sign(g.CanonicalBytes())}
		}},
		{ledger.TxRequestAccess, ledger.EventAccessDecided, clinicianB, func() []string {
			return []string{asJSON(t, ledger.AccessRequest{RecordID: recordID, Purpose: ledger.PurposeTreatment})}
		}},
		{ledger.TxLogAccess, ledger.EventAccessLogged, officer, func() []string {
			return []string{asJSON(t, ledger.LogAccessRequest{RecordID: recordID, Purpose: ledger.PurposeTreatment, CareRelationship: &care})}
		}},
		{ledger.TxRevokeConsent, ledger.EventConsentRevoked, officer, func() []string {
			r := ledger.ConsentRevocation{ConsentID: consentID, Patient: p.Pseudonym, Sequence: 2}
			return []string{asJSON(t, r), p.Sign(r.CanonicalBytes())}
		}},
		{ledger.TxRotatePatientKey, ledger.EventPatientKeyRotated, officer, func() []string {
			r := ledger.KeyRotation{Patient: p.Pseudonym, NewPublicKey: next.PublicKey, Sequence: 3}
			return []string{asJSON(t, r), p.Sign(r.CanonicalBytes())}
		}},
		{ledger.TxEraseRecord, ledger.EventRecordErased, officer, func() []string {
			return []string{asJSON(t, ledger.EraseRequest{RecordID: recordID, Reason: ledger.ErasePatientRequest})}
		}},
		{ledger.TxSetOrgEndpoint, ledger.EventOrgEndpointSet, admin, func() []string {
			return []string{asJSON(t, endpointRequest(t, e.net))}
		}},
		{ledger.TxBaselinePut, ledger.EventBaselinePut, officer, func() []string { return []string{"0123abcd"} }},
	}
	covered := map[string]bool{}
	for _, s := range steps {
		res, err := s.as.Submit(e.ctx, s.tx, s.args()...)
		if err != nil {
			t.Fatalf("%s: %v", s.tx, err)
		}
		ev := res.Event
		if ev == nil || ev.Name != s.event || ev.TxID != res.TxID || ev.BlockNumber != res.BlockNumber {
			t.Fatalf("%s committed event %+v, want %s for tx %s in block %d", s.tx, ev, s.event, res.TxID, res.BlockNumber)
		}
		var payload map[string]any
		if err := json.Unmarshal(ev.Payload, &payload); err != nil {
			t.Fatalf("%s event payload is not JSON: %v", s.tx, err)
		}
		for _, field := range []string{"docType", "confidentiality", "commitment", "purposes", "publicKey", "signature"} {
			if _, ok := payload[field]; ok {
				t.Errorf("%s event payload carries %s; events carry identifiers only", s.tx, field)
			}
		}
		if strings.Contains(string(ev.Payload), "18842-5") {
			t.Errorf("%s event payload carries the document type", s.tx)
		}
		covered[s.tx] = true
	}
	for _, s := range slices.Concat(contract.Signatures, contract.BaselineSignatures) {
		if !s.ReadOnly && !covered[s.Name] {
			t.Errorf("write transaction %s is not covered", s.Name)
		}
	}
}
