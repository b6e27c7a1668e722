package command

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/cli/internal/client"
)

type patientRotateKeyOptions struct {
	file signedFileFlag
}

func newPatientRotateKeyCommand(deps Deps, g *globals) *cobra.Command {
	o := &patientRotateKeyOptions{}
	c := &cobra.Command{
		Use:   "rotate-key --file ROTATION.json",
		Short: "Replace a patient's key on the ledger with a signed rotation",
		Long: `Submit a key rotation that the patient signed with the current key, as
'medprov patient sign-rotation ... -o json' writes it, through your
gateway. The ledger checks the signature and the sequence number, then
replaces the key; the pseudonym stays. The updated patient is printed.`,
		Example: `  medprov patient sign-rotation --key old/patient.key --patient pt-0123... \
    --new-public-key @new/patient.pub --sequence 4 -o json > rotation.json
  medprov patient rotate-key --file rotation.json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, deps, g) },
	}
	o.file.register(c, "the signed rotation (JSON from patient sign-rotation)")
	return c
}

func (o *patientRotateKeyOptions) run(cmd *cobra.Command, deps Deps, g *globals) error {
	var in rotationResult
	var newKey ledger.PatientKey
	sig, err := o.file.read(&in, func() (err error) {
		newKey, err = in.Rotation.Validate()
		return err
	})
	if err != nil {
		return err
	}
	p, err := g.printer()
	if err != nil {
		return err
	}
	resp, err := call(cmd.Context(), deps, g, g.unaryCtx, func(ctx context.Context, c *client.Conn) (*gatewayv1.RotatePatientKeyResponse, error) {
		return c.Consents.RotatePatientKey(ctx, &gatewayv1.RotatePatientKeyRequest{
			Patient: in.Rotation.Patient, NewPublicKey: newKey.DER, Sequence: in.Rotation.Sequence, Signature: sig,
		})
	})
	if err != nil {
		return err
	}
	v := viewPatient(resp.GetPatient())
	if err := p.Print(deps.Stdout, v); err != nil {
		return err
	}
	if v.PublicKey != in.Rotation.NewPublicKey {
		return fmt.Errorf("%w: the gateway's patient does not carry the new key", ErrVerificationFailed)
	}
	return nil
}
