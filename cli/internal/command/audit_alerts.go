package command

import (
	"context"

	"github.com/spf13/cobra"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/cli/internal/client"
)

type auditAlertsOptions struct {
	from, to string
}

func newAuditAlertsCommand(deps Deps, g *globals) *cobra.Command {
	o := &auditAlertsOptions{}
	c := &cobra.Command{
		Use:   "alerts [--from T] [--to T]",
		Short: "List the access events that raised an alert",
		Long: `List, in time order, the access events that carry an alert: emergency
(break-the-glass) accesses, reads by custodian staff outside a care
relationship, and bursts of denials for one organisation.

--from (inclusive) and --to (exclusive) are RFC 3339 times in whole
seconds; by default the 30 days until now. The window may not exceed 366
days. All pages are read.`,
		Example: `  medprov audit alerts
  medprov audit alerts --from 2026-03-01T00:00:00Z --to 2026-04-01T00:00:00Z -o json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, deps, g) },
	}
	c.Flags().StringVar(&o.from, "from", "", "start of the window, inclusive (RFC 3339, whole seconds)")
	c.Flags().StringVar(&o.to, "to", "", "end of the window, exclusive (RFC 3339, whole seconds)")
	return c
}

func (o *auditAlertsOptions) run(cmd *cobra.Command, deps Deps, g *globals) error {
	from, to, err := window(o.from, o.to)
	if err != nil {
		return err
	}
	return printPages(cmd.Context(), deps, g, eventList{}, viewEvent,
		func(ctx context.Context, c *client.Conn, token string) ([]*gatewayv1.AccessEvent, string, error) {
			resp, err := c.Audit.Alerts(ctx, &gatewayv1.AlertsRequest{StartTime: from, EndTime: to, PageToken: token})
			return resp.GetEvents(), resp.GetNextPageToken(), err
		})
}
