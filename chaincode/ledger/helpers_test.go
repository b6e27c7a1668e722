package ledger_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/medprov/medprov/chaincode/ledger"
)

// update rewrites the golden files under testdata/ from the current code.
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Synthetic fixtures. Nothing here describes a real person or health fact.
const (
	hashA   = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	hashB   = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	txA     = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	patient = "pt-0000000000000000000000000000000000000001"
	other   = "pt-0000000000000000000000000000000000000002"
	orgA    = "Org1MSP"
	orgB    = "Org2MSP"
)

// t0 is the fixed "transaction time" of the tests.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// ed25519Seed makes a deterministic Ed25519 key for golden files and seeds.
func ed25519Seed(b byte) ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = b
	}
	return ed25519.NewKeyFromSeed(seed)
}

// fixedECDSA makes a deterministic ECDSA P-256 key.
func fixedECDSA(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	d := make([]byte, 32)
	d[31] = 7
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// spkiB64 renders a public key as ParsePatientKey reads it.
func spkiB64(tb testing.TB, pub any) string {
	tb.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		tb.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// validGrant is a grant that passes Normalize.
func validGrant() ledger.ConsentGrant {
	return ledger.ConsentGrant{
		ConsentID:          "consent-001",
		Patient:            patient,
		Grantee:            ledger.Grantee{MSPID: orgB, Role: ledger.RoleClinician},
		Scope:              ledger.Scope{DocTypes: []string{"11506-3", "Observation"}, RecordIDs: []string{"rec-002", "rec-001"}},
		Purposes:           []ledger.Purpose{ledger.PurposeTreatment, ledger.PurposeCareManagement},
		MaxConfidentiality: ledger.ConfNormal,
		NotBefore:          "2026-01-01T00:00:00Z",
		NotAfter:           "2027-01-01T00:00:00Z",
		Sequence:           1,
	}
}

// record is an active record of patient held by orgA.
func record() ledger.Record {
	return ledger.Record{
		Kind: ledger.KindRecord, SchemaVersion: ledger.SchemaVersion,
		RecordID: "rec-001", Version: 2, Patient: patient, Custodian: orgA,
		Author:  ledger.Author{Role: ledger.RoleClinician, CertFingerprint: hashB},
		DocType: "11506-3", Confidentiality: ledger.ConfNormal, Commitment: hashA,
		AnchoredAt: t0.Add(-time.Hour), TxID: txA, Status: ledger.StatusActive,
	}
}

// consent is an active stored consent to orgB, all roles, all records,
// purpose TREAT, up to N, valid around t0.
func consent(id string) ledger.Consent {
	return ledger.Consent{
		Kind: ledger.KindConsent, SchemaVersion: ledger.SchemaVersion,
		ConsentGrant: ledger.ConsentGrant{
			ConsentID:          id,
			Patient:            patient,
			Grantee:            ledger.Grantee{MSPID: orgB},
			Scope:              ledger.Scope{All: true},
			Purposes:           []ledger.Purpose{ledger.PurposeTreatment},
			MaxConfidentiality: ledger.ConfNormal,
			NotBefore:          "2026-01-01T00:00:00Z",
			NotAfter:           "2027-01-01T00:00:00Z",
			Sequence:           1,
		},
		Status:     ledger.ConsentActive,
		ValidFrom:  time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		ValidUntil: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
	}
}

// wantCode fails unless err is of the class of sentinel (nil for success).
func wantCode(t *testing.T, err, sentinel error) {
	t.Helper()
	switch {
	case sentinel == nil && err != nil:
		t.Fatalf("got error %v, want none", err)
	case sentinel != nil && !errors.Is(err, sentinel):
		t.Fatalf("got error %v, want %v", err, sentinel)
	}
}

// wantInvalid fails unless err is INVALID_ARGUMENT naming arg.
func wantInvalid(t *testing.T, err error, arg string) {
	t.Helper()
	if !errors.Is(err, ledger.ErrInvalidArgument) {
		t.Fatalf("got error %v, want INVALID_ARGUMENT", err)
	}
	if arg != "" && !strings.HasPrefix(err.Error(), "INVALID_ARGUMENT: "+arg+":") {
		t.Fatalf("error %q does not name argument %q", err, arg)
	}
}
