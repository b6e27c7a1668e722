package command

import (
	"encoding/base64"
	"fmt"

	"github.com/spf13/cobra"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
)

type patientRotateKeyOptions struct {
	file string
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
	c.Flags().StringVar(&o.file, "file", "", "the signed rotation (JSON from patient sign-rotation)")
	_ = c.MarkFlagFilename("file", "json")
	return c
}

func (o *patientRotateKeyOptions) run(cmd *cobra.Command, deps Deps, g *globals) error {
	var in rotationResult
	if err := readSignedFile("--file", o.file, &in); err != nil {
		return err
	}
	if _, err := in.Rotation.Validate(); err != nil {
		return fileFieldError("--file", o.file, err)
	}
	newKey, err := base64.StdEncoding.DecodeString(in.Rotation.NewPublicKey)
	if err != nil {
		return usagef("--file", "%s: rotation.newPublicKey: want standard base64", o.file)
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
	resp, err := conn.Consents.RotatePatientKey(ctx, &gatewayv1.RotatePatientKeyRequest{
		Patient: in.Rotation.Patient, NewPublicKey: newKey, Sequence: in.Rotation.Sequence, Signature: sig,
	})
	if err != nil {
		return rpcError(err)
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
