package command

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medprov/medprov/chaincode/ledger"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// result is the outcome of one run of the root command.
type result struct {
	stdout, stderr string
	err            error
	code           int
	line           string // the error as main prints it
}

// run runs the root command with args, capturing stdout and stderr, with
// no environment variables.
func run(t *testing.T, args ...string) result {
	t.Helper()
	return runWith(t, runEnv{}, args...)
}

// runEnv is the outside world of one run.
type runEnv struct {
	env            map[string]string
	stdin          string
	stdinTerminal  bool
	stderrTerminal bool
	rand           io.Reader // default crypto/rand
	ctx            context.Context
}

// runWith runs the root command with args in env.
func runWith(t *testing.T, e runEnv, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	deps := Deps{
		Stdin:          strings.NewReader(e.stdin),
		Stdout:         &out,
		Stderr:         &errOut,
		Rand:           e.rand,
		Now:            func() time.Time { return time.Now() },
		StdinTerminal:  e.stdinTerminal,
		StderrTerminal: e.stderrTerminal,
		LookupEnv: func(k string) (string, bool) {
			v, ok := e.env[k]
			return v, ok
		},
	}
	if deps.Rand == nil {
		deps.Rand = rand.Reader
	}
	ctx := e.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	root := NewRoot(deps)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	r := result{stdout: out.String(), stderr: errOut.String(), err: err, code: ExitCode(err)}
	if err != nil {
		r.line = ErrorLine(cmd, err)
	}
	return r
}

// writeFile writes a test file, failing the test on error.
func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// mustRun runs the root and fails the test unless it exits 0.
func mustRun(t *testing.T, args ...string) result {
	t.Helper()
	r := run(t, args...)
	if r.code != ExitOK {
		t.Fatalf("medprov %s: exit %d, err %v, stderr %q", strings.Join(args, " "), r.code, r.err, r.stderr)
	}
	return r
}

// decode unmarshals a command's JSON output.
func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("decoding output %q: %v", s, err)
	}
	return v
}

// fixedSeed makes the golden tests' key, and so their signatures,
// deterministic.
var fixedSeed = bytes.Repeat([]byte{0x42}, ed25519.SeedSize)

// writeFixedKey writes the fixed Ed25519 key as PKCS#8 PEM and returns its
// path and the public key as RegisterPatient takes it.
func writeFixedKey(t *testing.T) (path string, pub ledger.PatientKey) {
	t.Helper()
	k := ed25519.NewKeyFromSeed(fixedSeed)
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), "fixed.key")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	pub, err = ledger.ParsePatientKey("publicKey", b64(pubDER))
	if err != nil {
		t.Fatal(err)
	}
	return path, pub
}

// testdata is the absolute path of testdata/, so that goldens are found
// after a test changes its working directory.
var testdata = func() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return filepath.Join(wd, "testdata")
}()

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(testdata, name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run with -update to accept):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// keygen runs patient keygen into a fresh folder and returns its output.
func keygen(t *testing.T, alg string) (dir string, out keygenResult) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "patient")
	r := mustRun(t, "patient", "keygen", "--out", dir, "--alg", alg, "-o", "json")
	return dir, decode[keygenResult](t, r.stdout)
}

// consentArgs returns the arguments of a valid consent sign for patient,
// signed with key.
func consentArgs(key, patient string, extra ...string) []string {
	return append([]string{"consent", "sign",
		"--key", key,
		"--consent-id", "c-2026-001",
		"--patient", patient,
		"--grantee", "HospitalBMSP",
		"--role", "clinician",
		"--doc-type", "11502-2", "--doc-type", "18842-5", "--doc-type", "11502-2",
		"--purpose", "TREAT", "--purpose", "CAREMGT",
		"--max-confidentiality", "N",
		"--not-before", "2026-01-01T00:00:00Z",
		"--not-after", "2036-01-01T00:00:00Z",
		"--sequence", "1",
	}, extra...)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
