package command

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/attrmgr"

	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/internal/devca"
	"github.com/medprov/medprov/internal/devnet"
	"github.com/medprov/medprov/internal/receipt"
)

func TestAConsentSignedWithAGeneratedKeyVerifiesWithThePatientsPublicKey(t *testing.T) {
	tests := map[string]struct {
		alg     string
		wantAlg string
	}{
		"an Ed25519 key":     {alg: algEd25519, wantAlg: ledger.AlgEd25519},
		"an ECDSA P-256 key": {alg: algP256, wantAlg: ledger.AlgECDSAP256},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir, kg := keygen(t, tc.alg)
			if kg.Algorithm != tc.wantAlg {
				t.Errorf("algorithm = %q, want %q", kg.Algorithm, tc.wantAlg)
			}
			pub, err := ledger.ParsePatientKey("publicKey", kg.PublicKey)
			if err != nil {
				t.Fatalf("the printed public key does not parse: %v", err)
			}
			if pub.Pseudonym() != kg.Pseudonym {
				t.Errorf("pseudonym = %q, want %q", kg.Pseudonym, pub.Pseudonym())
			}
			st, err := os.Stat(filepath.Join(dir, privateKeyFile))
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("private key mode = %v, want 0600", st.Mode().Perm())
			}

			r := mustRun(t, append(consentArgs(kg.PrivateKeyFile, kg.Pseudonym), "-o", "json")...)
			out := decode[consentResult](t, r.stdout)
			if err := pub.Verify("signature", out.Consent.CanonicalBytes(), out.Signature); err != nil {
				t.Errorf("consent signature: %v", err)
			}
			if got := out.Consent.Scope.DocTypes; len(got) != 2 || got[0] != "11502-2" || got[1] != "18842-5" {
				t.Errorf("docTypes = %v, want them sorted and de-duplicated", got)
			}

			r = mustRun(t, "consent", "sign-revocation", "--key", kg.PrivateKeyFile, "--consent-id", "c-2026-001", "--patient", kg.Pseudonym, "--sequence", "2", "-o", "yaml")
			if !strings.Contains(r.stdout, "revocation:") || !strings.Contains(r.stdout, "signature:") {
				t.Errorf("YAML output lacks revocation or signature:\n%s", r.stdout)
			}
			r = mustRun(t, "consent", "sign-revocation", "--key", kg.PrivateKeyFile, "--consent-id", "c-2026-001", "--patient", kg.Pseudonym, "--sequence", "2", "-o", "json")
			rev := decode[revocationResult](t, r.stdout)
			if err := pub.Verify("signature", rev.Revocation.CanonicalBytes(), rev.Signature); err != nil {
				t.Errorf("revocation signature: %v", err)
			}

			_, next := keygen(t, tc.alg)
			r = mustRun(t, "patient", "sign-rotation", "--key", kg.PrivateKeyFile, "--patient", kg.Pseudonym, "--new-public-key", "@"+next.PublicKeyFile, "--sequence", "3", "-o", "json")
			rot := decode[rotationResult](t, r.stdout)
			if rot.Rotation.NewPublicKey != next.PublicKey {
				t.Errorf("newPublicKey = %q, want %q", rot.Rotation.NewPublicKey, next.PublicKey)
			}
			if err := pub.Verify("signature", rot.Rotation.CanonicalBytes(), rot.Signature); err != nil {
				t.Errorf("rotation signature: %v", err)
			}
		})
	}
}

func TestKeygenRefusesToOverwriteAKey(t *testing.T) {
	dir, _ := keygen(t, algEd25519)
	before, err := os.ReadFile(filepath.Join(dir, privateKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, "patient", "keygen", "--out", dir)
	if r.code != ExitError || !strings.Contains(r.err.Error(), "refusing to overwrite") {
		t.Errorf("second keygen: exit %d, err %v; want exit 1 refusing to overwrite", r.code, r.err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, privateKeyFile))
	if string(before) != string(after) {
		t.Error("the private key changed")
	}
}

func TestTheChaincodeCommitsAConsentSignedByTheCLI(t *testing.T) {
	tests := map[string]struct{ alg string }{
		"with an Ed25519 key":     {alg: algEd25519},
		"with an ECDSA P-256 key": {alg: algP256},
	}
	n, err := devnet.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	officer, err := n.User(devnet.HospitalA, "officer", string(ledger.RoleRecordsOfficer), string(ledger.ConfNormal))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, kg := keygen(t, tc.alg)
			if _, err := officer.Submit(ctx, "RegisterPatient", kg.PublicKey); err != nil {
				t.Fatalf("RegisterPatient: %v", err)
			}
			consentID := "c-" + tc.alg
			r := mustRun(t, consentArgs(kg.PrivateKeyFile, kg.Pseudonym, "--consent-id", consentID, "-o", "json")...)
			out := decode[consentResult](t, r.stdout)
			grant, err := json.Marshal(out.Consent)
			if err != nil {
				t.Fatal(err)
			}
			res, err := officer.Submit(ctx, "GrantConsent", string(grant), out.Signature)
			if err != nil {
				t.Fatalf("GrantConsent with the CLI's output: %v", err)
			}
			var stored ledger.Consent
			if err := json.Unmarshal(res.Payload, &stored); err != nil {
				t.Fatal(err)
			}
			if stored.Status != ledger.ConsentActive || stored.ConsentID != consentID {
				t.Errorf("stored consent %s is %q, want %s active", stored.ConsentID, stored.Status, consentID)
			}

			r = mustRun(t, "consent", "sign-revocation", "--key", kg.PrivateKeyFile, "--consent-id", consentID, "--patient", kg.Pseudonym, "--sequence", "2", "-o", "json")
			rev := decode[revocationResult](t, r.stdout)
			revJSON, _ := json.Marshal(rev.Revocation)
			if _, err := officer.Submit(ctx, "RevokeConsent", string(revJSON), rev.Signature); err != nil {
				t.Fatalf("RevokeConsent with the CLI's output: %v", err)
			}
		})
	}
}

// writeReceipt writes a document and a receipt for it, and returns their
// paths.
func writeReceipt(t *testing.T, content string) (doc, rcpt string) {
	t.Helper()
	dir := t.TempDir()
	salt := make([]byte, ledger.SaltSize)
	if _, err := rand.Read(salt); err != nil {
		t.Fatal(err)
	}
	r := receipt.Receipt{
		RecordID:    "rec-0001",
		Version:     2,
		Custodian:   "HospitalAMSP",
		Salt:        salt,
		Commitment:  ledger.Commitment(salt, sha256.Sum256([]byte(content))),
		TxID:        strings.Repeat("ab", 32),
		BlockNumber: 7,
		AnchoredAt:  time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC),
	}
	data, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	doc, rcpt = filepath.Join(dir, "doc.txt"), filepath.Join(dir, "doc.receipt.json")
	if err := os.WriteFile(doc, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rcpt, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return doc, rcpt
}

func TestVerifyComparesTheDocumentWithItsReceipt(t *testing.T) {
	tests := map[string]struct {
		tamper    bool
		format    string
		wantCode  int
		wantMatch bool
	}{
		"a matching document exits 0":           {wantCode: ExitOK, wantMatch: true, format: "json"},
		"a tampered document exits 3":           {tamper: true, wantCode: ExitVerifyFailed, format: "json"},
		"a tampered document exits 3 in tables": {tamper: true, wantCode: ExitVerifyFailed, format: "table"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			doc, rcpt := writeReceipt(t, "discharge summary\n")
			if tc.tamper {
				if err := os.WriteFile(doc, []byte("discharge summary!\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			r := run(t, "verify", doc, "--receipt", rcpt, "-o", tc.format)
			if r.code != tc.wantCode {
				t.Fatalf("exit %d (err %v), want %d", r.code, r.err, tc.wantCode)
			}
			if !strings.Contains(r.stdout, "not performed") {
				t.Errorf("output does not say the ledger check is not performed:\n%s", r.stdout)
			}
			if tc.format == "table" {
				if !strings.Contains(r.stdout, "MISMATCH") {
					t.Errorf("table does not say MISMATCH:\n%s", r.stdout)
				}
				return
			}
			out := decode[verifyResult](t, r.stdout)
			if out.Match != tc.wantMatch {
				t.Errorf("match = %v, want %v", out.Match, tc.wantMatch)
			}
			want := verifyRecordArgs{RecordID: "rec-0001", Version: "2"}
			if out.VerifyRecord.RecordID != want.RecordID || out.VerifyRecord.Version != want.Version || len(out.VerifyRecord.Commitment) != 64 {
				t.Errorf("verifyRecord = %+v, want rec-0001, 2 and the commitment", out.VerifyRecord)
			}
		})
	}
}

func TestBadCommandLinesExitWithTheUsageCodeAndNameTheFlag(t *testing.T) {
	key, pub := writeFixedKey(t)
	pt := pub.Pseudonym()
	// without drops the named flag and its value from a valid consent sign.
	without := func(flag string) []string {
		args := consentArgs(key, pt)
		for i := 0; i < len(args); i++ {
			if args[i] == flag {
				args = append(args[:i], args[i+2:]...)
				i--
			}
		}
		return args
	}
	tests := map[string]struct {
		args     []string
		wantFlag string
	}{
		"an unknown flag":                  {args: []string{"consent", "sign", "--bogus"}, wantFlag: "--bogus"},
		"an unknown command":               {args: []string{"bogus"}, wantFlag: "bogus"},
		"an unknown subcommand":            {args: []string{"consent", "bogus"}, wantFlag: "bogus"},
		"an unknown output format":         {args: consentArgs(key, pt, "-o", "xml"), wantFlag: "--output"},
		"a sequence that is not a number":  {args: consentArgs(key, pt, "--sequence", "x"), wantFlag: "--sequence"},
		"a zero sequence":                  {args: consentArgs(key, pt, "--sequence", "0"), wantFlag: "--sequence"},
		"a bad pseudonym":                  {args: consentArgs(key, "alice"), wantFlag: "--patient"},
		"a bad grantee":                    {args: consentArgs(key, pt, "--grantee", "not an msp"), wantFlag: "--grantee"},
		"an auditor role":                  {args: consentArgs(key, pt, "--role", "auditor"), wantFlag: "--role"},
		"a bad document type":              {args: consentArgs(key, pt, "--doc-type", "11502-3"), wantFlag: "--doc-type"},
		"both all and a scope list":        {args: consentArgs(key, pt, "--all"), wantFlag: "--all"},
		"no scope":                         {args: without("--doc-type"), wantFlag: "--all"},
		"no purpose":                       {args: without("--purpose"), wantFlag: "--purpose"},
		"a bad purpose":                    {args: consentArgs(key, pt, "--purpose", "FUN"), wantFlag: "--purpose"},
		"a bad confidentiality":            {args: consentArgs(key, pt, "--max-confidentiality", "X"), wantFlag: "--max-confidentiality"},
		"a local time":                     {args: consentArgs(key, pt, "--not-before", "2026-01-01T00:00:00+01:00"), wantFlag: "--not-before"},
		"an end before the start":          {args: consentArgs(key, pt, "--not-after", "2025-01-01T00:00:00Z"), wantFlag: "--not-after"},
		"no key":                           {args: without("--key"), wantFlag: "--key"},
		"a keygen without a folder":        {args: []string{"patient", "keygen"}, wantFlag: "--out"},
		"a keygen with an unknown alg":     {args: []string{"patient", "keygen", "--out", t.TempDir(), "--alg", "rsa"}, wantFlag: "--alg"},
		"a revocation without a sequence":  {args: []string{"consent", "sign-revocation", "--key", key, "--consent-id", "c-1", "--patient", pt}, wantFlag: "--sequence"},
		"a rotation with a bad new key":    {args: []string{"patient", "sign-rotation", "--key", key, "--patient", pt, "--new-public-key", "AAAA", "--sequence", "2"}, wantFlag: "--new-public-key"},
		"a verify without a receipt":       {args: []string{"verify", "doc.pdf"}, wantFlag: "--receipt"},
		"a verify without a file":          {args: []string{"verify", "--receipt", "r.json"}, wantFlag: "arg"},
		"an identity with an unknown role": {args: []string{"identity", "issue", "--ca-dir", "x", "--msp", "M", "--name", "n", "--role", "nurse", "--clearance", "N", "--out", "o"}, wantFlag: "--role"},
		"an identity without a name":       {args: []string{"identity", "issue", "--ca-dir", "x", "--msp", "M", "--role", "clinician", "--clearance", "N", "--out", "o"}, wantFlag: "--name"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := run(t, tc.args...)
			if r.code != ExitUsage {
				t.Fatalf("exit %d (err %v), want %d", r.code, r.err, ExitUsage)
			}
			if !strings.Contains(r.err.Error(), tc.wantFlag) {
				t.Errorf("error %q does not name %s", r.err, tc.wantFlag)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
		})
	}
}

func TestIdentityIssueWritesAnIdentityCarryingRoleAndClearance(t *testing.T) {
	tests := map[string]struct{ role, clearance string }{
		"a clinician cleared for normal": {role: "clinician", clearance: "N"},
		"an auditor cleared for V":       {role: "auditor", clearance: "V"},
	}
	caDir := filepath.Join(t.TempDir(), "org")
	org, err := devca.NewOrg("HospitalAMSP", "hospital-a.medprov.test")
	if err != nil {
		t.Fatal(err)
	}
	if err := org.WriteOrg(caDir); err != nil {
		t.Fatal(err)
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "id")
			r := mustRun(t, "identity", "issue", "--ca-dir", caDir, "--msp", "HospitalAMSP", "--name", "alice", "--role", tc.role, "--clearance", tc.clearance, "--out", out, "-o", "json")
			if !strings.Contains(r.stderr, "development CA") {
				t.Errorf("stderr does not warn about the development CA: %q", r.stderr)
			}
			res := decode[identityResult](t, r.stdout)
			id, err := devca.LoadIdentity("HospitalAMSP", res.MSPDir)
			if err != nil {
				t.Fatalf("LoadIdentity: %v", err)
			}
			attrs, err := attrmgr.New().GetAttributesFromCert(id.Cert)
			if err != nil {
				t.Fatal(err)
			}
			for attr, want := range map[string]string{devca.AttrRole: tc.role, devca.AttrClearance: tc.clearance} {
				if got, ok, err := attrs.Value(attr); err != nil || !ok || got != want {
					t.Errorf("%s = %q, %v, %v; want %q", attr, got, ok, err, want)
				}
			}
			if id.Name != "alice" || len(id.TLSCertPEM) == 0 {
				t.Errorf("identity %q, TLS cert %d bytes; want alice with a TLS certificate", id.Name, len(id.TLSCertPEM))
			}
		})
	}
	t.Run("an MSP ID other than the CA's is a usage error", func(t *testing.T) {
		r := run(t, "identity", "issue", "--ca-dir", caDir, "--msp", "HospitalBMSP", "--name", "bob", "--role", "clinician", "--clearance", "N", "--out", t.TempDir())
		if r.code != ExitUsage || !strings.Contains(r.err.Error(), "--msp") {
			t.Errorf("exit %d, err %v; want exit 2 naming --msp", r.code, r.err)
		}
	})
}

func TestSignedOutputMatchesTheGoldenFiles(t *testing.T) {
	key, pub := writeFixedKey(t)
	pt := pub.Pseudonym()
	tests := map[string]struct {
		args   []string
		golden string
	}{
		"consent sign as JSON":            {args: consentArgs(key, pt, "-o", "json"), golden: "consent-sign.json"},
		"consent sign as YAML":            {args: consentArgs(key, pt, "-o", "yaml"), golden: "consent-sign.yaml"},
		"consent sign as a table":         {args: consentArgs(key, pt), golden: "consent-sign.txt"},
		"consent sign-revocation as JSON": {args: []string{"consent", "sign-revocation", "--key", key, "--consent-id", "c-2026-001", "--patient", pt, "--sequence", "2", "-o", "json"}, golden: "consent-sign-revocation.json"},
		"patient sign-rotation as JSON":   {args: []string{"patient", "sign-rotation", "--key", key, "--patient", pt, "--new-public-key", pub.Base64(), "--sequence", "3", "-o", "json"}, golden: "patient-sign-rotation.json"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := mustRun(t, tc.args...)
			golden(t, tc.golden, r.stdout)
		})
	}
}
