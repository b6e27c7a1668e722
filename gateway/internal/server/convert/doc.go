// Package convert is the one place where the gateway converts between the
// generated API types (api/gen/medprov/gateway/v1, package gatewayv1) and
// the chaincode's domain types (chaincode/ledger, imported as domain) and
// the evidence receipt (internal/receipt).
//
// # What it converts
//
// Domain to proto, for answers: Record to RecordEvidence, AccessEvent,
// Consent, ConsentGrant, Patient, OrgEndpoint to DirectoryEntry,
// receipt.Receipt to Receipt, times to timestamps, and every code list to
// its enum. These never fail: a code the API does not know becomes the
// enum's UNSPECIFIED value, a zero time an unset timestamp.
//
// Proto to domain, for requests: every enum (required, or Optional where
// UNSPECIFIED means "not given"), ConsentGrant, Receipt, DerivedFrom and
// timestamps. These fail with a *FieldError that names the proto field path
// (for example "grant.purposes[1]") and what was expected, never the value
// that was sent. They check what the proto representation can hold and the
// domain cannot (enum numbers, timestamps in range and in whole seconds,
// integer widths), and required codes; the ledger's own rules (ID patterns,
// list limits, scope, validity window) stay with the domain's validation,
// which the chaincode runs on every call.
//
// A patient's consent signature covers the canonical encoding of the
// domain grant (domain.ConsentGrant.CanonicalBytes), so ConsentGrant and
// ConsentGrantFromProto map every field exactly, keep the order of lists,
// and render the validity window in domain.TimeLayout: a grant signed by
// `medprov consent sign` that travels through the API converts back to a
// grant with byte-identical canonical encoding.
//
// # Boundaries
//
// Proto types stop at gateway/internal/server; this package is part of it.
// The packages below the server (store, anchor, ledger, exchange, wallet)
// never see a proto type. This package is pure: it must not import
// gateway/internal/store, gateway/internal/anchor, gateway/internal/ledger
// or any other ledger client, nor gRPC server code; it does no I/O and
// does not log.
package convert
