// Package server implements the gateway's gRPC API (api/proto/medprov/
// gateway/v1): authentication of callers by their mTLS client certificate,
// the eight services, the mapping of every error to a gRPC status (once, in
// status.go), request IDs, access logs without health data, and metrics.
// Proto types stop here: the packages below (store, anchor, ledger,
// exchange, wallet) never see them; the conversions live in the convert
// subpackage.
//
// It must not read configuration, environment or files of its own, start
// listeners, or exit: gateway/app wires it and owns the listeners.
package server
