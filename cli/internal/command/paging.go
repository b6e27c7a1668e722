package command

import (
	"context"
	"fmt"

	"github.com/medprov/medprov/cli/internal/client"
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

// collect reads every page with pages and returns list with the view of
// each item appended, in the gateway's order. page returns the items of
// one page (from the answer's nil-safe getters), the next-page token and
// the call's error. Errors are those of pages.
func collect[Item, V any, L ~[]V](ctx context.Context, g *globals, list L, view func(Item) V, page func(ctx context.Context, token string) ([]Item, string, error)) (L, error) {
	err := pages(ctx, g, func(ctx context.Context, token string) (string, error) {
		items, next, err := page(ctx, token)
		for _, it := range items {
			list = append(list, view(it))
		}
		return next, err
	})
	return list, err
}

// printPages checks -o, dials the gateway, reads every page of a listing
// with page (see collect) and prints list, with the view of each item
// appended, to stdout in the -o format. Errors are those of g.connect,
// collect and the printer.
func printPages[Item, V any, L ~[]V](ctx context.Context, deps Deps, g *globals, list L, view func(Item) V, page func(ctx context.Context, conn *client.Conn, token string) ([]Item, string, error)) error {
	p, conn, err := g.connect(deps)
	if err != nil {
		return err
	}
	defer conn.Close()
	list, err = collect(ctx, g, list, view, func(ctx context.Context, token string) ([]Item, string, error) {
		return page(ctx, conn, token)
	})
	if err != nil {
		return err
	}
	return p.Print(deps.Stdout, list)
}
