package scenario

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"

	"google.golang.org/grpc/codes"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/internal/receipt"
)

// anchorAndVerify: a clinician of hospital A anchors a record; its receipt
// is the one GetReceipt returns; hospital B verifies the document and
// rejects a one-byte change; the receipt checks offline against the
// record's evidence.
func anchorAndVerify(e *env) {
	p := e.registerPatient(e.a, UserClinician)
	r := e.anchor(e.a, UserClinician, p, progressNote, gatewayv1.Confidentiality_CONFIDENTIALITY_N)
	rc := r.resp.GetReceipt()

	for _, v := range []uint32{0, 1} {
		got, err := e.records(e.a, UserClinician).GetReceipt(e.ctx, &gatewayv1.GetReceiptRequest{RecordId: r.id, Version: v})
		e.must(err, "GetReceipt")
		e.wantProto(got.GetReceipt(), rc, "GetReceipt: the receipt AddRecord returned")
		e.want(got.GetStoredAt().IsValid(), "GetReceipt: stored_at %v, want a time", got.GetStoredAt())
	}

	ev := r.resp.GetEvidence()
	match, err := e.verifyDocument(e.b, UserClinician, rc, r.content)
	e.must(err, "VerifyDocument at hospital B")
	e.wantProto(match, &gatewayv1.VerifyDocumentResponse{
		RecordId: r.id, Version: 1, Match: true, ReceiptConsistent: true,
		Status: gatewayv1.RecordStatus_RECORD_STATUS_ACTIVE, Custodian: e.a, TxId: ev.GetTxId(), AnchoredAt: ev.GetAnchoredAt(),
	}, "VerifyDocument at hospital B: the document")

	tampered := bytes.Clone(r.content)
	tampered[len(tampered)/2] ^= 0x01
	mismatch, err := e.verifyDocument(e.b, UserClinician, rc, tampered)
	e.must(err, "VerifyDocument at hospital B, one byte changed")
	e.wantProto(mismatch, &gatewayv1.VerifyDocumentResponse{RecordId: r.id, Version: 1},
		"VerifyDocument at hospital B: the document with one byte changed")

	// Offline: the receipt and the content alone, then the ledger's
	// evidence as RecordHistory and VerifyDocument report it.
	hist, err := e.history(e.a, UserClinician, r.id)
	e.must(err, "RecordHistory")
	e.want(len(hist) == 1, "RecordHistory: %d versions, want 1", len(hist))
	e.wantProto(hist[0], ev, "RecordHistory: version 1")
	off := offline(rc)
	e.must(off.Validate(), "the receipt, offline")
	res, err := off.Check(bytes.NewReader(r.content))
	e.must(err, "receipt check")
	e.want(res.Match, "receipt check: the document does not match its receipt")
	e.must(res.Consistent(answerOf(off, hist[0])), "receipt check against RecordHistory's evidence")
	e.must(res.Consistent(answerFrom(match)), "receipt check against VerifyDocument's answer")
	bad, err := off.Check(bytes.NewReader(tampered))
	e.must(err, "receipt check, one byte changed")
	e.want(!bad.Match, "receipt check: a document with one byte changed matches")
	e.want(errors.Is(bad.Consistent(answerOf(off, hist[0])), receipt.ErrContentMismatch),
		"receipt check: a document with one byte changed is consistent with the ledger")
}

// amendmentAndErasure: an amendment supersedes version 1 and keeps it
// readable; an erasure by the records officer ends every read, receipt and
// grant of the record.
func amendmentAndErasure(e *env) {
	p := e.registerPatient(e.a, UserClinician)
	r := e.anchor(e.a, UserClinician, p, progressNote, gatewayv1.Confidentiality_CONFIDENTIALITY_N)
	c := e.grant(e.a, UserClinician, p, grantSpec{
		grantee: e.b, docTypes: []string{progressNote},
		purposes: []gatewayv1.PurposeOfUse{gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT}, ceiling: gatewayv1.Confidentiality_CONFIDENTIALITY_N,
	})

	v2 := document(r.id, "corrected progress note")
	amend, err := e.amendRecord(e.a, UserClinician, &gatewayv1.AmendmentMetadata{
		RecordId: r.id, Reason: gatewayv1.AmendmentReason_AMENDMENT_REASON_CORRECTION,
	}, v2)
	e.must(err, "AmendRecord")
	e.wantEvidence(amend.GetEvidence(), &gatewayv1.RecordEvidence{
		RecordId: r.id, Version: 2, Patient: p.Pseudonym, Custodian: e.a,
		Author:  &gatewayv1.Author{Role: gatewayv1.Role_ROLE_CLINICIAN},
		DocType: progressNote, Confidentiality: gatewayv1.Confidentiality_CONFIDENTIALITY_N,
		Status: gatewayv1.RecordStatus_RECORD_STATUS_ACTIVE, PreviousVersion: 1,
		AmendmentReason: gatewayv1.AmendmentReason_AMENDMENT_REASON_CORRECTION,
	}, who(e.a, UserClinician), "AmendRecord: evidence")
	e.wantReceipt(amend.GetReceipt(), amend.GetEvidence(), v2, "AmendRecord: receipt")
	e.want(amend.GetSize() == uint64(len(v2)), "AmendRecord: size %d, want %d", amend.GetSize(), len(v2))

	superseded := cloneEvidence(r.resp.GetEvidence())
	superseded.Status = gatewayv1.RecordStatus_RECORD_STATUS_SUPERSEDED
	hist, err := e.history(e.a, UserClinician, r.id)
	e.must(err, "RecordHistory after the amendment")
	e.want(len(hist) == 2, "RecordHistory after the amendment: %d versions, want 2", len(hist))
	e.wantProto(hist[0], superseded, "RecordHistory after the amendment: version 1")
	e.wantProto(hist[1], amend.GetEvidence(), "RecordHistory after the amendment: version 2")

	h, got, err := e.read(e.a, UserClinician, r.id)
	e.must(err, "GetRecord of the latest version")
	e.wantProto(h.GetEvidence(), amend.GetEvidence(), "GetRecord of the latest version: evidence")
	e.wantContent(got, v2, "GetRecord of the latest version")
	h, got, err = e.getRecord(e.a, UserClinician, &gatewayv1.GetRecordRequest{
		RecordId: r.id, Version: 1, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT, CareRelationship: true,
	})
	e.must(err, "GetRecord of version 1")
	e.wantProto(h.GetEvidence(), superseded, "GetRecord of version 1: evidence")
	e.wantContent(got, r.content, "GetRecord of version 1")

	granted, err := e.access(e.b, UserClinician).RequestAccess(e.ctx, &gatewayv1.RequestAccessRequest{
		RecordId: r.id, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT,
	})
	e.must(err, "RequestAccess before the erasure")
	e.wantEvent(granted.GetEvent(), &gatewayv1.AccessEvent{
		RecordId: r.id, Version: 2, Custodian: e.a, Patient: p.Pseudonym,
		Requester: &gatewayv1.Requester{MspId: e.b, Role: gatewayv1.Role_ROLE_CLINICIAN},
		Purpose:   gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT, Decision: gatewayv1.Decision_DECISION_GRANTED,
		Basis: &gatewayv1.AccessBasis{Type: gatewayv1.BasisType_BASIS_TYPE_CONSENT, ConsentId: c.GetGrant().GetConsentId()},
	}, who(e.b, UserClinician), "RequestAccess before the erasure")

	erase := &gatewayv1.EraseRecordRequest{RecordId: r.id, Reason: gatewayv1.ErasureReason_ERASURE_REASON_PATIENT_REQUEST}
	_, err = e.records(e.a, UserClinician).EraseRecord(e.ctx, erase)
	e.wantCode(err, codes.PermissionDenied, "EraseRecord by a clinician")
	erased, err := e.records(e.a, UserOfficer).EraseRecord(e.ctx, erase)
	e.must(err, "EraseRecord by the records officer")
	want := cloneEvidence(amend.GetEvidence())
	want.Status = gatewayv1.RecordStatus_RECORD_STATUS_ERASED
	want.Erasure = &gatewayv1.Erasure{Reason: gatewayv1.ErasureReason_ERASURE_REASON_PATIENT_REQUEST}
	e.wantEvidence(erased.GetEvidence(), want, who(e.a, UserClinician), "EraseRecord: evidence")
	erasure := erased.GetEvidence().GetErasure()

	_, _, err = e.read(e.a, UserClinician, r.id)
	e.wantCode(err, codes.FailedPrecondition, "GetRecord after the erasure")
	_, _, err = e.getRecord(e.a, UserOfficer, &gatewayv1.GetRecordRequest{
		RecordId: r.id, Version: 1, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT, CareRelationship: true,
	})
	e.wantCode(err, codes.FailedPrecondition, "GetRecord of version 1 after the erasure")

	hist, err = e.history(e.a, UserClinician, r.id)
	e.must(err, "RecordHistory after the erasure")
	e.want(len(hist) == 2, "RecordHistory after the erasure: %d versions, want 2", len(hist))
	for i, v := range []*gatewayv1.RecordEvidence{superseded, amend.GetEvidence()} {
		w := cloneEvidence(v)
		w.Status, w.Erasure = gatewayv1.RecordStatus_RECORD_STATUS_ERASED, erasure
		e.wantProto(hist[i], w, fmt.Sprintf("RecordHistory after the erasure: version %d", i+1))
	}

	denied, err := e.access(e.b, UserClinician).RequestAccess(e.ctx, &gatewayv1.RequestAccessRequest{
		RecordId: r.id, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT,
	})
	e.must(err, "RequestAccess after the erasure")
	e.wantEvent(denied.GetEvent(), &gatewayv1.AccessEvent{
		RecordId: r.id, Version: 2, Custodian: e.a,
		Requester: &gatewayv1.Requester{MspId: e.b, Role: gatewayv1.Role_ROLE_CLINICIAN},
		Purpose:   gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT, Decision: gatewayv1.Decision_DECISION_DENIED,
		DenialReason: gatewayv1.DenialReason_DENIAL_REASON_RECORD_ERASED,
	}, who(e.b, UserClinician), "RequestAccess after the erasure")

	_, err = e.records(e.a, UserClinician).GetReceipt(e.ctx, &gatewayv1.GetReceiptRequest{RecordId: r.id})
	e.wantCode(err, codes.FailedPrecondition, "GetReceipt after the erasure")
	_, err = e.records(e.a, UserOfficer).EraseRecord(e.ctx, erase)
	e.wantCode(err, codes.FailedPrecondition, "EraseRecord of an erased record")
}

// identities: a certificate outside the wallet, a clearance below the
// record's and roles that may not anchor are refused, and a hidden record
// looks exactly like a missing one.
func identities(e *env) {
	p := e.registerPatient(e.a, UserClinician)
	r := e.anchor(e.a, UserOfficer, p, progressNote, gatewayv1.Confidentiality_CONFIDENTIALITY_R)

	stranger := gatewayv1.NewRecordServiceClient(e.stranger(e.a))
	_, err := stranger.RecordHistory(e.ctx, &gatewayv1.RecordHistoryRequest{RecordId: r.id})
	e.wantCode(err, codes.PermissionDenied, "RecordHistory by a certificate outside the wallet")
	_, err = stranger.GetReceipt(e.ctx, &gatewayv1.GetReceiptRequest{RecordId: r.id})
	e.wantCode(err, codes.PermissionDenied, "GetReceipt by a certificate outside the wallet")
	down, err := stranger.GetRecord(e.ctx, &gatewayv1.GetRecordRequest{
		RecordId: r.id, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT, CareRelationship: true,
	})
	if err == nil {
		_, err = down.Recv()
	}
	e.wantCode(err, codes.PermissionDenied, "GetRecord by a certificate outside the wallet")

	missing := e.id("rec")
	for _, user := range []string{UserClinicianL, UserClinician} {
		_, _, hidden := e.read(e.a, user, r.id)
		e.wantCode(hidden, codes.NotFound, "GetRecord of an R record by "+user)
		_, _, absent := e.read(e.a, user, missing)
		e.wantCode(absent, codes.NotFound, "GetRecord of a missing record by "+user)
		e.wantSame(hidden, r.id, absent, missing, "GetRecord by "+user)

		_, hidden = e.history(e.a, user, r.id)
		e.wantCode(hidden, codes.NotFound, "RecordHistory of an R record by "+user)
		_, absent = e.history(e.a, user, missing)
		e.wantSame(hidden, r.id, absent, missing, "RecordHistory by "+user)

		_, hidden = e.records(e.a, user).GetReceipt(e.ctx, &gatewayv1.GetReceiptRequest{RecordId: r.id})
		e.wantCode(hidden, codes.NotFound, "GetReceipt of an R record by "+user)
		_, absent = e.records(e.a, user).GetReceipt(e.ctx, &gatewayv1.GetReceiptRequest{RecordId: missing})
		e.wantSame(hidden, r.id, absent, missing, "GetReceipt by "+user)
	}
	trail, err := e.trail(e.ha, UserAuditor, &gatewayv1.TrailFilter{RecordId: r.id})
	e.must(err, "AccessTrail of the R record")
	e.want(len(trail) == 0, "AccessTrail of the R record: %d events after refused reads, want none", len(trail))

	h, got, err := e.read(e.a, UserOfficer, r.id)
	e.must(err, "GetRecord of the R record by the records officer")
	e.wantProto(h.GetEvidence(), r.resp.GetEvidence(), "GetRecord of the R record by the records officer: evidence")
	e.wantContent(got, r.content, "GetRecord of the R record by the records officer")

	refused := map[string]struct {
		user string
		conf gatewayv1.Confidentiality
	}{
		"AddRecord by a researcher":                          {UserResearcher, gatewayv1.Confidentiality_CONFIDENTIALITY_N},
		"AddRecord by an auditor":                            {UserAuditor, gatewayv1.Confidentiality_CONFIDENTIALITY_N},
		"AddRecord above the clinician's clearance":          {UserClinician, gatewayv1.Confidentiality_CONFIDENTIALITY_R},
		"AddRecord of an N record by an L-cleared clinician": {UserClinicianL, gatewayv1.Confidentiality_CONFIDENTIALITY_N},
	}
	for step, tc := range refused {
		id := e.id("rec")
		_, err := e.addRecord(e.a, tc.user, &gatewayv1.RecordMetadata{
			RecordId: id, Patient: p.Pseudonym, DocType: progressNote, Confidentiality: tc.conf,
		}, document(id, "refused note"))
		e.wantCode(err, codes.PermissionDenied, step)
		_, err = e.history(e.a, UserOfficer, id)
		e.wantCode(err, codes.NotFound, step+": RecordHistory afterwards")
		_, _, err = e.read(e.a, UserOfficer, id)
		e.wantCode(err, codes.NotFound, step+": GetRecord afterwards")
	}
}

// streaming: 20 MiB go up in 1 MiB chunks and come back identical.
func streaming(e *env) {
	const size = 20 << 20
	p := e.registerPatient(e.a, UserClinician)
	content := make([]byte, size)
	var seed [32]byte
	copy(seed[:], "medprov scenario: streaming seed")
	rand.NewChaCha8(seed).Read(content)
	sum := sha256.Sum256(content)

	id := e.id("rec")
	add, err := e.addRecord(e.a, UserClinician, &gatewayv1.RecordMetadata{
		RecordId: id, Patient: p.Pseudonym, DocType: "Observation",
		Confidentiality: gatewayv1.Confidentiality_CONFIDENTIALITY_N, ContentSha256: sum[:],
	}, content)
	e.must(err, "AddRecord of 20 MiB")
	e.want(add.GetSize() == size, "AddRecord of 20 MiB: size %d, want %d", add.GetSize(), size)
	e.wantReceipt(add.GetReceipt(), add.GetEvidence(), content, "AddRecord of 20 MiB: receipt")

	h, got, err := e.read(e.a, UserClinician, id)
	e.must(err, "GetRecord of 20 MiB")
	e.want(h.GetSize() == size, "GetRecord of 20 MiB: header size %d, want %d", h.GetSize(), size)
	e.wantTxID(h.GetAccessTxId(), "GetRecord of 20 MiB: access_tx_id")
	e.wantProto(h.GetReceipt(), add.GetReceipt(), "GetRecord of 20 MiB: receipt")
	e.wantContent(got, content, "GetRecord of 20 MiB")
}
