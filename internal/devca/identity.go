package devca

import (
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// DefaultValidity is the validity of identity certificates when
// IdentityRequest.ValidFor is zero.
const DefaultValidity = 365 * 24 * time.Hour

// attrOID is the extension Fabric CA uses for attributes.
var attrOID = asn1.ObjectIdentifier{1, 2, 3, 4, 5, 6, 7, 8, 1}

// IdentityRequest describes an identity for Issue to create.
type IdentityRequest struct {
	// Name is the certificate's common name, for example alice or peer0. It
	// must be 1 to 64 characters of letters, digits, '.', '-', '_' and '@',
	// and not start with '.' or '-'.
	Name string
	// NodeOU is the Fabric NodeOU written as the subject's OU: one of client,
	// peer, admin or orderer.
	NodeOU string
	// Role is the medprov.role attribute: clinician, records-officer,
	// researcher, auditor or admin. If empty, the attribute is omitted.
	Role string
	// Clearance is the medprov.clearance attribute: U, L, M, N, R or V. If
	// empty, the attribute is omitted.
	Clearance string
	// DNSNames are the DNS subject alternative names of the TLS certificate.
	DNSNames []string
	// IPs are the IP subject alternative names of the TLS certificate. If
	// both DNSNames and IPs are empty, the TLS certificate is issued for
	// localhost and 127.0.0.1.
	IPs []net.IP
	// ValidFor is how long both certificates are valid; zero means
	// DefaultValidity. It must not reach past the CAs' expiry.
	ValidFor time.Duration
}

// Identity is an issued or loaded identity: a signing certificate and key
// from the organisation's CA and, if present, a TLS certificate and key from
// its TLS CA.
type Identity struct {
	// MSPID is the MSP ID of the issuing organisation.
	MSPID string
	// Name is the common name of the signing certificate.
	Name string
	// Cert is the parsed signing certificate.
	Cert *x509.Certificate
	// CertPEM is the PEM encoding of Cert.
	CertPEM []byte
	// Key is the signing private key.
	Key *ecdsa.PrivateKey
	// KeyPEM is the PKCS#8 PEM encoding of Key.
	KeyPEM []byte
	// TLSCertPEM is the PEM encoding of the TLS certificate, or empty.
	TLSCertPEM []byte
	// TLSKeyPEM is the PKCS#8 PEM encoding of the TLS private key, or empty.
	TLSKeyPEM []byte
}

// Issue creates an identity: a fresh P-256 key with a signing certificate
// (CN=Name, O=Domain, OU=NodeOU, key usage digital signature, with the
// requested medprov attributes encoded as Fabric CA does), and a second fresh
// key with a TLS certificate (server and client authentication) for the
// requested DNS names and IPs. Invalid requests return an error that wraps
// ErrInvalid and names the field.
func (o *Org) Issue(req IdentityRequest) (*Identity, error) {
	if o == nil || o.caKey == nil {
		return nil, invalid("Org", "must be created with NewOrg or LoadOrg")
	}
	if err := checkName("Name", req.Name); err != nil {
		return nil, err
	}
	if err := checkOneOf("NodeOU", req.NodeOU, nodeOUs); err != nil {
		return nil, err
	}
	attrs := map[string]string{}
	if req.Role != "" {
		if err := checkOneOf("Role", req.Role, roles); err != nil {
			return nil, err
		}
		attrs[AttrRole] = req.Role
	}
	if req.Clearance != "" {
		if err := checkOneOf("Clearance", req.Clearance, clearances); err != nil {
			return nil, err
		}
		attrs[AttrClearance] = req.Clearance
	}
	if err := checkDNSNames("DNSNames", req.DNSNames); err != nil {
		return nil, err
	}
	if err := checkIPs("IPs", req.IPs); err != nil {
		return nil, err
	}
	dnsNames, ips := slices.Clone(req.DNSNames), slices.Clone(req.IPs)
	if len(dnsNames) == 0 && len(ips) == 0 {
		dnsNames, ips = []string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	validFor := req.ValidFor
	switch {
	case validFor < 0:
		return nil, invalid("ValidFor", "%v is negative", validFor)
	case validFor == 0:
		validFor = DefaultValidity
	}
	now := o.now()
	notBefore, notAfter := now.Add(-backdate), now.Add(validFor)
	if expiry := earliest(o.caCert.NotAfter, o.tlsCACert.NotAfter); notAfter.After(expiry) {
		return nil, invalid("ValidFor", "%v would end at %s, after the CA expires at %s", validFor, notAfter.Format(time.RFC3339), expiry.Format(time.RFC3339))
	}

	var extra []pkix.Extension
	if len(attrs) > 0 {
		val, err := json.Marshal(struct {
			Attrs map[string]string `json:"attrs"`
		}{attrs})
		if err != nil {
			return nil, fmt.Errorf("devca: Issue: encoding attributes: %w", err)
		}
		extra = append(extra, pkix.Extension{Id: attrOID, Critical: false, Value: val})
	}

	subject := pkix.Name{CommonName: req.Name, Organization: []string{o.Domain}}
	signSubject := subject
	signSubject.OrganizationalUnit = []string{req.NodeOU}
	cert, key, err := o.issueLeaf(&x509.Certificate{
		Subject:         signSubject,
		NotBefore:       notBefore,
		NotAfter:        notAfter,
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtraExtensions: extra,
	}, o.caCert, o.caKey)
	if err != nil {
		return nil, fmt.Errorf("devca: Issue: signing certificate: %w", err)
	}
	tlsCert, tlsKey, err := o.issueLeaf(&x509.Certificate{
		Subject:     subject,
		NotBefore:   notBefore,
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:    dnsNames,
		IPAddresses: ips,
	}, o.tlsCACert, o.tlsCAKey)
	if err != nil {
		return nil, fmt.Errorf("devca: Issue: TLS certificate: %w", err)
	}
	keyPEMBytes, err := keyPEM(key)
	if err != nil {
		return nil, fmt.Errorf("devca: Issue: %w", err)
	}
	tlsKeyPEM, err := keyPEM(tlsKey)
	if err != nil {
		return nil, fmt.Errorf("devca: Issue: %w", err)
	}
	return &Identity{
		MSPID:      o.MSPID,
		Name:       req.Name,
		Cert:       cert,
		CertPEM:    certPEM(cert),
		Key:        key,
		KeyPEM:     keyPEMBytes,
		TLSCertPEM: certPEM(tlsCert),
		TLSKeyPEM:  tlsKeyPEM,
	}, nil
}

// issueLeaf fills in key, serial and key identifiers and signs tmpl.
func (o *Org) issueLeaf(tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := o.generateKey()
	if err != nil {
		return nil, nil, err
	}
	if tmpl.SerialNumber, err = o.serial(); err != nil {
		return nil, nil, err
	}
	if tmpl.SubjectKeyId, err = subjectKeyID(&key.PublicKey); err != nil {
		return nil, nil, err
	}
	tmpl.AuthorityKeyId = parent.SubjectKeyId
	tmpl.BasicConstraintsValid = true
	tmpl.IsCA = false
	tmpl.SignatureAlgorithm = x509.ECDSAWithSHA256
	cert, err := o.sign(tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// isNode reports whether an identity is a peer or orderer, whose TLS files
// cryptogen names server.* rather than client.*.
func isNode(c *x509.Certificate) bool {
	return slices.Contains(c.Subject.OrganizationalUnit, NodeOUPeer) ||
		slices.Contains(c.Subject.OrganizationalUnit, NodeOUOrderer)
}

// WriteIdentity writes id into dir, which is conventionally
// <orgdir>/users/<name>@<domain> or <orgdir>/peers/<name>.<domain>, in the
// layout cryptogen uses:
//
//	msp/signcerts/<name>@<domain>-cert.pem, msp/keystore/priv_sk
//	msp/cacerts/ca.<domain>-cert.pem, msp/tlscacerts/tlsca.<domain>-cert.pem
//	msp/config.yaml
//	tls/ca.crt, tls/client.crt, tls/client.key
//
// Peers and orderers get tls/server.crt and tls/server.key instead of the
// client files. The tls folder is omitted if id has no TLS certificate. id
// must have been issued by o. File modes, atomic writes and the refusal to
// overwrite a different private key are as for WriteOrg; on any error about
// the input nothing is written.
func (o *Org) WriteIdentity(dir string, id *Identity) error {
	if o == nil || o.caKey == nil {
		return invalid("Org", "must be created with NewOrg or LoadOrg")
	}
	if dir == "" {
		return invalid("dir", "must not be empty")
	}
	if id == nil || id.Cert == nil || id.Key == nil {
		return invalid("id", "must have a certificate and a key")
	}
	if id.MSPID != o.MSPID {
		return invalid("id.MSPID", "%q differs from the organisation's %q", id.MSPID, o.MSPID)
	}
	if err := checkName("id.Name", id.Name); err != nil {
		return err
	}
	if id.Name != id.Cert.Subject.CommonName {
		return invalid("id.Name", "%q differs from the certificate's common name %q", id.Name, id.Cert.Subject.CommonName)
	}
	if err := id.Cert.CheckSignatureFrom(o.caCert); err != nil {
		return fmt.Errorf("devca: id.Cert: %w: not issued by %s: %v", ErrInvalid, o.caCert.Subject.CommonName, err)
	}
	if !id.Key.PublicKey.Equal(id.Cert.PublicKey) {
		return invalid("id.Key", "does not match the certificate")
	}
	signKeyPEM, err := keyPEM(id.Key)
	if err != nil {
		return fmt.Errorf("devca: id.Key: %w", err)
	}

	msp := "msp"
	files := []file{
		{filepath.Join(msp, "cacerts", o.caCertFile()), o.caCertPEM},
		{filepath.Join(msp, "tlscacerts", o.tlsCACertFile()), o.tlsCACertPEM},
		{filepath.Join(msp, "config.yaml"), o.nodeOUConfig()},
	}
	var guarded []file
	if len(id.TLSCertPEM) > 0 || len(id.TLSKeyPEM) > 0 {
		tlsCert, err := parseCertPEM(id.TLSCertPEM)
		if err != nil {
			return fmt.Errorf("devca: id.TLSCertPEM: %w: %v", ErrInvalid, err)
		}
		if err := tlsCert.CheckSignatureFrom(o.tlsCACert); err != nil {
			return fmt.Errorf("devca: id.TLSCertPEM: %w: not issued by %s: %v", ErrInvalid, o.tlsCACert.Subject.CommonName, err)
		}
		tlsKey, err := parseKeyPEM(id.TLSKeyPEM)
		if err != nil {
			return fmt.Errorf("devca: id.TLSKeyPEM: %w: %v", ErrInvalid, err)
		}
		if !tlsKey.PublicKey.Equal(tlsCert.PublicKey) {
			return invalid("id.TLSKeyPEM", "does not match the TLS certificate")
		}
		tlsKeyPEM, err := keyPEM(tlsKey)
		if err != nil {
			return fmt.Errorf("devca: id.TLSKeyPEM: %w", err)
		}
		kind := "client"
		if isNode(id.Cert) {
			kind = "server"
		}
		keyF := file{filepath.Join("tls", kind+".key"), tlsKeyPEM}
		files = append(files,
			file{filepath.Join("tls", "ca.crt"), o.tlsCACertPEM},
			file{filepath.Join("tls", kind+".crt"), certPEM(tlsCert)},
			keyF)
		guarded = append(guarded, keyF)
	}
	signKeyF := file{filepath.Join(msp, "keystore", keyFile), signKeyPEM}
	guarded = append(guarded, signKeyF)
	files = append(files,
		signKeyF,
		file{filepath.Join(msp, "signcerts", id.Name+"@"+o.Domain+"-cert.pem"), certPEM(id.Cert)})
	if err := writeFiles(dir, files, guarded); err != nil {
		return fmt.Errorf("devca: WriteIdentity: %w", err)
	}
	return nil
}

// LoadIdentity reads an identity from an MSP folder: the single certificate
// in signcerts/ and the key in keystore/ (priv_sk, or the single *_sk file
// older cryptogen versions wrote). Name is taken from the certificate's
// common name. If mspDir is named msp and has a sibling tls folder as
// WriteIdentity writes it, the TLS certificate and key are read too;
// otherwise TLSCertPEM and TLSKeyPEM stay empty. LoadIdentity does not verify
// the certificate chain.
func LoadIdentity(mspID, mspDir string) (*Identity, error) {
	if err := checkMSPID("mspID", mspID); err != nil {
		return nil, err
	}
	if mspDir == "" {
		return nil, invalid("mspDir", "must not be empty")
	}
	certPath, err := soleFile(filepath.Join(mspDir, "signcerts"), func(n string) bool { return strings.HasSuffix(n, ".pem") })
	if err != nil {
		return nil, fmt.Errorf("devca: LoadIdentity: %w", err)
	}
	cert, err := readCert(certPath)
	if err != nil {
		return nil, fmt.Errorf("devca: LoadIdentity: %w", err)
	}
	keyPath := filepath.Join(mspDir, "keystore", keyFile)
	if _, err := os.Stat(keyPath); errors.Is(err, fs.ErrNotExist) {
		keyPath, err = soleFile(filepath.Join(mspDir, "keystore"), func(n string) bool { return strings.HasSuffix(n, "_sk") })
		if err != nil {
			return nil, fmt.Errorf("devca: LoadIdentity: %w", err)
		}
	}
	key, err := readKey(keyPath)
	if err != nil {
		return nil, fmt.Errorf("devca: LoadIdentity: %w", err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("devca: LoadIdentity: %s: %w: key does not match %s", keyPath, ErrInvalid, certPath)
	}
	keyPEMBytes, err := keyPEM(key)
	if err != nil {
		return nil, fmt.Errorf("devca: LoadIdentity: %w", err)
	}
	id := &Identity{
		MSPID:   mspID,
		Name:    cert.Subject.CommonName,
		Cert:    cert,
		CertPEM: certPEM(cert),
		Key:     key,
		KeyPEM:  keyPEMBytes,
	}
	if filepath.Base(filepath.Clean(mspDir)) == "msp" {
		if err := loadTLS(filepath.Join(filepath.Dir(filepath.Clean(mspDir)), "tls"), id); err != nil {
			return nil, fmt.Errorf("devca: LoadIdentity: %w", err)
		}
	}
	return id, nil
}

// loadTLS fills in id's TLS certificate and key from a tls folder, preferring
// the server or client files according to the identity's NodeOU. A missing
// pair is not an error.
func loadTLS(dir string, id *Identity) error {
	kinds := []string{"client", "server"}
	if isNode(id.Cert) {
		kinds = []string{"server", "client"}
	}
	for _, kind := range kinds {
		certPath, keyPath := filepath.Join(dir, kind+".crt"), filepath.Join(dir, kind+".key")
		certData, err := os.ReadFile(certPath)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		cert, err := parseCertPEM(certData)
		if err != nil {
			return fmt.Errorf("%s: %w", certPath, err)
		}
		key, err := readKey(keyPath)
		if err != nil {
			return err
		}
		if !key.PublicKey.Equal(cert.PublicKey) {
			return fmt.Errorf("%s: %w: key does not match %s", keyPath, ErrInvalid, certPath)
		}
		if id.TLSKeyPEM, err = keyPEM(key); err != nil {
			return err
		}
		id.TLSCertPEM = certPEM(cert)
		return nil
	}
	return nil
}

// soleFile returns the one non-hidden regular file in dir whose name matches.
func soleFile(dir string, match func(string) bool) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	var found []string
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") && match(e.Name()) {
			found = append(found, e.Name())
		}
	}
	if len(found) != 1 {
		return "", fmt.Errorf("%s: %w: want exactly one file, found %d (%s)", dir, ErrInvalid, len(found), strings.Join(found, ", "))
	}
	return filepath.Join(dir, found[0]), nil
}
