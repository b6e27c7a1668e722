// Package anchor is the gateway's crash-safe anchoring step: it stores a
// record version's content in the encrypted off-chain store and anchors its
// salted commitment on the ledger (AnchorRecord for a new record,
// AmendRecord for a new version of one), so that a crash or a restart at
// any point ends in one of two states: the version is stored and anchored,
// or it is not stored at all.
//
// # Responsibilities
//
//   - Anchorer.Add: store.Put (a pending entry with the salt and the
//     commitment), build the AnchorRequest with that commitment, prepare
//     the ledger transaction, persist its encoding in the pending entry
//     (store.SetPrepared, synced) before the first Commit, commit it, and
//     mark the entry anchored. A chaincode rejection (INVALID_ARGUMENT,
//     ALREADY_EXISTS, NOT_FOUND, PERMISSION_DENIED, ...) discards the
//     pending entry, so nothing stays stored, and returns the ledger's
//     mapped error (status.Code works on it). A transaction invalidated by a
//     read conflict can never commit, so Add prepares a new one, persists
//     it in place of the old one and commits that, a bounded number of
//     times.
//   - Anchorer.Amend: the next version of a record this store holds (the
//     highest stored version + 1; refused with store.ErrNotFound if the
//     store holds none, store.ErrErased if erased, ErrPending if a version
//     is still pending), stored with store.Put and anchored with
//     AmendRecord through the very same prepare, persist, commit and mark
//     steps as Add (one shared function), with the same rollback on a
//     chaincode rejection. The ledger supersedes the previous version.
//   - Anchorer.Reconcile, at start and on a timer (Anchorer.Run): every
//     pending entry is finished or rolled back. An entry without a prepared
//     transaction (a crash between Put and SetPrepared; the caller was
//     never acknowledged) is discarded. An entry with one is looked up by
//     transaction ID: VALID is marked anchored; unknown to the ledger is
//     committed again as the very same transaction, rebuilt with
//     ledger.RestoreTransaction, and marked anchored, or discarded if the
//     chaincode rejects it; invalidated (the ID is burnt) is discarded.
//     Nothing is ever anchored twice: the only transaction sent for an
//     entry is the one persisted in it, and a persisted transaction is
//     replaced only after it was invalidated.
//   - Anchorer.ReconcileVersion: the same resolution for one record
//     version, for the gateway's ledger event follower: a RecordAnchored or
//     RecordAmended event of a version that is still pending here means its
//     transaction committed, so the entry is marked anchored at once
//     instead of at the reconciler's next run.
//
// "The same prepared transaction" is what (*ledger.Transaction).
// MarshalBinary persists: for the embedded backend the transaction ID, the
// nonce it was derived from, the creator's MSP ID and certificate, the
// chaincode function and its arguments. The ledger derives the ID from the
// nonce and the creator, so a copy sent again is the same transaction and
// is recognised as a duplicate. No private key is persisted. For the
// Fabric backend it is the endorsed, signed transaction's bytes: sending
// them again is the same transaction, which the peers refuse as a
// DUPLICATE_TXID, so the original's outcome stands.
//
// Reconcile treats a pending amendment exactly like a pending add: the
// persisted transaction carries its chaincode function (AnchorRecord or
// AmendRecord) and arguments, and nothing in reconciliation depends on
// which. AmendRecord numbers the new version on the ledger itself (the
// ledger's latest + 1), so the store's numbering agrees with the ledger's
// only while this store is the only one amending the record; a mismatch
// found in the chaincode's result is logged as an error (the transaction
// has committed by then).
//
// # Concurrency
//
// An Anchorer is safe for use by many goroutines. Add, Amend and Reconcile
// claim a record in memory while they work on it, so the reconciler never
// touches an entry an Add or Amend in this process is still anchoring, and
// two amendments of one record cannot pick the same version; one process
// at a time may open a store, so no other process can either.
//
// # Not responsible for, and must not import
//
// Authorisation, request parsing and the gRPC or REST servers belong to the
// callers; this package must not import gRPC server code. It talks to the
// ledger only through the gateway's ledger.Ledger interface and logs only
// through the injected *slog.Logger.
package anchor
