package command

import (
	"github.com/spf13/cobra"

	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/cli/internal/output"
)

type consentSignOptions struct {
	key                string
	consentID          string
	patient            string
	grantee            string
	role               string
	all                bool
	records            []string
	docTypes           []string
	purposes           []string
	maxConfidentiality string
	notBefore          string
	notAfter           string
	sequence           uint64
}

// consentResult is a signed consent grant, as GrantConsent takes it: the
// grant in canonical (normalised) form and the signature over its
// canonical encoding.
type consentResult struct {
	Consent   ledger.ConsentGrant `json:"consent"`
	Signature string              `json:"signature"`
}

func (r consentResult) signature() string { return r.Signature }

func (r consentResult) Rows() []output.Row {
	return []output.Row{
		{Name: "consent", Value: output.CompactJSON(r.Consent)},
		{Name: "signature", Value: r.Signature},
	}
}

// consentFlags maps the grant's fields, as Normalize names them, to flags.
var consentFlags = map[string]string{
	"consent.consentId":          "--consent-id",
	"consent.patient":            "--patient",
	"consent.grantee.mspId":      "--grantee",
	"consent.grantee.role":       "--role",
	"consent.scope":              "--all, --record or --doc-type",
	"consent.scope.recordIds":    "--record",
	"consent.scope.docTypes":     "--doc-type",
	"consent.purposes":           "--purpose",
	"consent.maxConfidentiality": "--max-confidentiality",
	"consent.notBefore":          "--not-before",
	"consent.notAfter":           "--not-after",
	"consent.sequence":           "--sequence",
}

func newConsentSignCommand(deps Deps, g *globals) *cobra.Command {
	o := &consentSignOptions{}
	c := &cobra.Command{
		Use:   "sign --key KEY --consent-id ID --patient PSEUDONYM --grantee MSP (--all | --record ID... | --doc-type CODE...) --purpose P... --max-confidentiality C --not-before T --not-after T --sequence N",
		Short: "Sign a consent grant with the patient's key",
		Long: `Build a consent grant, normalise it as the ledger does (lists sorted, duplicates
dropped) and sign its canonical encoding with the patient's private key:
Ed25519, or ECDSA P-256 (ASN.1 DER over SHA-256). The output, the grant and
the signature, is what GrantConsent takes. Nothing is sent.

Scope: --all, or one or more --record and/or --doc-type. Purposes are
HL7 purpose-of-use codes (TREAT, ETREAT, CAREMGT, HPAYMT, HOPERAT, HQUALIMP,
HRESCH, PUBHLTH, PATRQT, HLEGAL); confidentiality is U, L, M, N, R or V;
times are UTC like 2026-01-02T15:04:05Z; --sequence is the patient's next
sequence number. --role narrows the grant to clinician, records-officer or
researcher.`,
		Example: `  medprov consent sign --key patient.key --consent-id c-2026-001 --patient pt-0123... \
    --grantee HospitalBMSP --role clinician --doc-type 11502-2 --purpose TREAT --purpose CAREMGT \
    --max-confidentiality N --not-before 2026-01-01T00:00:00Z --not-after 2027-01-01T00:00:00Z \
    --sequence 1 -o json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(_ *cobra.Command, _ []string) error { return o.run(deps, g) },
	}
	f := c.Flags()
	f.StringVar(&o.key, "key", "", "the patient's private key file (PKCS#8 PEM)")
	f.StringVar(&o.consentID, "consent-id", "", "the consent's ID")
	f.StringVar(&o.patient, "patient", "", "the patient's pseudonym (pt-...)")
	f.StringVar(&o.grantee, "grantee", "", "the MSP ID of the organisation granted access")
	f.StringVar(&o.role, "role", "", "narrow the grant to one role: clinician, records-officer or researcher")
	f.BoolVar(&o.all, "all", false, "cover all of the patient's records")
	f.StringArrayVar(&o.records, "record", nil, "cover this record ID (repeatable)")
	f.StringArrayVar(&o.docTypes, "doc-type", nil, "cover records of this document type code (repeatable)")
	f.StringArrayVar(&o.purposes, "purpose", nil, "a purpose of use (repeatable, at least one)")
	f.StringVar(&o.maxConfidentiality, "max-confidentiality", "", "the highest confidentiality covered: U, L, M, N, R or V")
	f.StringVar(&o.notBefore, "not-before", "", "start of validity, UTC like 2026-01-02T15:04:05Z")
	f.StringVar(&o.notAfter, "not-after", "", "end of validity, UTC like 2027-01-02T15:04:05Z")
	f.Uint64Var(&o.sequence, "sequence", 0, "the patient's next sequence number")
	_ = c.RegisterFlagCompletionFunc("role", cobra.FixedCompletions([]string{string(ledger.RoleClinician), string(ledger.RoleRecordsOfficer), string(ledger.RoleResearcher)}, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("max-confidentiality", cobra.FixedCompletions([]string{"U", "L", "M", "N", "R", "V"}, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("purpose", cobra.FixedCompletions([]string{"TREAT", "ETREAT", "CAREMGT", "HPAYMT", "HOPERAT", "HQUALIMP", "HRESCH", "PUBHLTH", "PATRQT", "HLEGAL"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

func (o *consentSignOptions) run(deps Deps, g *globals) error {
	p, err := g.printer()
	if err != nil {
		return err
	}
	grant := ledger.ConsentGrant{
		ConsentID:          o.consentID,
		Patient:            o.patient,
		Grantee:            ledger.Grantee{MSPID: o.grantee, Role: ledger.Role(o.role)},
		Scope:              ledger.Scope{All: o.all, RecordIDs: o.records, DocTypes: o.docTypes},
		MaxConfidentiality: ledger.Confidentiality(o.maxConfidentiality),
		NotBefore:          o.notBefore,
		NotAfter:           o.notAfter,
		Sequence:           o.sequence,
	}
	for _, s := range o.purposes {
		grant.Purposes = append(grant.Purposes, ledger.Purpose(s))
	}
	grant, _, _, err = grant.Normalize()
	if err != nil {
		return flagError(err, consentFlags)
	}
	signer, err := loadPatientKey("--key", o.key)
	if err != nil {
		return err
	}
	sig, err := signer.sign(deps.Rand, grant.CanonicalBytes())
	if err != nil {
		return err
	}
	return p.Print(deps.Stdout, consentResult{Consent: grant, Signature: sig})
}
