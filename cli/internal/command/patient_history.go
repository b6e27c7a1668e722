package command

import (
	"context"

	"github.com/spf13/cobra"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/cli/internal/client"
)

type patientHistoryOptions struct {
	key      patientKeyFlags
	from, to string
}

func newPatientHistoryCommand(deps Deps, g *globals) *cobra.Command {
	o := &patientHistoryOptions{}
	c := &cobra.Command{
		Use:   "history --key KEY [--patient PSEUDONYM] [--from T] [--to T]",
		Short: "List who accessed a patient's records, and on what basis (as the patient)",
		Long: `List, as the patient, every access event about the patient's records held
by the gateway's organisation, in time order: who asked, for what purpose,
the decision and its basis (consent, the custodian's own staff, or an
emergency), and any alert.

--from (inclusive) and --to (exclusive) are RFC 3339 times in whole seconds,
such as 2026-01-02T15:04:05Z; by default, from the beginning until now.
All pages are read.

` + patientKeyHelp,
		Example: `  medprov patient history --key ~/.medprov/patient/patient.key
  medprov patient history --key patient.key --from 2026-01-01T00:00:00Z --to 2026-04-01T00:00:00Z -o json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, deps, g) },
	}
	o.key.register(c)
	c.Flags().StringVar(&o.from, "from", "", "start of the window, inclusive (RFC 3339, whole seconds)")
	c.Flags().StringVar(&o.to, "to", "", "end of the window, exclusive (RFC 3339, whole seconds)")
	return c
}

func (o *patientHistoryOptions) run(cmd *cobra.Command, deps Deps, g *globals) error {
	from, to, err := window(o.from, o.to)
	if err != nil {
		return err
	}
	return printPatientPages(cmd.Context(), deps, g, &o.key, eventList{}, viewEvent,
		func(ctx context.Context, c *client.Conn, proof *gatewayv1.PatientProof, token string) ([]*gatewayv1.AccessEvent, string, error) {
			resp, err := c.Patients.ListMyAccessEvents(ctx, &gatewayv1.ListMyAccessEventsRequest{
				Proof: proof, StartTime: from, EndTime: to, PageToken: token,
			})
			return resp.GetEvents(), resp.GetNextPageToken(), err
		})
}
