// Package embedded is an in-process ledger with Hyperledger Fabric's
// transaction semantics, for development, demos and tests on one machine.
//
// It runs any shim.Chaincode through its own implementation of
// shim.ChaincodeStubInterface, so that a chaincode written for a Fabric peer
// (including fabric-contract-api-go contracts) runs unchanged. A transaction
// is simulated against one consistent snapshot of committed state, which
// records a read set (key versions), range-query information and a write
// set. Submitted transactions are ordered by a single committer goroutine
// that cuts blocks from everything queued (group commit), validates each
// transaction in block order the way a Fabric peer does (DUPLICATE_TXID,
// MVCC_READ_CONFLICT, PHANTOM_READ_CONFLICT), applies the writes of valid
// transactions, and persists the block, state, history and transaction index
// in one bbolt transaction (one bbolt commit, and so one round of fsyncs,
// per block). Blocks are hash-chained and
// signed by a configured orderer identity, and VerifyChain re-checks the
// chain.
//
// The package is responsible for simulation, ordering, validation, commit,
// persistence, chaincode-event delivery and chain verification. It is not
// responsible for endorsement policies, private data, rich queries,
// chaincode-to-chaincode calls or identity validation beyond what Fabric's
// stub exposes: those calls return errors saying the embedded ledger does not
// support them.
//
// The package must not import the project's chaincode packages (or anything
// that depends on them): it only knows shim.Chaincode, so that any chaincode
// can be plugged in by the caller.
package embedded
