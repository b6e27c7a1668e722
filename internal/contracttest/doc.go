// Package contracttest holds the chaincode's tests and benchmarks that run
// through the embedded ledger, so that they exercise real serialisation,
// certificate attributes, MVCC validation and events. It has no code of its
// own outside tests.
package contracttest
