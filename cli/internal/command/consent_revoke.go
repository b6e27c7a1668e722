package command

import (
	"github.com/spf13/cobra"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
)

type consentRevokeOptions struct {
	file string
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
	c.Flags().StringVar(&o.file, "file", "", "the signed revocation (JSON from consent sign-revocation)")
	_ = c.MarkFlagFilename("file", "json")
	return c
}

func (o *consentRevokeOptions) run(cmd *cobra.Command, deps Deps, g *globals) error {
	var in revocationResult
	if err := readSignedFile("--file", o.file, &in); err != nil {
		return err
	}
	if err := in.Revocation.Validate(); err != nil {
		return fileFieldError("--file", o.file, err)
	}
	sig, err := decodeSignature("--file", o.file, in.Signature)
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
	ctx, cancel := g.unaryCtx(cmd.Context())
	defer cancel()
	resp, err := conn.Consents.RevokeConsent(ctx, &gatewayv1.RevokeConsentRequest{
		ConsentId: in.Revocation.ConsentID, Patient: in.Revocation.Patient,
		Sequence: in.Revocation.Sequence, Signature: sig,
	})
	if err != nil {
		return rpcError(err)
	}
	return p.Print(deps.Stdout, viewConsent(resp.GetConsent()))
}
