package command

import (
	"context"
	"fmt"
)

// maxPages bounds the pages one listing reads, against a gateway that
// never stops handing out page tokens.
const maxPages = 100_000

// pages calls page with an empty token, then with each next-page token it
// returns, until one is empty. Each call is bounded by --timeout. A token
// that repeats the previous one is an error rather than an endless loop.
// Gateway errors come back as *RPCError.
func pages(ctx context.Context, g *globals, page func(ctx context.Context, token string) (next string, err error)) error {
	token := ""
	for i := 0; i < maxPages; i++ {
		callCtx, cancel := g.unaryCtx(ctx)
		next, err := page(callCtx, token)
		cancel()
		if err != nil {
			return rpcError(err)
		}
		if next == "" {
			return nil
		}
		if next == token {
			return fmt.Errorf("the gateway returned the same page token twice; stopping")
		}
		token = next
	}
	return fmt.Errorf("more than %d pages; stopping", maxPages)
}
