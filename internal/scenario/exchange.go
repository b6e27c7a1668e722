package scenario

import (
	"crypto/sha256"
	"encoding/hex"

	"google.golang.org/grpc/codes"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/internal/devnet"
)

// treatConsent is the consent most scenarios start from: the patient lets
// hospital B read their progress notes up to N, for treatment.
func (e *env) treatConsent(p *devnet.Patient) *gatewayv1.Consent {
	e.t.Helper()
	return e.grant(e.a, UserClinician, p, grantSpec{
		grantee: e.b, docTypes: []string{progressNote},
		purposes: []gatewayv1.PurposeOfUse{gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT}, ceiling: gatewayv1.Confidentiality_CONFIDENTIALITY_N,
	})
}

// request has user of hospital B request access to a record of hospital A.
func (e *env) request(user string, req *gatewayv1.RequestAccessRequest) *gatewayv1.RequestAccessResponse {
	e.t.Helper()
	resp, err := e.access(e.b, user).RequestAccess(e.ctx, req)
	e.must(err, "RequestAccess")
	e.want(resp.GetBlockNumber() > 0, "RequestAccess: block_number 0, want the event's block")
	return resp
}

// grantedEvent is the event of hospital B's clinician granted access for
// treatment by a consent.
func (e *env) grantedEvent(r anchored, consentID string) *gatewayv1.AccessEvent {
	return &gatewayv1.AccessEvent{
		RecordId: r.id, Version: 1, Custodian: e.a, Patient: r.patient.Pseudonym,
		Requester: &gatewayv1.Requester{MspId: e.b, Role: gatewayv1.Role_ROLE_CLINICIAN},
		Purpose:   gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT, Decision: gatewayv1.Decision_DECISION_GRANTED,
		Basis: &gatewayv1.AccessBasis{Type: gatewayv1.BasisType_BASIS_TYPE_CONSENT, ConsentId: consentID},
	}
}

// deniedEvent is the event of hospital B's clinician denied access, as the
// requester sees it (without the patient).
func (e *env) deniedEvent(r anchored, purpose gatewayv1.PurposeOfUse, reason gatewayv1.DenialReason) *gatewayv1.AccessEvent {
	return &gatewayv1.AccessEvent{
		RecordId: r.id, Version: 1, Custodian: e.a,
		Requester: &gatewayv1.Requester{MspId: e.b, Role: gatewayv1.Role_ROLE_CLINICIAN},
		Purpose:   purpose, Decision: gatewayv1.Decision_DECISION_DENIED, DenialReason: reason,
	}
}

// fetch completes an access at hospital B and checks the copy: anchored
// at B as version 1, derived from the source, committing to the same
// content.
func (e *env) fetch(r anchored, ticket string) *gatewayv1.FetchRecordResponse {
	e.t.Helper()
	copyID := e.id("copy")
	f, err := e.access(e.b, UserClinician).FetchRecord(e.ctx, &gatewayv1.FetchRecordRequest{AccessTxId: ticket, CopyRecordId: copyID})
	e.must(err, "FetchRecord")
	src := r.resp.GetEvidence()
	e.wantProto(f.GetSource(), src, "FetchRecord: source evidence")
	e.wantEvidence(f.GetCopy(), &gatewayv1.RecordEvidence{
		RecordId: copyID, Version: 1, Patient: src.GetPatient(), Custodian: e.b,
		Author:  &gatewayv1.Author{Role: gatewayv1.Role_ROLE_CLINICIAN},
		DocType: src.GetDocType(), Confidentiality: src.GetConfidentiality(), Status: gatewayv1.RecordStatus_RECORD_STATUS_ACTIVE,
		DerivedFrom: &gatewayv1.DerivedFrom{Custodian: e.a, RecordId: r.id, Version: 1},
	}, who(e.b, UserClinician), "FetchRecord: copy evidence")
	e.wantReceipt(f.GetReceipt(), f.GetCopy(), r.content, "FetchRecord: copy receipt")
	e.want(f.GetSize() == uint64(len(r.content)), "FetchRecord: size %d, want %d", f.GetSize(), len(r.content))
	return f
}

// consentedExchange: a consent for hospital B lets B's clinician fetch
// A's record; the copy at B is the original byte for byte, verifiable at
// A, and the ticket does not work twice.
func consentedExchange(e *env) {
	p := e.registerPatient(e.a, UserClinician)
	r := e.anchor(e.a, UserClinician, p, progressNote, gatewayv1.Confidentiality_CONFIDENTIALITY_N)
	c := e.treatConsent(p)

	resp := e.request(UserClinician, &gatewayv1.RequestAccessRequest{RecordId: r.id, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT})
	e.wantEvent(resp.GetEvent(), e.grantedEvent(r, c.GetGrant().GetConsentId()), who(e.b, UserClinician), "RequestAccess within the consent")
	ticket := resp.GetEvent().GetTxId()

	f := e.fetch(r, ticket)
	copyID := f.GetCopy().GetRecordId()
	h, got, err := e.read(e.b, UserClinician, copyID)
	e.must(err, "GetRecord of the copy at hospital B")
	e.wantContent(got, r.content, "GetRecord of the copy at hospital B")
	e.wantProto(h.GetEvidence(), f.GetCopy(), "GetRecord of the copy at hospital B: evidence")
	e.wantProto(h.GetReceipt(), f.GetReceipt(), "GetRecord of the copy at hospital B: receipt")
	e.want(h.GetSize() == uint64(len(r.content)), "GetRecord of the copy at hospital B: size %d, want %d", h.GetSize(), len(r.content))
	e.wantTxID(h.GetAccessTxId(), "GetRecord of the copy at hospital B: access_tx_id")

	v, err := e.verifyDocument(e.a, UserClinician, f.GetReceipt(), got)
	e.must(err, "VerifyDocument of the copy at hospital A")
	e.wantProto(v, &gatewayv1.VerifyDocumentResponse{
		RecordId: copyID, Version: 1, Match: true, ReceiptConsistent: true,
		Status: gatewayv1.RecordStatus_RECORD_STATUS_ACTIVE, Custodian: e.b,
		TxId: f.GetCopy().GetTxId(), AnchoredAt: f.GetCopy().GetAnchoredAt(),
	}, "VerifyDocument of the copy at hospital A")

	replayID := e.id("copy")
	_, err = e.access(e.b, UserClinician).FetchRecord(e.ctx, &gatewayv1.FetchRecordRequest{AccessTxId: ticket, CopyRecordId: replayID})
	e.wantCode(err, codes.FailedPrecondition, "FetchRecord with a used ticket")
	_, err = e.history(e.b, UserClinician, replayID)
	e.wantCode(err, codes.NotFound, "RecordHistory of the replayed ticket's copy")
}

// outsideTheConsent: another document type and another purpose are denied
// with the chaincode's reasons, and a denied ticket fetches nothing.
func outsideTheConsent(e *env) {
	p := e.registerPatient(e.a, UserClinician)
	note := e.anchor(e.a, UserClinician, p, progressNote, gatewayv1.Confidentiality_CONFIDENTIALITY_N)
	summary := e.anchor(e.a, UserClinician, p, episodeSummary, gatewayv1.Confidentiality_CONFIDENTIALITY_N)
	c := e.treatConsent(p)

	ok := e.request(UserClinician, &gatewayv1.RequestAccessRequest{RecordId: note.id, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT})
	e.wantEvent(ok.GetEvent(), e.grantedEvent(note, c.GetGrant().GetConsentId()), who(e.b, UserClinician), "RequestAccess within the consent")

	scope := e.request(UserClinician, &gatewayv1.RequestAccessRequest{RecordId: summary.id, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT})
	e.wantEvent(scope.GetEvent(), e.deniedEvent(summary, gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT, gatewayv1.DenialReason_DENIAL_REASON_SCOPE_NOT_COVERED),
		who(e.b, UserClinician), "RequestAccess for a document type outside the consent")

	purpose := e.request(UserClinician, &gatewayv1.RequestAccessRequest{RecordId: note.id, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_HRESCH})
	e.wantEvent(purpose.GetEvent(), e.deniedEvent(note, gatewayv1.PurposeOfUse_PURPOSE_OF_USE_HRESCH, gatewayv1.DenialReason_DENIAL_REASON_PURPOSE_NOT_COVERED),
		who(e.b, UserClinician), "RequestAccess for a purpose outside the consent")

	for step, ticket := range map[string]string{
		"FetchRecord with a ticket denied for scope":   scope.GetEvent().GetTxId(),
		"FetchRecord with a ticket denied for purpose": purpose.GetEvent().GetTxId(),
	} {
		copyID := e.id("copy")
		_, err := e.access(e.b, UserClinician).FetchRecord(e.ctx, &gatewayv1.FetchRecordRequest{AccessTxId: ticket, CopyRecordId: copyID})
		e.wantCode(err, codes.FailedPrecondition, step)
		_, err = e.history(e.b, UserClinician, copyID)
		e.wantCode(err, codes.NotFound, step+": RecordHistory of the copy")
	}
}

// emergencyAccess: without any consent, B's clinician breaks the glass;
// the health authority's auditor sees the alert; the emergency ticket
// fetches the record. A researcher cannot break the glass.
func emergencyAccess(e *env) {
	p := e.registerPatient(e.a, UserClinician)
	r := e.anchor(e.a, UserClinician, p, progressNote, gatewayv1.Confidentiality_CONFIDENTIALITY_N)
	sum := sha256.Sum256([]byte("synthetic justification: unconscious on arrival, no consent on file"))
	justification := hex.EncodeToString(sum[:])
	req := &gatewayv1.RequestAccessRequest{
		RecordId: r.id, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_ETREAT,
		JustificationCode: gatewayv1.JustificationCode_JUSTIFICATION_CODE_LIFE_THREATENING, JustificationHash: justification,
	}

	researcher := e.request(UserResearcher, req)
	e.wantEvent(researcher.GetEvent(), &gatewayv1.AccessEvent{
		RecordId: r.id, Version: 1, Custodian: e.a,
		Requester: &gatewayv1.Requester{MspId: e.b, Role: gatewayv1.Role_ROLE_RESEARCHER},
		Purpose:   gatewayv1.PurposeOfUse_PURPOSE_OF_USE_ETREAT, Decision: gatewayv1.Decision_DECISION_DENIED,
		DenialReason: gatewayv1.DenialReason_DENIAL_REASON_NO_CONSENT,
	}, who(e.b, UserResearcher), "RequestAccess with ETREAT by a researcher")

	resp := e.request(UserClinician, req)
	ev := resp.GetEvent()
	e.wantEvent(ev, &gatewayv1.AccessEvent{
		RecordId: r.id, Version: 1, Custodian: e.a, Patient: p.Pseudonym,
		Requester: &gatewayv1.Requester{MspId: e.b, Role: gatewayv1.Role_ROLE_CLINICIAN},
		Purpose:   gatewayv1.PurposeOfUse_PURPOSE_OF_USE_ETREAT, Decision: gatewayv1.Decision_DECISION_EMERGENCY,
		Basis: &gatewayv1.AccessBasis{
			Type:              gatewayv1.BasisType_BASIS_TYPE_BREAK_THE_GLASS,
			JustificationCode: gatewayv1.JustificationCode_JUSTIFICATION_CODE_LIFE_THREATENING, JustificationHash: justification,
		},
		Alerts: []gatewayv1.Alert{gatewayv1.Alert_ALERT_EMERGENCY_ACCESS},
	}, who(e.b, UserClinician), "RequestAccess with ETREAT by a clinician")

	alerts, err := e.alerts(e.ha, UserAuditor)
	e.must(err, "Alerts for the health authority's auditor")
	mine := only(alerts, ev.GetTxId())
	e.want(len(mine) == 1, "Alerts for the health authority's auditor: %d emergency events, want 1", len(mine))
	e.wantProto(mine[0], ev, "Alerts for the health authority's auditor: the emergency access")
	e.want(inTimeOrder(alerts), "Alerts: not in time order")

	f := e.fetch(r, ev.GetTxId())
	_, got, err := e.read(e.b, UserClinician, f.GetCopy().GetRecordId())
	e.must(err, "GetRecord of the emergency copy at hospital B")
	e.wantContent(got, r.content, "GetRecord of the emergency copy at hospital B")
}

// revocation: a consent that granted access denies it once revoked.
func revocation(e *env) {
	p := e.registerPatient(e.a, UserClinician)
	r := e.anchor(e.a, UserClinician, p, progressNote, gatewayv1.Confidentiality_CONFIDENTIALITY_N)
	c := e.treatConsent(p)
	consentID := c.GetGrant().GetConsentId()
	req := &gatewayv1.RequestAccessRequest{RecordId: r.id, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT}

	before := e.request(UserClinician, req)
	e.wantEvent(before.GetEvent(), e.grantedEvent(r, consentID), who(e.b, UserClinician), "RequestAccess before the revocation")

	e.revoke(e.a, UserClinician, p, consentID)
	got, err := e.consents(e.b, UserClinician).GetConsent(e.ctx, &gatewayv1.GetConsentRequest{ConsentId: consentID})
	e.must(err, "GetConsent by the grantee after the revocation")
	e.want(got.GetConsent().GetStatus() == gatewayv1.ConsentStatus_CONSENT_STATUS_REVOKED,
		"GetConsent by the grantee after the revocation: status %s, want revoked", got.GetConsent().GetStatus())
	e.wantTxID(got.GetConsent().GetRevokeTxId(), "GetConsent by the grantee after the revocation: revoke_tx_id")
	e.wantProto(got.GetConsent().GetGrant(), c.GetGrant(), "GetConsent by the grantee after the revocation: the grant")

	after := e.request(UserClinician, req)
	e.wantEvent(after.GetEvent(), e.deniedEvent(r, gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT, gatewayv1.DenialReason_DENIAL_REASON_CONSENT_REVOKED),
		who(e.b, UserClinician), "RequestAccess after the revocation")
}
