package ledger

import (
	"slices"
	"time"
)

// ConsentGrant is what a patient signs to let an organisation read records.
// Lists are sets: Normalize sorts them and drops duplicates before the
// canonical encoding, so every holder of the same grant signs the same bytes.
type ConsentGrant struct {
	ConsentID          string          `json:"consentId"`
	Patient            string          `json:"patient"`
	Grantee            Grantee         `json:"grantee"`
	Scope              Scope           `json:"scope"`
	Purposes           []Purpose       `json:"purposes"`
	MaxConfidentiality Confidentiality `json:"maxConfidentiality"`
	NotBefore          string          `json:"notBefore"`
	NotAfter           string          `json:"notAfter"`
	Sequence           uint64          `json:"sequence"`
}

// Grantee is the organisation a consent is for, optionally narrowed to one
// role in it.
type Grantee struct {
	MSPID string `json:"mspId"`
	Role  Role   `json:"role,omitempty"`
}

// Scope says which of the patient's records a consent covers: all of them,
// or those with the listed record IDs or document types.
type Scope struct {
	All       bool     `json:"all"`
	RecordIDs []string `json:"recordIds,omitempty"`
	DocTypes  []string `json:"docTypes,omitempty"`
}

// MaxConsentDuration bounds a consent's validity window.
const MaxConsentDuration = 10 * 366 * 24 * time.Hour

// Normalize validates every field and returns the grant in canonical form
// (sorted, de-duplicated lists) with its parsed validity window.
func (g ConsentGrant) Normalize() (ConsentGrant, time.Time, time.Time, error) {
	var zero time.Time
	if err := CheckID("consent.consentId", g.ConsentID); err != nil {
		return g, zero, zero, err
	}
	if err := CheckPseudonym("consent.patient", g.Patient); err != nil {
		return g, zero, zero, err
	}
	if err := CheckMSPID("consent.grantee.mspId", g.Grantee.MSPID); err != nil {
		return g, zero, zero, err
	}
	if g.Grantee.Role != "" {
		if _, err := ParseRole("consent.grantee.role", string(g.Grantee.Role)); err != nil {
			return g, zero, zero, err
		}
		if g.Grantee.Role == RoleAuditor || g.Grantee.Role == RoleAdmin {
			return g, zero, zero, InvalidArgument("consent.grantee.role", "want clinician, records-officer or researcher: auditors and admins never read records")
		}
	}
	var err error
	if g.Scope.RecordIDs, err = normalizeList("consent.scope.recordIds", g.Scope.RecordIDs, CheckID); err != nil {
		return g, zero, zero, err
	}
	if g.Scope.DocTypes, err = normalizeList("consent.scope.docTypes", g.Scope.DocTypes, CheckDocType); err != nil {
		return g, zero, zero, err
	}
	if g.Scope.All == (len(g.Scope.RecordIDs)+len(g.Scope.DocTypes) > 0) {
		return g, zero, zero, InvalidArgument("consent.scope", "want either all=true or a list of recordIds and/or docTypes, not both and not neither")
	}
	if len(g.Purposes) == 0 {
		return g, zero, zero, InvalidArgument("consent.purposes", "want at least one purpose of use")
	}
	purposes := make([]string, len(g.Purposes))
	for i, p := range g.Purposes {
		purposes[i] = string(p)
	}
	purposes, err = normalizeList("consent.purposes", purposes, func(arg, s string) error {
		_, err := ParsePurpose(arg, s)
		return err
	})
	if err != nil {
		return g, zero, zero, err
	}
	g.Purposes = make([]Purpose, len(purposes))
	for i, p := range purposes {
		g.Purposes[i] = Purpose(p)
	}
	if _, err := ParseConfidentiality("consent.maxConfidentiality", string(g.MaxConfidentiality)); err != nil {
		return g, zero, zero, err
	}
	notBefore, err := ParseTime("consent.notBefore", g.NotBefore)
	if err != nil {
		return g, zero, zero, err
	}
	notAfter, err := ParseTime("consent.notAfter", g.NotAfter)
	if err != nil {
		return g, zero, zero, err
	}
	if !notAfter.After(notBefore) {
		return g, zero, zero, InvalidArgument("consent.notAfter", "want a time after notBefore")
	}
	if notAfter.Sub(notBefore) > MaxConsentDuration {
		return g, zero, zero, InvalidArgument("consent.notAfter", "want a validity window of at most 10 years")
	}
	if g.Sequence == 0 {
		return g, zero, zero, InvalidArgument("consent.sequence", "want the patient's next sequence number (from 1)")
	}
	return g, notBefore, notAfter, nil
}

const grantPrefix = "medprov.consent.grant.v1\x00"

// CanonicalBytes is the exact byte string a patient signs to grant consent.
// Call it on a normalised grant.
func (g ConsentGrant) CanonicalBytes() []byte {
	var e encoder
	e.raw(grantPrefix)
	e.str(g.ConsentID)
	e.str(g.Patient)
	e.str(g.Grantee.MSPID)
	e.str(string(g.Grantee.Role))
	e.boolean(g.Scope.All)
	e.list(g.Scope.RecordIDs)
	e.list(g.Scope.DocTypes)
	purposes := make([]string, len(g.Purposes))
	for i, p := range g.Purposes {
		purposes[i] = string(p)
	}
	e.list(purposes)
	e.str(string(g.MaxConfidentiality))
	e.str(g.NotBefore)
	e.str(g.NotAfter)
	e.u64(g.Sequence)
	return e.buf
}

// ConsentRevocation is what a patient signs to revoke a consent.
type ConsentRevocation struct {
	ConsentID string `json:"consentId"`
	Patient   string `json:"patient"`
	Sequence  uint64 `json:"sequence"`
}

// Validate checks every field of a revocation.
func (r ConsentRevocation) Validate() error {
	if err := CheckID("revocation.consentId", r.ConsentID); err != nil {
		return err
	}
	if err := CheckPseudonym("revocation.patient", r.Patient); err != nil {
		return err
	}
	if r.Sequence == 0 {
		return InvalidArgument("revocation.sequence", "want the patient's next sequence number (from 1)")
	}
	return nil
}

const revokePrefix = "medprov.consent.revoke.v1\x00"

// CanonicalBytes is the exact byte string a patient signs to revoke.
func (r ConsentRevocation) CanonicalBytes() []byte {
	var e encoder
	e.raw(revokePrefix)
	e.str(r.ConsentID)
	e.str(r.Patient)
	e.u64(r.Sequence)
	return e.buf
}

// Consent statuses. Expiry is not a stored status: it follows from the
// validity window and the transaction time.
const (
	ConsentActive  = "active"
	ConsentRevoked = "revoked"
)

// Consent is a stored consent grant.
type Consent struct {
	Kind            string     `json:"kind"`
	SchemaVersion   int        `json:"schemaVersion"`
	ConsentGrant               // the grant as signed, normalised
	Signature       string     `json:"signature"`
	Status          string     `json:"status"`
	ValidFrom       time.Time  `json:"validFrom"`
	ValidUntil      time.Time  `json:"validUntil"`
	SubmittedBy     string     `json:"submittedBy"`
	GrantedAt       time.Time  `json:"grantedAt"`
	GrantTxID       string     `json:"grantTxId"`
	RevokedAt       *time.Time `json:"revokedAt,omitempty"`
	RevokeTxID      string     `json:"revokeTxId,omitempty"`
	RevokeSignature string     `json:"revokeSignature,omitempty"`
}

// ConsentCheck is the outcome of matching one consent against a request.
type ConsentCheck struct {
	Covers bool
	Reason DenialReason
	// progress ranks how far the check got, so that a denial reports the
	// reason of the consent that came closest.
	progress int
}

// Check decides whether c covers a request for record by a caller with the
// given org and role, for purpose, at time now. Checks run in a fixed order;
// the reason is the first that fails.
func (c Consent) Check(rec Record, callerMSP string, role Role, purpose Purpose, now time.Time) ConsentCheck {
	steps := []struct {
		ok     bool
		reason DenialReason
	}{
		{c.Grantee.MSPID == callerMSP && c.Patient == rec.Patient, DenyNoConsent},
		{c.Status == ConsentActive, DenyConsentRevoked},
		{!now.Before(c.ValidFrom), DenyConsentNotYetValid},
		{now.Before(c.ValidUntil), DenyConsentExpired},
		{c.Grantee.Role == "" || c.Grantee.Role == role, DenyRoleNotCovered},
		{slices.Contains(c.Purposes, purpose), DenyPurposeNotCovered},
		{c.Scope.All || slices.Contains(c.Scope.RecordIDs, rec.RecordID) || slices.Contains(c.Scope.DocTypes, rec.DocType), DenyScopeNotCovered},
		{c.MaxConfidentiality.Covers(rec.Confidentiality), DenyConfidentialityAboveConsent},
	}
	for i, s := range steps {
		if !s.ok {
			return ConsentCheck{Reason: s.reason, progress: i}
		}
	}
	return ConsentCheck{Covers: true, progress: len(steps)}
}
