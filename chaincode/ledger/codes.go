package ledger

import (
	"slices"
	"strings"
)

// Role is a caller's role, read from the medprov.role attribute of the
// caller's certificate.
type Role string

// The roles medprov knows.
const (
	RoleClinician      Role = "clinician"
	RoleRecordsOfficer Role = "records-officer"
	RoleResearcher     Role = "researcher"
	RoleAuditor        Role = "auditor"
	RoleAdmin          Role = "admin"
)

// Roles lists every role, in a fixed order.
var Roles = []Role{RoleClinician, RoleRecordsOfficer, RoleResearcher, RoleAuditor, RoleAdmin}

// ParseRole checks s against the closed list of roles; arg names the
// argument or attribute in the error.
func ParseRole(arg, s string) (Role, error) {
	if slices.Contains(Roles, Role(s)) {
		return Role(s), nil
	}
	return "", InvalidArgument(arg, "want one of %s", joinCodes(Roles))
}

// Confidentiality is an HL7 v3 Confidentiality code. It is used both as a
// record's confidentiality and as a caller's clearance; codes are ordered
// U < L < M < N < R < V.
type Confidentiality string

// The HL7 confidentiality codes, lowest first.
const (
	ConfUnrestricted   Confidentiality = "U"
	ConfLow            Confidentiality = "L"
	ConfModerate       Confidentiality = "M"
	ConfNormal         Confidentiality = "N"
	ConfRestricted     Confidentiality = "R"
	ConfVeryRestricted Confidentiality = "V"
)

// Confidentialities lists every code, lowest first.
var Confidentialities = []Confidentiality{ConfUnrestricted, ConfLow, ConfModerate, ConfNormal, ConfRestricted, ConfVeryRestricted}

// ParseConfidentiality checks s against the closed list of codes.
func ParseConfidentiality(arg, s string) (Confidentiality, error) {
	if slices.Contains(Confidentialities, Confidentiality(s)) {
		return Confidentiality(s), nil
	}
	return "", InvalidArgument(arg, "want an HL7 confidentiality code, one of %s", joinCodes(Confidentialities))
}

// Covers reports whether clearance c reaches confidentiality level x. An
// unknown code on either side covers nothing: the check fails closed.
func (c Confidentiality) Covers(x Confidentiality) bool {
	i, j := slices.Index(Confidentialities, c), slices.Index(Confidentialities, x)
	return i >= 0 && j >= 0 && i >= j
}

// Purpose is an HL7 v3 PurposeOfUse code.
type Purpose string

// The purposes of use medprov accepts.
const (
	PurposeTreatment          Purpose = "TREAT"
	PurposeEmergencyTreatment Purpose = "ETREAT"
	PurposeCareManagement     Purpose = "CAREMGT"
	PurposePayment            Purpose = "HPAYMT"
	PurposeOperations         Purpose = "HOPERAT"
	PurposeQualityImprovement Purpose = "HQUALIMP"
	PurposeResearch           Purpose = "HRESCH"
	PurposePublicHealth       Purpose = "PUBHLTH"
	PurposePatientRequest     Purpose = "PATRQT"
	PurposeLegal              Purpose = "HLEGAL"
)

// Purposes lists every accepted purpose of use.
var Purposes = []Purpose{
	PurposeTreatment, PurposeEmergencyTreatment, PurposeCareManagement, PurposePayment,
	PurposeOperations, PurposeQualityImprovement, PurposeResearch, PurposePublicHealth,
	PurposePatientRequest, PurposeLegal,
}

// ParsePurpose checks s against the closed list of purposes of use.
func ParsePurpose(arg, s string) (Purpose, error) {
	if slices.Contains(Purposes, Purpose(s)) {
		return Purpose(s), nil
	}
	return "", InvalidArgument(arg, "want an HL7 PurposeOfUse code, one of %s", joinCodes(Purposes))
}

// AmendmentReason says why a record was amended. It is a code, not free
// text, so that nothing clinical can reach the ledger through it.
type AmendmentReason string

// The amendment reasons.
const (
	AmendCorrection     AmendmentReason = "CORRECTION"
	AmendAddendum       AmendmentReason = "ADDENDUM"
	AmendLateEntry      AmendmentReason = "LATE-ENTRY"
	AmendPatientRequest AmendmentReason = "PATIENT-REQUEST"
	AmendReformat       AmendmentReason = "REFORMAT"
)

// AmendmentReasons lists every amendment reason.
var AmendmentReasons = []AmendmentReason{AmendCorrection, AmendAddendum, AmendLateEntry, AmendPatientRequest, AmendReformat}

// ErasureReason says why a record was erased.
type ErasureReason string

// The erasure reasons.
const (
	ErasePatientRequest   ErasureReason = "PATIENT-REQUEST"
	EraseRetentionExpired ErasureReason = "RETENTION-EXPIRED"
	EraseLegalOrder       ErasureReason = "LEGAL-ORDER"
	EraseEnteredInError   ErasureReason = "ENTERED-IN-ERROR"
)

// ErasureReasons lists every erasure reason.
var ErasureReasons = []ErasureReason{ErasePatientRequest, EraseRetentionExpired, EraseLegalOrder, EraseEnteredInError}

// JustificationCode says why a clinician broke the glass. The free-text
// justification stays off-chain; the ledger holds this code and, optionally,
// a hash of that text.
type JustificationCode string

// The break-the-glass justification codes.
const (
	JustifyLifeThreatening     JustificationCode = "LIFE-THREATENING"
	JustifyUnableToConsent     JustificationCode = "PATIENT-UNABLE-TO-CONSENT"
	JustifyUrgentContinuity    JustificationCode = "URGENT-CARE-CONTINUITY"
	JustifyPublicHealthEmergen JustificationCode = "PUBLIC-HEALTH-EMERGENCY"
)

// JustificationCodes lists every justification code.
var JustificationCodes = []JustificationCode{JustifyLifeThreatening, JustifyUnableToConsent, JustifyUrgentContinuity, JustifyPublicHealthEmergen}

// parseCode checks s against a closed list of string codes.
func parseCode[T ~string](arg, s string, allowed []T) (T, error) {
	if slices.Contains(allowed, T(s)) {
		return T(s), nil
	}
	return "", InvalidArgument(arg, "want one of %s", joinCodes(allowed))
}

func joinCodes[T ~string](codes []T) string {
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = string(c)
	}
	return strings.Join(parts, ", ")
}
