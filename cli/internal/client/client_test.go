package client

import (
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/medprov/medprov/internal/devca"
)

// writeIdentity writes a development identity and its TLS CA, and returns
// the identity folder and the CA file.
func writeIdentity(t *testing.T) (org *devca.Org, dir, caFile string) {
	t.Helper()
	org, err := devca.NewOrg("HospitalAMSP", "hospital-a.medprov.test")
	if err != nil {
		t.Fatal(err)
	}
	id, err := org.Issue(devca.IdentityRequest{Name: "alice", NodeOU: devca.NodeOUClient, Role: devca.RoleClinician, Clearance: devca.ClearanceN})
	if err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(t.TempDir(), "alice")
	if err := org.WriteIdentity(dir, id); err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(t.TempDir(), "tlsca.pem")
	if err := os.WriteFile(caFile, org.TLSCACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return org, dir, caFile
}

func TestTLSConfigPresentsTheSigningCertificateOverTLS13(t *testing.T) {
	_, dir, ca := writeIdentity(t)
	cfg, err := TLSConfig(Config{Address: "gateway.hospital-a.medprov.test:7443", IdentityDir: dir, TLSCAFile: ca})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS13 || cfg.ServerName != "gateway.hospital-a.medprov.test" || cfg.RootCAs == nil || cfg.InsecureSkipVerify {
		t.Errorf("config = min %x, server name %q, roots %v", cfg.MinVersion, cfg.ServerName, cfg.RootCAs != nil)
	}
	certs, _ := filepath.Glob(filepath.Join(dir, "msp", "signcerts", "*.pem"))
	want, err := os.ReadFile(certs[0])
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(want, mustRead(t, filepath.Join(dir, "msp", "keystore", "priv_sk")))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Certificates) != 1 || string(cfg.Certificates[0].Certificate[0]) != string(pair.Certificate[0]) {
		t.Error("the client certificate is not the signing certificate of msp/signcerts")
	}
}

func TestLoadIdentityFindsAnOlderKeystoreName(t *testing.T) {
	_, dir, _ := writeIdentity(t)
	ks := filepath.Join(dir, "msp", "keystore")
	if err := os.Rename(filepath.Join(ks, "priv_sk"), filepath.Join(ks, "4f2a_sk")); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadIdentity(dir); err != nil {
		t.Errorf("LoadIdentity with a *_sk key: %v", err)
	}
}

func TestBadConfigsNameTheField(t *testing.T) {
	org, dir, ca := writeIdentity(t)
	other := filepath.Join(t.TempDir(), "other")
	id, err := org.Issue(devca.IdentityRequest{Name: "bob", NodeOU: devca.NodeOUClient})
	if err != nil {
		t.Fatal(err)
	}
	if err := org.WriteIdentity(other, id); err != nil {
		t.Fatal(err)
	}
	mismatched := filepath.Join(t.TempDir(), "mismatched")
	if err := os.CopyFS(mismatched, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mismatched, "msp", "keystore", "priv_sk"), mustRead(t, filepath.Join(other, "msp", "keystore", "priv_sk")), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		cfg       Config
		wantField string
		want      error
	}{
		"no address":                {cfg: Config{IdentityDir: dir, TLSCAFile: ca}, wantField: "address", want: ErrMissing},
		"an address without a port": {cfg: Config{Address: "gateway", IdentityDir: dir, TLSCAFile: ca}, wantField: "address", want: ErrInvalid},
		"no identity":               {cfg: Config{Address: "h:1", TLSCAFile: ca}, wantField: "identity", want: ErrMissing},
		"no CA":                     {cfg: Config{Address: "h:1", IdentityDir: dir}, wantField: "tlsCA", want: ErrMissing},
		"a folder without msp":      {cfg: Config{Address: "h:1", IdentityDir: t.TempDir(), TLSCAFile: ca}, wantField: "identity", want: ErrInvalid},
		"a key of another cert":     {cfg: Config{Address: "h:1", IdentityDir: mismatched, TLSCAFile: ca}, wantField: "identity", want: ErrInvalid},
		"a CA that is not PEM":      {cfg: Config{Address: "h:1", IdentityDir: dir, TLSCAFile: notPEM}, wantField: "tlsCA", want: ErrInvalid},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Dial(tc.cfg)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.wantField || !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want a %s error about %s", err, tc.want, tc.wantField)
			}
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
