package command

import (
	"context"

	"github.com/spf13/cobra"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/cli/internal/client"
	"github.com/medprov/medprov/cli/internal/output"
)

type rotateKeysResult struct {
	PreviousKEKID string `json:"previousKekId"`
	KEKID         string `json:"kekId"`
	Rewrapped     uint64 `json:"rewrapped"`
}

func (r rotateKeysResult) Rows() []output.Row {
	return []output.Row{
		{Name: "previous kek id", Value: r.PreviousKEKID},
		{Name: "kek id", Value: r.KEKID},
		{Name: "rewrapped", Value: u64(r.Rewrapped)},
	}
}

type gatewayRotateKeysOptions struct{}

func newGatewayRotateKeysCommand(deps Deps, g *globals) *cobra.Command {
	o := &gatewayRotateKeysOptions{}
	return &cobra.Command{
		Use:   "rotate-keys",
		Short: "Create a new key-encryption key and rewrap every data key with it (admins)",
		Long: `Create a new key-encryption key and rewrap every record's data key with it,
without re-encrypting content. Safe to retry: a rotation that was cut off
resumes. Admins of the gateway's organisation only. It may take a while on
a large store: it has no deadline unless --timeout is given.`,
		Example: `  medprov gateway rotate-keys
  medprov gateway rotate-keys --timeout 10m -o json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, deps, g) },
	}
}

func (o *gatewayRotateKeysOptions) run(cmd *cobra.Command, deps Deps, g *globals) error {
	return printCall(cmd.Context(), deps, g, g.transferCtx, func(ctx context.Context, c *client.Conn) (any, error) {
		r, err := c.Admin.RotateKeys(ctx, &gatewayv1.RotateKeysRequest{})
		return rotateKeysResult{PreviousKEKID: r.GetPreviousKekId(), KEKID: r.GetKekId(), Rewrapped: r.GetRewrapped()}, err
	})
}
