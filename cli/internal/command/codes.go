package command

import (
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/chaincode/ledger"
)

// codeTable maps the ledger's spelling of a closed code list (what flags
// take and output shows) to the API's enum, in one place for every list.
type codeTable[E ~int32] struct {
	names  []string
	values []E
}

func newCodeTable[E ~int32](pairs ...any) codeTable[E] {
	var t codeTable[E]
	for i := 0; i < len(pairs); i += 2 {
		t.names = append(t.names, pairs[i].(string))
		t.values = append(t.values, pairs[i+1].(E))
	}
	return t
}

// parse returns the enum value spelled s, or a usage error naming flag and
// listing the allowed spellings.
func (t codeTable[E]) parse(flag, s string) (E, error) {
	for i, n := range t.names {
		if n == s {
			return t.values[i], nil
		}
	}
	if s == "" {
		return 0, usagef(flag, "required: one of %s", strings.Join(t.names, ", "))
	}
	return 0, usagef(flag, "want one of %s, not %q", strings.Join(t.names, ", "), s)
}

// name returns the ledger spelling of v: "" for the zero (unspecified)
// value, and the number for a value this CLI does not know.
func (t codeTable[E]) name(v E) string {
	if v == 0 {
		return ""
	}
	for i, x := range t.values {
		if x == v {
			return t.names[i]
		}
	}
	return "UNKNOWN(" + strconv.Itoa(int(v)) + ")"
}

// completion completes the flag with the allowed spellings.
func (t codeTable[E]) completion() cobra.CompletionFunc {
	return cobra.FixedCompletions(t.names, cobra.ShellCompDirectiveNoFileComp)
}

// usage is the allowed spellings, for flag help.
func (t codeTable[E]) usage() string { return strings.Join(t.names, ", ") }

var (
	purposeCodes = newCodeTable[gatewayv1.PurposeOfUse](
		string(ledger.PurposeTreatment), gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT,
		string(ledger.PurposeEmergencyTreatment), gatewayv1.PurposeOfUse_PURPOSE_OF_USE_ETREAT,
		string(ledger.PurposeCareManagement), gatewayv1.PurposeOfUse_PURPOSE_OF_USE_CAREMGT,
		string(ledger.PurposePayment), gatewayv1.PurposeOfUse_PURPOSE_OF_USE_HPAYMT,
		string(ledger.PurposeOperations), gatewayv1.PurposeOfUse_PURPOSE_OF_USE_HOPERAT,
		string(ledger.PurposeQualityImprovement), gatewayv1.PurposeOfUse_PURPOSE_OF_USE_HQUALIMP,
		string(ledger.PurposeResearch), gatewayv1.PurposeOfUse_PURPOSE_OF_USE_HRESCH,
		string(ledger.PurposePublicHealth), gatewayv1.PurposeOfUse_PURPOSE_OF_USE_PUBHLTH,
		string(ledger.PurposePatientRequest), gatewayv1.PurposeOfUse_PURPOSE_OF_USE_PATRQT,
		string(ledger.PurposeLegal), gatewayv1.PurposeOfUse_PURPOSE_OF_USE_HLEGAL,
	)
	confidentialityCodes = newCodeTable[gatewayv1.Confidentiality](
		string(ledger.ConfUnrestricted), gatewayv1.Confidentiality_CONFIDENTIALITY_U,
		string(ledger.ConfLow), gatewayv1.Confidentiality_CONFIDENTIALITY_L,
		string(ledger.ConfModerate), gatewayv1.Confidentiality_CONFIDENTIALITY_M,
		string(ledger.ConfNormal), gatewayv1.Confidentiality_CONFIDENTIALITY_N,
		string(ledger.ConfRestricted), gatewayv1.Confidentiality_CONFIDENTIALITY_R,
		string(ledger.ConfVeryRestricted), gatewayv1.Confidentiality_CONFIDENTIALITY_V,
	)
	amendmentReasonCodes = newCodeTable[gatewayv1.AmendmentReason](
		string(ledger.AmendCorrection), gatewayv1.AmendmentReason_AMENDMENT_REASON_CORRECTION,
		string(ledger.AmendAddendum), gatewayv1.AmendmentReason_AMENDMENT_REASON_ADDENDUM,
		string(ledger.AmendLateEntry), gatewayv1.AmendmentReason_AMENDMENT_REASON_LATE_ENTRY,
		string(ledger.AmendPatientRequest), gatewayv1.AmendmentReason_AMENDMENT_REASON_PATIENT_REQUEST,
		string(ledger.AmendReformat), gatewayv1.AmendmentReason_AMENDMENT_REASON_REFORMAT,
	)
	erasureReasonCodes = newCodeTable[gatewayv1.ErasureReason](
		string(ledger.ErasePatientRequest), gatewayv1.ErasureReason_ERASURE_REASON_PATIENT_REQUEST,
		string(ledger.EraseRetentionExpired), gatewayv1.ErasureReason_ERASURE_REASON_RETENTION_EXPIRED,
		string(ledger.EraseLegalOrder), gatewayv1.ErasureReason_ERASURE_REASON_LEGAL_ORDER,
		string(ledger.EraseEnteredInError), gatewayv1.ErasureReason_ERASURE_REASON_ENTERED_IN_ERROR,
	)
	justificationCodes = newCodeTable[gatewayv1.JustificationCode](
		string(ledger.JustifyLifeThreatening), gatewayv1.JustificationCode_JUSTIFICATION_CODE_LIFE_THREATENING,
		string(ledger.JustifyUnableToConsent), gatewayv1.JustificationCode_JUSTIFICATION_CODE_PATIENT_UNABLE_TO_CONSENT,
		string(ledger.JustifyUrgentContinuity), gatewayv1.JustificationCode_JUSTIFICATION_CODE_URGENT_CARE_CONTINUITY,
		string(ledger.JustifyPublicHealthEmergen), gatewayv1.JustificationCode_JUSTIFICATION_CODE_PUBLIC_HEALTH_EMERGENCY,
	)
	roleCodes = newCodeTable[gatewayv1.Role](
		string(ledger.RoleClinician), gatewayv1.Role_ROLE_CLINICIAN,
		string(ledger.RoleRecordsOfficer), gatewayv1.Role_ROLE_RECORDS_OFFICER,
		string(ledger.RoleResearcher), gatewayv1.Role_ROLE_RESEARCHER,
		string(ledger.RoleAuditor), gatewayv1.Role_ROLE_AUDITOR,
		string(ledger.RoleAdmin), gatewayv1.Role_ROLE_ADMIN,
	)
	decisionCodes = newCodeTable[gatewayv1.Decision](
		string(ledger.DecisionGranted), gatewayv1.Decision_DECISION_GRANTED,
		string(ledger.DecisionDenied), gatewayv1.Decision_DECISION_DENIED,
		string(ledger.DecisionEmergency), gatewayv1.Decision_DECISION_EMERGENCY,
	)
	basisCodes = newCodeTable[gatewayv1.BasisType](
		string(ledger.BasisConsent), gatewayv1.BasisType_BASIS_TYPE_CONSENT,
		string(ledger.BasisCustodianStaff), gatewayv1.BasisType_BASIS_TYPE_CUSTODIAN_STAFF,
		string(ledger.BasisBreakTheGlass), gatewayv1.BasisType_BASIS_TYPE_BREAK_THE_GLASS,
	)
	denialCodes = newCodeTable[gatewayv1.DenialReason](
		string(ledger.DenyRecordErased), gatewayv1.DenialReason_DENIAL_REASON_RECORD_ERASED,
		string(ledger.DenyNoConsent), gatewayv1.DenialReason_DENIAL_REASON_NO_CONSENT,
		string(ledger.DenyConsentRevoked), gatewayv1.DenialReason_DENIAL_REASON_CONSENT_REVOKED,
		string(ledger.DenyConsentNotYetValid), gatewayv1.DenialReason_DENIAL_REASON_CONSENT_NOT_YET_VALID,
		string(ledger.DenyConsentExpired), gatewayv1.DenialReason_DENIAL_REASON_CONSENT_EXPIRED,
		string(ledger.DenyRoleNotCovered), gatewayv1.DenialReason_DENIAL_REASON_ROLE_NOT_COVERED,
		string(ledger.DenyPurposeNotCovered), gatewayv1.DenialReason_DENIAL_REASON_PURPOSE_NOT_COVERED,
		string(ledger.DenyScopeNotCovered), gatewayv1.DenialReason_DENIAL_REASON_SCOPE_NOT_COVERED,
		string(ledger.DenyConfidentialityAboveConsent), gatewayv1.DenialReason_DENIAL_REASON_CONFIDENTIALITY_ABOVE_CONSENT,
	)
	alertCodes = newCodeTable[gatewayv1.Alert](
		string(ledger.AlertEmergency), gatewayv1.Alert_ALERT_EMERGENCY_ACCESS,
		string(ledger.AlertOutsideCare), gatewayv1.Alert_ALERT_OUTSIDE_CARE_RELATIONSHIP,
		string(ledger.AlertDenialBurst), gatewayv1.Alert_ALERT_DENIAL_BURST,
	)
	recordStatusCodes = newCodeTable[gatewayv1.RecordStatus](
		ledger.StatusActive, gatewayv1.RecordStatus_RECORD_STATUS_ACTIVE,
		ledger.StatusSuperseded, gatewayv1.RecordStatus_RECORD_STATUS_SUPERSEDED,
		ledger.StatusErased, gatewayv1.RecordStatus_RECORD_STATUS_ERASED,
	)
	consentStatusCodes = newCodeTable[gatewayv1.ConsentStatus](
		ledger.ConsentActive, gatewayv1.ConsentStatus_CONSENT_STATUS_ACTIVE,
		ledger.ConsentRevoked, gatewayv1.ConsentStatus_CONSENT_STATUS_REVOKED,
	)
	keyAlgorithmCodes = newCodeTable[gatewayv1.KeyAlgorithm](
		ledger.AlgEd25519, gatewayv1.KeyAlgorithm_KEY_ALGORITHM_ED25519,
		ledger.AlgECDSAP256, gatewayv1.KeyAlgorithm_KEY_ALGORITHM_ECDSA_P256,
	)
	exportFormatCodes = newCodeTable[gatewayv1.ExportFormat](
		"csv", gatewayv1.ExportFormat_EXPORT_FORMAT_CSV,
		"json", gatewayv1.ExportFormat_EXPORT_FORMAT_JSON,
		"fhir", gatewayv1.ExportFormat_EXPORT_FORMAT_FHIR,
	)
)

// names returns the ledger spellings of a list of enum values.
func names[E ~int32](t codeTable[E], vs []E) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		out = append(out, t.name(v))
	}
	return out
}
