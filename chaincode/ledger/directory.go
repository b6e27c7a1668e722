package ledger

import (
	"crypto/x509"
	"encoding/pem"
	"time"
)

// OrgEndpoint is an organisation's entry in the on-chain directory: where
// its gateway listens and which CA signs the gateway's TLS certificate.
type OrgEndpoint struct {
	Kind          string    `json:"kind"`
	SchemaVersion int       `json:"schemaVersion"`
	MSPID         string    `json:"mspId"`
	Endpoint      string    `json:"endpoint"`
	TLSCACertPEM  string    `json:"tlsCaCertPem"`
	UpdatedAt     time.Time `json:"updatedAt"`
	TxID          string    `json:"txId"`
}

// EndpointRequest is the argument of SetOrgEndpoint.
type EndpointRequest struct {
	Endpoint     string `json:"endpoint"`
	TLSCACertPEM string `json:"tlsCaCertPem"`
}

// Validate checks the endpoint and that the TLS CA is one PEM CA
// certificate.
func (r EndpointRequest) Validate() error {
	if err := CheckEndpoint("request.endpoint", r.Endpoint); err != nil {
		return err
	}
	if len(r.TLSCACertPEM) == 0 || len(r.TLSCACertPEM) > MaxPEMBytes {
		return InvalidArgument("request.tlsCaCertPem", "want one PEM certificate of at most %d bytes", MaxPEMBytes)
	}
	block, rest := pem.Decode([]byte(r.TLSCACertPEM))
	if next, _ := pem.Decode(rest); block == nil || block.Type != "CERTIFICATE" || next != nil {
		return InvalidArgument("request.tlsCaCertPem", "want one PEM CERTIFICATE block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil || !cert.IsCA {
		return InvalidArgument("request.tlsCaCertPem", "want a CA certificate")
	}
	return nil
}
