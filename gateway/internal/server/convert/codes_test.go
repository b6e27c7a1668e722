package convert_test

import (
	"slices"
	"strings"
	"testing"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/internal/server/convert"
)

// enumCase describes one code list and its enum, with the conversions in
// both directions, erased to strings and int32 so that one table test
// covers them all.
type enumCase struct {
	prefix   string           // prefix of the enum's value names
	names    map[int32]string // the generated Xxx_name map: every value
	codes    []string         // every domain code
	toProto  func(string) int32
	required func(field string, p int32) (string, error)
	optional func(field string, p int32) (string, error) // nil: no Optional variant
}

func enumOf[D ~string, P ~int32](prefix string, names map[int32]string, list []D,
	to func(D) P, required, optional func(string, P) (D, error),
) enumCase {
	c := enumCase{
		prefix:  prefix,
		names:   names,
		toProto: func(s string) int32 { return int32(to(D(s))) },
		required: func(f string, p int32) (string, error) {
			d, err := required(f, P(p))
			return string(d), err
		},
	}
	for _, d := range list {
		c.codes = append(c.codes, string(d))
	}
	if optional != nil {
		c.optional = func(f string, p int32) (string, error) {
			d, err := optional(f, P(p))
			return string(d), err
		}
	}
	return c
}

// Domain lists of the codes the domain package has no list for. A new
// constant there must be added here; the count check against the enum
// catches a new enum value without a domain code.
var (
	decisionCodes      = []domain.Decision{domain.DecisionGranted, domain.DecisionDenied, domain.DecisionEmergency}
	basisCodes         = []domain.BasisType{domain.BasisConsent, domain.BasisCustodianStaff, domain.BasisBreakTheGlass}
	denialCodes        = []domain.DenialReason{domain.DenyNoConsent, domain.DenyConsentRevoked, domain.DenyConsentNotYetValid, domain.DenyConsentExpired, domain.DenyRoleNotCovered, domain.DenyPurposeNotCovered, domain.DenyScopeNotCovered, domain.DenyConfidentialityAboveConsent, domain.DenyRecordErased}
	alertCodes         = []domain.Alert{domain.AlertEmergency, domain.AlertOutsideCare, domain.AlertDenialBurst}
	recordStatusCodes  = []string{domain.StatusActive, domain.StatusSuperseded, domain.StatusErased}
	consentStatusCodes = []string{domain.ConsentActive, domain.ConsentRevoked}
	keyAlgorithmCodes  = []string{domain.AlgEd25519, domain.AlgECDSAP256}
)

func enumCases() map[string]enumCase {
	return map[string]enumCase{
		"Role": enumOf("ROLE_", gatewayv1.Role_name, domain.Roles,
			convert.Role, convert.RoleFromProto, convert.OptionalRoleFromProto),
		"Confidentiality": enumOf("CONFIDENTIALITY_", gatewayv1.Confidentiality_name, domain.Confidentialities,
			convert.Confidentiality, convert.ConfidentialityFromProto, convert.OptionalConfidentialityFromProto),
		"PurposeOfUse": enumOf("PURPOSE_OF_USE_", gatewayv1.PurposeOfUse_name, domain.Purposes,
			convert.PurposeOfUse, convert.PurposeOfUseFromProto, nil),
		"AmendmentReason": enumOf("AMENDMENT_REASON_", gatewayv1.AmendmentReason_name, domain.AmendmentReasons,
			convert.AmendmentReason, convert.AmendmentReasonFromProto, nil),
		"ErasureReason": enumOf("ERASURE_REASON_", gatewayv1.ErasureReason_name, domain.ErasureReasons,
			convert.ErasureReason, convert.ErasureReasonFromProto, nil),
		"JustificationCode": enumOf("JUSTIFICATION_CODE_", gatewayv1.JustificationCode_name, domain.JustificationCodes,
			convert.JustificationCode, convert.JustificationCodeFromProto, convert.OptionalJustificationCodeFromProto),
		"Decision": enumOf("DECISION_", gatewayv1.Decision_name, decisionCodes,
			convert.Decision, convert.DecisionFromProto, nil),
		"BasisType": enumOf("BASIS_TYPE_", gatewayv1.BasisType_name, basisCodes,
			convert.BasisType, convert.BasisTypeFromProto, nil),
		"DenialReason": enumOf("DENIAL_REASON_", gatewayv1.DenialReason_name, denialCodes,
			convert.DenialReason, convert.DenialReasonFromProto, nil),
		"Alert": enumOf("ALERT_", gatewayv1.Alert_name, alertCodes,
			convert.Alert, convert.AlertFromProto, nil),
		"RecordStatus": enumOf("RECORD_STATUS_", gatewayv1.RecordStatus_name, recordStatusCodes,
			convert.RecordStatus, convert.RecordStatusFromProto, nil),
		"ConsentStatus": enumOf("CONSENT_STATUS_", gatewayv1.ConsentStatus_name, consentStatusCodes,
			convert.ConsentStatus, convert.ConsentStatusFromProto, nil),
		"KeyAlgorithm": enumOf("KEY_ALGORITHM_", gatewayv1.KeyAlgorithm_name, keyAlgorithmCodes,
			convert.KeyAlgorithm, convert.KeyAlgorithmFromProto, nil),
	}
}

// enumSuffix is the name an enum value must have for a domain code: the
// code in upper case with '-' as '_' ("records-officer":
// RECORDS_OFFICER, "ECDSA-P256": ECDSA_P256), as codes.proto spells them.
func enumSuffix(code string) string {
	return strings.ToUpper(strings.ReplaceAll(code, "-", "_"))
}

func TestEveryDomainCodeMapsToItsEnumValueAndBack(t *testing.T) {
	for name, c := range enumCases() {
		t.Run(name, func(t *testing.T) {
			if len(c.codes) == 0 {
				t.Fatal("no domain codes")
			}
			seen := map[int32]string{}
			for _, code := range c.codes {
				p := c.toProto(code)
				if p == 0 {
					t.Errorf("%q maps to UNSPECIFIED", code)
					continue
				}
				if got, want := c.names[p], c.prefix+enumSuffix(code); got != want {
					t.Errorf("%q maps to %s; want %s", code, got, want)
				}
				if other, dup := seen[p]; dup {
					t.Errorf("%q and %q map to the same value %s", code, other, c.names[p])
				}
				seen[p] = code
				back, err := c.required("f", p)
				if err != nil || back != code {
					t.Errorf("%s converts back to %q, %v; want %q", c.names[p], back, err, code)
				}
			}
		})
	}
}

func TestEveryEnumValueMapsToItsDomainCodeAndBack(t *testing.T) {
	for name, c := range enumCases() {
		t.Run(name, func(t *testing.T) {
			if got, want := len(c.names)-1, len(c.codes); got != want {
				t.Errorf("the enum has %d values besides UNSPECIFIED; the domain has %d codes", got, want)
			}
			for p, pname := range c.names {
				if p == 0 {
					if pname != c.prefix+"UNSPECIFIED" {
						t.Errorf("value 0 is %s; want %sUNSPECIFIED", pname, c.prefix)
					}
					continue
				}
				code, err := c.required("f", p)
				if err != nil {
					t.Errorf("%s: %v", pname, err)
					continue
				}
				if !slices.Contains(c.codes, code) {
					t.Errorf("%s converts to %q, not a domain code", pname, code)
				}
				if c.prefix+enumSuffix(code) != pname {
					t.Errorf("%s converts to %q", pname, code)
				}
				if back := c.toProto(code); back != p {
					t.Errorf("%s converts to %q and back to %s", pname, code, c.names[back])
				}
				if c.optional != nil {
					if opt, err := c.optional("f", p); err != nil || opt != code {
						t.Errorf("Optional: %s converts to %q, %v; want %q", pname, opt, err, code)
					}
				}
			}
		})
	}
}

func TestUnspecifiedAndUnknownEnumValuesAreRefusedNamingTheField(t *testing.T) {
	for name, c := range enumCases() {
		t.Run(name, func(t *testing.T) {
			unknown := int32(len(c.names))
			for _, p := range []int32{0, unknown, 1000, -1} {
				code, err := c.required("req.items[2]", p)
				fe := wantFieldError(t, err, "req.items[2]")
				if code != "" {
					t.Errorf("value %d converts to %q with the error; want empty", p, code)
				}
				if fe != nil {
					for _, want := range c.codes {
						if !strings.Contains(fe.Want, want) {
							t.Errorf("value %d: want %q does not list %q", p, fe.Want, want)
						}
					}
					if !strings.HasPrefix(fe.Want, "one of ") {
						t.Errorf("value %d: want %q; want it to start with \"one of \"", p, fe.Want)
					}
				}
			}
		})
	}
}

func TestOptionalEnumsReadUnspecifiedAsNotGivenAndRefuseUnknownValues(t *testing.T) {
	for name, c := range enumCases() {
		if c.optional == nil {
			continue
		}
		t.Run(name, func(t *testing.T) {
			if code, err := c.optional("f", 0); err != nil || code != "" {
				t.Errorf("UNSPECIFIED converts to %q, %v; want \"\", nil", code, err)
			}
			for _, p := range []int32{int32(len(c.names)), -1} {
				code, err := c.optional("opt", p)
				wantFieldError(t, err, "opt")
				if code != "" {
					t.Errorf("value %d converts to %q with the error; want empty", p, code)
				}
			}
		})
	}
}

func TestUnknownDomainCodesMapToUnspecified(t *testing.T) {
	for name, c := range enumCases() {
		t.Run(name, func(t *testing.T) {
			unknown := []string{"", "bogus", " " + c.codes[0], c.codes[0] + " "}
			// A code in the wrong case is another code.
			if up := strings.ToUpper(c.codes[0]); up != c.codes[0] {
				unknown = append(unknown, up)
			}
			if low := strings.ToLower(c.codes[0]); low != c.codes[0] {
				unknown = append(unknown, low)
			}
			// The enum's own name is not a domain code either.
			unknown = append(unknown, c.prefix+enumSuffix(c.codes[0]))
			for _, code := range unknown {
				if p := c.toProto(code); p != 0 {
					t.Errorf("%q maps to %s; want UNSPECIFIED", code, c.names[p])
				}
			}
		})
	}
}
