package command

import (
	"context"

	"github.com/spf13/cobra"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/cli/internal/client"
	"github.com/medprov/medprov/cli/internal/output"
)

// statusView is the gateway's status: counts and identifiers, never
// record data.
type statusView struct {
	Version         string `json:"version"`
	MSPID           string `json:"mspId"`
	LedgerBackend   string `json:"ledgerBackend"`
	Channel         string `json:"channel"`
	BlockHeight     uint64 `json:"blockHeight"`
	RecordsAnchored uint64 `json:"recordsAnchored"`
	RecordsPending  uint64 `json:"recordsPending"`
	KEKID           string `json:"kekId"`
	StartTime       string `json:"startTime"`
}

func (v statusView) Rows() []output.Row {
	return []output.Row{
		{Name: "version", Value: v.Version},
		{Name: "msp id", Value: v.MSPID},
		{Name: "ledger backend", Value: v.LedgerBackend},
		{Name: "channel", Value: v.Channel},
		{Name: "block height", Value: u64(v.BlockHeight)},
		{Name: "records anchored", Value: u64(v.RecordsAnchored)},
		{Name: "records pending", Value: u64(v.RecordsPending)},
		{Name: "kek id", Value: v.KEKID},
		{Name: "start time", Value: v.StartTime},
	}
}

type gatewayStatusOptions struct{}

func newGatewayStatusCommand(deps Deps, g *globals) *cobra.Command {
	o := &gatewayStatusOptions{}
	return &cobra.Command{
		Use:   "status",
		Short: "Show the gateway's health, ledger connection and store (admins)",
		Long: `Show the gateway's build version, organisation, ledger backend and channel,
the block height it last saw, how many records are anchored and how many
still being anchored, and the current key-encryption key's identifier.
Admins of the gateway's organisation only.`,
		Example: `  medprov gateway status
  medprov gateway status -o json | jq .recordsPending`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, deps, g) },
	}
}

func (o *gatewayStatusOptions) run(cmd *cobra.Command, deps Deps, g *globals) error {
	return printCall(cmd.Context(), deps, g, g.unaryCtx, func(ctx context.Context, c *client.Conn) (any, error) {
		s, err := c.Admin.Status(ctx, &gatewayv1.StatusRequest{})
		return statusView{
			Version: s.GetVersion(), MSPID: s.GetMspId(), LedgerBackend: s.GetLedgerBackend(), Channel: s.GetChannel(),
			BlockHeight: s.GetBlockHeight(), RecordsAnchored: s.GetRecordsAnchored(), RecordsPending: s.GetRecordsPending(),
			KEKID: s.GetKekId(), StartTime: ts(s.GetStartTime()),
		}, err
	})
}
