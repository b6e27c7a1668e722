// Package state is the typed repository the contract uses over the Fabric
// stub: the one definition of medprov's key layout, JSON documents checked
// for kind and schema version, index maintenance, pagination with opaque
// bookmarks, and chaincode events.
//
// It must not decide anything: who may do what is the contract's business
// and the rules are in package ledger. It must not log.
package state
