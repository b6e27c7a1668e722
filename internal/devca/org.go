package devca

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"path/filepath"
	"sync"
	"time"
)

const (
	// caYears is how many years the root CAs are valid.
	caYears = 10
	// backdate is how far NotBefore lies before the clock reading, so that
	// peers with a slightly slow clock accept fresh certificates (cryptogen
	// does the same).
	backdate = 5 * time.Minute
	// metaFile names the file, next to ca/ and msp/, that records the MSP ID.
	metaFile = "devca.json"
	// keyFile is the file name cryptogen uses for private keys.
	keyFile = "priv_sk"
)

// Org is one organisation's development CA: its MSP ID and domain, a signing
// root CA and a separate TLS root CA, each with certificate and private key.
// Create one with NewOrg or LoadOrg. MSPID and Domain must not be changed
// after creation. An Org is safe for concurrent use.
type Org struct {
	// MSPID is the organisation's Fabric MSP ID, for example Org1MSP.
	MSPID string
	// Domain is the organisation's DNS domain, for example org1.example.com.
	// It is the O of every certificate the Org issues.
	Domain string

	caCert       *x509.Certificate
	caCertPEM    []byte
	caKey        *ecdsa.PrivateKey
	tlsCACert    *x509.Certificate
	tlsCACertPEM []byte
	tlsCAKey     *ecdsa.PrivateKey

	mu    sync.Mutex // guards rand, which may not be safe for concurrent use
	rand  io.Reader
	clock func() time.Time
}

// Option configures NewOrg or LoadOrg.
type Option func(*options)

type options struct {
	rand     io.Reader
	randSet  bool
	clock    func() time.Time
	clockSet bool
}

// WithRand sets the random source for certificate serial numbers. The default
// is crypto/rand.Reader. The reader need not be safe for concurrent use. Keys
// and signatures do not use it; see the package documentation.
func WithRand(r io.Reader) Option {
	return func(o *options) { o.rand, o.randSet = r, true }
}

// WithClock sets the function that tells the Org the current time, which
// determines the validity period of the certificates it issues. The default
// is time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.clock, o.clockSet = now, true }
}

func applyOptions(opts []Option) (options, error) {
	o := options{rand: rand.Reader, clock: time.Now}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.rand == nil {
		return o, invalid("WithRand", "the random source must not be nil")
	}
	if o.clock == nil {
		return o, invalid("WithClock", "the clock must not be nil")
	}
	return o, nil
}

// NewOrg creates an organisation with a fresh signing root CA (CN=ca.<domain>)
// and TLS root CA (CN=tlsca.<domain>), both self-signed ECDSA P-256 CAs with
// subject O=<domain>, valid for 10 years. mspID may contain letters, digits,
// '.', '-' and '_'; domain must be a lower-case DNS name.
func NewOrg(mspID, domain string, opts ...Option) (*Org, error) {
	if err := checkMSPID("mspID", mspID); err != nil {
		return nil, err
	}
	if err := checkDomain("domain", domain); err != nil {
		return nil, err
	}
	op, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	o := &Org{MSPID: mspID, Domain: domain, rand: op.rand, clock: op.clock}
	o.caCert, o.caKey, err = o.newRootCA("ca." + domain)
	if err != nil {
		return nil, fmt.Errorf("devca: creating CA: %w", err)
	}
	o.tlsCACert, o.tlsCAKey, err = o.newRootCA("tlsca." + domain)
	if err != nil {
		return nil, fmt.Errorf("devca: creating TLS CA: %w", err)
	}
	o.caCertPEM = certPEM(o.caCert)
	o.tlsCACertPEM = certPEM(o.tlsCACert)
	return o, nil
}

func (o *Org) newRootCA(cn string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := o.generateKey()
	if err != nil {
		return nil, nil, err
	}
	ski, err := subjectKeyID(&key.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	serial, err := o.serial()
	if err != nil {
		return nil, nil, err
	}
	notBefore := o.now().Add(-backdate)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{o.Domain}, CommonName: cn},
		NotBefore:             notBefore,
		NotAfter:              notBefore.AddDate(caYears, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          ski,
		SignatureAlgorithm:    x509.ECDSAWithSHA256,
	}
	cert, err := o.sign(tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// now reads the clock, in UTC and truncated to whole seconds as X.509 stores
// times.
func (o *Org) now() time.Time {
	return o.clock().UTC().Truncate(time.Second)
}

// generateKey makes a P-256 key from crypto/rand (see WithRand).
func (o *Org) generateKey() (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating key: %w", err)
	}
	return key, nil
}

// serial returns a random positive 128-bit serial number.
func (o *Org) serial() (*big.Int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	buf := make([]byte, 16)
	for {
		if _, err := io.ReadFull(o.rand, buf); err != nil {
			return nil, fmt.Errorf("reading serial number: %w", err)
		}
		if n := new(big.Int).SetBytes(buf); n.Sign() > 0 {
			return n, nil
		}
	}
}

func (o *Org) sign(tmpl, parent *x509.Certificate, pub *ecdsa.PublicKey, priv *ecdsa.PrivateKey) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, priv)
	if err != nil {
		return nil, fmt.Errorf("signing certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing new certificate: %w", err)
	}
	return cert, nil
}

// subjectKeyID is the SHA-256 of the uncompressed public point, as Fabric's
// BCCSP and cryptogen compute it.
func subjectKeyID(pub *ecdsa.PublicKey) ([]byte, error) {
	raw, err := pub.Bytes()
	if err != nil {
		return nil, fmt.Errorf("encoding public key: %w", err)
	}
	sum := sha256.Sum256(raw)
	return sum[:], nil
}

// CACertPEM returns the PEM encoding of the organisation's signing root CA
// certificate. The caller may modify the returned slice.
func (o *Org) CACertPEM() []byte { return bytes.Clone(o.caCertPEM) }

// TLSCACertPEM returns the PEM encoding of the organisation's TLS root CA
// certificate. The caller may modify the returned slice.
func (o *Org) TLSCACertPEM() []byte { return bytes.Clone(o.tlsCACertPEM) }

func (o *Org) caCertFile() string    { return "ca." + o.Domain + "-cert.pem" }
func (o *Org) tlsCACertFile() string { return "tlsca." + o.Domain + "-cert.pem" }

// orgMeta is the content of devca.json, which Fabric ignores.
type orgMeta struct {
	MSPID  string `json:"mspID"`
	Domain string `json:"domain"`
}

// WriteOrg writes the organisation into dir in the layout cryptogen uses:
//
//	ca/ca.<domain>-cert.pem, ca/priv_sk
//	tlsca/tlsca.<domain>-cert.pem, tlsca/priv_sk
//	msp/cacerts/ca.<domain>-cert.pem
//	msp/tlscacerts/tlsca.<domain>-cert.pem
//	msp/config.yaml (NodeOUs enabled)
//
// plus devca.json, which records the MSP ID for LoadOrg. The msp folder is
// the organisation's verifying MSP for channel configuration. Files are
// created with mode 0600 and folders with mode 0700; each file is written to
// a temporary file, synced and renamed into place. WriteOrg refuses, wrapping
// ErrExists, to overwrite a CA key that differs from the Org's, so writing the
// same Org twice succeeds and writing over another organisation fails without
// changing anything.
func (o *Org) WriteOrg(dir string) error {
	if o == nil || o.caKey == nil {
		return invalid("Org", "must be created with NewOrg or LoadOrg")
	}
	if dir == "" {
		return invalid("dir", "must not be empty")
	}
	caKeyPEM, err := keyPEM(o.caKey)
	if err != nil {
		return fmt.Errorf("devca: WriteOrg: CA key: %w", err)
	}
	tlsKeyPEM, err := keyPEM(o.tlsCAKey)
	if err != nil {
		return fmt.Errorf("devca: WriteOrg: TLS CA key: %w", err)
	}
	meta, err := json.MarshalIndent(orgMeta{MSPID: o.MSPID, Domain: o.Domain}, "", "  ")
	if err != nil {
		return fmt.Errorf("devca: WriteOrg: %w", err)
	}
	files := []file{
		{filepath.Join("ca", o.caCertFile()), o.caCertPEM},
		{filepath.Join("tlsca", o.tlsCACertFile()), o.tlsCACertPEM},
		{filepath.Join("msp", "cacerts", o.caCertFile()), o.caCertPEM},
		{filepath.Join("msp", "tlscacerts", o.tlsCACertFile()), o.tlsCACertPEM},
		{filepath.Join("msp", "config.yaml"), o.nodeOUConfig()},
		{filepath.Join("ca", keyFile), caKeyPEM},
		{filepath.Join("tlsca", keyFile), tlsKeyPEM},
		// Last, so that a folder LoadOrg accepts is complete.
		{metaFile, append(meta, '\n')},
	}
	guarded := []file{files[5], files[6]}
	if err := writeFiles(dir, files, guarded); err != nil {
		return fmt.Errorf("devca: WriteOrg: %w", err)
	}
	return nil
}

// nodeOUConfig is the msp/config.yaml cryptogen writes with NodeOUs enabled.
func (o *Org) nodeOUConfig() []byte {
	ca := "cacerts/" + o.caCertFile()
	var b bytes.Buffer
	b.WriteString("NodeOUs:\n  Enable: true\n")
	for _, ou := range []struct{ key, ou string }{
		{"ClientOUIdentifier", NodeOUClient},
		{"PeerOUIdentifier", NodeOUPeer},
		{"AdminOUIdentifier", NodeOUAdmin},
		{"OrdererOUIdentifier", NodeOUOrderer},
	} {
		fmt.Fprintf(&b, "  %s:\n    Certificate: %s\n    OrganizationalUnitIdentifier: %s\n", ou.key, ca, ou.ou)
	}
	return b.Bytes()
}

// LoadOrg reads an organisation that WriteOrg wrote into dir, including both
// CA private keys. It checks that each CA certificate is a self-signed CA for
// the recorded domain and matches its key. The options are those of NewOrg
// and apply to certificates issued by the loaded Org.
func LoadOrg(dir string, opts ...Option) (*Org, error) {
	if dir == "" {
		return nil, invalid("dir", "must not be empty")
	}
	op, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	raw, err := readFile(filepath.Join(dir, metaFile))
	if err != nil {
		return nil, fmt.Errorf("devca: LoadOrg: %w", err)
	}
	var meta orgMeta
	if err := json.Unmarshal(raw, &meta); err != nil {
		return nil, fmt.Errorf("devca: LoadOrg: %s: %w", metaFile, err)
	}
	if err := checkMSPID(metaFile+" mspID", meta.MSPID); err != nil {
		return nil, fmt.Errorf("devca: LoadOrg: %w", err)
	}
	if err := checkDomain(metaFile+" domain", meta.Domain); err != nil {
		return nil, fmt.Errorf("devca: LoadOrg: %w", err)
	}
	o := &Org{MSPID: meta.MSPID, Domain: meta.Domain, rand: op.rand, clock: op.clock}
	o.caCert, o.caCertPEM, o.caKey, err = loadRootCA(dir, "ca", o.caCertFile(), "ca."+o.Domain, o.Domain)
	if err != nil {
		return nil, fmt.Errorf("devca: LoadOrg: %w", err)
	}
	o.tlsCACert, o.tlsCACertPEM, o.tlsCAKey, err = loadRootCA(dir, "tlsca", o.tlsCACertFile(), "tlsca."+o.Domain, o.Domain)
	if err != nil {
		return nil, fmt.Errorf("devca: LoadOrg: %w", err)
	}
	return o, nil
}

func loadRootCA(dir, sub, certFile, cn, domain string) (*x509.Certificate, []byte, *ecdsa.PrivateKey, error) {
	certPath := filepath.Join(dir, sub, certFile)
	cert, err := readCert(certPath)
	if err != nil {
		return nil, nil, nil, err
	}
	if !cert.IsCA || cert.Subject.CommonName != cn || len(cert.Subject.Organization) != 1 || cert.Subject.Organization[0] != domain {
		return nil, nil, nil, fmt.Errorf("%s: %w: not a CA certificate with CN=%s, O=%s", certPath, ErrInvalid, cn, domain)
	}
	if err := cert.CheckSignatureFrom(cert); err != nil {
		return nil, nil, nil, fmt.Errorf("%s: not self-signed: %w", certPath, err)
	}
	keyPath := filepath.Join(dir, sub, keyFile)
	key, err := readKey(keyPath)
	if err != nil {
		return nil, nil, nil, err
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, nil, fmt.Errorf("%s: %w: key does not match %s", keyPath, ErrInvalid, certFile)
	}
	return cert, certPEM(cert), key, nil
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func keyPEM(k *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func parseCertPEM(data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no CERTIFICATE PEM block")
	}
	return x509.ParseCertificate(block.Bytes)
}

// parseKeyPEM reads a PKCS#8 key, or a SEC 1 "EC PRIVATE KEY" as older tools
// wrote them, and requires ECDSA P-256.
func parseKeyPEM(data []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("unexpected PEM block %q", block.Type)
	}
	if err != nil {
		return nil, err
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("not an ECDSA P-256 key")
	}
	return ec, nil
}

func readCert(path string) (*x509.Certificate, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	c, err := parseCertPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

func readKey(path string) (*ecdsa.PrivateKey, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	k, err := parseKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}
