package scenario

import (
	"bytes"
	"crypto/sha256"
	"fmt"

	"google.golang.org/protobuf/proto"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/internal/devnet"
	"github.com/medprov/medprov/internal/receipt"
)

// Records, their evidence and receipts.

// Document types of the scenarios: LOINC codes with valid check digits.
const (
	progressNote   = "11506-3"
	episodeSummary = "34133-9"
)

// document returns a synthetic document's content, distinct per record.
func document(recordID, what string) []byte {
	return fmt.Appendf(nil, "SYNTHETIC TEST DOCUMENT (no real patient): %s for %s\n", what, recordID)
}

// userRoles are the roles of the cluster's users, as evidence shows them.
var userRoles = map[string]gatewayv1.Role{
	UserClinician:  gatewayv1.Role_ROLE_CLINICIAN,
	UserClinicianL: gatewayv1.Role_ROLE_CLINICIAN,
	UserOfficer:    gatewayv1.Role_ROLE_RECORDS_OFFICER,
	UserResearcher: gatewayv1.Role_ROLE_RESEARCHER,
	UserAuditor:    gatewayv1.Role_ROLE_AUDITOR,
	UserAdmin:      gatewayv1.Role_ROLE_ADMIN,
}

// anchored is a record a scenario added, with what it needs to check it.
type anchored struct {
	id      string
	patient *devnet.Patient
	content []byte
	resp    *gatewayv1.AddRecordResponse
}

// anchor adds a new record about patient p at msp's gateway as user and
// checks the evidence and receipt it returns against the content.
func (e *env) anchor(msp, user string, p *devnet.Patient, docType string, conf gatewayv1.Confidentiality) anchored {
	e.t.Helper()
	id := e.id("rec")
	content := document(id, docType)
	resp, err := e.addRecord(msp, user, &gatewayv1.RecordMetadata{
		RecordId: id, Patient: p.Pseudonym, DocType: docType, Confidentiality: conf,
	}, content)
	e.must(err, "AddRecord")
	e.wantEvidence(resp.GetEvidence(), &gatewayv1.RecordEvidence{
		RecordId: id, Version: 1, Patient: p.Pseudonym, Custodian: msp,
		Author:  &gatewayv1.Author{Role: userRoles[user]},
		DocType: docType, Confidentiality: conf, Status: gatewayv1.RecordStatus_RECORD_STATUS_ACTIVE,
	}, who(msp, user), "AddRecord: evidence")
	e.wantReceipt(resp.GetReceipt(), resp.GetEvidence(), content, "AddRecord: receipt")
	e.want(resp.GetSize() == uint64(len(content)), "AddRecord: size %d, want %d", resp.GetSize(), len(content))
	return anchored{id: id, patient: p, content: content, resp: resp}
}

// wantEvidence checks record evidence against the expected one. want
// carries every field but the commitment, the anchoring transaction, its
// time and the author's certificate fingerprint, which are checked for
// their format (the commitment against content by wantReceipt); the
// fingerprint must be the same for every record and event of the same
// user (named by who). An erasure in want is checked for its reason; its
// time and transaction for their format.
func (e *env) wantEvidence(got, want *gatewayv1.RecordEvidence, who, step string) {
	e.t.Helper()
	if got == nil {
		e.t.Fatalf("%s: no evidence", step)
	}
	e.wantTxID(got.GetTxId(), step+": tx_id")
	e.want(hex64.MatchString(got.GetCommitment()), "%s: commitment %q, want 64 lowercase hex digits", step, got.GetCommitment())
	e.want(got.GetAnchoredAt().IsValid(), "%s: anchored_at %v, want a time", step, got.GetAnchoredAt())
	fp := got.GetAuthor().GetCertFingerprint()
	e.want(hex64.MatchString(fp), "%s: author.cert_fingerprint %q, want 64 lowercase hex digits", step, fp)
	e.fingerprint(who, fp, step)

	w := proto.Clone(want).(*gatewayv1.RecordEvidence)
	w.TxId, w.Commitment, w.AnchoredAt = got.GetTxId(), got.GetCommitment(), got.GetAnchoredAt()
	if w.Author != nil {
		w.Author.CertFingerprint = fp
	}
	if w.Erasure != nil {
		e.wantTxID(got.GetErasure().GetTxId(), step+": erasure.tx_id")
		e.want(got.GetErasure().GetErasedAt().IsValid(), "%s: erasure.erased_at %v, want a time", step, got.GetErasure().GetErasedAt())
		w.Erasure.TxId, w.Erasure.ErasedAt = got.GetErasure().GetTxId(), got.GetErasure().GetErasedAt()
	}
	e.wantProto(got, w, step)
}

// wantReceipt checks that a receipt belongs to its evidence and that its
// salt commits to content.
func (e *env) wantReceipt(rc *gatewayv1.Receipt, ev *gatewayv1.RecordEvidence, content []byte, step string) {
	e.t.Helper()
	e.want(len(rc.GetSalt()) == 32, "%s: %d salt bytes, want 32", step, len(rc.GetSalt()))
	e.want(rc.GetBlockNumber() > 0, "%s: block_number 0, want the anchoring block", step)
	e.wantProto(rc, &gatewayv1.Receipt{
		RecordId: ev.GetRecordId(), Version: ev.GetVersion(), Custodian: ev.GetCustodian(),
		Salt: rc.GetSalt(), Commitment: ev.GetCommitment(), TxId: ev.GetTxId(),
		BlockNumber: rc.GetBlockNumber(), AnchoredAt: ev.GetAnchoredAt(),
	}, step)
	want := domain.Commitment(rc.GetSalt(), sha256.Sum256(content))
	e.want(rc.GetCommitment() == want, "%s: commitment %s, want HMAC-SHA256(salt, SHA-256(content)) = %s", step, rc.GetCommitment(), want)
}

// offline converts an API receipt to internal/receipt's.
func offline(rc *gatewayv1.Receipt) receipt.Receipt {
	return receipt.Receipt{
		RecordID:    rc.GetRecordId(),
		Version:     int(rc.GetVersion()),
		Custodian:   rc.GetCustodian(),
		Salt:        rc.GetSalt(),
		Commitment:  rc.GetCommitment(),
		TxID:        rc.GetTxId(),
		BlockNumber: rc.GetBlockNumber(),
		AnchoredAt:  rc.GetAnchoredAt().AsTime().UTC(),
	}
}

// statusNames are the ledger's names of record statuses.
var statusNames = map[gatewayv1.RecordStatus]string{
	gatewayv1.RecordStatus_RECORD_STATUS_ACTIVE:     domain.StatusActive,
	gatewayv1.RecordStatus_RECORD_STATUS_SUPERSEDED: domain.StatusSuperseded,
	gatewayv1.RecordStatus_RECORD_STATUS_ERASED:     domain.StatusErased,
}

// answerOf is the ledger's VerifyRecord answer for a receipt, as the
// record's on-chain evidence (from RecordHistory) gives it.
func answerOf(rc receipt.Receipt, ev *gatewayv1.RecordEvidence) receipt.VerifyAnswer {
	a := receipt.VerifyAnswer{RecordID: ev.GetRecordId(), Version: int(ev.GetVersion()), Match: ev.GetCommitment() == rc.Commitment}
	if a.Match {
		at := ev.GetAnchoredAt().AsTime().UTC()
		a.Status, a.Custodian, a.TxID, a.AnchoredAt = statusNames[ev.GetStatus()], ev.GetCustodian(), ev.GetTxId(), &at
	}
	return a
}

// answerFrom is the VerifyRecord answer as VerifyDocument reports it.
func answerFrom(v *gatewayv1.VerifyDocumentResponse) receipt.VerifyAnswer {
	a := receipt.VerifyAnswer{RecordID: v.GetRecordId(), Version: int(v.GetVersion()), Match: v.GetMatch()}
	if a.Match {
		at := v.GetAnchoredAt().AsTime().UTC()
		a.Status, a.Custodian, a.TxID, a.AnchoredAt = statusNames[v.GetStatus()], v.GetCustodian(), v.GetTxId(), &at
	}
	return a
}

// wantContent stops the scenario unless got is exactly want, without
// printing either (they may be large).
func (e *env) wantContent(got, want []byte, step string) {
	e.t.Helper()
	if !bytes.Equal(got, want) {
		e.t.Fatalf("%s: %d bytes (SHA-256 %x), want %d bytes (SHA-256 %x)", step, len(got), sha256.Sum256(got), len(want), sha256.Sum256(want))
	}
}

// cloneEvidence returns a copy of record evidence to edit into an
// expectation.
func cloneEvidence(ev *gatewayv1.RecordEvidence) *gatewayv1.RecordEvidence {
	return proto.Clone(ev).(*gatewayv1.RecordEvidence)
}

// who names a user of an organisation, for the fingerprint check.
func who(msp, user string) string { return msp + "/" + user }
