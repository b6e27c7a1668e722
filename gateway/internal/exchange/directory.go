package exchange

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"

	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/internal/ledger"
)

// ErrBadEndpoint is wrapped by the errors about a directory entry that
// cannot be used: a malformed address or TLS CA, or an entry of another
// organisation than the one asked for.
var ErrBadEndpoint = errors.New("exchange: bad directory entry")

// Endpoint is where an organisation's gateway listens for other gateways,
// and the CA that signs its TLS server certificate.
type Endpoint struct {
	// MSPID is the organisation.
	MSPID string
	// Address is host:port, with a DNS name or an IPv4 address as host
	// (the form the chaincode accepts).
	Address string
	// TLSCACertPEM holds the PEM certificates of the CA(s) the gateway's
	// TLS server certificate must chain to.
	TLSCACertPEM []byte
}

// Directory finds organisation mspID's gateway. An organisation without
// an entry is an error with codes.NotFound (LedgerDirectory's also matches
// domain.ErrNotFound).
type Directory func(ctx context.Context, mspID string) (Endpoint, error)

// LedgerDirectory returns a Directory that evaluates the chaincode's
// GetOrgEndpoint on l as identity id (any member of any organisation may)
// and checks the entry it returns.
//
// Errors: a malformed mspID (domain.ErrInvalidArgument); l's errors, which
// carry a gRPC status (NotFound when the organisation has no entry); and,
// wrapping ErrBadEndpoint, a payload that is not an OrgEndpoint of mspID,
// an address that is not host:port, or a TLS CA that is not PEM X.509
// certificates.
func LedgerDirectory(l ledger.Ledger, id ledger.Identity) Directory {
	return func(ctx context.Context, mspID string) (Endpoint, error) {
		if err := domain.CheckMSPID("mspID", mspID); err != nil {
			return Endpoint{}, fmt.Errorf("exchange: directory: %w", err)
		}
		out, err := l.Evaluate(ctx, id, domain.TxGetOrgEndpoint, mspID)
		if err != nil {
			return Endpoint{}, fmt.Errorf("exchange: directory entry of %s: %w", mspID, err)
		}
		var oe domain.OrgEndpoint
		if err := json.Unmarshal(out, &oe); err != nil {
			return Endpoint{}, fmt.Errorf("exchange: directory entry of %s: %w: %v", mspID, ErrBadEndpoint, err)
		}
		if oe.Kind != domain.KindOrgEndpoint {
			return Endpoint{}, fmt.Errorf("exchange: directory entry of %s: %w: document of kind %q, want %q", mspID, ErrBadEndpoint, oe.Kind, domain.KindOrgEndpoint)
		}
		ep := Endpoint{MSPID: oe.MSPID, Address: oe.Endpoint, TLSCACertPEM: []byte(oe.TLSCACertPEM)}
		if err := ep.checkFor(mspID); err != nil {
			return Endpoint{}, fmt.Errorf("exchange: directory entry of %s: %w", mspID, err)
		}
		return ep, nil
	}
}

// checkFor checks that e is a usable entry of organisation mspID.
func (e Endpoint) checkFor(mspID string) error {
	if e.MSPID != mspID {
		return fmt.Errorf("%w: mspId: entry of %q, want %q", ErrBadEndpoint, e.MSPID, mspID)
	}
	_, _, err := e.parse()
	return err
}

// parse returns the host of e's address and a pool of its TLS CAs.
func (e Endpoint) parse() (host string, roots *x509.CertPool, err error) {
	if err := domain.CheckEndpoint("endpoint", e.Address); err != nil {
		return "", nil, fmt.Errorf("%w: %w", ErrBadEndpoint, err)
	}
	host, _, err = net.SplitHostPort(e.Address)
	if err != nil {
		return "", nil, fmt.Errorf("%w: endpoint: want host:port: %v", ErrBadEndpoint, err)
	}
	roots = x509.NewCertPool()
	rest, n := e.TLSCACertPEM, 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return "", nil, fmt.Errorf("%w: tlsCaCertPem: PEM block %q, want CERTIFICATE", ErrBadEndpoint, block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return "", nil, fmt.Errorf("%w: tlsCaCertPem: %v", ErrBadEndpoint, err)
		}
		roots.AddCert(c)
		n++
	}
	if n == 0 {
		return "", nil, fmt.Errorf("%w: tlsCaCertPem: want at least one PEM certificate", ErrBadEndpoint)
	}
	return host, roots, nil
}
