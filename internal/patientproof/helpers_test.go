package patientproof_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"flag"
	"sync"
	"testing"
	"time"

	"github.com/medprov/medprov/chaincode/ledger"
)

// update rewrites the golden files under testdata/ from the current code.
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Synthetic values; nothing here identifies anyone.
const mspID = "Org1MSP"

// ledgerZeroKey is a PatientKey that was never parsed.
var ledgerZeroKey ledger.PatientKey

// edPriv is a fixed Ed25519 key, so that signatures in golden files are
// reproducible (Ed25519 is deterministic).
var edPriv = ed25519.NewKeyFromSeed([]byte("medprov synthetic patient seed 1"))

func patientKey(t testing.TB, pub any) ledger.PatientKey {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ledger.ParsePatientKey("publicKey", base64.StdEncoding.EncodeToString(der))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func edKey(t testing.TB) ledger.PatientKey { return patientKey(t, edPriv.Public()) }

// ecKey returns a fresh ECDSA P-256 key pair as a signer and its PatientKey.
func ecKey(t testing.TB) (func(msg []byte) []byte, ledger.PatientKey) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(msg []byte) []byte {
		d := sha256.Sum256(msg)
		sig, err := ecdsa.SignASN1(rand.Reader, priv, d[:])
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	return sign, patientKey(t, &priv.PublicKey)
}

func edSign(msg []byte) []byte { return ed25519.Sign(edPriv, msg) }

// counter is a deterministic random source. Its first Read gives 0, 1, 2,
// … as bytes; every later one gives SHA-256 of the call number, repeated,
// so that IDs never repeat.
type counter struct {
	mu    sync.Mutex
	calls uint64
}

func (c *counter) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == 0 {
		for i := range p {
			p[i] = byte(i)
		}
	} else {
		for off := 0; off < len(p); off += sha256.Size {
			h := sha256.Sum256(binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, c.calls), uint64(off)))
			copy(p[off:], h[:])
		}
	}
	c.calls++
	return len(p), nil
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
