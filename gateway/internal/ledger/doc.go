// Package ledger is the gateway's only door to the medprov ledger. The
// gateway daemon submits and evaluates chaincode transactions, follows
// chaincode events and looks up commit statuses through the Ledger
// interface, whatever runs the ledger: the in-process embedded ledger
// (NewEmbedded) or a Fabric channel through a peer's Gateway service
// (NewFabric, on fabric-gateway).
//
// The package is responsible for three things:
//
//   - The interface and its backends. Transaction IDs are fixed by Prepare
//     before anything is sent, so that a transaction whose commit status is
//     unknown can be committed again without committing twice, also by
//     another process: (*Transaction).MarshalBinary encodes a prepared
//     transaction and RestoreTransaction rebuilds the same transaction
//     from it after a restart.
//   - Error mapping, done once, here. Every error a Ledger returns is an
//     *Error that carries a gRPC status (status.Code and status.FromError
//     work, also through wrapping). A chaincode error "CODE: message" keeps
//     the chaincode's *domain error underneath, so that errors.Is against
//     the sentinels of the chaincode's ledger package (ErrNotFound and the
//     others) works; internal detail never reaches the status message and is
//     kept for logs (Error.Detail).
//   - Safe retries (NewRetrying): only transactions invalidated by MVCC or
//     phantom read conflicts are endorsed again, with jittered exponential
//     backoff bounded by attempts and by the caller's context; after an
//     unknown commit status the same transaction is committed again, and the
//     backend looks it up first. Chaincode errors are never retried.
//
// The package must not import gRPC server code, the off-chain record store
// or anything else of the gateway: it imports the chaincode's domain package
// only for its error type, the embedded ledger and fabric-gateway (with
// Fabric's protos and a gRPC client connection it is given) for its
// backends, and the status and codes packages of gRPC for its errors.
package ledger
