package command

import (
	"context"

	"github.com/spf13/cobra"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/cli/internal/client"
)

type auditTrailOptions struct {
	trail trailFlags
}

func newAuditTrailCommand(deps Deps, g *globals) *cobra.Command {
	o := &auditTrailOptions{}
	c := &cobra.Command{
		Use:   "trail [--record ID | --patient P | --org MSP] [--from T] [--to T]",
		Short: "List access events: who asked for what, when, why and on what basis",
		Long: `List access events in time order: time, decision, requester, record,
purpose, basis (consent, custodian staff or break the glass; the reason for
a denial) and alerts. Auditors see every event on the channel; records
officers and admins the events about their organisation's records. Filter
by at most one of --record, --patient and --org (the requester).

` + trailWindowHelp + `

All pages are read.`,
		Example: `  medprov audit trail --record r-5f2a...
  medprov audit trail --patient pt-0123... -o json
  medprov audit trail --org HospitalBMSP --from 2026-01-01T00:00:00Z --to 2026-02-01T00:00:00Z`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, deps, g) },
	}
	o.trail.register(c)
	return c
}

func (o *auditTrailOptions) run(cmd *cobra.Command, deps Deps, g *globals) error {
	filter, err := o.trail.filter()
	if err != nil {
		return err
	}
	return printPages(cmd.Context(), deps, g, eventList{}, viewEvent,
		func(ctx context.Context, c *client.Conn, token string) ([]*gatewayv1.AccessEvent, string, error) {
			resp, err := c.Audit.AccessTrail(ctx, &gatewayv1.AccessTrailRequest{Filter: filter, PageToken: token})
			return resp.GetEvents(), resp.GetNextPageToken(), err
		})
}
