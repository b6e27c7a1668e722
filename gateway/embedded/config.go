package embedded

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"
)

// Default values applied by Open to fields of Config left at their zero value.
const (
	DefaultChannelID     = "medprov"
	DefaultChaincodeName = "medprov"
	DefaultMaxBlockTxs   = 500
)

// maxBlockTxsLimit bounds MaxBlockTxs so that one block always fits easily in
// one bbolt transaction.
const maxBlockTxsLimit = 100000

// channelIDPattern is the rule Fabric applies to channel names.
var channelIDPattern = regexp.MustCompile(`^[a-z][a-z0-9.-]*$`)

// chaincodeNamePattern is the rule Fabric's lifecycle applies to chaincode
// names.
var chaincodeNamePattern = regexp.MustCompile(`^[a-zA-Z0-9]+([-_][a-zA-Z0-9]+)*$`)

// Config configures a Ledger. Zero values of ChannelID, ChaincodeName,
// MaxBlockTxs, Clock and Rand are replaced by their defaults in Open.
type Config struct {
	// Dir is the data directory; the bbolt file is Dir/ledger.db. The
	// directory is created with mode 0700 and the file with mode 0600.
	Dir string
	// ChannelID is the channel name returned by GetChannelID; default "medprov".
	ChannelID string
	// ChaincodeName is the chaincode (namespace) name; default "medprov".
	ChaincodeName string
	// MaxBlockTxs is the largest number of transactions in one block; default 500.
	MaxBlockTxs int
	// OrdererMSPID is the MSP ID of the identity that signs blocks.
	OrdererMSPID string
	// OrdererCertPEM is the PEM-encoded X.509 certificate of the orderer.
	OrdererCertPEM []byte
	// OrdererSigner is the ECDSA P-256 private key of OrdererCertPEM.
	OrdererSigner crypto.Signer
	// Clock gives transaction timestamps (like a client's proposal
	// timestamp); default time.Now.
	Clock func() time.Time
	// Rand is the source of transaction nonces and signature randomness;
	// default crypto/rand.Reader.
	Rand io.Reader
}

// Validate reports the first field of c that is not acceptable, naming it.
// Fields that Open defaults (ChannelID, ChaincodeName, MaxBlockTxs, Clock,
// Rand) may be left at their zero value.
func (c Config) Validate() error {
	if c.Dir == "" {
		return errors.New("embedded: Config.Dir is empty")
	}
	if c.ChannelID != "" && (len(c.ChannelID) > 249 || !channelIDPattern.MatchString(c.ChannelID)) {
		return fmt.Errorf("embedded: Config.ChannelID %q is not a valid Fabric channel name (lower-case letters, digits, '.' and '-', starting with a letter, at most 249 characters)", c.ChannelID)
	}
	if c.ChaincodeName != "" && !chaincodeNamePattern.MatchString(c.ChaincodeName) {
		return fmt.Errorf("embedded: Config.ChaincodeName %q is not a valid Fabric chaincode name (letters and digits, optionally separated by single '-' or '_')", c.ChaincodeName)
	}
	if c.MaxBlockTxs < 0 || c.MaxBlockTxs > maxBlockTxsLimit {
		return fmt.Errorf("embedded: Config.MaxBlockTxs %d is out of range [0, %d]", c.MaxBlockTxs, maxBlockTxsLimit)
	}
	if c.OrdererMSPID == "" {
		return errors.New("embedded: Config.OrdererMSPID is empty")
	}
	cert, err := parseCertPEM(c.OrdererCertPEM)
	if err != nil {
		return fmt.Errorf("embedded: Config.OrdererCertPEM: %w", err)
	}
	certKey, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || certKey.Curve != elliptic.P256() {
		return errors.New("embedded: Config.OrdererCertPEM does not hold an ECDSA P-256 public key")
	}
	if c.OrdererSigner == nil {
		return errors.New("embedded: Config.OrdererSigner is nil")
	}
	signerKey, ok := c.OrdererSigner.Public().(*ecdsa.PublicKey)
	if !ok || signerKey.Curve != elliptic.P256() {
		return errors.New("embedded: Config.OrdererSigner is not an ECDSA P-256 key")
	}
	if !signerKey.Equal(certKey) {
		return errors.New("embedded: Config.OrdererSigner does not match the public key of Config.OrdererCertPEM")
	}
	return nil
}

// withDefaults returns c with zero-valued optional fields set to defaults.
func (c Config) withDefaults() Config {
	if c.ChannelID == "" {
		c.ChannelID = DefaultChannelID
	}
	if c.ChaincodeName == "" {
		c.ChaincodeName = DefaultChaincodeName
	}
	if c.MaxBlockTxs == 0 {
		c.MaxBlockTxs = DefaultMaxBlockTxs
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	return c
}

// parseCertPEM decodes the first PEM block of b as an X.509 certificate.
func parseCertPEM(b []byte) (*x509.Certificate, error) {
	if len(b) == 0 {
		return nil, errors.New("empty")
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse certificate: %w", err)
	}
	return cert, nil
}
