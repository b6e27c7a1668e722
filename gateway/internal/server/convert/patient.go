package convert

import (
	"encoding/base64"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
)

// Patient returns a registered patient, as the API shows it: the public
// key as the DER of its SubjectPublicKeyInfo (the ledger stores its
// base64; a key that is not standard base64, never the case for a patient
// the chaincode registered, is left empty), its algorithm as an enum
// (unknown: UNSPECIFIED), key version, sequence, registrar and times.
func Patient(p domain.Patient) *gatewayv1.Patient {
	return &gatewayv1.Patient{
		Pseudonym:    p.Pseudonym,
		PublicKey:    fromBase64(p.PublicKey),
		KeyAlgorithm: KeyAlgorithm(p.KeyAlgorithm),
		KeyVersion:   u32(p.KeyVersion),
		Sequence:     p.Sequence,
		RegisteredBy: p.RegisteredBy,
		RegisteredAt: Timestamp(p.RegisteredAt),
		UpdatedAt:    Timestamp(p.UpdatedAt),
	}
}

// PublicKeyFromProto returns a patient public key, given as the DER of a
// PKIX SubjectPublicKeyInfo, as the ledger takes it (RegisterPatient's
// argument, a KeyRotation's newPublicKey): standard base64 with padding,
// the very string a key rotation signs. A key that domain.ParsePatientKey
// refuses (empty, too long, not PKIX, not Ed25519 or ECDSA P-256) is a
// *FieldError naming field.
func PublicKeyFromProto(field string, der []byte) (string, error) {
	b64 := base64.StdEncoding.EncodeToString(der)
	if _, err := domain.ParsePatientKey(field, b64); err != nil {
		return "", fieldErr(field, "the DER of a PKIX SubjectPublicKeyInfo of an Ed25519 or ECDSA P-256 public key")
	}
	return b64, nil
}
