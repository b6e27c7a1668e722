package ledger

import "time"

// Decision is the outcome of an access request.
type Decision string

// The decisions.
const (
	DecisionGranted   Decision = "GRANTED"
	DecisionDenied    Decision = "DENIED"
	DecisionEmergency Decision = "EMERGENCY"
)

// BasisType says on what ground an access was granted.
type BasisType string

// The bases of an access.
const (
	BasisConsent        BasisType = "CONSENT"
	BasisCustodianStaff BasisType = "CUSTODIAN_STAFF"
	BasisBreakTheGlass  BasisType = "BREAK_THE_GLASS"
)

// DenialReason says why an access was denied.
type DenialReason string

// The denial reasons, in the order the consent checks run.
const (
	DenyNoConsent                   DenialReason = "NO_CONSENT"
	DenyConsentRevoked              DenialReason = "CONSENT_REVOKED"
	DenyConsentNotYetValid          DenialReason = "CONSENT_NOT_YET_VALID"
	DenyConsentExpired              DenialReason = "CONSENT_EXPIRED"
	DenyRoleNotCovered              DenialReason = "ROLE_NOT_COVERED"
	DenyPurposeNotCovered           DenialReason = "PURPOSE_NOT_COVERED"
	DenyScopeNotCovered             DenialReason = "SCOPE_NOT_COVERED"
	DenyConfidentialityAboveConsent DenialReason = "CONFIDENTIALITY_ABOVE_CONSENT"
	DenyRecordErased                DenialReason = "RECORD_ERASED"
)

// Alert marks an access event that auditors must look at.
type Alert string

// The alerts.
const (
	AlertEmergency   Alert = "EMERGENCY_ACCESS"
	AlertOutsideCare Alert = "OUTSIDE_CARE_RELATIONSHIP"
	AlertDenialBurst Alert = "DENIAL_BURST"
)

// DenialBurstThreshold is the count of denials of one organisation within
// one clock hour (UTC, by transaction time) from which on each denial is
// flagged as a DENIAL_BURST alert: the fifth denial is the first flagged.
const DenialBurstThreshold = 5

// AccessRequest is the argument of RequestAccess. JustificationCode is
// required when Purpose is ETREAT and no consent covers the request; the
// free-text justification stays with the requester, and JustificationHash
// (SHA-256, hex) may commit to it.
type AccessRequest struct {
	RecordID          string            `json:"recordId"`
	Purpose           Purpose           `json:"purpose"`
	JustificationCode JustificationCode `json:"justificationCode,omitempty"`
	JustificationHash string            `json:"justificationHash,omitempty"`
}

// Validate checks every field of an access request.
func (r AccessRequest) Validate() error {
	if err := CheckID("request.recordId", r.RecordID); err != nil {
		return err
	}
	if _, err := ParsePurpose("request.purpose", string(r.Purpose)); err != nil {
		return err
	}
	if r.JustificationCode != "" {
		if r.Purpose != PurposeEmergencyTreatment {
			return InvalidArgument("request.justificationCode", "want it only with purpose ETREAT")
		}
		if _, err := parseCode("request.justificationCode", string(r.JustificationCode), JustificationCodes); err != nil {
			return err
		}
	}
	if r.JustificationHash != "" {
		if r.JustificationCode == "" {
			return InvalidArgument("request.justificationHash", "want it only with a justificationCode")
		}
		if err := CheckHash32("request.justificationHash", r.JustificationHash); err != nil {
			return err
		}
	}
	return nil
}

// LogAccessRequest is the argument of LogAccess: a custodian's own staff
// read one of its records. CareRelationship is the gateway's statement that
// the reader treats the patient; false raises an alert.
type LogAccessRequest struct {
	RecordID         string  `json:"recordId"`
	Version          int     `json:"version,omitempty"`
	Purpose          Purpose `json:"purpose"`
	CareRelationship *bool   `json:"careRelationship"`
}

// Validate checks every field of a log-access request.
func (r LogAccessRequest) Validate() error {
	if err := CheckID("request.recordId", r.RecordID); err != nil {
		return err
	}
	if r.Version < 0 || r.Version > maxVersion {
		return InvalidArgument("request.version", "want a version number from 1, or omit it for the latest")
	}
	if _, err := ParsePurpose("request.purpose", string(r.Purpose)); err != nil {
		return err
	}
	if r.CareRelationship == nil {
		return InvalidArgument("request.careRelationship", "want true or false")
	}
	return nil
}

// Requester identifies who asked for access.
type Requester struct {
	MSPID           string `json:"mspId"`
	Role            Role   `json:"role"`
	CertFingerprint string `json:"certFingerprint"`
}

// Basis is the ground of a granted access.
type Basis struct {
	Type              BasisType         `json:"type"`
	ConsentID         string            `json:"consentId,omitempty"`
	JustificationCode JustificationCode `json:"justificationCode,omitempty"`
	JustificationHash string            `json:"justificationHash,omitempty"`
}

// AccessEvent is the committed record of one access decision.
type AccessEvent struct {
	Kind             string       `json:"kind"`
	SchemaVersion    int          `json:"schemaVersion"`
	TxID             string       `json:"txId"`
	At               time.Time    `json:"at"`
	RecordID         string       `json:"recordId"`
	Version          int          `json:"version"`
	Custodian        string       `json:"custodian"`
	Patient          string       `json:"patient,omitempty"`
	Requester        Requester    `json:"requester"`
	Purpose          Purpose      `json:"purpose"`
	Decision         Decision     `json:"decision"`
	Basis            *Basis       `json:"basis,omitempty"`
	DenialReason     DenialReason `json:"denialReason,omitempty"`
	CareRelationship *bool        `json:"careRelationship,omitempty"`
	Alerts           []Alert      `json:"alerts,omitempty"`
}

// Decide takes the access decision for req on record rec (its latest
// version) by a requester from another organisation, given the consents the
// patient granted to that organisation, ordered by consent ID. It returns
// the event without the transaction fields (TxID, At) and without the
// burst alert, which the caller adds. The clearance check is not here:
// a record above the caller's clearance is hidden before Decide is called.
func Decide(rec Record, req AccessRequest, who Requester, consents []Consent, now time.Time) AccessEvent {
	ev := AccessEvent{
		Kind: KindAccessEvent, SchemaVersion: SchemaVersion,
		RecordID: rec.RecordID, Version: rec.Version, Custodian: rec.Custodian, Patient: rec.Patient,
		Requester: who, Purpose: req.Purpose,
	}
	if rec.Status == StatusErased {
		ev.Decision, ev.DenialReason = DecisionDenied, DenyRecordErased
		return ev
	}
	best := ConsentCheck{Reason: DenyNoConsent, progress: -1}
	for _, c := range consents {
		chk := c.Check(rec, who.MSPID, who.Role, req.Purpose, now)
		if chk.Covers {
			ev.Decision = DecisionGranted
			ev.Basis = &Basis{Type: BasisConsent, ConsentID: c.ConsentID}
			return ev
		}
		if chk.progress > best.progress {
			best = chk
		}
	}
	if req.Purpose == PurposeEmergencyTreatment && req.JustificationCode != "" && who.Role == RoleClinician {
		ev.Decision = DecisionEmergency
		ev.Basis = &Basis{Type: BasisBreakTheGlass, JustificationCode: req.JustificationCode, JustificationHash: req.JustificationHash}
		ev.Alerts = []Alert{AlertEmergency}
		return ev
	}
	ev.Decision, ev.DenialReason = DecisionDenied, best.Reason
	return ev
}
