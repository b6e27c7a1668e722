package command

import (
	"context"

	"github.com/spf13/cobra"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
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
	signer, patient, err := o.key.load()
	if err != nil {
		return err
	}
	p, err := g.printer()
	if err != nil {
		return err
	}
	conn, err := g.dial(deps)
	if err != nil {
		return err
	}
	defer conn.Close()
	proof, err := provePatient(cmd.Context(), deps, g, conn, signer, patient)
	if err != nil {
		return err
	}
	list := evidenceList{}
	err = pages(cmd.Context(), g, func(ctx context.Context, token string) (string, error) {
		resp, err := conn.Patients.ListMyRecords(ctx, &gatewayv1.ListMyRecordsRequest{Proof: proof, PageToken: token})
		for _, r := range resp.GetRecords() {
			list = append(list, viewEvidence(r))
		}
		return resp.GetNextPageToken(), err
	})
	if err != nil {
		return err
	}
	return p.Print(deps.Stdout, list)
}
