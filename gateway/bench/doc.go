// Package bench is medprov's load engine, behind `medprov bench`: it keeps a
// fixed number of calls in flight against a workload for a fixed time and
// reports committed transactions per second and the latency of one call
// (p50, p95, p99, max), with errors counted by code.
//
// A call is one committed transaction: the gateway answers AddRecord and
// RequestAccess only after the block that holds the transaction commits,
// and the put workload waits for the commit status of its transaction and
// counts only VALID ones. A Fabric transaction waits about one orderer
// batch timeout to commit, so saturating a network takes hundreds of calls
// in flight: Run keeps Concurrency workers busy, and the gateway workloads
// spread them over Connections(Concurrency) gRPC connections, each below
// the gateway's limit of concurrent streams.
//
// Workloads:
//   - Anchor: RecordService.AddRecord through a gateway, 1 KiB of synthetic
//     random content per call, for one synthetic patient registered at
//     setup.
//   - Access: AccessService.RequestAccess through the requesting
//     organisation's gateway, on synthetic records that a custodian's
//     gateway anchored at setup, covered by consents that synthetic patients
//     signed, so that every call is GRANTED.
//   - Put: a transaction submitted straight to the organisation's peer
//     with fabric-gateway, bypassing the medprov gateway: the chaincode's
//     Baseline:Put (TransactionBaseline, workload "put"), the floor the
//     other two are compared with; or AnchorRecord built as the gateway
//     builds it for AddRecord (TransactionAnchor, workload "put-anchor"),
//     which set against Anchor separates the gateway's overhead from the
//     weight of the transaction itself.
//
// Everything the workloads write is synthetic: generated patient keys,
// random content, opaque IDs. Nothing is logged.
//
// The package may import the gateway's internal packages (config, wallet,
// ledger) to open the put workload as the gateway opens its Fabric
// backend, and the generated API. It must not import the gateway's server,
// store or daemon, nor the CLI.
package bench
