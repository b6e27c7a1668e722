package command

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/medprov/medprov/chaincode/ledger"
)

// Key algorithms, as --alg takes them.
const (
	algEd25519 = "ed25519"
	algP256    = "p256"
)

// patientSigner is a patient's private key.
type patientSigner struct {
	key crypto.Signer
}

// loadPatientKey reads a PKCS#8 PEM private key for Ed25519 or ECDSA P-256.
// Errors name flag.
func loadPatientKey(flag, path string) (*patientSigner, error) {
	if path == "" {
		return nil, usagef(flag, "required: the patient's private key file (PKCS#8 PEM)")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: want a PEM \"PRIVATE KEY\" (PKCS#8) block", flag)
	}
	if len(rest) > 0 && len(pemTrim(rest)) > 0 {
		return nil, fmt.Errorf("%s: want exactly one PEM block", flag)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: not a PKCS#8 private key: %w", flag, err)
	}
	switch k := k.(type) {
	case ed25519.PrivateKey:
		return &patientSigner{key: k}, nil
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%s: want an ECDSA key on curve P-256", flag)
		}
		return &patientSigner{key: k}, nil
	}
	return nil, fmt.Errorf("%s: want an Ed25519 or ECDSA P-256 key", flag)
}

func pemTrim(b []byte) []byte {
	for len(b) > 0 && (b[0] == '\n' || b[0] == '\r' || b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

// sign signs a canonical encoding as the chaincode verifies it: Ed25519 over
// the message, or ECDSA P-256 (ASN.1 DER) over SHA-256 of the message. It
// returns standard base64.
func (s *patientSigner) sign(rand io.Reader, msg []byte) (string, error) {
	sig, err := s.signRaw(rand, msg)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// signRaw signs as sign does and returns the raw signature bytes, as the
// gateway API carries them.
func (s *patientSigner) signRaw(rand io.Reader, msg []byte) ([]byte, error) {
	var sig []byte
	var err error
	switch k := s.key.(type) {
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, msg)
	case *ecdsa.PrivateKey:
		digest := sha256.Sum256(msg)
		sig, err = ecdsa.SignASN1(rand, k, digest[:])
	default:
		err = errors.New("unsupported key type")
	}
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	return sig, nil
}

// publicKey returns the signer's public key as the chaincode reads it.
func (s *patientSigner) publicKey() (ledger.PatientKey, error) {
	der, err := x509.MarshalPKIXPublicKey(s.key.Public())
	if err != nil {
		return ledger.PatientKey{}, fmt.Errorf("encoding the public key: %w", err)
	}
	return ledger.ParsePatientKey("publicKey", base64.StdEncoding.EncodeToString(der))
}

// generateKey makes a new patient key pair.
func generateKey(alg string, rand io.Reader) (crypto.Signer, error) {
	switch alg {
	case algEd25519:
		_, k, err := ed25519.GenerateKey(rand)
		return k, err
	case algP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand)
	}
	return nil, usagef("--alg", "want %s or %s, not %q", algEd25519, algP256, alg)
}

// flagError rewrites a ledger INVALID_ARGUMENT about a field into a usage
// error naming the flag that set it; fields maps field names to flags.
// Other errors pass through.
func flagError(err error, fields map[string]string) error {
	var le *ledger.Error
	if !errors.As(err, &le) || le.Code != ledger.CodeInvalidArgument {
		return err
	}
	field, msg, ok := strings.Cut(le.Message, ": ")
	if !ok {
		return &UsageError{Err: errors.New(le.Message)}
	}
	// A list element is named field[i], i counting from 0 in the order the
	// flags were given.
	index := ""
	if base, rest, ok := strings.Cut(field, "["); ok && strings.HasSuffix(rest, "]") {
		if i, err := strconv.Atoi(strings.TrimSuffix(rest, "]")); err == nil {
			field, index = base, fmt.Sprintf(" (occurrence %d)", i+1)
		}
	}
	if flag, ok := fields[field]; ok {
		return usagef(flag+index, "%s", msg)
	}
	return &UsageError{Err: errors.New(le.Message)}
}
