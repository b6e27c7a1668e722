package command

import (
	"context"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/cli/internal/client"
)

type consentGrantOptions struct {
	file signedFileFlag
}

func newConsentGrantCommand(deps Deps, g *globals) *cobra.Command {
	o := &consentGrantOptions{}
	c := &cobra.Command{
		Use:   "grant --file SIGNED.json",
		Short: "Submit a patient's signed consent to the ledger",
		Long: `Submit a consent grant that the patient signed, as 'medprov consent sign
... -o json' writes it, through your gateway. The CLI checks the grant as
the ledger does before sending it; the ledger then checks the patient's
signature and sequence number. The stored consent is printed.`,
		Example: `  medprov consent sign --key patient.key ... -o json > grant.json
  medprov consent grant --file grant.json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, deps, g) },
	}
	o.file.register(c, "the signed consent (JSON from consent sign)")
	return c
}

func (o *consentGrantOptions) run(cmd *cobra.Command, deps Deps, g *globals) error {
	var in consentResult
	var grant ledger.ConsentGrant
	var notBefore, notAfter time.Time
	sig, err := o.file.read(&in, func() (err error) {
		grant, notBefore, notAfter, err = in.Consent.Normalize()
		return err
	})
	if err != nil {
		return err
	}
	req, err := grantRequest(grant, notBefore, notAfter, sig)
	if err != nil {
		return o.file.fieldError(err)
	}
	return printCall(cmd.Context(), deps, g, g.unaryCtx, func(ctx context.Context, c *client.Conn) (any, error) {
		resp, err := c.Consents.GrantConsent(ctx, req)
		return viewConsent(resp.GetConsent()), err
	})
}

// grantRequest converts a normalised grant to the API's request.
func grantRequest(grant ledger.ConsentGrant, notBefore, notAfter time.Time, sig []byte) (*gatewayv1.GrantConsentRequest, error) {
	pg := &gatewayv1.ConsentGrant{
		ConsentId: grant.ConsentID,
		Patient:   grant.Patient,
		Grantee:   &gatewayv1.Grantee{MspId: grant.Grantee.MSPID},
		Scope: &gatewayv1.ConsentScope{
			All:       grant.Scope.All,
			RecordIds: grant.Scope.RecordIDs,
			DocTypes:  grant.Scope.DocTypes,
		},
		NotBefore: timestamppb.New(notBefore),
		NotAfter:  timestamppb.New(notAfter),
		Sequence:  grant.Sequence,
	}
	var err error
	if grant.Grantee.Role != "" {
		if pg.Grantee.Role, err = roleCodes.parse("consent.grantee.role", string(grant.Grantee.Role)); err != nil {
			return nil, err
		}
	}
	if pg.MaxConfidentiality, err = confidentialityCodes.parse("consent.maxConfidentiality", string(grant.MaxConfidentiality)); err != nil {
		return nil, err
	}
	for _, pu := range grant.Purposes {
		v, err := purposeCodes.parse("consent.purposes", string(pu))
		if err != nil {
			return nil, err
		}
		pg.Purposes = append(pg.Purposes, v)
	}
	return &gatewayv1.GrantConsentRequest{Grant: pg, Signature: sig}, nil
}
