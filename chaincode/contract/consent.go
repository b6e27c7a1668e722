package contract

import (
	"github.com/medprov/medprov/chaincode/ledger"
)

// consentEvent is the payload of the consent events.
type consentEvent struct {
	ConsentID string `json:"consentId"`
	Patient   string `json:"patient"`
	Grantee   string `json:"grantee"`
	Status    string `json:"status"`
}

// GrantConsent stores a patient's consent. consent is a JSON
// ledger.ConsentGrant; signature is the patient's signature over its
// canonical encoding (after normalisation: lists sorted, duplicates
// dropped). The grant's sequence must be the patient's next. Returns the
// stored ledger.Consent. Errors: INVALID_ARGUMENT, PERMISSION_DENIED (role
// or signature), NOT_FOUND (patient), ALREADY_EXISTS (consent ID),
// FAILED_PRECONDITION (sequence). Event: ConsentGranted.
func (c *Contract) GrantConsent(ctx *Context, consent, signature string) (string, error) {
	if err := ctx.authorize(ledger.TxGrantConsent); err != nil {
		return "", err
	}
	var g ledger.ConsentGrant
	if err := ledger.DecodeStrict("consent", consent, &g); err != nil {
		return "", err
	}
	g, from, until, err := g.Normalize()
	if err != nil {
		return "", err
	}
	p, err := ctx.patientSigned("consent", g.Patient, g.Sequence, g.CanonicalBytes(), signature)
	if err != nil {
		return "", err
	}
	st := ctx.store()
	if ok, err := st.ConsentExists(g.ConsentID); err != nil {
		return "", err
	} else if ok {
		return "", ledger.AlreadyExists("consent %s", g.ConsentID)
	}
	stored := ledger.Consent{
		Kind: ledger.KindConsent, SchemaVersion: ledger.SchemaVersion,
		ConsentGrant: g, Signature: signature, Status: ledger.ConsentActive,
		ValidFrom: from, ValidUntil: until,
		SubmittedBy: ctx.caller.MSPID, GrantedAt: ctx.now, GrantTxID: ctx.txID(),
	}
	p.Sequence, p.UpdatedAt = g.Sequence, ctx.now
	if err := st.PutPatient(p); err != nil {
		return "", err
	}
	if err := st.PutConsent(stored, true); err != nil {
		return "", err
	}
	if err := st.Emit(ledger.EventConsentGranted, consentEvent{g.ConsentID, g.Patient, g.Grantee.MSPID, stored.Status}); err != nil {
		return "", err
	}
	return output(stored)
}

// RevokeConsent revokes a consent. revocation is a JSON
// ledger.ConsentRevocation; signature is the patient's signature over its
// canonical encoding; its sequence must be the patient's next. Accesses
// decided after the revocation commits are denied. Returns the revoked
// ledger.Consent to an organisation that may read it (GetConsent's rule),
// otherwise its ID, patient, grantee and status. Errors: INVALID_ARGUMENT, PERMISSION_DENIED, NOT_FOUND,
// FAILED_PRECONDITION (sequence, or already revoked). Event: ConsentRevoked.
func (c *Contract) RevokeConsent(ctx *Context, revocation, signature string) (string, error) {
	r, err := decodeRequest[ledger.ConsentRevocation](ctx, ledger.TxRevokeConsent, "revocation", revocation)
	if err != nil {
		return "", err
	}
	// The patient's signature is checked first, so that nobody but the
	// patient learns anything about the consent from the answer.
	p, err := ctx.patientSigned("revocation", r.Patient, r.Sequence, r.CanonicalBytes(), signature)
	if err != nil {
		return "", err
	}
	st := ctx.store()
	stored, err := st.Consent(r.ConsentID)
	if err != nil {
		return "", err
	}
	if stored.Patient != r.Patient {
		return "", ledger.NotFound("consent %s", r.ConsentID)
	}
	if stored.Status == ledger.ConsentRevoked {
		return "", ledger.FailedPrecondition("consent %s is already revoked", r.ConsentID)
	}
	now := ctx.now
	stored.Status, stored.RevokedAt, stored.RevokeTxID, stored.RevokeSignature = ledger.ConsentRevoked, &now, ctx.txID(), signature
	p.Sequence, p.UpdatedAt = r.Sequence, ctx.now
	if err := st.PutPatient(p); err != nil {
		return "", err
	}
	if err := st.PutConsent(stored, false); err != nil {
		return "", err
	}
	summary := consentEvent{stored.ConsentID, stored.Patient, stored.Grantee.MSPID, stored.Status}
	if err := st.Emit(ledger.EventConsentRevoked, summary); err != nil {
		return "", err
	}
	if !ctx.canSeeConsent(stored) {
		// Any custodian may carry a patient's revocation; one that may not
		// read the consent gets the identifiers and the new status only.
		return output(summary)
	}
	return output(stored)
}

// canSeeConsent reports whether the caller may read a consent: auditors
// all, others those granted to or submitted by their organisation.
func (ctx *Context) canSeeConsent(cs ledger.Consent) bool {
	return ctx.caller.IsAuditor() || cs.Grantee.MSPID == ctx.caller.MSPID || cs.SubmittedBy == ctx.caller.MSPID
}

// GetConsent returns a consent to an auditor, the grantee organisation or
// the organisation that submitted it; to anyone else it is NOT_FOUND.
// Errors: INVALID_ARGUMENT, PERMISSION_DENIED, NOT_FOUND.
func (c *Contract) GetConsent(ctx *Context, consentID string) (string, error) {
	if err := ctx.authorize(ledger.TxGetConsent); err != nil {
		return "", err
	}
	if err := ledger.CheckID("consentId", consentID); err != nil {
		return "", err
	}
	cs, err := ctx.store().Consent(consentID)
	if err != nil {
		return "", err
	}
	if !ctx.canSeeConsent(cs) {
		return "", ledger.NotFound("consent %s", consentID)
	}
	return output(cs)
}

// ListConsentsByPatient returns one page of a patient's consents, by
// consent ID, that the caller may see (GetConsent's rule); the bookmark
// names only consents the caller was shown.
// Returns a ledger.Page of ledger.Consent. Errors: INVALID_ARGUMENT,
// PERMISSION_DENIED.
func (c *Contract) ListConsentsByPatient(ctx *Context, patient, pageSize, bookmark string) (string, error) {
	size, err := ctx.listArgs(ledger.TxListConsentsByPatient, "patient", patient, ledger.CheckPseudonym, pageSize, bookmark)
	if err != nil {
		return "", err
	}
	items, next, err := ctx.store().ConsentsByPatient(patient, size, bookmark, ctx.canSeeConsent)
	if err != nil {
		return "", err
	}
	return output(ledger.Page[ledger.Consent]{Items: nonNil(items), Bookmark: next})
}

// ListConsentsByGrantee returns one page of the consents granted to an
// organisation, by patient then consent ID. Only auditors and the grantee
// itself may list them. Returns a ledger.Page of ledger.Consent.
// Errors: INVALID_ARGUMENT, PERMISSION_DENIED.
func (c *Contract) ListConsentsByGrantee(ctx *Context, granteeMSP, pageSize, bookmark string) (string, error) {
	size, err := ctx.listArgs(ledger.TxListConsentsByGrantee, "granteeMsp", granteeMSP, ledger.CheckMSPID, pageSize, bookmark)
	if err != nil {
		return "", err
	}
	if !ctx.caller.IsAuditor() && granteeMSP != ctx.caller.MSPID {
		return "", ledger.PermissionDenied("granteeMsp: only auditors and the grantee itself may list its consents")
	}
	items, next, err := ctx.store().ConsentsByGrantee(granteeMSP, size, bookmark, func(ledger.Consent) bool { return true })
	if err != nil {
		return "", err
	}
	return output(ledger.Page[ledger.Consent]{Items: nonNil(items), Bookmark: next})
}

// nonNil makes an empty list render as [] rather than null.
func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}
