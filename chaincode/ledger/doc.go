// Package ledger is medprov's on-chain domain: the documents the chaincode
// stores (records, patients, consents, access events, directory entries), the
// closed code lists they use, argument validation, the canonical encodings
// that patients sign, and the access decision.
//
// It is pure: it must not import the Fabric shim, the contract API or any
// package that does I/O, and it never reads a clock or a random source. Time
// is always passed in (the transaction timestamp), so every function here is
// deterministic and safe to run on every endorsing peer.
package ledger
