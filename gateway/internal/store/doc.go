// Package store is the gateway's encrypted off-chain record store: it keeps
// the content of every record version encrypted on the hospital's premises,
// together with what is needed to anchor it on the ledger (the salt and the
// salted commitment) and to destroy it again (crypto-shredding).
//
// # Responsibilities
//
//   - Streaming encryption of record content under a fresh 256-bit data key
//     (DEK) per record version, with AES-256-GCM in 64 KiB chunks using the
//     STREAM construction, so that a multi-gigabyte file passes through
//     constant memory and any reordering, removal, truncation or extension of
//     chunks, and any move of a blob to another record version, is detected.
//     The format is specified in FORMAT.md next to this file.
//   - Wrapping DEKs under a key-encryption key (KEK) obtained from a Keyring,
//     and rewrapping them when the active KEK changes (RewrapAll), without
//     re-encrypting content. FileKeyring is a development keyring;
//     PKCS11Keyring keeps the KEKs on a PKCS#11 token (see below).
//   - Computing the salted commitment with ledger.Commitment while the content
//     streams, so the content is read exactly once.
//   - Durable storage: blob files under dir/blobs and a bbolt index in
//     dir/index.db, written in an order that survives a crash at any point
//     (see Store.Put and Open), and the anchoring life cycle of each version:
//     pending, anchored, erased.
//   - Erasure by crypto-shredding (Store.Erase): the wrapped DEK and the salt
//     are removed from the index, the index file is compacted so freed pages
//     do not keep them, the old index file is overwritten, and the blobs are
//     deleted.
//
// The store never writes the SHA-256 of plaintext, nor anything else that
// would let a guessed document be tested without the salt; the commitment is
// an HMAC keyed by the salt, and the stored hash is of the ciphertext.
//
// # PKCS#11 keyring
//
// PKCS11Keyring (OpenPKCS11Keyring) keeps each KEK as a non-extractable,
// sensitive AES-256 token object named by its CKA_LABEL (the key ID) and
// wraps DEKs with CKM_AES_GCM on the token; the wrapped-DEK layout is the
// file keyring's. The active key ID is kept on the token in a private data
// object. It needs cgo and github.com/miekg/pkcs11, so it is only compiled
// with the build tag pkcs11; without it OpenPKCS11Keyring returns
// ErrPKCS11Unsupported ("built without PKCS#11 support: build with -tags
// pkcs11"). FORMAT.md describes the token objects. Its tests run against
// SoftHSM2 and are skipped unless MEDPROV_SOFTHSM_MODULE names
// libsofthsm2.so; `make test-pkcs11` installs SoftHSM2 if needed and runs
// them, each on a fresh token in a temporary directory.
//
// # Not responsible for, and must not import
//
// The package must not import gRPC, REST, the ledger client, the embedded
// ledger or any other networking code: anchoring is done by the caller, which
// records the transaction it prepared with Store.SetPrepared (an opaque
// encoding) before sending it and reports the result through
// Store.MarkAnchored, and a reconciler finds unanchored versions, with
// their prepared transactions, with Store.Pending. The only project package it imports
// is the chaincode's pure ledger package, for ledger.Commitment,
// ledger.SaltSize and ledger.CheckID. Authorisation (who may read a record)
// is also the caller's job.
//
// # Concurrency
//
// A Store, a FileKeyring and a PKCS11Keyring are safe for use by many goroutines. Operations
// that change one record (Put, MarkAnchored, Discard, Erase) are serialised
// per record ID; reads are not blocked by them. One Store at a time may
// open a store directory: Open takes an exclusive flock(2) on <dir>/LOCK
// (the package targets Linux) before any recovery and holds it until
// Close, and a second Open, in this process or another, fails at once with
// ErrLocked.
//
// Index changes (the entry of Put, SetPrepared, MarkAnchored, Discard,
// Erase's tombstones, RewrapAll's rewraps) of concurrent calls share bbolt
// commits, and so their fsyncs (group commit, without a timer): a call
// that finds no commit running commits at once; calls that arrive during a
// commit are committed together by the next one, at most 256 to a commit.
// Each call still sees its change as if committed alone, in some serial
// order, and returns only once the commit holding it is synced; a call
// whose change fails is retried alone and does not fail the others. Close
// waits for the calls queued and in progress.
package store
