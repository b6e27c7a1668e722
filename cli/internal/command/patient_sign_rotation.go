package command

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/cli/internal/output"
)

type signRotationOptions struct {
	key          string
	patient      string
	newPublicKey string
	sequence     uint64
}

// rotationResult is a signed key rotation, as RotatePatientKey takes it.
type rotationResult struct {
	Rotation  ledger.KeyRotation `json:"rotation"`
	Signature string             `json:"signature"`
}

func (r rotationResult) signature() string { return r.Signature }

func (r rotationResult) Rows() []output.Row {
	return []output.Row{
		{Name: "rotation", Value: output.CompactJSON(r.Rotation)},
		{Name: "signature", Value: r.Signature},
	}
}

var rotationFlags = map[string]string{
	"rotation.patient":      "--patient",
	"rotation.newPublicKey": "--new-public-key",
	"rotation.sequence":     "--sequence",
}

func newPatientSignRotationCommand(deps Deps, g *globals) *cobra.Command {
	o := &signRotationOptions{}
	c := &cobra.Command{
		Use:   "sign-rotation --key KEY --patient PSEUDONYM --new-public-key KEY --sequence N",
		Short: "Sign the replacement of a patient's key with the current key",
		Long: `Sign a key rotation: the patient's current private key (--key) authorises
the new public key. --new-public-key is the base64 PKIX key that keygen
prints, or @FILE for a PEM public key file such as patient.pub. --sequence
is the patient's next sequence number. Nothing is sent: the output is what
a gateway submits.`,
		Example: `  medprov patient sign-rotation --key old/patient.key --patient pt-0123... \
    --new-public-key @new/patient.pub --sequence 4 -o json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(_ *cobra.Command, _ []string) error { return o.run(deps, g) },
	}
	c.Flags().StringVar(&o.key, "key", "", "the patient's current private key file (PKCS#8 PEM)")
	c.Flags().StringVar(&o.patient, "patient", "", "the patient's pseudonym (pt-...)")
	c.Flags().StringVar(&o.newPublicKey, "new-public-key", "", "the new public key: base64 PKIX, or @FILE for a PEM file")
	c.Flags().Uint64Var(&o.sequence, "sequence", 0, "the patient's next sequence number")
	return c
}

func (o *signRotationOptions) run(deps Deps, g *globals) error {
	p, err := g.printer()
	if err != nil {
		return err
	}
	newKey, err := readPublicKeyFlag("--new-public-key", o.newPublicKey)
	if err != nil {
		return err
	}
	r := ledger.KeyRotation{Patient: o.patient, NewPublicKey: newKey, Sequence: o.sequence}
	if _, err := r.Validate(); err != nil {
		return flagError(err, rotationFlags)
	}
	signer, err := loadPatientKey("--key", o.key)
	if err != nil {
		return err
	}
	sig, err := signer.sign(deps.Rand, r.CanonicalBytes())
	if err != nil {
		return err
	}
	return p.Print(deps.Stdout, rotationResult{Rotation: r, Signature: sig})
}

// readPublicKeyFlag returns a public key flag's value as base64 PKIX: the
// value itself, or the key in the PEM file named after '@'.
func readPublicKeyFlag(flag, v string) (string, error) {
	if v == "" {
		return "", usagef(flag, "required: base64 PKIX public key, or @FILE")
	}
	path, ok := strings.CutPrefix(v, "@")
	if !ok {
		return v, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" {
		return "", usagef(flag, "%s: want a PEM \"PUBLIC KEY\" block", path)
	}
	if _, err := x509.ParsePKIXPublicKey(block.Bytes); err != nil {
		return "", usagef(flag, "%s: not a PKIX public key", path)
	}
	return base64.StdEncoding.EncodeToString(block.Bytes), nil
}
