// Package devca is a development certificate authority for medprov
// organisations.
//
// It plays the part that Fabric's cryptogen tool and Fabric CA play in a real
// network: for each organisation it creates a signing root CA and a separate
// TLS root CA, and it issues identities (signing certificates carrying a
// Fabric NodeOU and, optionally, medprov attributes, plus TLS certificates)
// the way Fabric CA would. Everything it writes uses Fabric's MSP folder
// layout, so the same files can later be handed to a Fabric peer, orderer or
// client unchanged.
//
// Attributes are encoded exactly as Fabric CA encodes them: a non-critical
// certificate extension with OID 1.2.3.4.5.6.7.8.1 whose value is the JSON
// document {"attrs":{"medprov.clearance":"N","medprov.role":"clinician"}}.
// Chaincode reads them back with fabric-chaincode-go's attrmgr or cid
// packages.
//
// The package is for development, demos and tests only. It is not a
// production CA: its CA private keys are stored unencrypted on disk, it keeps
// no issuance database, and it supports neither revocation nor renewal.
//
// The package must import only the Go standard library. In particular it must
// not import any other medprov package (chaincode, gateway or internal ones)
// or any Fabric module, so that any tool or test can use it without import
// cycles or extra dependencies; only its tests use fabric-chaincode-go to
// check compatibility.
//
// Determinism: with WithRand and WithClock, serial numbers and validity
// periods are reproducible. Keys and signatures always come from crypto/rand,
// never from the WithRand reader. Since Go 1.26, crypto/ecdsa ignores a
// caller's reader anyway and uses the system's secure source; in a module
// whose go.mod says go 1.25 or older (GODEBUG cryptocustomrand=1 by default)
// it does use the reader but deliberately consumes a random extra byte from
// it, so feeding it the WithRand reader would only make serial numbers
// irreproducible. Keys and signatures are therefore reproducible only in a
// test that calls testing/cryptotest.SetGlobalRandom, with
// cryptocustomrand=0 in effect; this package's tests do so.
package devca
