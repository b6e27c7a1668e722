package command

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/spf13/cobra"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/cli/internal/client"
)

type patientRegisterOptions struct {
	publicKey string
}

func newPatientRegisterCommand(deps Deps, g *globals) *cobra.Command {
	o := &patientRegisterOptions{}
	c := &cobra.Command{
		Use:   "register --public-key FILE",
		Short: "Register a patient's public key on the ledger",
		Long: `Register a patient's public key through your gateway; the ledger derives
the patient's pseudonym from it. --public-key is the PEM public key file
that 'medprov patient keygen' writes (` + publicKeyFile + `). The private key
never leaves the patient's device and is not needed here.

The registered patient is printed; the command checks that the ledger's
pseudonym is the one derived from the key.`,
		Example: `  medprov patient register --public-key ~/.medprov/patient/patient.pub
  medprov patient register --public-key patient.pub -o json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, deps, g) },
	}
	c.Flags().StringVar(&o.publicKey, "public-key", "", "the patient's PEM public key file (patient.pub from keygen)")
	_ = c.MarkFlagFilename("public-key", "pub", "pem")
	return c
}

func (o *patientRegisterOptions) run(cmd *cobra.Command, deps Deps, g *globals) error {
	if o.publicKey == "" {
		return usagef("--public-key", "required: the patient's PEM public key file")
	}
	b64, err := readPublicKeyFlag("--public-key", "@"+o.publicKey)
	if err != nil {
		return err
	}
	key, err := ledger.ParsePatientKey("--public-key", b64)
	if err != nil {
		return flagError(err, map[string]string{"--public-key": "--public-key"})
	}
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return fmt.Errorf("--public-key: %w", err)
	}
	p, err := g.printer()
	if err != nil {
		return err
	}
	resp, err := call(cmd.Context(), deps, g, g.unaryCtx, func(ctx context.Context, c *client.Conn) (*gatewayv1.RegisterPatientResponse, error) {
		return c.Consents.RegisterPatient(ctx, &gatewayv1.RegisterPatientRequest{PublicKey: der})
	})
	if err != nil {
		return err
	}
	v := viewPatient(resp.GetPatient())
	if err := p.Print(deps.Stdout, v); err != nil {
		return err
	}
	if v.Pseudonym != key.Pseudonym() {
		return fmtVerify("the gateway registered pseudonym %s, but the key's pseudonym is %s", v.Pseudonym, key.Pseudonym())
	}
	return nil
}
