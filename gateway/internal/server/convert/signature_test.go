package convert_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/internal/server/convert"
)

// repoRoot is the repository root, from this package's folder.
const repoRoot = "../../../.."

// cliGolden is the output of `medprov consent sign -o json` that the CLI's
// own tests (TestSignedOutputMatchesTheGoldenFiles) keep current. It was
// signed with the CLI's fixed test key: Ed25519 from a seed of 32 bytes
// 0x42 (cli/internal/command/helpers_test.go, fixedSeed).
var cliGolden = filepath.Join(repoRoot, "cli", "internal", "command", "testdata", "consent-sign.json")

var cliSeed = bytes.Repeat([]byte{0x42}, ed25519.SeedSize)

// transports carry a GrantConsentRequest as a client would: the gRPC wire
// format, and the JSON mapping the REST gateway uses.
var transports = map[string]func(t *testing.T, in *gatewayv1.GrantConsentRequest) *gatewayv1.GrantConsentRequest{
	"over gRPC": func(t *testing.T, in *gatewayv1.GrantConsentRequest) *gatewayv1.GrantConsentRequest {
		b, err := proto.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		out := &gatewayv1.GrantConsentRequest{}
		if err := proto.Unmarshal(b, out); err != nil {
			t.Fatal(err)
		}
		return out
	},
	"over REST JSON": func(t *testing.T, in *gatewayv1.GrantConsentRequest) *gatewayv1.GrantConsentRequest {
		b, err := protojson.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		out := &gatewayv1.GrantConsentRequest{}
		if err := protojson.Unmarshal(b, out); err != nil {
			t.Fatal(err)
		}
		return out
	},
}

// patientKey returns the ledger's view of signer's public key.
func patientKey(t *testing.T, signer crypto.Signer) domain.PatientKey {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	k, err := domain.ParsePatientKey("publicKey", base64.StdEncoding.EncodeToString(der))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// signLikeTheCLI signs as `medprov consent sign` does
// (cli/internal/command/consent_sign.go and keys.go): normalise the grant,
// then sign its canonical encoding with Ed25519, or ECDSA P-256 (ASN.1 DER)
// over its SHA-256, in standard base64.
func signLikeTheCLI(t *testing.T, signer crypto.Signer, g domain.ConsentGrant) string {
	t.Helper()
	n, _, _, err := g.Normalize()
	if err != nil {
		t.Fatalf("Normalize: %v", err)
	}
	msg := n.CanonicalBytes()
	var sig []byte
	switch k := signer.(type) {
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, msg)
	case *ecdsa.PrivateKey:
		digest := sha256.Sum256(msg)
		sig, err = ecdsa.SignASN1(rand.Reader, k, digest[:])
		if err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("unsupported key %T", signer)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// throughTheAPI sends grant and signature through the API as a client
// would, and converts them back as the server does. It returns the domain
// grant and the signature as the chaincode receives them: the grant's JSON
// argument decoded as the chaincode decodes it.
func throughTheAPI(t *testing.T, send func(*testing.T, *gatewayv1.GrantConsentRequest) *gatewayv1.GrantConsentRequest,
	g domain.ConsentGrant, sigB64 string,
) (domain.ConsentGrant, string) {
	t.Helper()
	sig, err := base64.StdEncoding.DecodeString(sigB64)
	if err != nil {
		t.Fatal(err)
	}
	req := send(t, &gatewayv1.GrantConsentRequest{Grant: convert.ConsentGrant(g), Signature: sig})
	back, err := convert.ConsentGrantFromProto("grant", req.GetGrant())
	if err != nil {
		t.Fatalf("ConsentGrantFromProto: %v", err)
	}
	gotSig, err := convert.SignatureFromProto("signature", req.GetSignature())
	if err != nil {
		t.Fatalf("SignatureFromProto: %v", err)
	}
	arg, err := json.Marshal(back)
	if err != nil {
		t.Fatal(err)
	}
	var onLedger domain.ConsentGrant
	if err := domain.DecodeStrict("consent", string(arg), &onLedger); err != nil {
		t.Fatalf("the chaincode would refuse the JSON argument: %v", err)
	}
	if !bytes.Equal(onLedger.CanonicalBytes(), back.CanonicalBytes()) {
		t.Fatal("the JSON argument changes the canonical encoding")
	}
	return onLedger, gotSig
}

// verifyAsTheChaincode verifies sig over g as GrantConsent does: normalise,
// then verify the canonical encoding with the patient's key.
func verifyAsTheChaincode(key domain.PatientKey, g domain.ConsentGrant, sig string) error {
	n, _, _, err := g.Normalize()
	if err != nil {
		return err
	}
	return key.Verify("signature", n.CanonicalBytes(), sig)
}

func TestAGrantSignedByTheCLIStillVerifiesAfterTheAPI(t *testing.T) {
	raw, err := os.ReadFile(cliGolden)
	if err != nil {
		t.Fatalf("reading the CLI's signed grant: %v", err)
	}
	var out struct {
		Consent   domain.ConsentGrant `json:"consent"`
		Signature string              `json:"signature"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("decoding %s: %v", cliGolden, err)
	}
	key := patientKey(t, ed25519.NewKeyFromSeed(cliSeed))
	if key.Pseudonym() != out.Consent.Patient {
		t.Fatalf("the CLI's grant is for %s, not the fixed key's %s: the fixture changed", out.Consent.Patient, key.Pseudonym())
	}
	if err := key.Verify("signature", out.Consent.CanonicalBytes(), out.Signature); err != nil {
		t.Fatalf("the CLI's signature does not verify before the API: %v", err)
	}
	for name, send := range transports {
		t.Run(name, func(t *testing.T) {
			got, sig := throughTheAPI(t, send, out.Consent, out.Signature)
			if sig != out.Signature {
				t.Errorf("signature %q; want %q", sig, out.Signature)
			}
			if !bytes.Equal(got.CanonicalBytes(), out.Consent.CanonicalBytes()) {
				t.Errorf("canonical encoding changed:\ngot  %x\nwant %x", got.CanonicalBytes(), out.Consent.CanonicalBytes())
			}
			if err := key.Verify("signature", got.CanonicalBytes(), sig); err != nil {
				t.Errorf("the signature no longer verifies: %v", err)
			}
			if err := verifyAsTheChaincode(key, got, sig); err != nil {
				t.Errorf("the chaincode would refuse the signature: %v", err)
			}
		})
	}
	// The check can fail: the same signature over a grant changed in
	// transit does not verify.
	t.Run("a grant changed in transit does not verify", func(t *testing.T) {
		changed := func(t *testing.T, in *gatewayv1.GrantConsentRequest) *gatewayv1.GrantConsentRequest {
			out := transports["over gRPC"](t, in)
			out.Grant.MaxConfidentiality = gatewayv1.Confidentiality_CONFIDENTIALITY_V
			return out
		}
		got, sig := throughTheAPI(t, changed, out.Consent, out.Signature)
		if err := verifyAsTheChaincode(key, got, sig); err == nil {
			t.Error("a changed grant verifies")
		}
	})
}

func TestGrantsSignedWithTheCLIsLogicVerifyAfterTheAPI(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signers := map[string]crypto.Signer{
		"Ed25519":     ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize)),
		"ECDSA P-256": ecKey,
	}
	grants := validGrants()
	// A grant as a client may send it: lists unsorted and with duplicates.
	// The patient signed the normalised grant; the chaincode normalises
	// what it receives before it verifies.
	grants["an unnormalised grant, as a client may send it"] = domain.ConsentGrant{
		ConsentID: "consent-0003", Patient: testPatient,
		Grantee:            domain.Grantee{MSPID: "Org2MSP", Role: domain.RoleRecordsOfficer},
		Scope:              domain.Scope{RecordIDs: []string{"rec-0003", "rec-0001", "rec-0003"}, DocTypes: []string{"Observation", "34133-9", "11506-3"}},
		Purposes:           []domain.Purpose{domain.PurposeTreatment, domain.PurposeCareManagement, domain.PurposeTreatment},
		MaxConfidentiality: domain.ConfModerate,
		NotBefore:          "2026-01-01T00:00:00Z", NotAfter: "2026-12-31T23:59:59Z", Sequence: 2,
	}
	for sname, signer := range signers {
		key := patientKey(t, signer)
		for gname, g := range grants {
			g.Patient = key.Pseudonym()
			sig := signLikeTheCLI(t, signer, g)
			for tname, send := range transports {
				t.Run(sname+", "+gname+", "+tname, func(t *testing.T) {
					got, gotSig := throughTheAPI(t, send, g, sig)
					if !bytes.Equal(got.CanonicalBytes(), g.CanonicalBytes()) {
						t.Error("the canonical encoding of the grant as sent changed")
					}
					if err := verifyAsTheChaincode(key, got, gotSig); err != nil {
						t.Errorf("the chaincode would refuse the signature: %v", err)
					}
				})
			}
		}
	}
}

func TestTheLedgersGoldenGrantsKeepTheirEncodingThroughTheAPI(t *testing.T) {
	for _, name := range []string{"consent_grant_v1", "consent_grant_all_v1"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(repoRoot, "chaincode", "ledger", "testdata")
			in, err := os.ReadFile(filepath.Join(dir, name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			golden, err := os.ReadFile(filepath.Join(dir, name+".golden"))
			if err != nil {
				t.Fatal(err)
			}
			var g domain.ConsentGrant
			if err := domain.DecodeStrict("consent", string(in), &g); err != nil {
				t.Fatal(err)
			}
			for tname, send := range transports {
				t.Run(tname, func(t *testing.T) {
					req := send(t, &gatewayv1.GrantConsentRequest{Grant: convert.ConsentGrant(g)})
					back, err := convert.ConsentGrantFromProto("grant", req.GetGrant())
					if err != nil {
						t.Fatal(err)
					}
					n, _, _, err := back.Normalize()
					if err != nil {
						t.Fatal(err)
					}
					if got, want := hex.EncodeToString(n.CanonicalBytes()), strings.TrimSpace(string(golden)); got != want {
						t.Errorf("canonical bytes\ngot  %s\nwant %s", got, want)
					}
				})
			}
		})
	}
}
