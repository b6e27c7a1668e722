package convert

import (
	"encoding/base64"
	"slices"
	"strconv"

	"google.golang.org/protobuf/types/known/timestamppb"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
)

// maxSignatureBytes is the longest patient signature the ledger takes:
// 200 characters of base64 (domain.PatientKey.Verify).
const maxSignatureBytes = 150

// Consent returns a stored consent, as the API shows it. Signatures are
// base64 on the ledger and bytes in the API; one that is not standard
// base64 (never the case for a consent the chaincode stored, since it
// verified the signature) is left empty. For the reduced view RevokeConsent
// returns to a carrier that may not read the consent, only the fields the
// domain value holds are set.
func Consent(c domain.Consent) *gatewayv1.Consent {
	return &gatewayv1.Consent{
		Grant:           ConsentGrant(c.ConsentGrant),
		Signature:       fromBase64(c.Signature),
		Status:          ConsentStatus(c.Status),
		SubmittedBy:     c.SubmittedBy,
		GrantedAt:       Timestamp(c.GrantedAt),
		GrantTxId:       c.GrantTxID,
		RevokedAt:       timestampPtr(c.RevokedAt),
		RevokeTxId:      c.RevokeTxID,
		RevokeSignature: fromBase64(c.RevokeSignature),
	}
}

// ConsentGrant returns a consent grant, as the API shows it, field for
// field: lists keep their order, and the validity window, written in
// domain.TimeLayout, becomes timestamps (a string in another format, never
// on the ledger, gives an unset timestamp). An empty grantee or scope is
// left unset. ConsentGrantFromProto inverts it exactly for a valid grant.
func ConsentGrant(g domain.ConsentGrant) *gatewayv1.ConsentGrant {
	out := &gatewayv1.ConsentGrant{
		ConsentId:          g.ConsentID,
		Patient:            g.Patient,
		MaxConfidentiality: Confidentiality(g.MaxConfidentiality),
		NotBefore:          ledgerTimestamp(g.NotBefore),
		NotAfter:           ledgerTimestamp(g.NotAfter),
		Sequence:           g.Sequence,
	}
	if g.Grantee != (domain.Grantee{}) {
		out.Grantee = &gatewayv1.Grantee{MspId: g.Grantee.MSPID, Role: Role(g.Grantee.Role)}
	}
	if g.Scope.All || len(g.Scope.RecordIDs) > 0 || len(g.Scope.DocTypes) > 0 {
		out.Scope = &gatewayv1.ConsentScope{
			All:       g.Scope.All,
			RecordIds: cloneOrNil(g.Scope.RecordIDs),
			DocTypes:  cloneOrNil(g.Scope.DocTypes),
		}
	}
	if len(g.Purposes) > 0 {
		out.Purposes = make([]gatewayv1.PurposeOfUse, len(g.Purposes))
		for i, p := range g.Purposes {
			out.Purposes[i] = PurposeOfUse(p)
		}
	}
	return out
}

// ConsentGrantFromProto returns the domain grant of the proto grant at
// path (the request field, such as "grant"), field for field and in the
// order given, so that its canonical encoding
// (domain.ConsentGrant.CanonicalBytes) is exactly what the patient signed
// when the patient's tool signed the normalised grant. It normalises
// nothing: the chaincode normalises and validates the grant
// (domain.ConsentGrant.Normalize) before it checks the signature.
//
// It fails with a *FieldError naming the field for: a purpose that is
// UNSPECIFIED or unknown (path.purposes[i]); a max_confidentiality that is
// UNSPECIFIED or unknown; a grantee role that is unknown (UNSPECIFIED
// means every role); a not_before or not_after that is unset, out of
// range, or not in whole seconds. An unset grant, grantee or scope reads
// as an empty one, as proto3 defines.
func ConsentGrantFromProto(path string, g *gatewayv1.ConsentGrant) (domain.ConsentGrant, error) {
	role, err := OptionalRoleFromProto(join(path, "grantee.role"), g.GetGrantee().GetRole())
	if err != nil {
		return domain.ConsentGrant{}, err
	}
	var ps []domain.Purpose
	if len(g.GetPurposes()) > 0 {
		ps = make([]domain.Purpose, len(g.GetPurposes()))
		for i, p := range g.GetPurposes() {
			if ps[i], err = PurposeOfUseFromProto(join(path, "purposes["+strconv.Itoa(i)+"]"), p); err != nil {
				return domain.ConsentGrant{}, err
			}
		}
	}
	maxConf, err := ConfidentialityFromProto(join(path, "max_confidentiality"), g.GetMaxConfidentiality())
	if err != nil {
		return domain.ConsentGrant{}, err
	}
	notBefore, err := requiredLedgerTime(join(path, "not_before"), g.GetNotBefore())
	if err != nil {
		return domain.ConsentGrant{}, err
	}
	notAfter, err := requiredLedgerTime(join(path, "not_after"), g.GetNotAfter())
	if err != nil {
		return domain.ConsentGrant{}, err
	}
	return domain.ConsentGrant{
		ConsentID: g.GetConsentId(),
		Patient:   g.GetPatient(),
		Grantee:   domain.Grantee{MSPID: g.GetGrantee().GetMspId(), Role: role},
		Scope: domain.Scope{
			All:       g.GetScope().GetAll(),
			RecordIDs: cloneOrNil(g.GetScope().GetRecordIds()),
			DocTypes:  cloneOrNil(g.GetScope().GetDocTypes()),
		},
		Purposes:           ps,
		MaxConfidentiality: maxConf,
		NotBefore:          notBefore,
		NotAfter:           notAfter,
		Sequence:           g.GetSequence(),
	}, nil
}

// requiredLedgerTime is LedgerTimeFromProto for a timestamp that must be
// set.
func requiredLedgerTime(field string, ts *timestamppb.Timestamp) (string, error) {
	if ts == nil {
		return "", fieldErr(field, wantLedgerTime)
	}
	return LedgerTimeFromProto(field, ts)
}

// SignatureFromProto returns a patient signature (over a grant, a
// revocation or a key rotation) as the ledger takes it: standard base64.
// An empty signature or one longer than 150 bytes is a *FieldError naming
// field.
func SignatureFromProto(field string, sig []byte) (string, error) {
	if len(sig) == 0 || len(sig) > maxSignatureBytes {
		return "", fieldErr(field, "a signature of 1 to "+strconv.Itoa(maxSignatureBytes)+" bytes")
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// fromBase64 decodes a ledger signature or key; empty or invalid base64
// gives nil.
func fromBase64(s string) []byte {
	if s == "" {
		return nil
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil
	}
	return b
}

// cloneOrNil copies a list so that the domain and proto values never share
// one; an empty list gives nil.
func cloneOrNil(xs []string) []string {
	if len(xs) == 0 {
		return nil
	}
	return slices.Clone(xs)
}
