package command

import (
	"context"

	"github.com/medprov/medprov/cli/internal/client"
)

// bounder derives the context of one gateway call from the command's:
// g.unaryCtx (bounded by --timeout) or g.transferCtx (no deadline unless
// --timeout was given).
type bounder func(context.Context) (context.Context, context.CancelFunc)

// call dials the gateway, makes one call, rpc, in the context bound
// derives, and closes the connection. rpc receives the connection and
// returns the answer. Errors from dialling come back as g.dial returns
// them, those of the call as *RPCError.
func call[Resp any](ctx context.Context, deps Deps, g *globals, bound bounder, rpc func(context.Context, *client.Conn) (Resp, error)) (Resp, error) {
	var zero Resp
	conn, err := g.dial(deps)
	if err != nil {
		return zero, err
	}
	defer conn.Close()
	ctx, cancel := bound(ctx)
	defer cancel()
	resp, err := rpc(ctx, conn)
	if err != nil {
		return zero, rpcError(err)
	}
	return resp, nil
}

// printCall checks -o, makes one call with call, and prints what rpc
// returns to stdout in the -o format. rpc returns the view of the answer,
// built with the answer's nil-safe getters, and the call's error; the view
// is printed only when the error is nil. Errors are those of g.printer,
// call and the printer.
func printCall(ctx context.Context, deps Deps, g *globals, bound bounder, rpc func(context.Context, *client.Conn) (any, error)) error {
	p, err := g.printer()
	if err != nil {
		return err
	}
	v, err := call(ctx, deps, g, bound, rpc)
	if err != nil {
		return err
	}
	return p.Print(deps.Stdout, v)
}
