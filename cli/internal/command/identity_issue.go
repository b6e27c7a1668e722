package command

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/medprov/medprov/cli/internal/output"
	"github.com/medprov/medprov/internal/devca"
)

type identityIssueOptions struct {
	caDir     string
	msp       string
	name      string
	role      string
	clearance string
	nodeOU    string
	out       string
}

// identityResult is what identity issue prints.
type identityResult struct {
	MSPID       string `json:"mspId"`
	Name        string `json:"name"`
	Role        string `json:"role,omitempty"`
	Clearance   string `json:"clearance,omitempty"`
	NodeOU      string `json:"nodeOU"`
	MSPDir      string `json:"mspDir"`
	Fingerprint string `json:"certFingerprint"`
	NotAfter    string `json:"notAfter"`
}

func (r identityResult) Rows() []output.Row {
	return []output.Row{
		{Name: "msp id", Value: r.MSPID},
		{Name: "name", Value: r.Name},
		{Name: "role", Value: r.Role},
		{Name: "clearance", Value: r.Clearance},
		{Name: "node ou", Value: r.NodeOU},
		{Name: "msp dir", Value: r.MSPDir},
		{Name: "cert fingerprint", Value: r.Fingerprint},
		{Name: "not after", Value: r.NotAfter},
	}
}

func newIdentityIssueCommand(deps Deps, g *globals) *cobra.Command {
	o := &identityIssueOptions{}
	c := &cobra.Command{
		Use:   "issue --ca-dir DIR --msp MSP --name NAME --role ROLE --clearance C --out DIR",
		Short: "Issue an identity from a development CA (development only)",
		Long: `Issue a user identity from a DEVELOPMENT CA, such as the ones a devnet
creates under its orgs folder. This is for development and tests only: the
CA's private keys sit unprotected in --ca-dir, and a production
organisation issues identities with its own CA (Fabric CA or an HSM-backed
one).

The certificate carries the medprov.role and medprov.clearance attributes
as Fabric CA encodes them. The identity is written as an MSP folder
(--out/msp) with its TLS certificate and key (--out/tls); an existing
different private key is never overwritten.

Roles: clinician, records-officer, researcher, auditor, admin.
Clearances: U, L, M, N, R, V.`,
		Example: `  medprov identity issue --ca-dir devnet/orgs/HospitalAMSP --msp HospitalAMSP \
    --name alice --role clinician --clearance N --out ./identities/alice`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(_ *cobra.Command, _ []string) error { return o.run(deps, g) },
	}
	f := c.Flags()
	f.StringVar(&o.caDir, "ca-dir", "", "the development CA's organisation folder")
	f.StringVar(&o.msp, "msp", "", "the organisation's MSP ID (must match the CA)")
	f.StringVar(&o.name, "name", "", "the identity's common name")
	f.StringVar(&o.role, "role", "", "the medprov.role attribute: "+fmt.Sprint(devca.Roles()))
	f.StringVar(&o.clearance, "clearance", "", "the medprov.clearance attribute: "+fmt.Sprint(devca.Clearances()))
	f.StringVar(&o.nodeOU, "node-ou", devca.NodeOUClient, "the Fabric NodeOU: "+fmt.Sprint(devca.NodeOUs()))
	f.StringVar(&o.out, "out", "", "folder to write the identity to")
	_ = c.MarkFlagDirname("ca-dir")
	_ = c.MarkFlagDirname("out")
	_ = c.RegisterFlagCompletionFunc("role", cobra.FixedCompletions(devca.Roles(), cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("clearance", cobra.FixedCompletions(devca.Clearances(), cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("node-ou", cobra.FixedCompletions(devca.NodeOUs(), cobra.ShellCompDirectiveNoFileComp))
	return c
}

func (o *identityIssueOptions) run(deps Deps, g *globals) error {
	for _, f := range []struct{ flag, v string }{
		{"--ca-dir", o.caDir}, {"--msp", o.msp}, {"--name", o.name},
		{"--role", o.role}, {"--clearance", o.clearance}, {"--out", o.out},
	} {
		if f.v == "" {
			return usagef(f.flag, "required")
		}
	}
	if err := oneOf("--role", o.role, devca.Roles()); err != nil {
		return err
	}
	if err := oneOf("--clearance", o.clearance, devca.Clearances()); err != nil {
		return err
	}
	if err := oneOf("--node-ou", o.nodeOU, devca.NodeOUs()); err != nil {
		return err
	}
	p, err := g.printer()
	if err != nil {
		return err
	}
	org, err := devca.LoadOrg(o.caDir, devca.WithRand(deps.Rand), devca.WithClock(deps.Now))
	if err != nil {
		return fmt.Errorf("--ca-dir: %w", err)
	}
	if org.MSPID != o.msp {
		return usagef("--msp", "%q differs from the CA's MSP ID %q", o.msp, org.MSPID)
	}
	id, err := org.Issue(devca.IdentityRequest{Name: o.name, NodeOU: o.nodeOU, Role: o.role, Clearance: o.clearance})
	if err != nil {
		return fmt.Errorf("--name: %w", err)
	}
	if err := org.WriteIdentity(o.out, id); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	fmt.Fprintf(deps.Stderr, "issued %s of %s from a development CA; do not use it in production\n", o.name, o.msp)
	sum := sha256.Sum256(id.Cert.Raw)
	return p.Print(deps.Stdout, identityResult{
		MSPID: id.MSPID, Name: id.Name, Role: o.role, Clearance: o.clearance, NodeOU: o.nodeOU,
		MSPDir:      filepath.Join(o.out, "msp"),
		Fingerprint: hex.EncodeToString(sum[:]),
		NotAfter:    id.Cert.NotAfter.UTC().Format("2006-01-02T15:04:05Z"),
	})
}

func oneOf(flag, v string, allowed []string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return usagef(flag, "want one of %v, not %q", allowed, v)
}
