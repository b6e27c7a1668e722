package command

import (
	"context"

	"github.com/spf13/cobra"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/cli/internal/client"
)

type patientRecordsOptions struct {
	key patientKeyFlags
}

func newPatientRecordsCommand(deps Deps, g *globals) *cobra.Command {
	o := &patientRecordsOptions{}
	c := &cobra.Command{
		Use:   "records --key KEY [--patient PSEUDONYM]",
		Short: "List a patient's records held by the gateway's organisation (as the patient)",
		Long: `List, as the patient, the evidence of the patient's records that the
gateway's organisation holds, each as its latest version. All pages are
read.

` + patientKeyHelp,
		Example: `  medprov patient records --key ~/.medprov/patient/patient.key
  medprov patient records --key new/patient.key --patient pt-0123... -o json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, deps, g) },
	}
	o.key.register(c)
	return c
}

func (o *patientRecordsOptions) run(cmd *cobra.Command, deps Deps, g *globals) error {
	return printPatientPages(cmd.Context(), deps, g, &o.key, evidenceList{}, viewEvidence,
		func(ctx context.Context, c *client.Conn, proof *gatewayv1.PatientProof, token string) ([]*gatewayv1.RecordEvidence, string, error) {
			resp, err := c.Patients.ListMyRecords(ctx, &gatewayv1.ListMyRecordsRequest{Proof: proof, PageToken: token})
			return resp.GetRecords(), resp.GetNextPageToken(), err
		})
}
