package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/internal/ledger"
)

// Paging. Every listing RPC takes page_size (0 for the chaincode's default
// of domain.DefaultPageSize, at most domain.MaxPageSize) and page_token (the
// next_page_token of the previous page, which is the chaincode's bookmark),
// and answers one domain.Page of the chaincode.

// checkPage checks a request's page_size and page_token fields:
// INVALID_ARGUMENT naming the field for a size outside 0 to
// domain.MaxPageSize or a token that cannot be a bookmark.
func checkPage(size int32, token string) error {
	if size < 0 || size > domain.MaxPageSize {
		return status.Errorf(codes.InvalidArgument, "page_size: want a page size from 1 to %d, or 0 for %d", domain.MaxPageSize, domain.DefaultPageSize)
	}
	return argStatus(domain.CheckBookmark("page_token", token))
}

// pageSizeArg returns a checked page_size as the positional pageSize
// argument of the chaincode's list transactions: "" (the default) for 0,
// the decimal number otherwise.
func pageSizeArg(size int32) string {
	if size == 0 {
		return ""
	}
	return strconv.Itoa(int(size))
}

// listArgField names the positional arguments of the chaincode's list
// transactions (RecordHistory, ListPatientRecords, ListConsentsBy...) as
// the request's fields.
func listArgField(name string) string {
	switch name {
	case "bookmark":
		return "page_token"
	case "pageSize":
		return "page_size"
	case "granteeMsp":
		return "grantee_msp_id"
	}
	return snakeCase(name)
}

// evaluatePage evaluates a read-only transaction tx that answers one page of
// T, as identity id, and decodes the page. An INVALID_ARGUMENT of the
// chaincode is renamed to the request's fields (ledgerError with rename);
// any other error is wrapped with what.
func evaluatePage[T any](ctx context.Context, l ledger.Ledger, id ledger.Identity, what string, rename func(string) string, tx string, args ...string) (domain.Page[T], error) {
	payload, err := l.Evaluate(ctx, id, tx, args...)
	if err != nil {
		return domain.Page[T]{}, ledgerError(what, err, rename)
	}
	page, err := decodeLedger[domain.Page[T]](payload)
	if err != nil {
		return page, fmt.Errorf("%s: %w", what, err)
	}
	return page, nil
}

// evaluateQuery is evaluatePage for the transactions whose one argument is
// a JSON query (AccessHistory's domain.AuditQuery, Alerts'
// domain.AlertQuery).
func evaluateQuery[T any](ctx context.Context, l ledger.Ledger, id ledger.Identity, what string, rename func(string) string, tx string, query any) (domain.Page[T], error) {
	arg, err := json.Marshal(query)
	if err != nil {
		return domain.Page[T]{}, fmt.Errorf("%s: encode query: %w", what, err)
	}
	return evaluatePage[T](ctx, l, id, what, rename, tx, string(arg))
}

// protoList converts the items of a page to their proto messages, in order.
func protoList[D, P any](items []D, conv func(D) P) []P {
	var out []P
	for _, it := range items {
		out = append(out, conv(it))
	}
	return out
}
