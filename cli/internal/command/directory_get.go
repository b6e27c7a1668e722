package command

import (
	"context"

	"github.com/spf13/cobra"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/cli/internal/client"
)

type directoryGetOptions struct{}

func newDirectoryGetCommand(deps Deps, g *globals) *cobra.Command {
	o := &directoryGetOptions{}
	return &cobra.Command{
		Use:   "get MSP",
		Short: "Show an organisation's directory entry",
		Long: `Show where an organisation's gateway listens for other gateways, and the CA
that signs its TLS certificate (subject and SHA-256 in the table; the PEM
with -o json or yaml). Every role may look entries up.`,
		Example: `  medprov directory get HospitalBMSP
  medprov directory get HospitalBMSP -o json | jq -r .tlsCaCertPem > hospital-b-ca.pem`,
		Args:              usageArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              func(cmd *cobra.Command, args []string) error { return o.run(cmd, deps, g, args[0]) },
	}
}

func (o *directoryGetOptions) run(cmd *cobra.Command, deps Deps, g *globals, msp string) error {
	if err := checkArg("MSP", ledger.CheckMSPID, msp); err != nil {
		return err
	}
	return printCall(cmd.Context(), deps, g, g.unaryCtx, func(ctx context.Context, c *client.Conn) (any, error) {
		resp, err := c.Admin.GetDirectoryEntry(ctx, &gatewayv1.GetDirectoryEntryRequest{MspId: msp})
		return viewDirectory(resp.GetEntry()), err
	})
}
