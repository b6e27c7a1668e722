package wallet

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/internal/devca"
)

const msp = "HospitalAMSP"

func newOrg(t *testing.T, mspID, domainName string) *devca.Org {
	t.Helper()
	o, err := devca.NewOrg(mspID, domainName)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func issue(t *testing.T, o *devca.Org, name, role, clearance string) *devca.Identity {
	t.Helper()
	id, err := o.Issue(devca.IdentityRequest{Name: name, NodeOU: devca.NodeOUClient, Role: role, Clearance: clearance})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func write(t *testing.T, o *devca.Org, dir string, id *devca.Identity) {
	t.Helper()
	if err := o.WriteIdentity(dir, id); err != nil {
		t.Fatal(err)
	}
}

func fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

func TestLoadReadsEveryIdentity(t *testing.T) {
	o := newOrg(t, msp, "hospital-a.example")
	dir := t.TempDir()
	clin := issue(t, o, "clinician", devca.RoleClinician, devca.ClearanceN)
	off := issue(t, o, "officer", devca.RoleRecordsOfficer, devca.ClearanceR)
	bare := issue(t, o, "bare", "", "")
	write(t, o, filepath.Join(dir, "clinician"), clin)
	write(t, o, filepath.Join(dir, "officer"), off)
	write(t, o, filepath.Join(dir, "bare"), bare)
	// Dot-files and dot-folders are ignored.
	if err := os.WriteFile(filepath.Join(dir, ".DS_Store"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, ".trash"), 0o700); err != nil {
		t.Fatal(err)
	}

	w, err := Load(dir, msp)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := w.Names(), []string{"bare", "clinician", "officer"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	if w.Len() != 3 {
		t.Errorf("Len() = %d, want 3", w.Len())
	}

	tests := map[string]struct {
		name      string
		src       *devca.Identity
		role      domain.Role
		clearance domain.Confidentiality
	}{
		"a clinician has role and clearance":            {"clinician", clin, domain.RoleClinician, domain.ConfNormal},
		"a records officer has role and clearance":      {"officer", off, domain.RoleRecordsOfficer, domain.ConfRestricted},
		"an identity without attributes reports blanks": {"bare", bare, "", ""},
	}
	for tn, tc := range tests {
		t.Run(tn, func(t *testing.T) {
			id, err := w.ByName(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if id.Name != tc.name || id.MSPID != msp || id.Role != tc.role || id.Clearance != tc.clearance {
				t.Errorf("identity = %s/%s/%q/%q, want %s/%s/%q/%q", id.Name, id.MSPID, id.Role, id.Clearance, tc.name, msp, tc.role, tc.clearance)
			}
			if !bytes.Equal(id.Cert.Raw, tc.src.Cert.Raw) {
				t.Error("Cert is not the identity's signing certificate")
			}
			if want := fingerprint(tc.src.Cert); id.Fingerprint != want {
				t.Errorf("Fingerprint = %s, want %s", id.Fingerprint, want)
			}
			byFP, ok := w.ByFingerprint(id.Fingerprint)
			if !ok || byFP != id {
				t.Errorf("ByFingerprint(%s) = %v, %v; want the identity", id.Fingerprint, byFP, ok)
			}

			li := id.Ledger()
			if li.MSPID != msp || !bytes.Equal(li.CertPEM, tc.src.CertPEM) {
				t.Errorf("Ledger() = %s, %q; want %s and the certificate PEM", li.MSPID, li.CertPEM, msp)
			}
			if !tc.src.Key.PublicKey.Equal(li.Signer.Public()) {
				t.Error("Ledger().Signer is not the certificate's key")
			}

			tc := id.TLSCertificate()
			if len(tc.Certificate) != 1 || !bytes.Equal(tc.Certificate[0], id.Cert.Raw) || tc.Leaf != id.Cert {
				t.Error("TLSCertificate does not hold the signing certificate")
			}
			if k, ok := tc.PrivateKey.(*ecdsa.PrivateKey); !ok || !k.PublicKey.Equal(id.Cert.PublicKey) {
				t.Error("TLSCertificate does not hold the signing key")
			}
		})
	}

	if _, ok := w.ByFingerprint(strings.Repeat("0", 64)); ok {
		t.Error("ByFingerprint found an unknown fingerprint")
	}
	if _, err := w.ByName("nobody"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "nobody") {
		t.Errorf("ByName(nobody) = %v, want ErrNotFound naming nobody", err)
	}
}

func TestTLSCertificateWorksAsClientCertificate(t *testing.T) {
	o := newOrg(t, msp, "hospital-a.example")
	dir := t.TempDir()
	clin := issue(t, o, "clinician", devca.RoleClinician, devca.ClearanceN)
	write(t, o, filepath.Join(dir, "clinician"), clin)
	w, err := Load(dir, msp)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := w.ByName("clinician")

	server := issue(t, o, "gateway", "", "")
	serverCert, err := tls.X509KeyPair(server.TLSCertPEM, server.TLSKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	clientCAs, roots := x509.NewCertPool(), x509.NewCertPool()
	clientCAs.AppendCertsFromPEM(o.CACertPEM())
	roots.AppendCertsFromPEM(o.TLSCACertPEM())

	sConn, cConn := pipe(t)
	got := make(chan string, 1)
	go func() {
		s := tls.Server(sConn, &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{serverCert},
			ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientCAs})
		if err := s.Handshake(); err != nil {
			got <- "handshake: " + err.Error()
			return
		}
		got <- fingerprint(s.ConnectionState().PeerCertificates[0])
		_ = s.Close()
	}()
	c := tls.Client(cConn, &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: roots, ServerName: "localhost",
		Certificates: []tls.Certificate{id.TLSCertificate()}})
	if err := c.Handshake(); err != nil {
		t.Fatal(err)
	}
	// TLS 1.3 servers verify the client certificate after the client's
	// handshake returns; a read waits for the server's verdict.
	_, _ = c.Read(make([]byte, 1))
	_ = c.Close()
	if fp := <-got; fp != id.Fingerprint {
		t.Errorf("server saw client certificate %s, want %s", fp, id.Fingerprint)
	}
}

func TestLogValueNeverShowsTheKey(t *testing.T) {
	o := newOrg(t, msp, "hospital-a.example")
	dir := t.TempDir()
	clin := issue(t, o, "clinician", devca.RoleClinician, devca.ClearanceN)
	write(t, o, filepath.Join(dir, "clinician"), clin)
	w, err := Load(dir, msp)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := w.ByName("clinician")
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("identity", "id", id, "wallet", w)
	log.Info("formatted", "text", id.String())
	out := buf.String()
	der, err := x509.MarshalECPrivateKey(clin.Key)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{clin.Key.D.String(), hex.EncodeToString(clin.Key.D.Bytes()), string(clin.KeyPEM), hex.EncodeToString(der), "PRIVATE"} {
		if strings.Contains(out, secret) {
			t.Fatalf("log output holds key material: %s", out)
		}
	}
	for _, want := range []string{id.Fingerprint, "clinician", msp, `"identities":1`} {
		if !strings.Contains(out, want) {
			t.Errorf("log output lacks %q: %s", want, out)
		}
	}
}

func TestLoadRefusesBadWallets(t *testing.T) {
	o := newOrg(t, msp, "hospital-a.example")
	other := newOrg(t, "HospitalBMSP", "hospital-b.example")
	clin := issue(t, o, "clinician", devca.RoleClinician, devca.ClearanceN)
	off := issue(t, o, "officer", devca.RoleRecordsOfficer, devca.ClearanceN)

	tests := map[string]struct {
		setup   func(t *testing.T, dir string) // fills the wallet folder
		mspID   string
		clock   func() time.Time
		want    error
		wantMsg string // a path (relative to the wallet) or text the message must name
	}{
		"a missing folder is an error": {
			setup: func(t *testing.T, dir string) {
				if err := os.Remove(dir); err != nil {
					t.Fatal(err)
				}
			},
			want: fs.ErrNotExist,
		},
		"an empty wallet is an error": {
			setup: func(t *testing.T, dir string) {},
			want:  ErrInvalid, wantMsg: "no identities",
		},
		"a wallet of dot-files only is empty": {
			setup: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, ".keep"), "x")
			},
			want: ErrInvalid, wantMsg: "no identities",
		},
		"a stray file is an error naming it": {
			setup: func(t *testing.T, dir string) {
				write(t, o, filepath.Join(dir, "clinician"), clin)
				writeFile(t, filepath.Join(dir, "officer.pem"), "x")
			},
			want: ErrInvalid, wantMsg: "officer.pem",
		},
		"a folder without msp is an error naming it": {
			setup: func(t *testing.T, dir string) {
				write(t, o, filepath.Join(dir, "clinician"), clin)
				if err := os.Mkdir(filepath.Join(dir, "empty"), 0o700); err != nil {
					t.Fatal(err)
				}
			},
			want: ErrInvalid, wantMsg: "empty",
		},
		"a key that does not match its certificate is an error naming the key": {
			setup: func(t *testing.T, dir string) {
				write(t, o, filepath.Join(dir, "clinician"), clin)
				write(t, o, filepath.Join(dir, "officer"), off)
				key, err := os.ReadFile(filepath.Join(dir, "officer", "msp", "keystore", "priv_sk"))
				if err != nil {
					t.Fatal(err)
				}
				writeFile(t, filepath.Join(dir, "clinician", "msp", "keystore", "priv_sk"), string(key))
			},
			want: ErrInvalid, wantMsg: filepath.Join("clinician", "msp", "keystore", "priv_sk"),
		},
		"a missing key is an error naming the keystore": {
			setup: func(t *testing.T, dir string) {
				write(t, o, filepath.Join(dir, "clinician"), clin)
				if err := os.Remove(filepath.Join(dir, "clinician", "msp", "keystore", "priv_sk")); err != nil {
					t.Fatal(err)
				}
			},
			want: ErrInvalid, wantMsg: filepath.Join("clinician", "msp", "keystore"),
		},
		"a certificate not issued by its cacerts is an error": {
			setup: func(t *testing.T, dir string) {
				write(t, o, filepath.Join(dir, "clinician"), clin)
				cacerts := filepath.Join(dir, "clinician", "msp", "cacerts")
				if err := os.RemoveAll(cacerts); err != nil {
					t.Fatal(err)
				}
				writeFile(t, filepath.Join(cacerts, "ca.pem"), string(other.CACertPEM()))
			},
			want: ErrInvalid, wantMsg: "clinician",
		},
		"an identity without cacerts is an error": {
			setup: func(t *testing.T, dir string) {
				write(t, o, filepath.Join(dir, "clinician"), clin)
				if err := os.RemoveAll(filepath.Join(dir, "clinician", "msp", "cacerts")); err != nil {
					t.Fatal(err)
				}
			},
			want: ErrInvalid, wantMsg: filepath.Join("clinician", "msp", "cacerts"),
		},
		"an expired certificate is an error": {
			setup: func(t *testing.T, dir string) {
				write(t, o, filepath.Join(dir, "clinician"), clin)
			},
			clock: func() time.Time { return time.Now().Add(2 * devca.DefaultValidity) },
			want:  ErrInvalid, wantMsg: "clinician",
		},
		"two folders with the same certificate are an error naming both": {
			setup: func(t *testing.T, dir string) {
				write(t, o, filepath.Join(dir, "a"), clin)
				write(t, o, filepath.Join(dir, "b"), clin)
			},
			want: ErrInvalid, wantMsg: "same certificate as " + filepath.Join("WALLET", "a"),
		},
		"an unknown role is an error": {
			setup: func(t *testing.T, dir string) {
				writeHandmade(t, filepath.Join(dir, "wizard"), []byte(`{"attrs":{"medprov.role":"wizard"}}`))
			},
			want: ErrInvalid, wantMsg: "medprov.role",
		},
		"an unknown clearance is an error": {
			setup: func(t *testing.T, dir string) {
				writeHandmade(t, filepath.Join(dir, "topsecret"), []byte(`{"attrs":{"medprov.role":"clinician","medprov.clearance":"TS"}}`))
			},
			want: ErrInvalid, wantMsg: "medprov.clearance",
		},
		"an attribute extension that is not JSON is an error": {
			setup: func(t *testing.T, dir string) {
				writeHandmade(t, filepath.Join(dir, "garbled"), []byte(`role=clinician`))
			},
			want: ErrInvalid, wantMsg: "garbled",
		},
		"a malformed MSP ID is an error": {
			setup: func(t *testing.T, dir string) { write(t, o, filepath.Join(dir, "clinician"), clin) },
			mspID: "Hospital A",
			want:  domain.ErrInvalidArgument, wantMsg: "mspID",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "wallet")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			tc.setup(t, dir)
			mspID := tc.mspID
			if mspID == "" {
				mspID = msp
			}
			var opts []Option
			if tc.clock != nil {
				opts = append(opts, WithClock(tc.clock))
			}
			w, err := Load(dir, mspID, opts...)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Load() = %v, %v; want an error matching %v", w, err, tc.want)
			}
			if msg := strings.ReplaceAll(tc.wantMsg, "WALLET", dir); !strings.Contains(err.Error(), msg) {
				t.Errorf("error %q does not name %q", err, msg)
			}
			if tc.want == ErrInvalid && !strings.Contains(err.Error(), dir) {
				t.Errorf("error %q does not name the path", err)
			}
		})
	}
}

func TestLoadRefusesAnEmptyDir(t *testing.T) {
	if _, err := Load("", msp); err == nil || !strings.Contains(err.Error(), "dir") {
		t.Errorf("Load(\"\") = %v, want an error naming dir", err)
	}
}

func TestLoadFollowsSymbolicLinks(t *testing.T) {
	o := newOrg(t, msp, "hospital-a.example")
	clin := issue(t, o, "clinician", devca.RoleClinician, devca.ClearanceN)
	store, dir := t.TempDir(), t.TempDir()
	write(t, o, filepath.Join(store, "clinician"), clin)
	if err := os.Symlink(filepath.Join(store, "clinician"), filepath.Join(dir, "dr-who")); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}
	w, err := Load(dir, msp)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := w.ByName("dr-who"); err != nil || id.Fingerprint != fingerprint(clin.Cert) {
		t.Errorf("ByName(dr-who) = %v, %v; want the linked identity", id, err)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// writeHandmade writes an identity whose attribute extension holds attrs
// verbatim, which devca refuses to issue, with its own CA in cacerts.
func writeHandmade(t *testing.T, dir string, attrs []byte) {
	t.Helper()
	handmade(t, dir, attrs, false)
}

// handmade writes an identity with attrs issued by a fresh root CA, or by
// an intermediate CA of it (in msp/intermediatecerts) if intermediate is
// set, and returns the DER of the leaf and of the intermediate.
func handmade(t *testing.T, dir string, attrs []byte, intermediate bool) (leafDER, interDER []byte) {
	t.Helper()
	now := time.Now()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	create := func(tmpl, parent *x509.Certificate, pub *ecdsa.PublicKey, signer *ecdsa.PrivateKey) (*x509.Certificate, []byte) {
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c, der
	}
	caTmpl := func(serial int64, cn string) *x509.Certificate {
		return &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		}
	}
	rootKey := newKey()
	rootTmpl := caTmpl(1, "ca.handmade.example")
	issuer, rootDER := create(rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	issuerKey := rootKey
	if intermediate {
		interKey := newKey()
		issuer, interDER = create(caTmpl(3, "ica.handmade.example"), issuer, &interKey.PublicKey, rootKey)
		issuerKey = interKey
	}
	key := newKey()
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: filepath.Base(dir)},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: attrOID, Value: attrs}},
	}
	_, leafDER = create(leafTmpl, issuer, &key.PublicKey, issuerKey)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pemOf := func(typ string, der []byte) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}
	writeFile(t, filepath.Join(dir, "msp", "signcerts", "cert.pem"), pemOf("CERTIFICATE", leafDER))
	writeFile(t, filepath.Join(dir, "msp", "keystore", "priv_sk"), pemOf("PRIVATE KEY", keyDER))
	writeFile(t, filepath.Join(dir, "msp", "cacerts", "ca.pem"), pemOf("CERTIFICATE", rootDER))
	if intermediate {
		writeFile(t, filepath.Join(dir, "msp", "intermediatecerts", "ica.pem"), pemOf("CERTIFICATE", interDER))
	}
	return leafDER, interDER
}

func TestLoadChainsThroughIntermediateCAs(t *testing.T) {
	dir := t.TempDir()
	leaf, inter := handmade(t, filepath.Join(dir, "clinician"), []byte(`{"attrs":{"medprov.role":"clinician"}}`), true)
	w, err := Load(dir, msp)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := w.ByName("clinician")
	if id.Role != domain.RoleClinician || id.Clearance != "" {
		t.Errorf("role, clearance = %q, %q; want clinician and none", id.Role, id.Clearance)
	}
	tc := id.TLSCertificate()
	if len(tc.Certificate) != 2 || !bytes.Equal(tc.Certificate[0], leaf) || !bytes.Equal(tc.Certificate[1], inter) {
		t.Errorf("TLSCertificate holds %d certificates, want the leaf and the intermediate CA", len(tc.Certificate))
	}

	if err := os.RemoveAll(filepath.Join(dir, "clinician", "msp", "intermediatecerts")); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir, msp); !errors.Is(err, ErrInvalid) {
		t.Errorf("Load() without the intermediate = %v, want ErrInvalid", err)
	}
}

// pipe returns the two ends of a loopback TCP connection.
func pipe(t *testing.T) (server, client net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	client, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { _ = server.Close(); _ = client.Close() })
	return server, client
}
