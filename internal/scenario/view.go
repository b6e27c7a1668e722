package scenario

import (
	"bytes"
	"slices"

	"google.golang.org/grpc/codes"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/internal/devnet"
	"github.com/medprov/medprov/internal/patientproof"
)

// patientView: a patient who answers a challenge sees, at each hospital,
// the records it holds about them and every access to those records; a
// proof that does not verify is UNAUTHENTICATED.
func patientView(e *env) {
	p := e.registerPatient(e.a, UserClinician)
	r := e.anchor(e.a, UserClinician, p, progressNote, gatewayv1.Confidentiality_CONFIDENTIALITY_N)
	c := e.treatConsent(p)

	granted := e.request(UserClinician, &gatewayv1.RequestAccessRequest{RecordId: r.id, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT})
	e.wantEvent(granted.GetEvent(), e.grantedEvent(r, c.GetGrant().GetConsentId()), who(e.b, UserClinician), "RequestAccess within the consent")
	denied := e.request(UserClinician, &gatewayv1.RequestAccessRequest{RecordId: r.id, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_HRESCH})
	e.wantEvent(denied.GetEvent(), e.deniedEvent(r, gatewayv1.PurposeOfUse_PURPOSE_OF_USE_HRESCH, gatewayv1.DenialReason_DENIAL_REASON_PURPOSE_NOT_COVERED),
		who(e.b, UserClinician), "RequestAccess for a purpose outside the consent")
	f := e.fetch(r, granted.GetEvent().GetTxId())
	h, _, err := e.read(e.b, UserClinician, f.GetCopy().GetRecordId())
	e.must(err, "GetRecord of the copy at hospital B")

	// At hospital A: the original record, and B's two requests. The
	// patient's view of the denial keeps the patient (it is about them).
	proofA := e.proof(e.a, p)
	recs, err := e.myRecords(e.a, proofA)
	e.must(err, "ListMyRecords at hospital A")
	e.want(len(recs) == 1, "ListMyRecords at hospital A: %d records, want 1", len(recs))
	e.wantProto(recs[0], r.resp.GetEvidence(), "ListMyRecords at hospital A")
	events, err := e.myAccessEvents(e.a, proofA)
	e.must(err, "ListMyAccessEvents at hospital A")
	wantIDs := []string{granted.GetEvent().GetTxId(), denied.GetEvent().GetTxId()}
	e.want(slices.Equal(txIDs(events), wantIDs), "ListMyAccessEvents at hospital A: events %v, want B's requests %v", txIDs(events), wantIDs)
	e.wantProto(events[0], granted.GetEvent(), "ListMyAccessEvents at hospital A: the granted request")
	withPatient := e.deniedEvent(r, gatewayv1.PurposeOfUse_PURPOSE_OF_USE_HRESCH, gatewayv1.DenialReason_DENIAL_REASON_PURPOSE_NOT_COVERED)
	withPatient.Patient = p.Pseudonym
	e.wantEvent(events[1], withPatient, who(e.b, UserClinician), "ListMyAccessEvents at hospital A: the denied request")

	// At hospital B: the copy, and B's own read of it.
	proofB := e.proof(e.b, p)
	recs, err = e.myRecords(e.b, proofB)
	e.must(err, "ListMyRecords at hospital B")
	e.want(len(recs) == 1, "ListMyRecords at hospital B: %d records, want the copy", len(recs))
	e.wantProto(recs[0], f.GetCopy(), "ListMyRecords at hospital B")
	events, err = e.myAccessEvents(e.b, proofB)
	e.must(err, "ListMyAccessEvents at hospital B")
	e.want(len(events) == 1, "ListMyAccessEvents at hospital B: %d events, want B's read of the copy", len(events))
	e.want(events[0].GetTxId() == h.GetAccessTxId(), "ListMyAccessEvents at hospital B: event %s, want the read %s", events[0].GetTxId(), h.GetAccessTxId())
	e.wantEvent(events[0], &gatewayv1.AccessEvent{
		RecordId: f.GetCopy().GetRecordId(), Version: 1, Custodian: e.b, Patient: p.Pseudonym,
		Requester: &gatewayv1.Requester{MspId: e.b, Role: gatewayv1.Role_ROLE_CLINICIAN},
		Purpose:   gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT, Decision: gatewayv1.Decision_DECISION_GRANTED,
		Basis:            &gatewayv1.AccessBasis{Type: gatewayv1.BasisType_BASIS_TYPE_CUSTODIAN_STAFF},
		CareRelationship: true,
	}, who(e.b, UserClinician), "ListMyAccessEvents at hospital B: the read of the copy")

	// Proofs that must not work.
	other, err := devnet.NewPatient()
	e.must(err, "another patient's key")
	ch := e.challenge(e.a, p)
	flipped := e.sign(p, patientproof.Encode(ch.GetMspId(), p.Pseudonym, ch.GetChallengeId(), ch.GetChallenge()))
	flipped[0] ^= 0x01
	bad := map[string]*gatewayv1.PatientProof{
		"a signature with one bit changed": {Patient: p.Pseudonym, ChallengeId: ch.GetChallengeId(), Signature: flipped},
		"a signature by another key": {Patient: p.Pseudonym, ChallengeId: ch.GetChallengeId(),
			Signature: e.sign(other, patientproof.Encode(ch.GetMspId(), p.Pseudonym, ch.GetChallengeId(), ch.GetChallenge()))},
		"a signature for hospital B's gateway": {Patient: p.Pseudonym, ChallengeId: ch.GetChallengeId(),
			Signature: e.sign(p, patientproof.Encode(e.b, p.Pseudonym, ch.GetChallengeId(), ch.GetChallenge()))},
		"a signature over other challenge bytes": {Patient: p.Pseudonym, ChallengeId: ch.GetChallengeId(),
			Signature: e.sign(p, patientproof.Encode(ch.GetMspId(), p.Pseudonym, ch.GetChallengeId(), bytes.Repeat([]byte{7}, patientproof.ChallengeBytes)))},
		"a challenge hospital B issued": proofB,
	}
	for step, proof := range bad {
		_, err := e.patients(e.a).ListMyRecords(e.ctx, &gatewayv1.ListMyRecordsRequest{Proof: proof})
		e.wantCode(err, codes.Unauthenticated, "ListMyRecords with "+step)
		_, err = e.patients(e.a).ListMyAccessEvents(e.ctx, &gatewayv1.ListMyAccessEventsRequest{Proof: proof})
		e.wantCode(err, codes.Unauthenticated, "ListMyAccessEvents with "+step)
	}
}
