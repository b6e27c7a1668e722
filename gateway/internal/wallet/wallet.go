package wallet

import (
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/internal/exchange"
	"github.com/medprov/medprov/gateway/internal/ledger"
	"github.com/medprov/medprov/internal/devca"
)

// Sentinel errors of the package; match them with errors.Is.
var (
	// ErrInvalid is wrapped by every error of Load about the wallet's
	// content: a stray file, a broken or mismatched identity, a
	// certificate that does not chain to its CA, a duplicate, or an empty
	// wallet. The message names the path at fault.
	ErrInvalid = errors.New("wallet: invalid")
	// ErrNotFound is wrapped by ByName when the wallet holds no identity of
	// that name.
	ErrNotFound = errors.New("wallet: identity not found")
)

// attrOID is the certificate extension in which Fabric CA (and
// internal/devca) put attributes, as JSON {"attrs":{"name":"value",...}}.
var attrOID = asn1.ObjectIdentifier{1, 2, 3, 4, 5, 6, 7, 8, 1}

// The attribute names medprov reads, as the chaincode reads them.
const (
	attrRole      = "medprov.role"
	attrClearance = "medprov.clearance"
)

// Identity is one enrolled identity: a signing certificate of the wallet's
// organisation and its private key. The fields are read-only; the key is
// reachable only through Ledger and TLSCertificate.
type Identity struct {
	// Name is the name of the identity's folder in the wallet.
	Name string
	// MSPID is the organisation the identity belongs to: the wallet's.
	MSPID string
	// Role is the certificate's medprov.role attribute, or "" if it has
	// none (the chaincode then refuses every call).
	Role domain.Role
	// Clearance is the certificate's medprov.clearance attribute, or "" if
	// it has none (the chaincode then treats the caller as U).
	Clearance domain.Confidentiality
	// Fingerprint is SHA-256 of the certificate's DER in lowercase hex, as
	// the chaincode records it (exchange.Fingerprint).
	Fingerprint string
	// Cert is the parsed signing certificate.
	Cert *x509.Certificate

	certPEM []byte
	chain   [][]byte // DER of the intermediate CAs, from the leaf's issuer up
	key     *ecdsa.PrivateKey
	dir     string
}

// Ledger returns the identity as the ledger client signs with it.
func (id *Identity) Ledger() ledger.Identity {
	return ledger.Identity{MSPID: id.MSPID, CertPEM: slices.Clone(id.certPEM), Signer: id.key}
}

// TLSCertificate returns the signing certificate (followed by the
// intermediate CA certificates of msp/intermediatecerts it chains
// through, if any) and its key, for the gateway to present as its mTLS
// client certificate when it calls another gateway on this identity's
// behalf: the custodian binds an access ticket to the certificate that
// signed RequestAccess.
func (id *Identity) TLSCertificate() tls.Certificate {
	certs := make([][]byte, 0, 1+len(id.chain))
	certs = append(certs, id.Cert.Raw)
	certs = append(certs, id.chain...)
	return tls.Certificate{Certificate: certs, PrivateKey: id.key, Leaf: id.Cert}
}

// LogValue logs the name, organisation, role, clearance and fingerprint,
// never the key.
func (id *Identity) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("name", id.Name),
		slog.String("mspId", id.MSPID),
		slog.String("role", string(id.Role)),
		slog.String("clearance", string(id.Clearance)),
		slog.String("fingerprint", id.Fingerprint),
	)
}

// String describes the identity without its key.
func (id *Identity) String() string {
	return fmt.Sprintf("%s (%s, %s)", id.Name, id.MSPID, id.Fingerprint)
}

// Wallet is the set of identities a gateway acts as. It is read-only after
// Load and safe for concurrent use.
type Wallet struct {
	byName map[string]*Identity
	byFP   map[string]*Identity
	names  []string
}

// Option configures Load.
type Option func(*options)

type options struct {
	now func() time.Time
}

// WithClock sets the clock against which certificate validity is checked;
// the default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}

// Load reads the wallet in dir: every subfolder (or symbolic link to one)
// is an identity of organisation mspID named after the folder, in the
// layout of the package documentation. Names starting with '.' are
// ignored.
//
// Errors, each naming the path at fault: an empty dir or a malformed
// mspID; dir missing or unreadable (matching fs.ErrNotExist when it does
// not exist); and, wrapping ErrInvalid, a file that is not a folder, an
// identity folder without msp/, with not exactly one certificate or key,
// with a key that does not match its certificate, whose certificate does
// not chain to its own msp/cacerts (through msp/intermediatecerts) or is
// not valid now, whose attribute extension is not Fabric CA's JSON or
// holds an unknown role or clearance code, two folders with the same
// certificate, or no identity at all.
func Load(dir, mspID string, opts ...Option) (*Wallet, error) {
	o := options{now: time.Now}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if dir == "" {
		return nil, errors.New("wallet: dir: must not be empty")
	}
	if err := domain.CheckMSPID("mspID", mspID); err != nil {
		return nil, fmt.Errorf("wallet: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("wallet: %w", err)
	}
	w := &Wallet{byName: map[string]*Identity{}, byFP: map[string]*Identity{}}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		path := filepath.Join(dir, name)
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("wallet: %w", err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("wallet: %s: %w: not an identity folder (a wallet holds one folder per identity)", path, ErrInvalid)
		}
		id, err := loadIdentity(path, name, mspID, o.now())
		if err != nil {
			return nil, err
		}
		if prev, ok := w.byFP[id.Fingerprint]; ok {
			return nil, fmt.Errorf("wallet: %s: %w: same certificate as %s", path, ErrInvalid, prev.dir)
		}
		w.byName[name] = id
		w.byFP[id.Fingerprint] = id
		w.names = append(w.names, name)
	}
	if len(w.names) == 0 {
		return nil, fmt.Errorf("wallet: %s: %w: no identities", dir, ErrInvalid)
	}
	slices.Sort(w.names)
	return w, nil
}

// loadIdentity reads and checks the identity in folder path.
func loadIdentity(path, name, mspID string, now time.Time) (*Identity, error) {
	mspDir := filepath.Join(path, "msp")
	fi, err := os.Stat(mspDir)
	if err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("wallet: %s: %w: want an MSP folder msp/ with signcerts, keystore and cacerts", path, ErrInvalid)
	}
	d, err := devca.LoadIdentity(mspID, mspDir)
	if err != nil {
		return nil, fmt.Errorf("wallet: %s: %w: %w", path, ErrInvalid, err)
	}
	roots, err := readCerts(filepath.Join(mspDir, "cacerts"), true)
	if err != nil {
		return nil, fmt.Errorf("wallet: %s: %w: %w", path, ErrInvalid, err)
	}
	inter, err := readCerts(filepath.Join(mspDir, "intermediatecerts"), false)
	if err != nil {
		return nil, fmt.Errorf("wallet: %s: %w: %w", path, ErrInvalid, err)
	}
	chains, err := d.Cert.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return nil, fmt.Errorf("wallet: %s: %w: the signing certificate does not verify against msp/cacerts: %w", path, ErrInvalid, err)
	}
	var chain [][]byte
	if c := chains[0]; len(c) > 2 {
		for _, ca := range c[1 : len(c)-1] {
			chain = append(chain, ca.Raw)
		}
	}
	role, clearance, err := attributes(d.Cert)
	if err != nil {
		return nil, fmt.Errorf("wallet: %s: %w: %w", path, ErrInvalid, err)
	}
	return &Identity{
		Name:        name,
		MSPID:       mspID,
		Role:        role,
		Clearance:   clearance,
		Fingerprint: exchange.Fingerprint(d.Cert.Raw),
		Cert:        d.Cert,
		certPEM:     d.CertPEM,
		chain:       chain,
		key:         d.Key,
		dir:         path,
	}, nil
}

// readCerts reads every certificate of the PEM files in dir (names
// starting with '.' are skipped). A missing dir is an error only if
// required; an existing one must hold at least one certificate.
func readCerts(dir string, required bool) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) && !required {
		return pool, nil
	}
	if err != nil {
		return nil, err
	}
	n := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || e.IsDir() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		for {
			var block *pem.Block
			block, data = pem.Decode(data)
			if block == nil {
				break
			}
			if block.Type != "CERTIFICATE" {
				return nil, fmt.Errorf("%s: unexpected PEM block %q, want CERTIFICATE", p, block.Type)
			}
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			pool.AddCert(c)
			n++
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate", dir)
	}
	return pool, nil
}

// attributes reads the medprov role and clearance from the Fabric CA
// attribute extension; absent ones are "".
func attributes(c *x509.Certificate) (domain.Role, domain.Confidentiality, error) {
	var role domain.Role
	var clearance domain.Confidentiality
	for _, ext := range c.Extensions {
		if !ext.Id.Equal(attrOID) {
			continue
		}
		var doc struct {
			Attrs map[string]string `json:"attrs"`
		}
		if err := json.Unmarshal(ext.Value, &doc); err != nil {
			return "", "", fmt.Errorf("attribute extension %s: want JSON {\"attrs\":{...}}: %w", attrOID, err)
		}
		var err error
		if v, ok := doc.Attrs[attrRole]; ok {
			if role, err = domain.ParseRole("certificate attribute "+attrRole, v); err != nil {
				return "", "", err
			}
		}
		if v, ok := doc.Attrs[attrClearance]; ok {
			if clearance, err = domain.ParseConfidentiality("certificate attribute "+attrClearance, v); err != nil {
				return "", "", err
			}
		}
		break
	}
	return role, clearance, nil
}

// ByFingerprint returns the identity whose certificate has fingerprint fp
// (SHA-256 of the DER, lowercase hex), and whether there is one.
func (w *Wallet) ByFingerprint(fp string) (*Identity, bool) {
	id, ok := w.byFP[fp]
	return id, ok
}

// ByName returns the identity in folder name. Errors: ErrNotFound, with
// the name, when there is none.
func (w *Wallet) ByName(name string) (*Identity, error) {
	id, ok := w.byName[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return id, nil
}

// Names returns the identities' names, sorted.
func (w *Wallet) Names() []string { return slices.Clone(w.names) }

// Len returns the number of identities.
func (w *Wallet) Len() int { return len(w.names) }

// LogValue logs the number and the names of the identities.
func (w *Wallet) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("identities", len(w.names)), slog.Any("names", w.names))
}
