package ledger

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"strings"
	"time"
)

// Patient is the ledger's view of a patient: a pseudonym and the public key
// that signs the patient's consents. It holds nothing that identifies the
// person.
type Patient struct {
	Kind          string    `json:"kind"`
	SchemaVersion int       `json:"schemaVersion"`
	Pseudonym     string    `json:"pseudonym"`
	PublicKey     string    `json:"publicKey"`
	KeyAlgorithm  string    `json:"keyAlgorithm"`
	KeyVersion    int       `json:"keyVersion"`
	Sequence      uint64    `json:"sequence"`
	RegisteredBy  string    `json:"registeredBy"`
	RegisteredAt  time.Time `json:"registeredAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

// Document kinds and their current schema versions.
const (
	KindRecord        = "record"
	KindPatient       = "patient"
	KindConsent       = "consent"
	KindAccessEvent   = "accessEvent"
	KindOrgEndpoint   = "orgEndpoint"
	KindDenialCounter = "denialCounter"
	SchemaVersion     = 1
)

// Key algorithms a patient may use.
const (
	AlgEd25519   = "Ed25519"
	AlgECDSAP256 = "ECDSA-P256"
)

// PatientKey is a parsed patient public key.
type PatientKey struct {
	Algorithm string
	DER       []byte
	key       any
}

const maxPublicKeyB64 = 256

// ParsePatientKey reads a patient public key: base64 (standard encoding) of
// a PKIX SubjectPublicKeyInfo for an Ed25519 or ECDSA P-256 key.
func ParsePatientKey(arg, b64 string) (PatientKey, error) {
	if len(b64) == 0 || len(b64) > maxPublicKeyB64 {
		return PatientKey{}, InvalidArgument(arg, "want base64 of a PKIX Ed25519 or ECDSA P-256 public key")
	}
	der, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || strings.ContainsAny(b64, "\r\n") {
		return PatientKey{}, InvalidArgument(arg, "want standard base64")
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return PatientKey{}, InvalidArgument(arg, "want a PKIX SubjectPublicKeyInfo")
	}
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return PatientKey{Algorithm: AlgEd25519, DER: der, key: k}, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return PatientKey{}, InvalidArgument(arg, "want an ECDSA key on curve P-256")
		}
		return PatientKey{Algorithm: AlgECDSAP256, DER: der, key: k}, nil
	default:
		return PatientKey{}, InvalidArgument(arg, "want an Ed25519 or ECDSA P-256 key")
	}
}

// Base64 returns the key in the form ParsePatientKey reads.
func (k PatientKey) Base64() string { return base64.StdEncoding.EncodeToString(k.DER) }

// pseudonymPrefix separates pseudonym derivation from every other use of
// SHA-256 in medprov.
const pseudonymPrefix = "medprov.patient.pseudonym.v1\x00"

var pseudonymPattern = regexp.MustCompile(`^pt-[0-9a-f]{40}$`)

// Pseudonym derives the patient's pseudonym from the key the patient
// registered with: "pt-" and the first 20 bytes, in hex, of
// SHA-256(prefix || SubjectPublicKeyInfo DER). It stays the same when the
// patient later rotates the key.
func (k PatientKey) Pseudonym() string {
	h := sha256.Sum256(append([]byte(pseudonymPrefix), k.DER...))
	return "pt-" + hex.EncodeToString(h[:20])
}

// CheckPseudonym validates a patient pseudonym.
func CheckPseudonym(arg, s string) error {
	if !pseudonymPattern.MatchString(s) {
		return InvalidArgument(arg, "want a patient pseudonym: pt- and 40 lowercase hex digits")
	}
	return nil
}

const maxSignatureB64 = 200

// Verify checks a patient signature over msg: base64 (standard encoding) of
// an Ed25519 signature, or of an ASN.1 DER ECDSA signature over SHA-256(msg).
func (k PatientKey) Verify(arg string, msg []byte, sigB64 string) error {
	if len(sigB64) == 0 || len(sigB64) > maxSignatureB64 {
		return InvalidArgument(arg, "want a base64 signature")
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(sigB64)
	if err != nil || strings.ContainsAny(sigB64, "\r\n") {
		return InvalidArgument(arg, "want standard base64")
	}
	ok := false
	switch pub := k.key.(type) {
	case ed25519.PublicKey:
		ok = ed25519.Verify(pub, msg, sig)
	case *ecdsa.PublicKey:
		digest := sha256.Sum256(msg)
		ok = ecdsa.VerifyASN1(pub, digest[:], sig)
	}
	if !ok {
		return PermissionDenied("%s: the signature does not verify with the patient's registered key", arg)
	}
	return nil
}

// KeyRotation is what a patient signs to replace their key.
type KeyRotation struct {
	Patient      string `json:"patient"`
	NewPublicKey string `json:"newPublicKey"`
	Sequence     uint64 `json:"sequence"`
}

const rotationPrefix = "medprov.patient.rotate.v1\x00"

// CanonicalBytes is the exact byte string the patient signs for a key
// rotation.
func (r KeyRotation) CanonicalBytes() []byte {
	var e encoder
	e.raw(rotationPrefix)
	e.str(r.Patient)
	e.str(r.NewPublicKey)
	e.u64(r.Sequence)
	return e.buf
}

// Validate checks every field of a key rotation and returns the parsed new
// key.
func (r KeyRotation) Validate() (PatientKey, error) {
	if err := CheckPseudonym("rotation.patient", r.Patient); err != nil {
		return PatientKey{}, err
	}
	if r.Sequence == 0 {
		return PatientKey{}, InvalidArgument("rotation.sequence", "want the patient's next sequence number (from 1)")
	}
	return ParsePatientKey("rotation.newPublicKey", r.NewPublicKey)
}
