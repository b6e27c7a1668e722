package contract

import (
	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/chaincode/state"
)

// scope is the set of events the caller may list: every custodian's for an
// auditor, its own organisation's records otherwise.
func (ctx *Context) scope() state.AccessScope {
	if ctx.caller.IsAuditor() {
		return state.AccessScope{}
	}
	return state.AccessScope{Custodian: ctx.caller.MSPID}
}

// AccessHistory returns one page of access events in time order. query is
// a JSON ledger.AuditQuery: at most one of recordId, patient and
// requesterMsp, an optional window (from inclusive, to exclusive), a page
// size and a bookmark. Auditors see every event; records officers and
// admins see the events about records their organisation holds. Returns a
// ledger.Page of ledger.AccessEvent.
// Errors: INVALID_ARGUMENT, PERMISSION_DENIED, NOT_FOUND (a record the
// caller's organisation does not hold).
func (c *Contract) AccessHistory(ctx *Context, query string) (string, error) {
	if err := ctx.authorize(ledger.TxAccessHistory); err != nil {
		return "", err
	}
	var q ledger.AuditQuery
	if err := ledger.DecodeStrict("query", query, &q); err != nil {
		return "", err
	}
	w, err := q.Validate(ctx.now)
	if err != nil {
		return "", err
	}
	size, st, scope := ledger.PageSizeOrDefault(q.PageSize), ctx.store(), ctx.scope()
	var page ledger.Page[ledger.AccessEvent]
	switch {
	case q.RecordID != "":
		if !ctx.caller.IsAuditor() {
			if err := ctx.custodianHolds(q.RecordID); err != nil {
				return "", err
			}
		}
		page, err = st.AccessByRecord(q.RecordID, w, size, q.Bookmark)
	case q.Patient != "":
		page, err = st.AccessByPatient(scope, q.Patient, w, size, q.Bookmark)
	case q.RequesterMSP != "":
		page, err = st.AccessByRequester(scope, q.RequesterMSP, w, size, q.Bookmark)
	default:
		page, err = st.AccessByTime(scope, w, size, q.Bookmark)
	}
	if err != nil {
		return "", err
	}
	page.Items = nonNil(page.Items)
	return output(page)
}

// custodianHolds checks that the caller's organisation holds a record the
// caller's clearance reaches; otherwise NOT_FOUND, as for a missing record.
func (ctx *Context) custodianHolds(recordID string) error {
	_, err := ctx.custodianRecord(recordID)
	return err
}

// Alerts returns one page of the access events that carry alerts
// (EMERGENCY_ACCESS, OUTSIDE_CARE_RELATIONSHIP, DENIAL_BURST) in a window,
// in time order, with AccessHistory's visibility. query is a JSON
// ledger.AlertQuery. Returns a ledger.Page of ledger.AccessEvent.
// Errors: INVALID_ARGUMENT, PERMISSION_DENIED.
func (c *Contract) Alerts(ctx *Context, query string) (string, error) {
	if err := ctx.authorize(ledger.TxAlerts); err != nil {
		return "", err
	}
	var q ledger.AlertQuery
	if err := ledger.DecodeStrict("query", query, &q); err != nil {
		return "", err
	}
	w, err := q.Validate(ctx.now)
	if err != nil {
		return "", err
	}
	page, err := ctx.store().Alerts(ctx.scope(), w, ledger.PageSizeOrDefault(q.PageSize), q.Bookmark)
	if err != nil {
		return "", err
	}
	page.Items = nonNil(page.Items)
	return output(page)
}
