// Package daemon assembles a medprov gateway from its configuration and
// runs it: the wallet, the ledger client, the encrypted store and its
// keyring, the anchorer and its reconciler, the ledger event follower and
// its checkpoint (package follow), the exchange (ticket checker
// and client), the gRPC server with health and reflection, the REST/JSON
// front end, and the Prometheus endpoint, every port with mTLS. It is the
// wiring that cmd/medprov-gateway runs for one hospital and that
// gateway/devup runs three times in one process for a development
// consortium sharing one embedded ledger.
//
// It must not exit the process or read environment variables: main does.
package daemon
