// Package wallet holds the enrolled identities a medprov gateway acts as:
// the signing certificates and keys of its organisation's users, each with
// the medprov.role and medprov.clearance attributes its CA put in the
// certificate.
//
// A wallet is a folder with one subfolder per identity, named after the
// identity, each in the Fabric MSP layout that internal/devca (and
// cryptogen, and a Fabric CA client) writes:
//
//	<dir>/<name>/msp/signcerts/<one>.pem
//	<dir>/<name>/msp/keystore/priv_sk (or the single *_sk file)
//	<dir>/<name>/msp/cacerts/*.pem
//	<dir>/<name>/msp/intermediatecerts/*.pem (optional)
//
// Load checks each identity before the gateway uses it: the key matches
// the certificate, the certificate chains to the identity's own
// msp/cacerts and is valid now, its attributes are well formed, and no
// certificate is enrolled twice. The gateway finds the identity of a
// caller by the SHA-256 fingerprint of its certificate (ByFingerprint),
// computed as the chaincode computes it (exchange.Fingerprint).
//
// Private keys never leave an Identity except as a crypto.Signer (Ledger)
// or inside a tls.Certificate (TLSCertificate); identities and wallets
// redact themselves when logged.
//
// The package reads files only in Load. It must not import the server
// package, the off-chain record store, the ledger backends or the devnet;
// it imports internal/devca only to read the MSP layout, the ledger
// package only for its Identity type, and the exchange package only for
// its fingerprint function.
package wallet
