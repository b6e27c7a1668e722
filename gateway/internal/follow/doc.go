// Package follow is the gateway's ledger event follower: it consumes the
// medprov chaincode's events in commit order, acts on the ones that
// concern this organisation, and keeps its position in the stream in a
// checkpoint file, so that no event is missed across restarts.
//
// # Responsibilities
//
//   - The checkpoint (ReadCheckpoint, WriteCheckpoint): a small JSON file
//     holding a ledger.Checkpoint (block number and transaction ID), written
//     atomically (temporary file, fsync, rename, fsync of the directory). A
//     file that cannot be read or decoded is an error naming the file
//     (wrapping ErrCorrupt when it does not decode): the gateway refuses to
//     start rather than skip events.
//   - Following (Follower.Run): the stream is opened after the checkpoint;
//     each event is handed to the Handler, and only once the handler is done
//     does the checkpoint move past it (at-least-once: after a crash the
//     events since the last save are handled again, so every action must be
//     idempotent). The checkpoint is saved at most every SaveInterval or
//     SaveEvery events, whichever comes first, and when Run stops. A stream
//     that fails or ends (the peer unreachable) is opened again from the last
//     checkpoint after a capped, doubling delay; one WARN is logged per
//     outage. A handler error is retried a few times and then logged as an
//     ERROR and skipped, so that one bad event cannot stop the stream.
//   - The actions (Actions, the Handler the gateway runs): a RecordAnchored
//     or RecordAmended event of a version this organisation holds in custody
//     and that is still pending in the local store has the anchorer resolve
//     that entry now (anchor.Anchorer.ReconcileVersion); a RecordErased
//     event of a record this organisation holds that still has versions that
//     are not erased in the store finishes the erasure (store.Store.Erase),
//     closing the window of an EraseRecord interrupted between the ledger's
//     tombstone and the local shredding; an AccessDecided or AccessLogged
//     event with an alert (an EMERGENCY decision, an access outside a care
//     relationship, a denial burst) on a record of this organisation is
//     logged as a WARN line and counted.
//   - Metrics (NewMetrics): medprov_ledger_events_total{name},
//     medprov_ledger_alerts_total{kind} and the gauge
//     medprov_ledger_event_checkpoint_block.
//
// Logs carry identifiers only (transaction, record and organisation IDs,
// block numbers), never content, salts or patient pseudonyms.
//
// # Not responsible for, and must not import
//
// The package must not import gRPC server code, the embedded ledger or the
// chaincode's contract package: it talks to the ledger through the
// gateway's ledger.Ledger interface, decodes the event payloads documented
// in docs/chaincode-api.md itself, and logs only through the injected
// *slog.Logger. Periodic reconciliation stays with package anchor.
package follow
