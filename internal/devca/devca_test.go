// The root go.mod says go 1.25, which makes GODEBUG cryptocustomrand=1 the
// default. With it, ECDSA keys were observed not to repeat under
// testing/cryptotest.SetGlobalRandom (Go 1.26.8), even from crypto/rand.Reader.
// This opts the test binary into the Go 1.26 behaviour so that
// TestGlobalRandomMakesEverythingReproducible can check reproducibility.
//
//go:debug cryptocustomrand=0

package devca

import (
	"bytes"
	"crypto/x509"
	"errors"
	"go/parser"
	"go/token"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/cryptotest"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/attrmgr"
)

const (
	testMSP    = "Org1MSP"
	testDomain = "org1.example.com"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newTestOrg makes an org with a deterministic random source and clock.
func newTestOrg(t *testing.T) *Org {
	t.Helper()
	org, err := NewOrg(testMSP, testDomain,
		WithRand(rand.NewChaCha8([32]byte{1})),
		WithClock(func() time.Time { return testNow }))
	if err != nil {
		t.Fatalf("NewOrg: %v", err)
	}
	return org
}

func mustIssue(t *testing.T, org *Org, req IdentityRequest) *Identity {
	t.Helper()
	id, err := org.Issue(req)
	if err != nil {
		t.Fatalf("Issue(%+v): %v", req, err)
	}
	return id
}

func mustParse(t *testing.T, pemData []byte) *x509.Certificate {
	t.Helper()
	c, err := parseCertPEM(pemData)
	if err != nil {
		t.Fatalf("parsing certificate: %v", err)
	}
	return c
}

func pool(t *testing.T, pemData []byte) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pemData) {
		t.Fatal("no certificate in PEM")
	}
	return p
}

func TestRootCAsHaveTheRequiredProfile(t *testing.T) {
	org := newTestOrg(t)
	tests := map[string]struct {
		pem    []byte
		wantCN string
	}{
		"the signing CA is ca.<domain>": {org.CACertPEM(), "ca." + testDomain},
		"the TLS CA is tlsca.<domain>":  {org.TLSCACertPEM(), "tlsca." + testDomain},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := mustParse(t, tc.pem)
			if c.Subject.CommonName != tc.wantCN || !slices.Equal(c.Subject.Organization, []string{testDomain}) {
				t.Errorf("subject = %v, want CN=%s, O=%s", c.Subject, tc.wantCN, testDomain)
			}
			if !c.IsCA || !c.BasicConstraintsValid {
				t.Error("not marked CA:true")
			}
			wantKU := x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
			if c.KeyUsage != wantKU {
				t.Errorf("KeyUsage = %v, want %v", c.KeyUsage, wantKU)
			}
			if len(c.SubjectKeyId) == 0 {
				t.Error("SubjectKeyId not set")
			}
			if c.SignatureAlgorithm != x509.ECDSAWithSHA256 || c.PublicKeyAlgorithm != x509.ECDSA {
				t.Errorf("algorithms = %v/%v, want ECDSA with SHA-256", c.PublicKeyAlgorithm, c.SignatureAlgorithm)
			}
			if got := c.NotAfter.Sub(c.NotBefore); got < 3650*24*time.Hour || got > 3653*24*time.Hour {
				t.Errorf("validity = %v, want 10 years", got)
			}
			if err := c.CheckSignatureFrom(c); err != nil {
				t.Errorf("not self-signed: %v", err)
			}
		})
	}
	if bytes.Equal(org.CACertPEM(), org.TLSCACertPEM()) {
		t.Error("the TLS CA is the signing CA")
	}
}

func TestIssuedAttributesAreReadableWithAttrmgr(t *testing.T) {
	org := newTestOrg(t)
	tests := map[string]struct {
		role, clearance string
	}{
		"a clinician":                       {role: RoleClinician},
		"a records officer":                 {role: RoleRecordsOfficer},
		"a researcher":                      {role: RoleResearcher},
		"an auditor":                        {role: RoleAuditor},
		"an admin":                          {role: RoleAdmin},
		"clearance U":                       {clearance: ClearanceU},
		"clearance L":                       {clearance: ClearanceL},
		"clearance M":                       {clearance: ClearanceM},
		"clearance N":                       {clearance: ClearanceN},
		"clearance R":                       {clearance: ClearanceR},
		"clearance V":                       {clearance: ClearanceV},
		"a clinician with clearance N":      {role: RoleClinician, clearance: ClearanceN},
		"a researcher with clearance U":     {role: RoleResearcher, clearance: ClearanceU},
		"no attributes gives no attributes": {},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			id := mustIssue(t, org, IdentityRequest{Name: "alice", NodeOU: NodeOUClient, Role: tc.role, Clearance: tc.clearance})
			attrs, err := attrmgr.New().GetAttributesFromCert(id.Cert)
			if err != nil {
				t.Fatalf("GetAttributesFromCert: %v", err)
			}
			for attr, want := range map[string]string{AttrRole: tc.role, AttrClearance: tc.clearance} {
				got, ok, err := attrs.Value(attr)
				if err != nil {
					t.Fatalf("Value(%s): %v", attr, err)
				}
				if ok != (want != "") || got != want {
					t.Errorf("%s = %q, %v; want %q", attr, got, ok, want)
				}
			}
			if tc.role != "" {
				if got, _, _ := attrs.Value("medprov.role"); got != tc.role {
					t.Errorf("Value(medprov.role) = %q, want %q", got, tc.role)
				}
			}
			var ext int
			for _, e := range id.Cert.Extensions {
				if e.Id.String() == "1.2.3.4.5.6.7.8.1" {
					ext++
					if e.Critical {
						t.Error("attribute extension is critical")
					}
				}
			}
			if want := min(1, len(tc.role+tc.clearance)); ext != want {
				t.Errorf("found %d attribute extensions, want %d", ext, want)
			}
		})
	}
}

func TestAttributeExtensionIsFabricCAJSON(t *testing.T) {
	org := newTestOrg(t)
	id := mustIssue(t, org, IdentityRequest{Name: "alice", NodeOU: NodeOUClient, Role: RoleClinician, Clearance: ClearanceN})
	for _, e := range id.Cert.Extensions {
		if e.Id.String() == attrmgr.AttrOIDString {
			want := `{"attrs":{"medprov.clearance":"N","medprov.role":"clinician"}}`
			if string(e.Value) != want {
				t.Errorf("extension value = %s, want %s", e.Value, want)
			}
			return
		}
	}
	t.Fatal("no attribute extension")
}

// attrmgr's Attributes has no GetValue method; Value is what chaincode's
// cid.GetAttributeValue calls.
func TestAttrmgrValueReadsTheRole(t *testing.T) {
	org := newTestOrg(t)
	id := mustIssue(t, org, IdentityRequest{Name: "alice", NodeOU: NodeOUClient, Role: RoleRecordsOfficer})
	attrs, err := attrmgr.New().GetAttributesFromCert(id.Cert)
	if err != nil {
		t.Fatal(err)
	}
	v, ok, err := attrs.Value("medprov.role")
	if err != nil || !ok || v != RoleRecordsOfficer {
		t.Errorf("Value(medprov.role) = %q, %v, %v", v, ok, err)
	}
}

func TestNodeOUIsTheSubjectOU(t *testing.T) {
	org := newTestOrg(t)
	tests := map[string]struct{ ou string }{
		"a client":   {NodeOUClient},
		"a peer":     {NodeOUPeer},
		"an admin":   {NodeOUAdmin},
		"an orderer": {NodeOUOrderer},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			id := mustIssue(t, org, IdentityRequest{Name: "x" + tc.ou, NodeOU: tc.ou})
			s := id.Cert.Subject
			if !slices.Equal(s.OrganizationalUnit, []string{tc.ou}) || s.CommonName != "x"+tc.ou ||
				!slices.Equal(s.Organization, []string{testDomain}) {
				t.Errorf("subject = %v, want CN=x%s, OU=%s, O=%s", s, tc.ou, tc.ou, testDomain)
			}
			if id.Cert.KeyUsage != x509.KeyUsageDigitalSignature {
				t.Errorf("KeyUsage = %v, want digitalSignature", id.Cert.KeyUsage)
			}
			if id.Cert.IsCA {
				t.Error("identity certificate is a CA")
			}
		})
	}
}

func TestSigningCertChainsToTheCA(t *testing.T) {
	org := newTestOrg(t)
	id := mustIssue(t, org, IdentityRequest{Name: "alice", NodeOU: NodeOUClient, Role: RoleClinician})
	ca := mustParse(t, org.CACertPEM())
	if !bytes.Equal(id.Cert.AuthorityKeyId, ca.SubjectKeyId) {
		t.Errorf("AuthorityKeyId = %x, want the CA's SubjectKeyId %x", id.Cert.AuthorityKeyId, ca.SubjectKeyId)
	}
	if len(id.Cert.SubjectKeyId) == 0 {
		t.Error("SubjectKeyId not set")
	}
	if id.Cert.SerialNumber.Sign() <= 0 || id.Cert.SerialNumber.BitLen() > 128 {
		t.Errorf("serial %v is not a positive 128-bit number", id.Cert.SerialNumber)
	}
	tests := map[string]struct {
		roots   []byte
		wantErr bool
	}{
		"it verifies against the signing CA":        {org.CACertPEM(), false},
		"it does not verify against the TLS CA":     {org.TLSCACertPEM(), true},
		"it does not verify against another org CA": {otherOrg(t).CACertPEM(), true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := id.Cert.Verify(x509.VerifyOptions{
				Roots:       pool(t, tc.roots),
				CurrentTime: testNow,
				KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
			})
			if (err != nil) != tc.wantErr {
				t.Errorf("Verify error = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

func otherOrg(t *testing.T) *Org {
	t.Helper()
	o, err := NewOrg("Org2MSP", "org2.example.com")
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestTLSCertificates(t *testing.T) {
	org := newTestOrg(t)
	tests := map[string]struct {
		req        IdentityRequest
		verifyHost string
		wantDNS    []string
		wantIPs    []string
	}{
		"the default covers 127.0.0.1 and localhost": {
			req:        IdentityRequest{Name: "alice", NodeOU: NodeOUClient},
			verifyHost: "127.0.0.1",
			wantDNS:    []string{"localhost"},
			wantIPs:    []string{"127.0.0.1"},
		},
		"explicit names replace the default": {
			req: IdentityRequest{Name: "peer0", NodeOU: NodeOUPeer,
				DNSNames: []string{"peer0.org1.example.com"}, IPs: []net.IP{net.ParseIP("10.0.0.7"), net.ParseIP("::1")}},
			verifyHost: "peer0.org1.example.com",
			wantDNS:    []string{"peer0.org1.example.com"},
			wantIPs:    []string{"10.0.0.7", "::1"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			id := mustIssue(t, org, tc.req)
			c := mustParse(t, id.TLSCertPEM)
			for _, u := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
				if _, err := c.Verify(x509.VerifyOptions{
					Roots: pool(t, org.TLSCACertPEM()), DNSName: tc.verifyHost,
					CurrentTime: testNow, KeyUsages: []x509.ExtKeyUsage{u},
				}); err != nil {
					t.Errorf("Verify(%s, EKU %v): %v", tc.verifyHost, u, err)
				}
			}
			if _, err := c.Verify(x509.VerifyOptions{Roots: pool(t, org.CACertPEM()), CurrentTime: testNow}); err == nil {
				t.Error("TLS certificate verifies against the signing CA")
			}
			if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}) {
				t.Errorf("ExtKeyUsage = %v, want serverAuth and clientAuth", c.ExtKeyUsage)
			}
			if !slices.Equal(c.DNSNames, tc.wantDNS) {
				t.Errorf("DNSNames = %v, want %v", c.DNSNames, tc.wantDNS)
			}
			var ips []string
			for _, ip := range c.IPAddresses {
				ips = append(ips, ip.String())
			}
			if !slices.Equal(ips, tc.wantIPs) {
				t.Errorf("IPs = %v, want %v", ips, tc.wantIPs)
			}
			key, err := parseKeyPEM(id.TLSKeyPEM)
			if err != nil {
				t.Fatal(err)
			}
			if !key.PublicKey.Equal(c.PublicKey) {
				t.Error("TLS key does not match the TLS certificate")
			}
			if key.Equal(id.Key) {
				t.Error("the TLS key is the signing key")
			}
		})
	}
}

func TestValidity(t *testing.T) {
	org := newTestOrg(t)
	tests := map[string]struct {
		validFor  time.Duration
		wantAfter time.Time
	}{
		"zero means one year": {0, testNow.Add(365 * 24 * time.Hour)},
		"a custom duration":   {90 * time.Minute, testNow.Add(90 * time.Minute)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			id := mustIssue(t, org, IdentityRequest{Name: "alice", NodeOU: NodeOUClient, ValidFor: tc.validFor})
			tlsCert := mustParse(t, id.TLSCertPEM)
			for _, c := range []*x509.Certificate{id.Cert, tlsCert} {
				if !c.NotAfter.Equal(tc.wantAfter) {
					t.Errorf("NotAfter = %v, want %v", c.NotAfter, tc.wantAfter)
				}
				if c.NotBefore.After(testNow) {
					t.Errorf("NotBefore = %v is after issuance", c.NotBefore)
				}
			}
		})
	}
}

func TestInvalidRequestsNameTheField(t *testing.T) {
	org := newTestOrg(t)
	ok := IdentityRequest{Name: "alice", NodeOU: NodeOUClient, Role: RoleClinician, Clearance: ClearanceN}
	with := func(f func(*IdentityRequest)) IdentityRequest { r := ok; f(&r); return r }
	tests := map[string]struct {
		req       IdentityRequest
		wantField string
		wantAlso  string
	}{
		"an empty name is rejected":             {with(func(r *IdentityRequest) { r.Name = "" }), "Name", "empty"},
		"a name with a slash is rejected":       {with(func(r *IdentityRequest) { r.Name = "../evil" }), "Name", ""},
		"a name with a space is rejected":       {with(func(r *IdentityRequest) { r.Name = "Dr Alice" }), "Name", ""},
		"a name over 64 characters is rejected": {with(func(r *IdentityRequest) { r.Name = strings.Repeat("a", 65) }), "Name", "64"},
		"an unknown node OU is rejected":        {with(func(r *IdentityRequest) { r.NodeOU = "member" }), "NodeOU", "client, peer, admin, orderer"},
		"an empty node OU is rejected":          {with(func(r *IdentityRequest) { r.NodeOU = "" }), "NodeOU", "client, peer, admin, orderer"},
		"an unknown role is rejected":           {with(func(r *IdentityRequest) { r.Role = "nurse" }), "Role", "clinician, records-officer, researcher, auditor, admin"},
		"a role in the wrong case is rejected":  {with(func(r *IdentityRequest) { r.Role = "Clinician" }), "Role", "clinician"},
		"an unknown clearance is rejected":      {with(func(r *IdentityRequest) { r.Clearance = "X" }), "Clearance", "U, L, M, N, R, V"},
		"a lower-case clearance is rejected":    {with(func(r *IdentityRequest) { r.Clearance = "n" }), "Clearance", "U, L, M, N, R, V"},
		"an empty DNS name is rejected":         {with(func(r *IdentityRequest) { r.DNSNames = []string{""} }), "DNSNames[0]", ""},
		"a malformed DNS name is rejected":      {with(func(r *IdentityRequest) { r.DNSNames = []string{"ok", "bad name"} }), "DNSNames[1]", ""},
		"a malformed IP is rejected":            {with(func(r *IdentityRequest) { r.IPs = []net.IP{{1, 2, 3}} }), "IPs[0]", ""},
		"a negative validity is rejected":       {with(func(r *IdentityRequest) { r.ValidFor = -time.Hour }), "ValidFor", "negative"},
		"validity beyond the CA is rejected":    {with(func(r *IdentityRequest) { r.ValidFor = 11 * 365 * 24 * time.Hour }), "ValidFor", "CA expires"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			id, err := org.Issue(tc.req)
			if err == nil {
				t.Fatalf("Issue succeeded: %v", id.Cert.Subject)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.wantField+":") || !strings.Contains(err.Error(), tc.wantAlso) {
				t.Errorf("error %q does not name field %s and mention %q", err, tc.wantField, tc.wantAlso)
			}
		})
	}
}

func TestNewOrgRejectsBadInput(t *testing.T) {
	tests := map[string]struct {
		mspID, domain string
		opts          []Option
		wantField     string
	}{
		"an empty MSP ID is rejected":         {"", testDomain, nil, "mspID"},
		"an MSP ID with a space is rejected":  {"Org 1", testDomain, nil, "mspID"},
		"an empty domain is rejected":         {testMSP, "", nil, "domain"},
		"an upper-case domain is rejected":    {testMSP, "Org1.example.com", nil, "domain"},
		"a domain with a slash is rejected":   {testMSP, "org1/../x", nil, "domain"},
		"a domain with an empty label is bad": {testMSP, "org1..com", nil, "domain"},
		"a nil random source is rejected":     {testMSP, testDomain, []Option{WithRand(nil)}, "WithRand"},
		"a nil clock is rejected":             {testMSP, testDomain, []Option{WithClock(nil)}, "WithClock"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := NewOrg(tc.mspID, tc.domain, tc.opts...)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantField+":") {
				t.Errorf("NewOrg error = %v, want ErrInvalid naming %s", err, tc.wantField)
			}
		})
	}
}

// listFiles returns every file and folder under root, relative, with modes.
func listFiles(t *testing.T, root string) map[string]fs.FileMode {
	t.Helper()
	got := map[string]fs.FileMode{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		got[filepath.ToSlash(rel)] = info.Mode()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestWriteOrgLayoutAndPermissions(t *testing.T) {
	org := newTestOrg(t)
	dir := filepath.Join(t.TempDir(), "org1")
	if err := org.WriteOrg(dir); err != nil {
		t.Fatalf("WriteOrg: %v", err)
	}
	id := mustIssue(t, org, IdentityRequest{Name: "alice", NodeOU: NodeOUClient, Role: RoleClinician})
	if err := org.WriteIdentity(filepath.Join(dir, "users", "alice@"+testDomain), id); err != nil {
		t.Fatalf("WriteIdentity: %v", err)
	}
	peer := mustIssue(t, org, IdentityRequest{Name: "peer0", NodeOU: NodeOUPeer})
	if err := org.WriteIdentity(filepath.Join(dir, "peers", "peer0."+testDomain), peer); err != nil {
		t.Fatalf("WriteIdentity: %v", err)
	}
	d, f := fs.ModeDir|0o700, fs.FileMode(0o600)
	u, p := "users/alice@"+testDomain, "peers/peer0."+testDomain
	want := map[string]fs.FileMode{
		"ca": d, "ca/ca.org1.example.com-cert.pem": f, "ca/priv_sk": f,
		"tlsca": d, "tlsca/tlsca.org1.example.com-cert.pem": f, "tlsca/priv_sk": f,
		"msp": d, "msp/cacerts": d, "msp/cacerts/ca.org1.example.com-cert.pem": f,
		"msp/tlscacerts": d, "msp/tlscacerts/tlsca.org1.example.com-cert.pem": f,
		"msp/config.yaml": f, "devca.json": f,
		"users": d, u: d, u + "/msp": d,
		u + "/msp/signcerts": d, u + "/msp/signcerts/alice@org1.example.com-cert.pem": f,
		u + "/msp/keystore": d, u + "/msp/keystore/priv_sk": f,
		u + "/msp/cacerts": d, u + "/msp/cacerts/ca.org1.example.com-cert.pem": f,
		u + "/msp/tlscacerts": d, u + "/msp/tlscacerts/tlsca.org1.example.com-cert.pem": f,
		u + "/msp/config.yaml": f,
		u + "/tls":             d, u + "/tls/ca.crt": f, u + "/tls/client.crt": f, u + "/tls/client.key": f,
		"peers": d, p: d, p + "/msp": d,
		p + "/msp/signcerts": d, p + "/msp/signcerts/peer0@org1.example.com-cert.pem": f,
		p + "/msp/keystore": d, p + "/msp/keystore/priv_sk": f,
		p + "/msp/cacerts": d, p + "/msp/cacerts/ca.org1.example.com-cert.pem": f,
		p + "/msp/tlscacerts": d, p + "/msp/tlscacerts/tlsca.org1.example.com-cert.pem": f,
		p + "/msp/config.yaml": f,
		p + "/tls":             d, p + "/tls/ca.crt": f, p + "/tls/server.crt": f, p + "/tls/server.key": f,
	}
	got := listFiles(t, dir)
	for path, mode := range want {
		if g, ok := got[path]; !ok {
			t.Errorf("missing %s", path)
		} else if g != mode {
			t.Errorf("%s has mode %v, want %v", path, g, mode)
		}
	}
	for path := range got {
		if _, ok := want[path]; !ok {
			t.Errorf("unexpected %s", path)
		}
	}

	wantConfig := `NodeOUs:
  Enable: true
  ClientOUIdentifier:
    Certificate: cacerts/ca.org1.example.com-cert.pem
    OrganizationalUnitIdentifier: client
  PeerOUIdentifier:
    Certificate: cacerts/ca.org1.example.com-cert.pem
    OrganizationalUnitIdentifier: peer
  AdminOUIdentifier:
    Certificate: cacerts/ca.org1.example.com-cert.pem
    OrganizationalUnitIdentifier: admin
  OrdererOUIdentifier:
    Certificate: cacerts/ca.org1.example.com-cert.pem
    OrganizationalUnitIdentifier: orderer
`
	for _, cfg := range []string{"msp/config.yaml", u + "/msp/config.yaml"} {
		b, err := os.ReadFile(filepath.Join(dir, cfg))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != wantConfig {
			t.Errorf("%s =\n%s\nwant\n%s", cfg, b, wantConfig)
		}
	}
	for path, want := range map[string][]byte{
		"msp/cacerts/ca.org1.example.com-cert.pem":       org.CACertPEM(),
		"msp/tlscacerts/tlsca.org1.example.com-cert.pem": org.TLSCACertPEM(),
		u + "/tls/ca.crt":                                    org.TLSCACertPEM(),
		u + "/tls/client.crt":                                id.TLSCertPEM,
		u + "/tls/client.key":                                id.TLSKeyPEM,
		u + "/msp/keystore/priv_sk":                          id.KeyPEM,
		u + "/msp/signcerts/alice@org1.example.com-cert.pem": id.CertPEM,
	} {
		b, err := os.ReadFile(filepath.Join(dir, path))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, want) {
			t.Errorf("%s has unexpected content", path)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "ca", "priv_sk"))
	if !bytes.HasPrefix(b, []byte("-----BEGIN PRIVATE KEY-----")) {
		t.Errorf("CA key is not PKCS#8 PEM: %.40s", b)
	}
}

func TestOrgRoundTrip(t *testing.T) {
	org := newTestOrg(t)
	dir := t.TempDir()
	if err := org.WriteOrg(dir); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadOrg(dir, WithClock(func() time.Time { return testNow }))
	if err != nil {
		t.Fatalf("LoadOrg: %v", err)
	}
	if loaded.MSPID != testMSP || loaded.Domain != testDomain {
		t.Errorf("loaded %s/%s, want %s/%s", loaded.MSPID, loaded.Domain, testMSP, testDomain)
	}
	if !bytes.Equal(loaded.CACertPEM(), org.CACertPEM()) || !bytes.Equal(loaded.TLSCACertPEM(), org.TLSCACertPEM()) {
		t.Error("loaded CA certificates differ")
	}
	if !loaded.caKey.Equal(org.caKey) || !loaded.tlsCAKey.Equal(org.tlsCAKey) {
		t.Error("loaded CA keys differ")
	}
	// The loaded org issues identities that the original CA accepts.
	id := mustIssue(t, loaded, IdentityRequest{Name: "bob", NodeOU: NodeOUAdmin, Role: RoleAdmin})
	if _, err := id.Cert.Verify(x509.VerifyOptions{Roots: pool(t, org.CACertPEM()), CurrentTime: testNow}); err != nil {
		t.Errorf("identity from loaded org does not verify: %v", err)
	}
	// Writing the same org again is allowed and changes nothing.
	before := snapshot(t, dir)
	if err := loaded.WriteOrg(dir); err != nil {
		t.Errorf("rewriting the same org: %v", err)
	}
	if after := snapshot(t, dir); !maps(before, after) {
		t.Error("rewriting the same org changed files")
	}
}

func TestLoadOrgRejectsBrokenFolders(t *testing.T) {
	tests := map[string]struct {
		breakIt func(t *testing.T, dir string)
	}{
		"a missing devca.json is rejected": {func(t *testing.T, dir string) {
			must(t, os.Remove(filepath.Join(dir, "devca.json")))
		}},
		"a CA key that does not match is rejected": {func(t *testing.T, dir string) {
			other, _ := os.ReadFile(filepath.Join(dir, "tlsca", "priv_sk"))
			must(t, os.WriteFile(filepath.Join(dir, "ca", "priv_sk"), other, 0o600))
		}},
		"a garbled CA certificate is rejected": {func(t *testing.T, dir string) {
			must(t, os.WriteFile(filepath.Join(dir, "ca", "ca.org1.example.com-cert.pem"), []byte("junk"), 0o600))
		}},
		"an empty dir argument is rejected": {nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			must(t, newTestOrg(t).WriteOrg(dir))
			if tc.breakIt == nil {
				dir = ""
			} else {
				tc.breakIt(t, dir)
			}
			if _, err := LoadOrg(dir); err == nil {
				t.Error("LoadOrg succeeded")
			}
		})
	}
}

func TestIdentityRoundTrip(t *testing.T) {
	org := newTestOrg(t)
	tests := map[string]struct {
		req     IdentityRequest
		tlsKind string
	}{
		"a client keeps its client TLS files":   {IdentityRequest{Name: "alice", NodeOU: NodeOUClient, Role: RoleClinician, Clearance: ClearanceR}, "client"},
		"an admin keeps its client TLS files":   {IdentityRequest{Name: "Admin", NodeOU: NodeOUAdmin, Role: RoleAdmin}, "client"},
		"a peer keeps its server TLS files":     {IdentityRequest{Name: "peer0", NodeOU: NodeOUPeer}, "server"},
		"an orderer keeps its server TLS files": {IdentityRequest{Name: "orderer0", NodeOU: NodeOUOrderer}, "server"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			id := mustIssue(t, org, tc.req)
			dir := filepath.Join(t.TempDir(), tc.req.Name+"@"+testDomain)
			if err := org.WriteIdentity(dir, id); err != nil {
				t.Fatalf("WriteIdentity: %v", err)
			}
			if _, err := os.Stat(filepath.Join(dir, "tls", tc.tlsKind+".key")); err != nil {
				t.Errorf("no %s TLS key: %v", tc.tlsKind, err)
			}
			got, err := LoadIdentity(testMSP, filepath.Join(dir, "msp"))
			if err != nil {
				t.Fatalf("LoadIdentity: %v", err)
			}
			if got.MSPID != id.MSPID || got.Name != id.Name || !got.Cert.Equal(id.Cert) || !got.Key.Equal(id.Key) ||
				!bytes.Equal(got.CertPEM, id.CertPEM) || !bytes.Equal(got.KeyPEM, id.KeyPEM) ||
				!bytes.Equal(got.TLSCertPEM, id.TLSCertPEM) || !bytes.Equal(got.TLSKeyPEM, id.TLSKeyPEM) {
				t.Error("loaded identity differs from the written one")
			}
			// Rewriting the same identity is allowed.
			if err := org.WriteIdentity(dir, got); err != nil {
				t.Errorf("rewriting the same identity: %v", err)
			}
		})
	}
}

func TestLoadIdentityReadsABareMSPFolder(t *testing.T) {
	org := newTestOrg(t)
	id := mustIssue(t, org, IdentityRequest{Name: "alice", NodeOU: NodeOUClient})
	dir := t.TempDir()
	must(t, org.WriteIdentity(dir, id))
	// A folder not named msp gets no TLS material, and an old-style key name works.
	bare := filepath.Join(t.TempDir(), "alice-msp")
	must(t, os.MkdirAll(filepath.Join(bare, "signcerts"), 0o700))
	must(t, os.MkdirAll(filepath.Join(bare, "keystore"), 0o700))
	must(t, os.WriteFile(filepath.Join(bare, "signcerts", "cert.pem"), id.CertPEM, 0o600))
	must(t, os.WriteFile(filepath.Join(bare, "keystore", "abc123_sk"), id.KeyPEM, 0o600))
	got, err := LoadIdentity(testMSP, bare)
	if err != nil {
		t.Fatalf("LoadIdentity: %v", err)
	}
	if !got.Key.Equal(id.Key) || got.Name != "alice" || got.TLSCertPEM != nil {
		t.Errorf("loaded %+v", got)
	}
}

func TestWriteIdentityRejectsBadInputWithoutWriting(t *testing.T) {
	org := newTestOrg(t)
	other := otherOrg(t)
	good := mustIssue(t, org, IdentityRequest{Name: "alice", NodeOU: NodeOUClient})
	foreign := mustIssue(t, other, IdentityRequest{Name: "alice", NodeOU: NodeOUClient})
	foreign.MSPID = testMSP
	mixed := *good
	mixed.Key = mustIssue(t, org, IdentityRequest{Name: "alice", NodeOU: NodeOUClient}).Key
	badTLS := *good
	badTLS.TLSCertPEM = foreign.TLSCertPEM
	renamed := *good
	renamed.Name = "bob"
	wrongMSP := *good
	wrongMSP.MSPID = "Org9MSP"
	tests := map[string]struct {
		dir       string
		id        *Identity
		wantField string
	}{
		"a nil identity is rejected":                        {"x", nil, "id"},
		"an empty dir is rejected":                          {"", good, "dir"},
		"another org's identity is rejected":                {"x", foreign, "id.Cert"},
		"a key that does not match is rejected":             {"x", &mixed, "id.Key"},
		"a TLS cert from another org is rejected":           {"x", &badTLS, "id.TLSCertPEM"},
		"a name that differs from the cert is rejected":     {"x", &renamed, "id.Name"},
		"an MSP ID that differs from the org's is rejected": {"x", &wrongMSP, "id.MSPID"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			dir := tc.dir
			if dir != "" {
				dir = filepath.Join(root, dir)
			}
			err := org.WriteIdentity(dir, tc.id)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantField+":") {
				t.Errorf("WriteIdentity error = %v, want ErrInvalid naming %s", err, tc.wantField)
			}
			if got := listFiles(t, root); len(got) != 0 {
				t.Errorf("files were written: %v", got)
			}
		})
	}
}

func TestWritesRefuseToReplaceADifferentKey(t *testing.T) {
	org := newTestOrg(t)
	tests := map[string]struct {
		write func(dir string) error
	}{
		"another org over an org is refused": {func(dir string) error { return otherOrgSameDomain(t).WriteOrg(dir) }},
		"another identity over an identity is refused": {func(dir string) error {
			return org.WriteIdentity(filepath.Join(dir, "users", "alice"), mustIssue(t, org, IdentityRequest{Name: "alice", NodeOU: NodeOUClient}))
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			must(t, org.WriteOrg(dir))
			must(t, org.WriteIdentity(filepath.Join(dir, "users", "alice"), mustIssue(t, org, IdentityRequest{Name: "alice", NodeOU: NodeOUClient})))
			before := snapshot(t, dir)
			if err := tc.write(dir); !errors.Is(err, ErrExists) {
				t.Errorf("error = %v, want ErrExists", err)
			}
			if after := snapshot(t, dir); !maps(before, after) {
				t.Error("a refused write changed files")
			}
		})
	}
}

func otherOrgSameDomain(t *testing.T) *Org {
	t.Helper()
	o, err := NewOrg(testMSP, testDomain)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestWithRandAndWithClockMakeSerialsAndTimesReproducible(t *testing.T) {
	issue := func() (*Org, *Identity) {
		org := newTestOrg(t)
		return org, mustIssue(t, org, IdentityRequest{Name: "alice", NodeOU: NodeOUClient, Role: RoleAuditor})
	}
	org1, id1 := issue()
	org2, id2 := issue()
	ca1, ca2 := mustParse(t, org1.CACertPEM()), mustParse(t, org2.CACertPEM())
	tests := map[string]struct{ a, b *x509.Certificate }{
		"the CA certificates agree":       {ca1, ca2},
		"the identity certificates agree": {id1.Cert, id2.Cert},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if tc.a.SerialNumber.Cmp(tc.b.SerialNumber) != 0 {
				t.Errorf("serials %v and %v differ", tc.a.SerialNumber, tc.b.SerialNumber)
			}
			if !tc.a.NotBefore.Equal(tc.b.NotBefore) || !tc.a.NotAfter.Equal(tc.b.NotAfter) {
				t.Error("validity periods differ")
			}
		})
	}
	// crypto/ecdsa ignores WithRand since Go 1.26, so keys differ.
	if id1.Key.Equal(id2.Key) {
		t.Log("keys are equal: this Go version honours the random source for ECDSA")
	}
}

// With testing/cryptotest.SetGlobalRandom as well, whole outputs repeat. This
// test must not be parallel.
func TestGlobalRandomMakesEverythingReproducible(t *testing.T) {
	run := func() (*Org, *Identity) {
		cryptotest.SetGlobalRandom(t, 42)
		org := newTestOrg(t)
		return org, mustIssue(t, org, IdentityRequest{Name: "alice", NodeOU: NodeOUClient, Role: RoleAuditor})
	}
	org1, id1 := run()
	org2, id2 := run()
	tests := map[string]struct{ a, b []byte }{
		"the CA certificate repeats":       {org1.CACertPEM(), org2.CACertPEM()},
		"the TLS CA certificate repeats":   {org1.TLSCACertPEM(), org2.TLSCACertPEM()},
		"the identity certificate repeats": {id1.CertPEM, id2.CertPEM},
		"the identity key repeats":         {id1.KeyPEM, id2.KeyPEM},
		"the TLS certificate repeats":      {id1.TLSCertPEM, id2.TLSCertPEM},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if !bytes.Equal(tc.a, tc.b) {
				t.Error("outputs differ")
			}
		})
	}
}

func TestConcurrentIssueIsSafe(t *testing.T) {
	org := newTestOrg(t)
	var wg sync.WaitGroup
	serials := make([]string, 16)
	for i := range serials {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := org.Issue(IdentityRequest{Name: "u" + strconv.Itoa(i), NodeOU: NodeOUClient})
			if err != nil {
				t.Error(err)
				return
			}
			serials[i] = id.Cert.SerialNumber.String()
		}()
	}
	wg.Wait()
	slices.Sort(serials)
	if len(slices.Compact(serials)) != 16 {
		t.Error("serial numbers repeat")
	}
}

// The package must import only the standard library (see the package doc).
func TestImportsOnlyTheStandardLibrary(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if first, _, _ := strings.Cut(path, "/"); strings.Contains(first, ".") {
				t.Errorf("%s imports %s, which is not in the standard library", f, path)
			}
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for p, mode := range listFiles(t, root) {
		if mode.IsDir() {
			out[p] = mode.String()
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		out[p] = mode.String() + string(b)
	}
	return out
}

func maps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
