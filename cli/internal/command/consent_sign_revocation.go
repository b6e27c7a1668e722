package command

import (
	"github.com/spf13/cobra"

	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/cli/internal/output"
)

type signRevocationOptions struct {
	key       string
	consentID string
	patient   string
	sequence  uint64
}

// revocationResult is a signed revocation, as RevokeConsent takes it.
type revocationResult struct {
	Revocation ledger.ConsentRevocation `json:"revocation"`
	Signature  string                   `json:"signature"`
}

func (r revocationResult) signature() string { return r.Signature }

func (r revocationResult) Rows() []output.Row {
	return []output.Row{
		{Name: "revocation", Value: output.CompactJSON(r.Revocation)},
		{Name: "signature", Value: r.Signature},
	}
}

var revocationFlags = map[string]string{
	"revocation.consentId": "--consent-id",
	"revocation.patient":   "--patient",
	"revocation.sequence":  "--sequence",
}

func newConsentSignRevocationCommand(deps Deps, g *globals) *cobra.Command {
	o := &signRevocationOptions{}
	c := &cobra.Command{
		Use:   "sign-revocation --key KEY --consent-id ID --patient PSEUDONYM --sequence N",
		Short: "Sign the revocation of a consent with the patient's key",
		Long: `Sign a consent revocation with the patient's private key. --sequence is the
patient's next sequence number. The output, the revocation and the
signature, is what RevokeConsent takes. Nothing is sent.`,
		Example: `  medprov consent sign-revocation --key patient.key --consent-id c-2026-001 \
    --patient pt-0123... --sequence 2 -o json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(_ *cobra.Command, _ []string) error { return o.run(deps, g) },
	}
	c.Flags().StringVar(&o.key, "key", "", "the patient's private key file (PKCS#8 PEM)")
	c.Flags().StringVar(&o.consentID, "consent-id", "", "the consent to revoke")
	c.Flags().StringVar(&o.patient, "patient", "", "the patient's pseudonym (pt-...)")
	c.Flags().Uint64Var(&o.sequence, "sequence", 0, "the patient's next sequence number")
	return c
}

func (o *signRevocationOptions) run(deps Deps, g *globals) error {
	p, err := g.printer()
	if err != nil {
		return err
	}
	r := ledger.ConsentRevocation{ConsentID: o.consentID, Patient: o.patient, Sequence: o.sequence}
	if err := r.Validate(); err != nil {
		return flagError(err, revocationFlags)
	}
	signer, err := loadPatientKey("--key", o.key)
	if err != nil {
		return err
	}
	sig, err := signer.sign(deps.Rand, r.CanonicalBytes())
	if err != nil {
		return err
	}
	return p.Print(deps.Stdout, revocationResult{Revocation: r, Signature: sig})
}
