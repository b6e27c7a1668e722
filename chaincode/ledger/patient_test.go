package ledger_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"

	"github.com/medprov/medprov/chaincode/ledger"
)

// signer is a freshly generated patient key pair.
type signer struct {
	alg  string
	pub  string // base64 SPKI
	sign func(msg []byte) string
}

func newSigners(t *testing.T) map[string]signer {
	t.Helper()
	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]signer{
		"Ed25519": {ledger.AlgEd25519, spkiB64(t, edPub), func(msg []byte) string {
			return base64.StdEncoding.EncodeToString(ed25519.Sign(edPriv, msg))
		}},
		"ECDSA P-256": {ledger.AlgECDSAP256, spkiB64(t, &ec.PublicKey), func(msg []byte) string {
			d := sha256.Sum256(msg)
			sig, err := ecdsa.SignASN1(rand.Reader, ec, d[:])
			if err != nil {
				t.Fatal(err)
			}
			return base64.StdEncoding.EncodeToString(sig)
		}},
	}
}

func TestParsePatientKeyAcceptsEd25519AndP256(t *testing.T) {
	for name, s := range newSigners(t) {
		t.Run("an "+name+" key is accepted", func(t *testing.T) {
			k, err := ledger.ParsePatientKey("request.publicKey", s.pub)
			wantCode(t, err, nil)
			if k.Algorithm != s.alg {
				t.Errorf("Algorithm = %q, want %q", k.Algorithm, s.alg)
			}
			if k.Base64() != s.pub {
				t.Errorf("Base64() = %q, want the input %q", k.Base64(), s.pub)
			}
		})
	}
}

func TestParsePatientKeyRejects(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	good := spkiB64(t, edPub)
	cases := map[string]string{
		"an ECDSA P-384 key is rejected":                     spkiB64(t, &p384.PublicKey),
		"an ECDSA P-224 key is rejected":                     spkiB64(t, &p224.PublicKey),
		"an RSA key is rejected":                             spkiB64(t, &rsaKey.PublicKey),
		"garbage bytes are rejected":                         base64.StdEncoding.EncodeToString([]byte("not a key at all, just bytes")),
		"text that is not base64 is rejected":                "not base64!",
		"a raw 32-byte Ed25519 key without SPKI is rejected": base64.StdEncoding.EncodeToString(edPub),
		"URL-safe base64 is rejected":                        urlSafeKey(t),
		"unpadded base64 is rejected":                        strings.TrimRight(good, "="),
		"base64 with non-zero padding bits is rejected":      nonCanonicalB64(good),
		"base64 with trailing data is rejected":              good + "AAAA",
		"an empty key is rejected":                           "",
		"a key longer than 256 characters is rejected":       strings.Repeat("A", 260),
		"hex instead of base64 is rejected":                  hex.EncodeToString([]byte(good)),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ledger.ParsePatientKey("request.publicKey", in)
			wantInvalid(t, err, "request.publicKey")
		})
	}
}

// urlSafeKey is the URL-safe base64 of an Ed25519 key whose standard
// encoding contains '+' or '/', so the two encodings differ.
func urlSafeKey(t *testing.T) string {
	for b := byte(0); ; b++ {
		std := spkiB64(t, ed25519Seed(b).Public())
		if strings.ContainsAny(std, "+/") {
			return strings.NewReplacer("+", "-", "/", "_").Replace(std)
		}
	}
}

// nonCanonicalB64 flips the unused low bits of the last base64 character
// before the padding, which standard (non-strict) decoding ignores. Ed25519 and P-256 SPKIs
// leave two such bits, so the low one is free to flip.
func nonCanonicalB64(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	i := strings.IndexByte(s, '=') - 1
	if i < 0 {
		panic("want a padded base64 string")
	}
	v := strings.IndexByte(alphabet, s[i])
	return s[:i] + string(alphabet[v^1]) + s[i+1:]
}

func TestNonCanonicalBase64HelperChangesNothingButPaddingBits(t *testing.T) {
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	good := spkiB64(t, edPub)
	bad := nonCanonicalB64(good)
	if bad == good {
		t.Fatal("helper changed nothing")
	}
	a, _ := base64.StdEncoding.DecodeString(good)
	b, err := base64.StdEncoding.DecodeString(bad)
	if err != nil || string(a) != string(b) {
		t.Fatalf("helper changed the decoded bytes")
	}
}

func TestPatientBase64WithLineBreaksIsRejected(t *testing.T) {
	priv := ed25519Seed(4)
	good := spkiB64(t, priv.Public())
	msg := []byte("medprov")
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(priv, msg))
	k, err := ledger.ParsePatientKey("k", good)
	wantCode(t, err, nil)
	for name, tc := range map[string]struct{ key, sig string }{
		"a key with a newline inside is rejected":         {good[:20] + "\n" + good[20:], sig},
		"a key with a carriage return inside is rejected": {good[:20] + "\r" + good[20:], sig},
		"a signature with a newline inside is rejected":   {good, sig[:20] + "\n" + sig[20:]},
		"a signature with a trailing CRLF is rejected":    {good, sig + "\r\n"},
	} {
		t.Run(name, func(t *testing.T) {
			if tc.key != good {
				_, err := ledger.ParsePatientKey("k", tc.key)
				wantInvalid(t, err, "k")
				return
			}
			wantInvalid(t, k.Verify("sig", msg, tc.sig), "sig")
		})
	}
}

var pseudonymForm = regexp.MustCompile(`^pt-[0-9a-f]{40}$`)

func TestPseudonym(t *testing.T) {
	signers := newSigners(t)
	seen := map[string]string{}
	for name, s := range signers {
		k, err := ledger.ParsePatientKey("k", s.pub)
		wantCode(t, err, nil)
		p := k.Pseudonym()
		if !pseudonymForm.MatchString(p) {
			t.Errorf("%s: pseudonym %q is not pt-<40 hex>", name, p)
		}
		wantCode(t, ledger.CheckPseudonym("p", p), nil)
		k2, _ := ledger.ParsePatientKey("k", s.pub)
		if k2.Pseudonym() != p || k.Pseudonym() != p {
			t.Errorf("%s: pseudonym is not stable", name)
		}
		if prev, dup := seen[p]; dup {
			t.Errorf("%s and %s share pseudonym %s", name, prev, p)
		}
		seen[p] = name
	}
	// An independent derivation for one fixed key.
	priv := ed25519Seed(1)
	pub := spkiB64(t, priv.Public())
	k, err := ledger.ParsePatientKey("k", pub)
	wantCode(t, err, nil)
	der, _ := base64.StdEncoding.DecodeString(pub)
	h := sha256.Sum256(append([]byte("medprov.patient.pseudonym.v1\x00"), der...))
	if want := "pt-" + hex.EncodeToString(h[:20]); k.Pseudonym() != want {
		t.Errorf("Pseudonym() = %s, want %s", k.Pseudonym(), want)
	}
	k2, _ := ledger.ParsePatientKey("k", spkiB64(t, ed25519Seed(2).Public()))
	if k2.Pseudonym() == k.Pseudonym() {
		t.Errorf("two keys share a pseudonym")
	}
}

func TestCheckPseudonym(t *testing.T) {
	check(t, ledger.CheckPseudonym, map[string]strCase{
		"pt- and 40 lowercase hex digits are accepted": {patient, true},
		"uppercase hex is rejected":                    {"pt-" + strings.Repeat("A", 40), false},
		"39 hex digits are rejected":                   {"pt-" + strings.Repeat("a", 39), false},
		"41 hex digits are rejected":                   {"pt-" + strings.Repeat("a", 41), false},
		"a missing prefix is rejected":                 {strings.Repeat("a", 43), false},
		"an uppercase prefix is rejected":              {"PT-" + strings.Repeat("a", 40), false},
		"an empty pseudonym is rejected":               {"", false},
	})
}

func TestVerify(t *testing.T) {
	msg := []byte("medprov test message")
	for name, s := range newSigners(t) {
		k, err := ledger.ParsePatientKey("k", s.pub)
		wantCode(t, err, nil)
		good := s.sign(msg)
		raw, _ := base64.StdEncoding.DecodeString(good)
		flipped := append([]byte(nil), raw...)
		flipped[len(flipped)-1] ^= 1
		cases := map[string]struct {
			msg  []byte
			sig  string
			want error
		}{
			"a good signature verifies":                             {msg, good, nil},
			"a signature over another message is refused":           {[]byte("medprov test messagE"), good, ledger.ErrPermissionDenied},
			"a signature with a flipped bit is refused":             {msg, base64.StdEncoding.EncodeToString(flipped), ledger.ErrPermissionDenied},
			"a truncated signature is refused":                      {msg, base64.StdEncoding.EncodeToString(raw[:len(raw)-1]), ledger.ErrPermissionDenied},
			"a signature by another key is refused":                 {msg, otherSigner(t, name).sign(msg), ledger.ErrPermissionDenied},
			"an empty signature is an invalid argument":             {msg, "", ledger.ErrInvalidArgument},
			"a signature that is not base64 is an invalid argument": {msg, "!!" + good, ledger.ErrInvalidArgument},
			"an unpadded signature is an invalid argument":          {msg, strings.TrimRight(good, "="), ledger.ErrInvalidArgument},
			"an over-long signature is an invalid argument":         {msg, strings.Repeat("A", 204), ledger.ErrInvalidArgument},
		}
		if !strings.HasSuffix(good, "=") {
			delete(cases, "an unpadded signature is an invalid argument")
		}
		for cname, tc := range cases {
			t.Run(name+": "+cname, func(t *testing.T) {
				err := k.Verify("consent.signature", tc.msg, tc.sig)
				wantCode(t, err, tc.want)
				if tc.want != nil && !strings.Contains(err.Error(), "consent.signature") {
					t.Errorf("error %q does not name the argument", err)
				}
			})
		}
	}
}

func otherSigner(t *testing.T, name string) signer { return newSigners(t)[name] }

func TestVerifyWithAZeroKeyRefuses(t *testing.T) {
	var k ledger.PatientKey
	err := k.Verify("sig", []byte("x"), base64.StdEncoding.EncodeToString(make([]byte, 64)))
	wantCode(t, err, ledger.ErrPermissionDenied)
}

func TestVerifyDoesNotAcceptAnEd25519SignatureMadeOverTheDigest(t *testing.T) {
	// Ed25519 signs the message itself; ECDSA signs SHA-256(message).
	priv := ed25519Seed(3)
	k, _ := ledger.ParsePatientKey("k", spkiB64(t, priv.Public()))
	msg := []byte("medprov")
	d := sha256.Sum256(msg)
	sig, _ := priv.Sign(nil, d[:], crypto.Hash(0))
	wantCode(t, k.Verify("sig", msg, base64.StdEncoding.EncodeToString(sig)), ledger.ErrPermissionDenied)
}

func TestKeyRotationValidate(t *testing.T) {
	newKey := spkiB64(t, ed25519Seed(9).Public())
	good := ledger.KeyRotation{Patient: patient, NewPublicKey: newKey, Sequence: 4}
	k, err := good.Validate()
	wantCode(t, err, nil)
	if k.Base64() != newKey || k.Algorithm != ledger.AlgEd25519 {
		t.Errorf("Validate returned key %+v", k)
	}
	cases := map[string]struct {
		mutate func(*ledger.KeyRotation)
		arg    string
	}{
		"a bad patient pseudonym is rejected": {func(r *ledger.KeyRotation) { r.Patient = "patient-1" }, "rotation.patient"},
		"sequence 0 is rejected":              {func(r *ledger.KeyRotation) { r.Sequence = 0 }, "rotation.sequence"},
		"a bad new key is rejected":           {func(r *ledger.KeyRotation) { r.NewPublicKey = "AAAA" }, "rotation.newPublicKey"},
		"an empty new key is rejected":        {func(r *ledger.KeyRotation) { r.NewPublicKey = "" }, "rotation.newPublicKey"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := good
			tc.mutate(&r)
			_, err := r.Validate()
			wantInvalid(t, err, tc.arg)
		})
	}
}
