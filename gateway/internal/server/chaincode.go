package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/medprov/medprov/gateway/internal/ledger"
)

// The JSON boundary with the chaincode: requests and statements travel as
// JSON arguments (docs/chaincode-api.md), results come back as JSON
// documents. A result that does not decode is an internal error: the
// chaincode and the gateway disagree.

// submitJSON submits transaction tx as identity id, with v encoded as JSON
// as its first argument and rest after it, and returns the committed
// transaction. Errors, the ledger's included, are wrapped with what.
func (s *Server) submitJSON(ctx context.Context, id ledger.Identity, what, tx string, v any, rest ...string) (*ledger.Committed, error) {
	arg, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%s: encode the argument: %w", what, err)
	}
	committed, err := s.d.Ledger.Submit(ctx, id, tx, append([]string{string(arg)}, rest...)...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return committed, nil
}

// decodeLedger decodes a chaincode result.
func decodeLedger[T any](payload []byte) (T, error) {
	var v T
	if len(payload) == 0 {
		return v, errors.New("decode ledger result: empty payload")
	}
	if err := json.Unmarshal(payload, &v); err != nil {
		return v, fmt.Errorf("decode ledger result: %w", err)
	}
	return v, nil
}

// decodeDocument decodes a stored document the chaincode returned (a
// domain.Record, Patient, Consent, ...) and checks that its kind field is
// kind.
func decodeDocument[T any](payload []byte, kind string) (T, error) {
	v, err := decodeLedger[T](payload)
	if err != nil {
		return v, err
	}
	var head struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal(payload, &head); err != nil {
		return v, fmt.Errorf("decode ledger result: %w", err)
	}
	if head.Kind != kind {
		return v, fmt.Errorf("decode ledger result: a document of kind %q, want %q", head.Kind, kind)
	}
	return v, nil
}
