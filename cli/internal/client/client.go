// Package client connects the medprov CLI to a medprov gateway: gRPC over
// mutual TLS, where the client certificate is the user's signing
// certificate from a Fabric MSP folder, and the gateway's TLS server
// certificate must chain to a CA the user names.
//
// It holds no command-line logic: it must not import cobra, the command
// package or anything of the gateway's internals; it knows the gateway only
// through the generated API in api/gen/medprov/gateway/v1.
package client

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
)

// MaxMessageBytes is the largest gRPC message the client accepts. The API
// allows chunks of up to 4 MiB, which with their framing exceed gRPC's
// default 4 MiB receive limit.
const MaxMessageBytes = 8 << 20

// Config says which gateway to dial and as whom.
type Config struct {
	// Address is the gateway's host:port. The host is also the name its
	// TLS server certificate must carry.
	Address string
	// IdentityDir is a user identity folder: IdentityDir/msp/signcerts/
	// holds the one PEM signing certificate and IdentityDir/msp/keystore/
	// its private key (priv_sk, or the single *_sk file older Fabric tools
	// write). Certificates in IdentityDir/msp/intermediatecerts/ are sent
	// along as the chain.
	IdentityDir string
	// TLSCAFile is a PEM file of the CA certificates the gateway's TLS
	// server certificate must chain to.
	TLSCAFile string
	// UserAgent is added to the gRPC user agent; empty for none.
	UserAgent string
}

// Errors of Config checks, for errors.Is. The returned errors name the
// field and wrap one of these.
var (
	// ErrMissing means a required field of Config is empty.
	ErrMissing = errors.New("required")
	// ErrInvalid means a field of Config, or a file it names, is not
	// usable.
	ErrInvalid = errors.New("invalid")
)

// FieldError is a problem with one field of Config, such as the identity
// folder. Field is "address", "identity" or "tlsCA".
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field string, sentinel error, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))}
}

// Conn is a connection to one gateway with a client for each of its
// services. Close it when done.
type Conn struct {
	cc *grpc.ClientConn

	Records      gatewayv1.RecordServiceClient
	Access       gatewayv1.AccessServiceClient
	Consents     gatewayv1.ConsentServiceClient
	Patients     gatewayv1.PatientServiceClient
	Audit        gatewayv1.AuditServiceClient
	Admin        gatewayv1.AdminServiceClient
	Verification gatewayv1.VerificationServiceClient
}

// Close closes the connection.
func (c *Conn) Close() error { return c.cc.Close() }

// Dial checks cfg, loads the identity and the CA, and returns a connection
// to the gateway. Like grpc.NewClient it does not connect yet: an
// unreachable gateway, or one whose certificate does not chain to the CA,
// fails the first call with UNAVAILABLE. Errors are *FieldError wrapping
// ErrMissing or ErrInvalid, or the error of reading a file, wrapped.
func Dial(cfg Config, opts ...grpc.DialOption) (*Conn, error) {
	tlsCfg, err := TLSConfig(cfg)
	if err != nil {
		return nil, err
	}
	all := []grpc.DialOption{
		grpc.WithTransportCredentials(credentials.NewTLS(tlsCfg)),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageBytes), grpc.MaxCallSendMsgSize(MaxMessageBytes)),
	}
	if cfg.UserAgent != "" {
		all = append(all, grpc.WithUserAgent(cfg.UserAgent))
	}
	all = append(all, opts...)
	cc, err := grpc.NewClient(cfg.Address, all...)
	if err != nil {
		return nil, fieldErr("address", ErrInvalid, "%v", err)
	}
	return &Conn{
		cc:           cc,
		Records:      gatewayv1.NewRecordServiceClient(cc),
		Access:       gatewayv1.NewAccessServiceClient(cc),
		Consents:     gatewayv1.NewConsentServiceClient(cc),
		Patients:     gatewayv1.NewPatientServiceClient(cc),
		Audit:        gatewayv1.NewAuditServiceClient(cc),
		Admin:        gatewayv1.NewAdminServiceClient(cc),
		Verification: gatewayv1.NewVerificationServiceClient(cc),
	}, nil
}

// TLSConfig returns the client TLS configuration for cfg: TLS 1.3 at
// least, the user's signing certificate and key as the client
// certificate, the CAs of cfg.TLSCAFile as the only roots, and the host of
// cfg.Address as the server name. Errors are as for Dial.
func TLSConfig(cfg Config) (*tls.Config, error) {
	host, err := Host(cfg.Address)
	if err != nil {
		return nil, err
	}
	if cfg.IdentityDir == "" {
		return nil, fieldErr("identity", ErrMissing, "a user identity folder (with msp/signcerts and msp/keystore)")
	}
	if cfg.TLSCAFile == "" {
		return nil, fieldErr("tlsCA", ErrMissing, "a PEM file of the CA that signs the gateway's TLS certificate")
	}
	cert, err := LoadIdentity(cfg.IdentityDir)
	if err != nil {
		return nil, err
	}
	roots, err := loadCAs(cfg.TLSCAFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		RootCAs:      roots,
		ServerName:   host,
	}, nil
}

// Host checks that address is host:port with a non-empty host and a port,
// and returns the host. Errors are *FieldError for "address".
func Host(address string) (string, error) {
	if address == "" {
		return "", fieldErr("address", ErrMissing, "the gateway's host:port")
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil || host == "" || port == "" {
		return "", fieldErr("address", ErrInvalid, "want host:port, such as gateway.hospital-a.example:7443")
	}
	return host, nil
}

// LoadIdentity reads the signing certificate and private key of the user
// identity in dir (Fabric MSP layout: dir/msp/signcerts/*.pem and
// dir/msp/keystore/priv_sk) as a TLS client certificate, with the
// certificates of dir/msp/intermediatecerts as its chain. Errors are
// *FieldError for "identity".
func LoadIdentity(dir string) (tls.Certificate, error) {
	msp := filepath.Join(dir, "msp")
	if st, err := os.Stat(msp); err != nil || !st.IsDir() {
		return tls.Certificate{}, fieldErr("identity", ErrInvalid, "%s is not an identity folder: it has no msp folder", dir)
	}
	certFile, err := single(filepath.Join(msp, "signcerts"), "*.pem", "signing certificate")
	if err != nil {
		return tls.Certificate{}, err
	}
	keyFile := filepath.Join(msp, "keystore", "priv_sk")
	if _, err := os.Stat(keyFile); err != nil {
		keyFile, err = single(filepath.Join(msp, "keystore"), "*_sk", "private key")
		if err != nil {
			return tls.Certificate{}, err
		}
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, &FieldError{Field: "identity", Err: err}
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, &FieldError{Field: "identity", Err: err}
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fieldErr("identity", ErrInvalid, "%s and %s: %v", certFile, keyFile, err)
	}
	if len(pair.Certificate) != 1 {
		return tls.Certificate{}, fieldErr("identity", ErrInvalid, "%s: want exactly one certificate", certFile)
	}
	inter, err := filepath.Glob(filepath.Join(msp, "intermediatecerts", "*.pem"))
	if err != nil {
		return tls.Certificate{}, &FieldError{Field: "identity", Err: err}
	}
	sort.Strings(inter)
	for _, f := range inter {
		ders, err := readCerts(f)
		if err != nil {
			return tls.Certificate{}, fieldErr("identity", ErrInvalid, "%s: %v", f, err)
		}
		pair.Certificate = append(pair.Certificate, ders...)
	}
	return pair, nil
}

// single returns the one file in dir matching pattern.
func single(dir, pattern, what string) (string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil {
		return "", &FieldError{Field: "identity", Err: err}
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		return "", fieldErr("identity", ErrInvalid, "no %s in %s", what, dir)
	}
	return "", fieldErr("identity", ErrInvalid, "%d files in %s; want the one %s", len(matches), dir, what)
}

// loadCAs reads a PEM file of one or more CA certificates.
func loadCAs(path string) (*x509.CertPool, error) {
	ders, err := readCerts(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, &FieldError{Field: "tlsCA", Err: err}
		}
		return nil, fieldErr("tlsCA", ErrInvalid, "%s: %v", path, err)
	}
	pool := x509.NewCertPool()
	for _, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fieldErr("tlsCA", ErrInvalid, "%s: %v", path, err)
		}
		pool.AddCert(c)
	}
	return pool, nil
}

// readCerts returns the DER of every CERTIFICATE block in a PEM file; it
// wants at least one and nothing else.
func readCerts(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ders [][]byte
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("want only PEM CERTIFICATE blocks, found %q", b.Type)
		}
		ders = append(ders, b.Bytes)
	}
	if len(ders) == 0 {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	if strings.TrimSpace(string(data)) != "" {
		return nil, errors.New("trailing data after the last PEM block")
	}
	return ders, nil
}
