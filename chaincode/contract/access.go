package contract

import (
	"github.com/medprov/medprov/chaincode/ledger"
)

// accessEvent is the payload of the access events.
type accessEvent struct {
	TxID      string          `json:"txId"`
	RecordID  string          `json:"recordId"`
	Version   int             `json:"version"`
	Custodian string          `json:"custodian"`
	Requester string          `json:"requester"`
	Decision  ledger.Decision `json:"decision"`
	Alerts    []ledger.Alert  `json:"alerts,omitempty"`
}

func eventOf(ev ledger.AccessEvent) accessEvent {
	return accessEvent{ev.TxID, ev.RecordID, ev.Version, ev.Custodian, ev.Requester.MSPID, ev.Decision, ev.Alerts}
}

// RequestAccess decides whether the caller's organisation may read the
// latest version of another custodian's record, and commits the decision
// as a ledger.AccessEvent, which it returns: GRANTED on a consent that
// covers the caller's organisation and role, the purpose, the record (by ID
// or document type), its confidentiality and the transaction time;
// EMERGENCY (break-the-glass, flagged as an alert) for a clinician with
// purpose ETREAT and a justification code when no consent covers it;
// otherwise DENIED with a reason. A denial is a committed transaction, not
// an error; the event returned for a denial leaves out the patient; the fifth and later denials of one organisation within a clock
// hour are flagged DENIAL_BURST. request is a JSON ledger.AccessRequest.
// Errors: INVALID_ARGUMENT, PERMISSION_DENIED, NOT_FOUND (no such record,
// or above the caller's clearance), FAILED_PRECONDITION (the caller's own
// record: use LogAccess). Event: AccessDecided.
func (c *Contract) RequestAccess(ctx *Context, request string) (string, error) {
	req, err := decodeRequest[ledger.AccessRequest](ctx, ledger.TxRequestAccess, "request", request)
	if err != nil {
		return "", err
	}
	st := ctx.store()
	rec, err := st.LatestRecord(req.RecordID)
	if err != nil {
		return "", err
	}
	if !ctx.caller.Sees(rec) {
		return "", ledger.NotFound("record %s", req.RecordID)
	}
	if rec.Custodian == ctx.caller.MSPID {
		return "", ledger.FailedPrecondition("record %s is held by the caller's own organisation: log the access with LogAccess", req.RecordID)
	}
	consents, err := st.ConsentsFor(ctx.caller.MSPID, rec.Patient)
	if err != nil {
		return "", err
	}
	ev := ledger.Decide(rec, req, ctx.caller.Requester(), consents, ctx.now)
	ev.TxID, ev.At = ctx.txID(), ctx.now
	if ev.Decision == ledger.DecisionDenied {
		n, err := st.CountDenial(ctx.caller.MSPID, ctx.now)
		if err != nil {
			return "", err
		}
		if n >= ledger.DenialBurstThreshold {
			ev.Alerts = append(ev.Alerts, ledger.AlertDenialBurst)
		}
	}
	if err := st.PutAccessEvent(ev); err != nil {
		return "", err
	}
	if err := st.Emit(ledger.EventAccessDecided, eventOf(ev)); err != nil {
		return "", err
	}
	if ev.Decision == ledger.DecisionDenied {
		// The stored event keeps the patient for the custodian and
		// auditors; a requester that was refused does not learn who the
		// record is about.
		ev.Patient = ""
	}
	return output(withEventKind(ev))
}

func withEventKind(ev ledger.AccessEvent) ledger.AccessEvent {
	ev.Kind, ev.SchemaVersion = ledger.KindAccessEvent, ledger.SchemaVersion
	return ev
}

// LogAccess records that the custodian's own staff read one of its
// records, with the gateway's statement of whether the reader is in a care
// relationship with the patient; an access outside one is flagged
// OUTSIDE_CARE_RELATIONSHIP for auditors. request is a JSON
// ledger.LogAccessRequest (version 0 or absent: the latest). Returns the
// ledger.AccessEvent. Errors: INVALID_ARGUMENT, PERMISSION_DENIED,
// NOT_FOUND, FAILED_PRECONDITION (record erased). Event: AccessLogged.
func (c *Contract) LogAccess(ctx *Context, request string) (string, error) {
	req, err := decodeRequest[ledger.LogAccessRequest](ctx, ledger.TxLogAccess, "request", request)
	if err != nil {
		return "", err
	}
	rec, err := ctx.custodianRecord(req.RecordID)
	if err != nil {
		return "", err
	}
	if rec.Status == ledger.StatusErased {
		return "", ledger.FailedPrecondition("record %s is erased: its content can no longer be read", req.RecordID)
	}
	st := ctx.store()
	if req.Version != 0 && req.Version != rec.Version {
		if rec, err = st.Record(req.RecordID, req.Version); err != nil {
			return "", err
		}
		if !ctx.caller.Sees(rec) {
			return "", ledger.NotFound("record %s version %d", req.RecordID, req.Version)
		}
	}
	ev := ledger.AccessEvent{
		Kind: ledger.KindAccessEvent, SchemaVersion: ledger.SchemaVersion,
		TxID: ctx.txID(), At: ctx.now,
		RecordID: rec.RecordID, Version: rec.Version, Custodian: rec.Custodian, Patient: rec.Patient,
		Requester: ctx.caller.Requester(), Purpose: req.Purpose,
		Decision: ledger.DecisionGranted, Basis: &ledger.Basis{Type: ledger.BasisCustodianStaff},
		CareRelationship: req.CareRelationship,
	}
	if !*req.CareRelationship {
		ev.Alerts = []ledger.Alert{ledger.AlertOutsideCare}
	}
	if err := st.PutAccessEvent(ev); err != nil {
		return "", err
	}
	if err := st.Emit(ledger.EventAccessLogged, eventOf(ev)); err != nil {
		return "", err
	}
	return output(ev)
}

// canSeeEvent reports whether the caller may read an access event:
// auditors all, others the events about records their organisation holds.
func (ctx *Context) canSeeEvent(ev ledger.AccessEvent) bool {
	return ctx.caller.IsAuditor() || ev.Custodian == ctx.caller.MSPID
}

// GetAccessEvent returns the access event committed by transaction txId,
// to an auditor or to the record's custodian; to anyone else it is
// NOT_FOUND. A custodian's gateway calls it to check an access ticket.
// Errors: INVALID_ARGUMENT, PERMISSION_DENIED, NOT_FOUND.
func (c *Contract) GetAccessEvent(ctx *Context, txID string) (string, error) {
	if err := ctx.authorize(ledger.TxGetAccessEvent); err != nil {
		return "", err
	}
	if err := ledger.CheckTxID("txId", txID); err != nil {
		return "", err
	}
	ev, err := ctx.store().AccessEvent(txID)
	if err != nil {
		return "", err
	}
	if !ctx.canSeeEvent(ev) {
		return "", ledger.NotFound("access event %s", txID)
	}
	return output(ev)
}
