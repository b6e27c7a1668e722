// Package rpccode names gRPC status codes as medprov's API and CLI print
// them. It imports only the standard library and gRPC's codes.
package rpccode

import (
	"strings"
	"unicode"

	"google.golang.org/grpc/codes"
)

// Name renders a gRPC code as the API spells it: NotFound is NOT_FOUND,
// OK is OK.
func Name(c codes.Code) string {
	var b strings.Builder
	prev := rune(0)
	for _, r := range c.String() {
		if unicode.IsUpper(r) && unicode.IsLower(prev) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
		prev = r
	}
	return b.String()
}
