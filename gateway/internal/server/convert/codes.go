package convert

import (
	"strings"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
)

// codes is the mapping between one domain code list and its proto enum.
// The zero value of P is UNSPECIFIED and maps to no code.
type codes[D ~string, P ~int32] struct {
	toProto   map[D]P
	fromProto map[P]D
	want      string // "one of A, B, C", in proto number order
}

// pair is one code and its enum value.
type pair[D ~string, P ~int32] struct {
	code D
	enum P
}

// newCodes builds a mapping from pairs listed in proto number order.
func newCodes[D ~string, P ~int32](pairs ...pair[D, P]) codes[D, P] {
	c := codes[D, P]{toProto: make(map[D]P, len(pairs)), fromProto: make(map[P]D, len(pairs))}
	names := make([]string, len(pairs))
	for i, p := range pairs {
		c.toProto[p.code] = p.enum
		c.fromProto[p.enum] = p.code
		names[i] = string(p.code)
	}
	c.want = "one of " + strings.Join(names, ", ")
	return c
}

// proto returns the enum value of code d, or UNSPECIFIED for an unknown
// code.
func (c codes[D, P]) proto(d D) P { return c.toProto[d] }

// required returns the code of enum value p; UNSPECIFIED and unknown
// numbers are a FieldError on field.
func (c codes[D, P]) required(field string, p P) (D, error) {
	if d, ok := c.fromProto[p]; ok {
		return d, nil
	}
	return "", fieldErr(field, c.want)
}

// optional is required, except that UNSPECIFIED means "not given" and
// returns the empty code.
func (c codes[D, P]) optional(field string, p P) (D, error) {
	if p == 0 {
		return "", nil
	}
	if d, ok := c.fromProto[p]; ok {
		return d, nil
	}
	return "", fieldErr(field, c.want+", or unspecified")
}

// The mappings, one per enum of codes.proto. Each proto comment names the
// exact string the chaincode stores; the tests check both directions.
var (
	roles = newCodes(
		pair[domain.Role, gatewayv1.Role]{domain.RoleClinician, gatewayv1.Role_ROLE_CLINICIAN},
		pair[domain.Role, gatewayv1.Role]{domain.RoleRecordsOfficer, gatewayv1.Role_ROLE_RECORDS_OFFICER},
		pair[domain.Role, gatewayv1.Role]{domain.RoleResearcher, gatewayv1.Role_ROLE_RESEARCHER},
		pair[domain.Role, gatewayv1.Role]{domain.RoleAuditor, gatewayv1.Role_ROLE_AUDITOR},
		pair[domain.Role, gatewayv1.Role]{domain.RoleAdmin, gatewayv1.Role_ROLE_ADMIN},
	)
	confidentialities = newCodes(
		pair[domain.Confidentiality, gatewayv1.Confidentiality]{domain.ConfUnrestricted, gatewayv1.Confidentiality_CONFIDENTIALITY_U},
		pair[domain.Confidentiality, gatewayv1.Confidentiality]{domain.ConfLow, gatewayv1.Confidentiality_CONFIDENTIALITY_L},
		pair[domain.Confidentiality, gatewayv1.Confidentiality]{domain.ConfModerate, gatewayv1.Confidentiality_CONFIDENTIALITY_M},
		pair[domain.Confidentiality, gatewayv1.Confidentiality]{domain.ConfNormal, gatewayv1.Confidentiality_CONFIDENTIALITY_N},
		pair[domain.Confidentiality, gatewayv1.Confidentiality]{domain.ConfRestricted, gatewayv1.Confidentiality_CONFIDENTIALITY_R},
		pair[domain.Confidentiality, gatewayv1.Confidentiality]{domain.ConfVeryRestricted, gatewayv1.Confidentiality_CONFIDENTIALITY_V},
	)
	purposes = newCodes(
		pair[domain.Purpose, gatewayv1.PurposeOfUse]{domain.PurposeTreatment, gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT},
		pair[domain.Purpose, gatewayv1.PurposeOfUse]{domain.PurposeEmergencyTreatment, gatewayv1.PurposeOfUse_PURPOSE_OF_USE_ETREAT},
		pair[domain.Purpose, gatewayv1.PurposeOfUse]{domain.PurposeCareManagement, gatewayv1.PurposeOfUse_PURPOSE_OF_USE_CAREMGT},
		pair[domain.Purpose, gatewayv1.PurposeOfUse]{domain.PurposePayment, gatewayv1.PurposeOfUse_PURPOSE_OF_USE_HPAYMT},
		pair[domain.Purpose, gatewayv1.PurposeOfUse]{domain.PurposeOperations, gatewayv1.PurposeOfUse_PURPOSE_OF_USE_HOPERAT},
		pair[domain.Purpose, gatewayv1.PurposeOfUse]{domain.PurposeQualityImprovement, gatewayv1.PurposeOfUse_PURPOSE_OF_USE_HQUALIMP},
		pair[domain.Purpose, gatewayv1.PurposeOfUse]{domain.PurposeResearch, gatewayv1.PurposeOfUse_PURPOSE_OF_USE_HRESCH},
		pair[domain.Purpose, gatewayv1.PurposeOfUse]{domain.PurposePublicHealth, gatewayv1.PurposeOfUse_PURPOSE_OF_USE_PUBHLTH},
		pair[domain.Purpose, gatewayv1.PurposeOfUse]{domain.PurposePatientRequest, gatewayv1.PurposeOfUse_PURPOSE_OF_USE_PATRQT},
		pair[domain.Purpose, gatewayv1.PurposeOfUse]{domain.PurposeLegal, gatewayv1.PurposeOfUse_PURPOSE_OF_USE_HLEGAL},
	)
	amendmentReasons = newCodes(
		pair[domain.AmendmentReason, gatewayv1.AmendmentReason]{domain.AmendCorrection, gatewayv1.AmendmentReason_AMENDMENT_REASON_CORRECTION},
		pair[domain.AmendmentReason, gatewayv1.AmendmentReason]{domain.AmendAddendum, gatewayv1.AmendmentReason_AMENDMENT_REASON_ADDENDUM},
		pair[domain.AmendmentReason, gatewayv1.AmendmentReason]{domain.AmendLateEntry, gatewayv1.AmendmentReason_AMENDMENT_REASON_LATE_ENTRY},
		pair[domain.AmendmentReason, gatewayv1.AmendmentReason]{domain.AmendPatientRequest, gatewayv1.AmendmentReason_AMENDMENT_REASON_PATIENT_REQUEST},
		pair[domain.AmendmentReason, gatewayv1.AmendmentReason]{domain.AmendReformat, gatewayv1.AmendmentReason_AMENDMENT_REASON_REFORMAT},
	)
	erasureReasons = newCodes(
		pair[domain.ErasureReason, gatewayv1.ErasureReason]{domain.ErasePatientRequest, gatewayv1.ErasureReason_ERASURE_REASON_PATIENT_REQUEST},
		pair[domain.ErasureReason, gatewayv1.ErasureReason]{domain.EraseRetentionExpired, gatewayv1.ErasureReason_ERASURE_REASON_RETENTION_EXPIRED},
		pair[domain.ErasureReason, gatewayv1.ErasureReason]{domain.EraseLegalOrder, gatewayv1.ErasureReason_ERASURE_REASON_LEGAL_ORDER},
		pair[domain.ErasureReason, gatewayv1.ErasureReason]{domain.EraseEnteredInError, gatewayv1.ErasureReason_ERASURE_REASON_ENTERED_IN_ERROR},
	)
	justificationCodes = newCodes(
		pair[domain.JustificationCode, gatewayv1.JustificationCode]{domain.JustifyLifeThreatening, gatewayv1.JustificationCode_JUSTIFICATION_CODE_LIFE_THREATENING},
		pair[domain.JustificationCode, gatewayv1.JustificationCode]{domain.JustifyUnableToConsent, gatewayv1.JustificationCode_JUSTIFICATION_CODE_PATIENT_UNABLE_TO_CONSENT},
		pair[domain.JustificationCode, gatewayv1.JustificationCode]{domain.JustifyUrgentContinuity, gatewayv1.JustificationCode_JUSTIFICATION_CODE_URGENT_CARE_CONTINUITY},
		pair[domain.JustificationCode, gatewayv1.JustificationCode]{domain.JustifyPublicHealthEmergen, gatewayv1.JustificationCode_JUSTIFICATION_CODE_PUBLIC_HEALTH_EMERGENCY},
	)
	decisions = newCodes(
		pair[domain.Decision, gatewayv1.Decision]{domain.DecisionGranted, gatewayv1.Decision_DECISION_GRANTED},
		pair[domain.Decision, gatewayv1.Decision]{domain.DecisionDenied, gatewayv1.Decision_DECISION_DENIED},
		pair[domain.Decision, gatewayv1.Decision]{domain.DecisionEmergency, gatewayv1.Decision_DECISION_EMERGENCY},
	)
	basisTypes = newCodes(
		pair[domain.BasisType, gatewayv1.BasisType]{domain.BasisConsent, gatewayv1.BasisType_BASIS_TYPE_CONSENT},
		pair[domain.BasisType, gatewayv1.BasisType]{domain.BasisCustodianStaff, gatewayv1.BasisType_BASIS_TYPE_CUSTODIAN_STAFF},
		pair[domain.BasisType, gatewayv1.BasisType]{domain.BasisBreakTheGlass, gatewayv1.BasisType_BASIS_TYPE_BREAK_THE_GLASS},
	)
	denialReasons = newCodes(
		pair[domain.DenialReason, gatewayv1.DenialReason]{domain.DenyRecordErased, gatewayv1.DenialReason_DENIAL_REASON_RECORD_ERASED},
		pair[domain.DenialReason, gatewayv1.DenialReason]{domain.DenyNoConsent, gatewayv1.DenialReason_DENIAL_REASON_NO_CONSENT},
		pair[domain.DenialReason, gatewayv1.DenialReason]{domain.DenyConsentRevoked, gatewayv1.DenialReason_DENIAL_REASON_CONSENT_REVOKED},
		pair[domain.DenialReason, gatewayv1.DenialReason]{domain.DenyConsentNotYetValid, gatewayv1.DenialReason_DENIAL_REASON_CONSENT_NOT_YET_VALID},
		pair[domain.DenialReason, gatewayv1.DenialReason]{domain.DenyConsentExpired, gatewayv1.DenialReason_DENIAL_REASON_CONSENT_EXPIRED},
		pair[domain.DenialReason, gatewayv1.DenialReason]{domain.DenyRoleNotCovered, gatewayv1.DenialReason_DENIAL_REASON_ROLE_NOT_COVERED},
		pair[domain.DenialReason, gatewayv1.DenialReason]{domain.DenyPurposeNotCovered, gatewayv1.DenialReason_DENIAL_REASON_PURPOSE_NOT_COVERED},
		pair[domain.DenialReason, gatewayv1.DenialReason]{domain.DenyScopeNotCovered, gatewayv1.DenialReason_DENIAL_REASON_SCOPE_NOT_COVERED},
		pair[domain.DenialReason, gatewayv1.DenialReason]{domain.DenyConfidentialityAboveConsent, gatewayv1.DenialReason_DENIAL_REASON_CONFIDENTIALITY_ABOVE_CONSENT},
	)
	alerts = newCodes(
		pair[domain.Alert, gatewayv1.Alert]{domain.AlertEmergency, gatewayv1.Alert_ALERT_EMERGENCY_ACCESS},
		pair[domain.Alert, gatewayv1.Alert]{domain.AlertOutsideCare, gatewayv1.Alert_ALERT_OUTSIDE_CARE_RELATIONSHIP},
		pair[domain.Alert, gatewayv1.Alert]{domain.AlertDenialBurst, gatewayv1.Alert_ALERT_DENIAL_BURST},
	)
	recordStatuses = newCodes(
		pair[string, gatewayv1.RecordStatus]{domain.StatusActive, gatewayv1.RecordStatus_RECORD_STATUS_ACTIVE},
		pair[string, gatewayv1.RecordStatus]{domain.StatusSuperseded, gatewayv1.RecordStatus_RECORD_STATUS_SUPERSEDED},
		pair[string, gatewayv1.RecordStatus]{domain.StatusErased, gatewayv1.RecordStatus_RECORD_STATUS_ERASED},
	)
	consentStatuses = newCodes(
		pair[string, gatewayv1.ConsentStatus]{domain.ConsentActive, gatewayv1.ConsentStatus_CONSENT_STATUS_ACTIVE},
		pair[string, gatewayv1.ConsentStatus]{domain.ConsentRevoked, gatewayv1.ConsentStatus_CONSENT_STATUS_REVOKED},
	)
	keyAlgorithms = newCodes(
		pair[string, gatewayv1.KeyAlgorithm]{domain.AlgEd25519, gatewayv1.KeyAlgorithm_KEY_ALGORITHM_ED25519},
		pair[string, gatewayv1.KeyAlgorithm]{domain.AlgECDSAP256, gatewayv1.KeyAlgorithm_KEY_ALGORITHM_ECDSA_P256},
	)
)

// Role returns the enum of a role; an unknown or empty role is
// ROLE_UNSPECIFIED.
func Role(r domain.Role) gatewayv1.Role { return roles.proto(r) }

// RoleFromProto returns the role of a required enum value. UNSPECIFIED and
// unknown numbers are a *FieldError naming field.
func RoleFromProto(field string, r gatewayv1.Role) (domain.Role, error) {
	return roles.required(field, r)
}

// OptionalRoleFromProto is RoleFromProto for an optional role (a consent's
// grantee role): UNSPECIFIED returns the empty role and no error. Unknown
// numbers are a *FieldError naming field.
func OptionalRoleFromProto(field string, r gatewayv1.Role) (domain.Role, error) {
	return roles.optional(field, r)
}

// Confidentiality returns the enum of a confidentiality code; an unknown
// or empty code is CONFIDENTIALITY_UNSPECIFIED.
func Confidentiality(c domain.Confidentiality) gatewayv1.Confidentiality {
	return confidentialities.proto(c)
}

// ConfidentialityFromProto returns the code of a required enum value.
// UNSPECIFIED and unknown numbers are a *FieldError naming field.
func ConfidentialityFromProto(field string, c gatewayv1.Confidentiality) (domain.Confidentiality, error) {
	return confidentialities.required(field, c)
}

// OptionalConfidentialityFromProto is ConfidentialityFromProto for an
// optional code (an amendment's new confidentiality): UNSPECIFIED returns
// the empty code and no error. Unknown numbers are a *FieldError naming
// field.
func OptionalConfidentialityFromProto(field string, c gatewayv1.Confidentiality) (domain.Confidentiality, error) {
	return confidentialities.optional(field, c)
}

// PurposeOfUse returns the enum of a purpose of use; an unknown or empty
// code is PURPOSE_OF_USE_UNSPECIFIED.
func PurposeOfUse(p domain.Purpose) gatewayv1.PurposeOfUse { return purposes.proto(p) }

// PurposeOfUseFromProto returns the purpose of a required enum value.
// UNSPECIFIED and unknown numbers are a *FieldError naming field.
func PurposeOfUseFromProto(field string, p gatewayv1.PurposeOfUse) (domain.Purpose, error) {
	return purposes.required(field, p)
}

// AmendmentReason returns the enum of an amendment reason; an unknown or
// empty code (version 1) is AMENDMENT_REASON_UNSPECIFIED.
func AmendmentReason(r domain.AmendmentReason) gatewayv1.AmendmentReason {
	return amendmentReasons.proto(r)
}

// AmendmentReasonFromProto returns the reason of a required enum value.
// UNSPECIFIED and unknown numbers are a *FieldError naming field.
func AmendmentReasonFromProto(field string, r gatewayv1.AmendmentReason) (domain.AmendmentReason, error) {
	return amendmentReasons.required(field, r)
}

// ErasureReason returns the enum of an erasure reason; an unknown or empty
// code is ERASURE_REASON_UNSPECIFIED.
func ErasureReason(r domain.ErasureReason) gatewayv1.ErasureReason {
	return erasureReasons.proto(r)
}

// ErasureReasonFromProto returns the reason of a required enum value.
// UNSPECIFIED and unknown numbers are a *FieldError naming field.
func ErasureReasonFromProto(field string, r gatewayv1.ErasureReason) (domain.ErasureReason, error) {
	return erasureReasons.required(field, r)
}

// JustificationCode returns the enum of a break-the-glass justification;
// an unknown or empty code is JUSTIFICATION_CODE_UNSPECIFIED.
func JustificationCode(j domain.JustificationCode) gatewayv1.JustificationCode {
	return justificationCodes.proto(j)
}

// JustificationCodeFromProto returns the code of a required enum value.
// UNSPECIFIED and unknown numbers are a *FieldError naming field.
func JustificationCodeFromProto(field string, j gatewayv1.JustificationCode) (domain.JustificationCode, error) {
	return justificationCodes.required(field, j)
}

// OptionalJustificationCodeFromProto is JustificationCodeFromProto for an
// optional code (RequestAccess: no emergency justification): UNSPECIFIED
// returns the empty code and no error. Unknown numbers are a *FieldError
// naming field.
func OptionalJustificationCodeFromProto(field string, j gatewayv1.JustificationCode) (domain.JustificationCode, error) {
	return justificationCodes.optional(field, j)
}

// Decision returns the enum of an access decision; an unknown or empty
// code is DECISION_UNSPECIFIED.
func Decision(d domain.Decision) gatewayv1.Decision { return decisions.proto(d) }

// DecisionFromProto returns the decision of a required enum value.
// UNSPECIFIED and unknown numbers are a *FieldError naming field.
func DecisionFromProto(field string, d gatewayv1.Decision) (domain.Decision, error) {
	return decisions.required(field, d)
}

// BasisType returns the enum of an access basis; an unknown or empty code
// is BASIS_TYPE_UNSPECIFIED.
func BasisType(b domain.BasisType) gatewayv1.BasisType { return basisTypes.proto(b) }

// BasisTypeFromProto returns the basis of a required enum value.
// UNSPECIFIED and unknown numbers are a *FieldError naming field.
func BasisTypeFromProto(field string, b gatewayv1.BasisType) (domain.BasisType, error) {
	return basisTypes.required(field, b)
}

// DenialReason returns the enum of a denial reason; an unknown or empty
// code (not denied) is DENIAL_REASON_UNSPECIFIED.
func DenialReason(r domain.DenialReason) gatewayv1.DenialReason { return denialReasons.proto(r) }

// DenialReasonFromProto returns the reason of a required enum value.
// UNSPECIFIED and unknown numbers are a *FieldError naming field.
func DenialReasonFromProto(field string, r gatewayv1.DenialReason) (domain.DenialReason, error) {
	return denialReasons.required(field, r)
}

// Alert returns the enum of an alert; an unknown or empty code is
// ALERT_UNSPECIFIED.
func Alert(a domain.Alert) gatewayv1.Alert { return alerts.proto(a) }

// AlertFromProto returns the alert of a required enum value. UNSPECIFIED
// and unknown numbers are a *FieldError naming field.
func AlertFromProto(field string, a gatewayv1.Alert) (domain.Alert, error) {
	return alerts.required(field, a)
}

// RecordStatus returns the enum of a record status (domain.StatusActive,
// StatusSuperseded, StatusErased); anything else is
// RECORD_STATUS_UNSPECIFIED.
func RecordStatus(s string) gatewayv1.RecordStatus { return recordStatuses.proto(s) }

// RecordStatusFromProto returns the record status of a required enum
// value. UNSPECIFIED and unknown numbers are a *FieldError naming field.
func RecordStatusFromProto(field string, s gatewayv1.RecordStatus) (string, error) {
	return recordStatuses.required(field, s)
}

// ConsentStatus returns the enum of a consent status (domain.ConsentActive,
// ConsentRevoked); anything else is CONSENT_STATUS_UNSPECIFIED.
func ConsentStatus(s string) gatewayv1.ConsentStatus { return consentStatuses.proto(s) }

// ConsentStatusFromProto returns the consent status of a required enum
// value. UNSPECIFIED and unknown numbers are a *FieldError naming field.
func ConsentStatusFromProto(field string, s gatewayv1.ConsentStatus) (string, error) {
	return consentStatuses.required(field, s)
}

// KeyAlgorithm returns the enum of a patient key algorithm
// (domain.AlgEd25519, AlgECDSAP256); anything else is
// KEY_ALGORITHM_UNSPECIFIED.
func KeyAlgorithm(a string) gatewayv1.KeyAlgorithm { return keyAlgorithms.proto(a) }

// KeyAlgorithmFromProto returns the algorithm name of a required enum
// value. UNSPECIFIED and unknown numbers are a *FieldError naming field.
func KeyAlgorithmFromProto(field string, a gatewayv1.KeyAlgorithm) (string, error) {
	return keyAlgorithms.required(field, a)
}
