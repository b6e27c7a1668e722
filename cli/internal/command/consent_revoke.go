package command

import (
	"context"

	"github.com/spf13/cobra"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/cli/internal/client"
)

type consentRevokeOptions struct {
	file signedFileFlag
}

func newConsentRevokeCommand(deps Deps, g *globals) *cobra.Command {
	o := &consentRevokeOptions{}
	c := &cobra.Command{
		Use:   "revoke --file REVOCATION.json",
		Short: "Submit a patient's signed revocation of a consent to the ledger",
		Long: `Submit a consent revocation that the patient signed, as 'medprov consent
sign-revocation ... -o json' writes it, through your gateway. The ledger
checks the patient's signature and sequence number; from then on the
consent grants nothing. The revoked consent is printed (only its ID,
patient, grantee and status if your organisation may not read it).`,
		Example: `  medprov consent sign-revocation --key patient.key --consent-id c-1 --patient pt-... --sequence 2 -o json > revocation.json
  medprov consent revoke --file revocation.json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, deps, g) },
	}
	o.file.register(c, "the signed revocation (JSON from consent sign-revocation)")
	return c
}

func (o *consentRevokeOptions) run(cmd *cobra.Command, deps Deps, g *globals) error {
	var in revocationResult
	sig, err := o.file.read(&in, func() error { return in.Revocation.Validate() })
	if err != nil {
		return err
	}
	return printCall(cmd.Context(), deps, g, g.unaryCtx, func(ctx context.Context, c *client.Conn) (any, error) {
		resp, err := c.Consents.RevokeConsent(ctx, &gatewayv1.RevokeConsentRequest{
			ConsentId: in.Revocation.ConsentID, Patient: in.Revocation.Patient,
			Sequence: in.Revocation.Sequence, Signature: sig,
		})
		return viewConsent(resp.GetConsent()), err
	})
}
