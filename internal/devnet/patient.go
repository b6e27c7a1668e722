package devnet

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"fmt"

	"github.com/medprov/medprov/chaincode/ledger"
)

// Patient is a synthetic patient's key pair, as the patient's own device
// would hold it. It signs consents, revocations and key rotations.
type Patient struct {
	key       ed25519.PrivateKey
	PublicKey string // base64 PKIX, as RegisterPatient takes it
	Pseudonym string
}

// NewPatient generates a patient key pair.
func NewPatient() (*Patient, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate patient key: %w", err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode patient key: %w", err)
	}
	b64 := base64.StdEncoding.EncodeToString(der)
	k, err := ledger.ParsePatientKey("publicKey", b64)
	if err != nil {
		return nil, err
	}
	return &Patient{key: priv, PublicKey: b64, Pseudonym: k.Pseudonym()}, nil
}

// Sign signs a canonical encoding and returns the signature as the
// chaincode takes it.
func (p *Patient) Sign(msg []byte) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(p.key, msg))
}
