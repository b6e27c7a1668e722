package command

import (
	"context"

	"github.com/spf13/cobra"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/cli/internal/client"
)

type consentListOptions struct {
	patient string
	grantee string
}

func newConsentListCommand(deps Deps, g *globals) *cobra.Command {
	o := &consentListOptions{}
	c := &cobra.Command{
		Use:   "list (--patient PSEUDONYM | --grantee MSP)",
		Short: "List the consents of a patient, or those granted to an organisation",
		Long: `List consents on the ledger: those of one patient (--patient), in consent-ID
order, or those granted to one organisation (--grantee), by patient then
consent ID. Give exactly one. Consents your organisation may not see are
left out; only auditors may list another grantee's. All pages are read.`,
		Example: `  medprov consent list --patient pt-0123...
  medprov consent list --grantee HospitalBMSP -o json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, deps, g) },
	}
	c.Flags().StringVar(&o.patient, "patient", "", "list this patient's consents (pseudonym pt-...)")
	c.Flags().StringVar(&o.grantee, "grantee", "", "list the consents granted to this MSP ID")
	_ = c.RegisterFlagCompletionFunc("patient", cobra.NoFileCompletions)
	_ = c.RegisterFlagCompletionFunc("grantee", cobra.NoFileCompletions)
	return c
}

func (o *consentListOptions) run(cmd *cobra.Command, deps Deps, g *globals) error {
	var filter func(*gatewayv1.ListConsentsRequest)
	switch {
	case o.patient != "" && o.grantee != "":
		return usagef("--patient", "give --patient or --grantee, not both")
	case o.patient != "":
		if err := checkArg("--patient", ledger.CheckPseudonym, o.patient); err != nil {
			return err
		}
		filter = func(r *gatewayv1.ListConsentsRequest) {
			r.Filter = &gatewayv1.ListConsentsRequest_Patient{Patient: o.patient}
		}
	case o.grantee != "":
		if err := checkArg("--grantee", ledger.CheckMSPID, o.grantee); err != nil {
			return err
		}
		filter = func(r *gatewayv1.ListConsentsRequest) {
			r.Filter = &gatewayv1.ListConsentsRequest_GranteeMspId{GranteeMspId: o.grantee}
		}
	default:
		return usagef("--patient", "give --patient or --grantee")
	}
	return printPages(cmd.Context(), deps, g, consentList{}, viewConsent,
		func(ctx context.Context, c *client.Conn, token string) ([]*gatewayv1.Consent, string, error) {
			req := &gatewayv1.ListConsentsRequest{PageToken: token}
			filter(req)
			resp, err := c.Consents.ListConsents(ctx, req)
			return resp.GetConsents(), resp.GetNextPageToken(), err
		})
}
