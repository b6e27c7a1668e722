package contract

import (
	"crypto/hmac"
	"errors"

	"github.com/medprov/medprov/chaincode/ledger"
)

// recordEvent is the payload of the record events: identifiers only.
type recordEvent struct {
	RecordID  string `json:"recordId"`
	Version   int    `json:"version"`
	Custodian string `json:"custodian"`
	Status    string `json:"status"`
}

// AnchorRecord anchors the first version of a record: the caller's
// organisation becomes its custodian. The patient must be registered and
// the record's confidentiality within the caller's clearance. A copy
// (DerivedFrom set) is checked against its source by checkCopy. request is
// a JSON ledger.AnchorRequest. Returns the stored ledger.Record.
// Errors: INVALID_ARGUMENT, PERMISSION_DENIED (clearance; a copy without
// a granted access), NOT_FOUND (patient; a copy's source version missing
// or hidden), FAILED_PRECONDITION (a copy that does not match its source),
// ALREADY_EXISTS (record ID). Event: RecordAnchored.
func (c *Contract) AnchorRecord(ctx *Context, request string) (string, error) {
	req, err := decodeRequest[ledger.AnchorRequest](ctx, ledger.TxAnchorRecord, "request", request)
	if err != nil {
		return "", err
	}
	if !ctx.caller.Clearance.Covers(req.Confidentiality) {
		return "", ledger.PermissionDenied("request.confidentiality: above the caller's clearance %s", ctx.caller.Clearance)
	}
	if req.DerivedFrom != nil {
		if req.DerivedFrom.Custodian == ctx.caller.MSPID {
			return "", ledger.InvalidArgument("request.derivedFrom.custodian", "want another organisation: a copy is derived from a record held elsewhere")
		}
		if err := ctx.checkCopy(req); err != nil {
			return "", err
		}
	}
	st := ctx.store()
	if ok, err := st.PatientExists(req.Patient); err != nil {
		return "", err
	} else if !ok {
		return "", ledger.NotFound("patient %s: register the patient first", req.Patient)
	}
	if ok, err := st.RecordExists(req.RecordID); err != nil {
		return "", err
	} else if ok {
		return "", ledger.AlreadyExists("record %s", req.RecordID)
	}
	rec := ledger.Record{
		RecordID: req.RecordID, Version: 1, Patient: req.Patient, Custodian: ctx.caller.MSPID,
		Author:  ledger.Author{Role: ctx.caller.Role, CertFingerprint: ctx.caller.CertFingerprint},
		DocType: req.DocType, Confidentiality: req.Confidentiality, Commitment: req.Commitment,
		AnchoredAt: ctx.now, TxID: ctx.txID(), Status: ledger.StatusActive, DerivedFrom: req.DerivedFrom,
	}
	if err := st.PutRecord(rec, true); err != nil {
		return "", err
	}
	if err := st.Emit(ledger.EventRecordAnchored, recordEvent{rec.RecordID, rec.Version, rec.Custodian, rec.Status}); err != nil {
		return "", err
	}
	return output(withKind(rec))
}

// checkCopy checks a copy's anchor request against the record version its
// DerivedFrom names, reading only. In order:
//
//   - the source version must exist and be within the caller's clearance:
//     NOT_FOUND otherwise, one message for both, so that it tells no more
//     than VerifyRecord, which answers any member the same way;
//   - the caller's organisation must hold a GRANTED or EMERGENCY access
//     event it requested about that record version (ledger.GrantsCopy):
//     PERMISSION_DENIED otherwise. The caller's organisation sees its own
//     AccessDecided events, so this reveals nothing either. The search
//     reads the source record's access events in time order, at most
//     ledger.CopyAccessScanLimit of them; past that it fails closed with
//     FAILED_PRECONDITION;
//   - only then, to an organisation the record was disclosed to, the
//     comparison with the source (ledger.CheckCopy): FAILED_PRECONDITION
//     naming the argument that differs.
func (ctx *Context) checkCopy(req ledger.AnchorRequest) error {
	d := *req.DerivedFrom
	st := ctx.store()
	src, err := st.Record(d.RecordID, d.Version)
	if err != nil && !errors.Is(err, ledger.ErrNotFound) {
		return err
	}
	if err != nil || !ctx.caller.Sees(src) {
		return ledger.NotFound("request.derivedFrom: no such record version")
	}
	_, found, truncated, err := st.FirstRecordAccess(d.RecordID, ledger.CopyAccessScanLimit, func(ev ledger.AccessEvent) bool {
		return ev.GrantsCopy(d, ctx.caller.MSPID)
	})
	switch {
	case err != nil:
		return err
	case truncated:
		return ledger.FailedPrecondition("request.derivedFrom: no GRANTED or EMERGENCY access of the caller's organisation among the first %d access events of the source record, which is all this check reads", ledger.CopyAccessScanLimit)
	case !found:
		return ledger.PermissionDenied("request.derivedFrom: the caller's organisation holds no GRANTED or EMERGENCY access to this record version")
	}
	return ledger.CheckCopy(req, src, ctx.caller.MSPID)
}

// withKind fills the document header for output.
func withKind(r ledger.Record) ledger.Record {
	r.Kind, r.SchemaVersion = ledger.KindRecord, ledger.SchemaVersion
	return r
}

// custodianRecord loads the latest version of a record for its custodian's
// staff: NOT_FOUND if it does not exist, belongs to another organisation or
// is above the caller's clearance, so that nothing hints at its existence.
func (ctx *Context) custodianRecord(recordID string) (ledger.Record, error) {
	rec, err := ctx.store().LatestRecord(recordID)
	if err != nil {
		return ledger.Record{}, err
	}
	if rec.Custodian != ctx.caller.MSPID || !ctx.caller.Sees(rec) {
		return ledger.Record{}, ledger.NotFound("record %s", recordID)
	}
	return rec, nil
}

// AmendRecord anchors a new version of an active record, linked to the
// previous one, which becomes superseded. Custodian only. request is a JSON
// ledger.AmendRequest. Returns the new ledger.Record.
// Errors: INVALID_ARGUMENT, PERMISSION_DENIED, NOT_FOUND,
// FAILED_PRECONDITION (record erased). Event: RecordAmended.
func (c *Contract) AmendRecord(ctx *Context, request string) (string, error) {
	req, err := decodeRequest[ledger.AmendRequest](ctx, ledger.TxAmendRecord, "request", request)
	if err != nil {
		return "", err
	}
	prev, err := ctx.custodianRecord(req.RecordID)
	if err != nil {
		return "", err
	}
	if prev.Status != ledger.StatusActive {
		return "", ledger.FailedPrecondition("record %s is %s", req.RecordID, prev.Status)
	}
	next := prev
	next.Version = prev.Version + 1
	next.Author = ledger.Author{Role: ctx.caller.Role, CertFingerprint: ctx.caller.CertFingerprint}
	next.Commitment, next.AmendmentReason, next.PreviousVersion = req.Commitment, req.Reason, prev.Version
	next.AnchoredAt, next.TxID, next.Status = ctx.now, ctx.txID(), ledger.StatusActive
	if req.DocType != "" {
		next.DocType = req.DocType
	}
	if req.Confidentiality != "" {
		next.Confidentiality = req.Confidentiality
	}
	if !ctx.caller.Sees(next) {
		return "", ledger.PermissionDenied("request.confidentiality: above the caller's clearance %s", ctx.caller.Clearance)
	}
	prev.Status = ledger.StatusSuperseded
	st := ctx.store()
	if err := st.PutRecord(prev, false); err != nil {
		return "", err
	}
	if err := st.PutRecord(next, true); err != nil {
		return "", err
	}
	if err := st.Emit(ledger.EventRecordAmended, recordEvent{next.RecordID, next.Version, next.Custodian, next.Status}); err != nil {
		return "", err
	}
	return output(withKind(next))
}

// EraseRecord writes the erasure tombstone of a record: every version's
// status becomes erased and the commitments stay. Custodian's records
// officers only. The gateway destroys the data key and salt off-chain, so
// the commitments link to nothing any more. request is a JSON
// ledger.EraseRequest. Returns the latest version as erased.
// Errors: INVALID_ARGUMENT, PERMISSION_DENIED, NOT_FOUND,
// FAILED_PRECONDITION (already erased). Event: RecordErased.
func (c *Contract) EraseRecord(ctx *Context, request string) (string, error) {
	req, err := decodeRequest[ledger.EraseRequest](ctx, ledger.TxEraseRecord, "request", request)
	if err != nil {
		return "", err
	}
	latest, err := ctx.custodianRecord(req.RecordID)
	if err != nil {
		return "", err
	}
	if latest.Status == ledger.StatusErased {
		return "", ledger.FailedPrecondition("record %s is already erased", req.RecordID)
	}
	st := ctx.store()
	tomb := &ledger.Erasure{Reason: req.Reason, ErasedAt: ctx.now, TxID: ctx.txID()}
	for v, last := 1, latest.Version; v <= last; v++ {
		r, err := st.Record(req.RecordID, v)
		if err != nil {
			return "", err
		}
		r.Status, r.Erasure = ledger.StatusErased, tomb
		if err := st.PutRecord(r, false); err != nil {
			return "", err
		}
		latest = r
	}
	if err := st.Emit(ledger.EventRecordErased, recordEvent{latest.RecordID, latest.Version, latest.Custodian, latest.Status}); err != nil {
		return "", err
	}
	return output(withKind(latest))
}

// GetRecord returns the latest version of a record. Custodian's staff only;
// a record of another organisation, or above the caller's clearance, is
// NOT_FOUND. Errors: INVALID_ARGUMENT, PERMISSION_DENIED, NOT_FOUND.
func (c *Contract) GetRecord(ctx *Context, recordID string) (string, error) {
	if err := ctx.authorize(ledger.TxGetRecord); err != nil {
		return "", err
	}
	if err := ledger.CheckID("recordId", recordID); err != nil {
		return "", err
	}
	rec, err := ctx.custodianRecord(recordID)
	if err != nil {
		return "", err
	}
	return output(rec)
}

// GetRecordVersion returns one version of a record, with GetRecord's rules.
// Errors: INVALID_ARGUMENT, PERMISSION_DENIED, NOT_FOUND.
func (c *Contract) GetRecordVersion(ctx *Context, recordID, version string) (string, error) {
	if err := ctx.authorize(ledger.TxGetRecordVersion); err != nil {
		return "", err
	}
	if err := ledger.CheckID("recordId", recordID); err != nil {
		return "", err
	}
	v, err := ledger.ParseVersion("version", version)
	if err != nil {
		return "", err
	}
	if _, err := ctx.custodianRecord(recordID); err != nil {
		return "", err
	}
	rec, err := ctx.store().Record(recordID, v)
	if err != nil {
		return "", err
	}
	if !ctx.caller.Sees(rec) {
		return "", ledger.NotFound("record %s version %d", recordID, v)
	}
	return output(rec)
}

// RecordHistory returns one page of a record's versions, oldest first, with
// GetRecord's rules; versions above the caller's clearance are left out.
// pageSize is 1 to 1000 (empty: 100); bookmark comes from the previous page.
// Returns a ledger.Page of ledger.Record.
// Errors: INVALID_ARGUMENT, PERMISSION_DENIED, NOT_FOUND.
func (c *Contract) RecordHistory(ctx *Context, recordID, pageSize, bookmark string) (string, error) {
	size, err := ctx.listArgs(ledger.TxRecordHistory, "recordId", recordID, ledger.CheckID, pageSize, bookmark)
	if err != nil {
		return "", err
	}
	if _, err := ctx.custodianRecord(recordID); err != nil {
		return "", err
	}
	versions, next, err := ctx.store().RecordVersions(recordID, size, bookmark, ctx.caller.Sees)
	if err != nil {
		return "", err
	}
	return output(ledger.Page[ledger.Record]{Items: nonNil(versions), Bookmark: next})
}

// ListPatientRecords returns one page of the latest versions of a patient's
// records held by the caller's organisation, by record ID; records above
// the caller's clearance are left out. Returns a ledger.Page of
// ledger.Record. Errors: INVALID_ARGUMENT, PERMISSION_DENIED.
func (c *Contract) ListPatientRecords(ctx *Context, patient, pageSize, bookmark string) (string, error) {
	size, err := ctx.listArgs(ledger.TxListPatientRecords, "patient", patient, ledger.CheckPseudonym, pageSize, bookmark)
	if err != nil {
		return "", err
	}
	records, next, err := ctx.store().PatientRecords(ctx.caller.MSPID, patient, size, bookmark, ctx.caller.Sees)
	if err != nil {
		return "", err
	}
	return output(ledger.Page[ledger.Record]{Items: nonNil(records), Bookmark: next})
}

// VerifyRecord checks a commitment against one version of a record: any
// member may call it, since it discloses nothing to someone who does not
// already hold the document and its salt. A record above the caller's
// clearance is NOT_FOUND. Returns a ledger.Verification: on a match, the
// status, custodian, anchoring transaction and time; on a mismatch only
// match=false.
// Errors: INVALID_ARGUMENT, PERMISSION_DENIED, NOT_FOUND.
func (c *Contract) VerifyRecord(ctx *Context, recordID, version, commitment string) (string, error) {
	if err := ctx.authorize(ledger.TxVerifyRecord); err != nil {
		return "", err
	}
	if err := ledger.CheckID("recordId", recordID); err != nil {
		return "", err
	}
	v, err := ledger.ParseVersion("version", version)
	if err != nil {
		return "", err
	}
	if err := ledger.CheckHash32("commitment", commitment); err != nil {
		return "", err
	}
	rec, err := ctx.store().Record(recordID, v)
	if err != nil {
		return "", err
	}
	if !ctx.caller.Sees(rec) {
		return "", ledger.NotFound("record %s version %d", recordID, v)
	}
	if !hmac.Equal([]byte(rec.Commitment), []byte(commitment)) {
		// Someone without the document learns only that it does not match.
		return output(ledger.Verification{RecordID: rec.RecordID, Version: rec.Version})
	}
	return output(ledger.Verification{
		RecordID: rec.RecordID, Version: rec.Version, Match: true,
		Status: rec.Status, Custodian: rec.Custodian, TxID: rec.TxID, AnchoredAt: &rec.AnchoredAt,
	})
}
