package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/attrmgr"

	"github.com/medprov/medprov/gateway/devup"
	"github.com/medprov/medprov/internal/devca"
)

// newConfig returns a configuration in fresh temporary folders.
func newConfig(t *testing.T) config {
	t.Helper()
	dir := t.TempDir()
	return config{cryptoDir: filepath.Join(dir, "crypto"), gatewaysDir: filepath.Join(dir, "gateways"), orderers: maxOrderers}
}

func mustGenerate(t *testing.T, c config) int {
	t.Helper()
	n, err := generate(c)
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	return n
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

func pool(t *testing.T, path string) *x509.CertPool {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(data) {
		t.Fatalf("%s: no certificate", path)
	}
	return p
}

// signCert reads the single signing certificate of an MSP folder.
func signCert(t *testing.T, mspDir string) *x509.Certificate {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(mspDir, "signcerts", "*.pem"))
	if err != nil || len(files) != 1 {
		t.Fatalf("%s: want one signing certificate, got %v (%v)", mspDir, files, err)
	}
	return readCert(t, files[0])
}

// snapshot maps every file under dirs to the SHA-256 of its content.
func snapshot(t *testing.T, dirs ...string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			out[path] = sha256.Sum256(data)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestUsersAreDevupUsers(t *testing.T) {
	var want []user
	for _, u := range devup.Users {
		want = append(want, user{u.Name, u.Role, u.Clearance})
	}
	if !slices.Equal(users, want) {
		t.Errorf("users = %v, want gateway/devup's %v", users, want)
	}
}

func TestWalletUsersCarryTheirRoleAndClearance(t *testing.T) {
	c := newConfig(t)
	mustGenerate(t, c)
	for _, o := range peerOrgs {
		for _, u := range users {
			t.Run(o.MSPID+"/"+u.Name, func(t *testing.T) {
				dir := filepath.Join(c.gatewaysDir, o.MSPID, "wallet", u.Name)
				cert := signCert(t, filepath.Join(dir, "msp"))
				if !slices.Equal(cert.Subject.OrganizationalUnit, []string{devca.NodeOUClient}) {
					t.Errorf("OU = %v, want the client NodeOU", cert.Subject.OrganizationalUnit)
				}
				if _, err := cert.Verify(x509.VerifyOptions{
					Roots:     pool(t, filepath.Join(c.cryptoDir, o.MSPID, "msp", "cacerts", "ca."+o.Domain+"-cert.pem")),
					KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
				}); err != nil {
					t.Errorf("does not chain to the organisation's CA: %v", err)
				}
				attrs, err := attrmgr.New().GetAttributesFromCert(cert)
				if err != nil {
					t.Fatal(err)
				}
				for name, want := range map[string]string{devca.AttrRole: u.Role, devca.AttrClearance: u.Clearance} {
					if got, ok, err := attrs.Value(name); err != nil || !ok || got != want {
						t.Errorf("%s = %q, %v, %v; want %q", name, got, ok, err, want)
					}
				}
				id, err := devca.LoadIdentity(o.MSPID, filepath.Join(dir, "msp"))
				if err != nil {
					t.Fatalf("LoadIdentity: %v", err)
				}
				if len(id.TLSCertPEM) == 0 {
					t.Error("no TLS client certificate")
				}
			})
		}
	}
}

func TestNodesHaveTheirNodeOUAndLoopbackTLS(t *testing.T) {
	c := newConfig(t)
	mustGenerate(t, c)
	type node struct {
		dir    string
		nodeOU string
	}
	nodes := map[string]node{}
	for i := 1; i <= maxOrderers; i++ {
		host := fmt.Sprintf("orderer%d.%s", i, ordererOrg.Domain)
		nodes[host] = node{filepath.Join(c.cryptoDir, ordererOrg.MSPID, "orderers", host), devca.NodeOUOrderer}
	}
	for _, o := range peerOrgs {
		nodes["peer0."+o.Domain] = node{filepath.Join(c.cryptoDir, o.MSPID, "peers", "peer0."+o.Domain), devca.NodeOUPeer}
	}
	for name, n := range nodes {
		t.Run(name, func(t *testing.T) {
			cert := signCert(t, filepath.Join(n.dir, "msp"))
			if !slices.Equal(cert.Subject.OrganizationalUnit, []string{n.nodeOU}) {
				t.Errorf("OU = %v, want %s", cert.Subject.OrganizationalUnit, n.nodeOU)
			}
			if _, err := os.Stat(filepath.Join(n.dir, "msp", "config.yaml")); err != nil {
				t.Errorf("no NodeOU configuration: %v", err)
			}
			tlsCert := readCert(t, filepath.Join(n.dir, "tls", "server.crt"))
			for _, host := range []string{"127.0.0.1", "localhost", name} {
				if _, err := tlsCert.Verify(x509.VerifyOptions{
					Roots: pool(t, filepath.Join(n.dir, "tls", "ca.crt")), DNSName: host,
					KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
				}); err != nil {
					t.Errorf("TLS certificate for %s: %v", host, err)
				}
			}
		})
	}
}

func TestAdminsAndChaincodeServices(t *testing.T) {
	c := newConfig(t)
	mustGenerate(t, c)
	for _, o := range append([]org{ordererOrg}, peerOrgs...) {
		t.Run(o.MSPID+" admin", func(t *testing.T) {
			dir := filepath.Join(c.cryptoDir, o.MSPID, "users", "Admin@"+o.Domain)
			cert := signCert(t, filepath.Join(dir, "msp"))
			if cert.Subject.CommonName != "Admin" || !slices.Equal(cert.Subject.OrganizationalUnit, []string{devca.NodeOUAdmin}) {
				t.Errorf("subject = %v, want CN=Admin, OU=admin", cert.Subject)
			}
			client := readCert(t, filepath.Join(dir, "tls", "client.crt"))
			if _, err := client.Verify(x509.VerifyOptions{
				Roots:     pool(t, filepath.Join(c.cryptoDir, o.MSPID, "tlsca", "tlsca."+o.Domain+"-cert.pem")),
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			}); err != nil {
				t.Errorf("TLS client certificate: %v", err)
			}
		})
	}
	for _, o := range peerOrgs {
		t.Run(o.MSPID+" chaincode service", func(t *testing.T) {
			dir := filepath.Join(c.cryptoDir, o.MSPID, "chaincode", "tls")
			cert := readCert(t, filepath.Join(dir, "server.crt"))
			if _, err := cert.Verify(x509.VerifyOptions{
				Roots: pool(t, filepath.Join(dir, "ca.crt")), DNSName: "127.0.0.1",
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			}); err != nil {
				t.Errorf("TLS server certificate: %v", err)
			}
			if _, err := os.Stat(filepath.Join(dir, "server.key")); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestClientCAsHoldEveryPeerOrganisation(t *testing.T) {
	c := newConfig(t)
	mustGenerate(t, c)
	for _, o := range peerOrgs {
		data, err := os.ReadFile(filepath.Join(c.gatewaysDir, o.MSPID, "client-cas.pem"))
		if err != nil {
			t.Fatal(err)
		}
		for _, other := range peerOrgs {
			ca, err := os.ReadFile(filepath.Join(c.cryptoDir, other.MSPID, "ca", "ca."+other.Domain+"-cert.pem"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(data, ca) {
				t.Errorf("%s client-cas.pem lacks %s's CA", o.MSPID, other.MSPID)
			}
		}
	}
}

func TestGenerateAgainChangesNothing(t *testing.T) {
	c := newConfig(t)
	if n := mustGenerate(t, c); n == 0 {
		t.Fatal("the first run issued nothing")
	}
	before := snapshot(t, c.cryptoDir, c.gatewaysDir)
	if n := mustGenerate(t, c); n != 0 {
		t.Errorf("the second run issued %d identities, want 0", n)
	}
	after := snapshot(t, c.cryptoDir, c.gatewaysDir)
	if len(after) != len(before) {
		t.Errorf("%d files after, %d before", len(after), len(before))
	}
	for path, sum := range before {
		if after[path] != sum {
			t.Errorf("%s changed", path)
		}
	}
}

func TestGenerateCompletesAPartialRun(t *testing.T) {
	c := newConfig(t)
	mustGenerate(t, c)
	gone := filepath.Join(c.gatewaysDir, "HospitalBMSP", "wallet", "auditor")
	if err := os.RemoveAll(gone); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, c.cryptoDir, c.gatewaysDir)
	if n := mustGenerate(t, c); n != 1 {
		t.Errorf("issued %d identities, want 1", n)
	}
	after := snapshot(t, c.cryptoDir, c.gatewaysDir)
	for path, sum := range before {
		if after[path] != sum {
			t.Errorf("%s changed", path)
		}
	}
	if _, err := os.Stat(filepath.Join(gone, "msp", "keystore", "priv_sk")); err != nil {
		t.Errorf("the missing identity was not issued: %v", err)
	}
}

func TestAnotherOrganisationInTheFolderIsRefused(t *testing.T) {
	c := newConfig(t)
	other, err := devca.NewOrg("HospitalBMSP", "hospital-b.medprov.test")
	if err != nil {
		t.Fatal(err)
	}
	if err := other.WriteOrg(filepath.Join(c.cryptoDir, "HospitalAMSP")); err != nil {
		t.Fatal(err)
	}
	_, err = generate(c)
	if err == nil || !strings.Contains(err.Error(), "want HospitalAMSP") {
		t.Errorf("generate = %v, want an error naming the expected organisation", err)
	}
}

func TestBadInputIsRefusedAndWritesNothing(t *testing.T) {
	tests := map[string]struct {
		change    func(*config)
		wantField string
	}{
		"no crypto folder":          {func(c *config) { c.cryptoDir = "" }, "-crypto"},
		"no gateways folder":        {func(c *config) { c.gatewaysDir = "" }, "-gateways"},
		"no orderers":               {func(c *config) { c.orderers = 0 }, "-orderers"},
		"more orderers than in BFT": {func(c *config) { c.orderers = maxOrderers + 1 }, "-orderers"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := newConfig(t)
			tc.change(&c)
			_, err := generate(c)
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantField+":") {
				t.Fatalf("generate = %v, want an error naming %s", err, tc.wantField)
			}
			for _, dir := range []string{c.cryptoDir, c.gatewaysDir} {
				if dir == "" {
					continue
				}
				if _, err := os.Stat(dir); err == nil {
					t.Errorf("%s was created", dir)
				}
			}
		})
	}
}

func TestRunTakesFlagsOnly(t *testing.T) {
	dir := t.TempDir()
	tests := map[string]struct {
		args    []string
		wantErr string
	}{
		"a positional argument is refused": {[]string{"-crypto", dir + "/c", "-gateways", dir + "/g", "extra"}, "unexpected argument"},
		"an unknown flag is refused":       {[]string{"-bogus"}, "flag provided but not defined"},
		"a non-numeric -orderers is refused": {[]string{"-crypto", dir + "/c", "-gateways", dir + "/g", "-orderers", "three"},
			"invalid value"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := run(tc.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("run = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
	var out bytes.Buffer
	if err := run([]string{"-crypto", dir + "/c", "-gateways", dir + "/g", "-orderers", "3"}, &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "c", "OrdererMSP", "orderers", "orderer4.orderer.medprov.test")); err == nil {
		t.Error("-orderers 3 issued orderer4")
	}
	if !strings.Contains(out.String(), "identities issued") {
		t.Errorf("summary = %q", out.String())
	}
}
