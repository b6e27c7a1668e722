package command

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/cli/internal/output"
)

// Key file names in the --out folder.
const (
	privateKeyFile = "patient.key"
	publicKeyFile  = "patient.pub"
)

type keygenOptions struct {
	out string
	alg string
}

// keygenResult is what keygen prints.
type keygenResult struct {
	Algorithm      string `json:"algorithm"`
	PublicKey      string `json:"publicKey"`
	Pseudonym      string `json:"pseudonym"`
	PrivateKeyFile string `json:"privateKeyFile"`
	PublicKeyFile  string `json:"publicKeyFile"`
}

func (r keygenResult) Rows() []output.Row {
	return []output.Row{
		{Name: "algorithm", Value: r.Algorithm},
		{Name: "public key", Value: r.PublicKey},
		{Name: "pseudonym", Value: r.Pseudonym},
		{Name: "private key file", Value: r.PrivateKeyFile},
		{Name: "public key file", Value: r.PublicKeyFile},
	}
}

func newPatientKeygenCommand(deps Deps, g *globals) *cobra.Command {
	o := &keygenOptions{}
	c := &cobra.Command{
		Use:   "keygen --out DIR [--alg ed25519|p256]",
		Short: "Generate a patient's key pair",
		Long: `Generate a patient's signing key pair on this device.

The private key is written to DIR/` + privateKeyFile + ` (PKCS#8 PEM, mode 0600) and
the public key to DIR/` + publicKeyFile + ` (PKIX PEM). Existing files are never
overwritten. The command prints the public key in the base64 PKIX form that
RegisterPatient takes, and the pseudonym the ledger will derive from it.
Keep the private key on the patient's device: it signs consents.`,
		Example: `  medprov patient keygen --out ~/.medprov/patient
  medprov patient keygen --out ./alice --alg p256 -o json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(_ *cobra.Command, _ []string) error { return o.run(deps, g) },
	}
	c.Flags().StringVar(&o.out, "out", "", "folder for the key files (created if missing)")
	c.Flags().StringVar(&o.alg, "alg", algEd25519, "key algorithm: ed25519 or p256")
	_ = c.RegisterFlagCompletionFunc("alg", cobra.FixedCompletions([]string{algEd25519, algP256}, cobra.ShellCompDirectiveNoFileComp))
	_ = c.MarkFlagDirname("out")
	return c
}

func (o *keygenOptions) run(deps Deps, g *globals) error {
	if o.out == "" {
		return usagef("--out", "required: the folder for the key files")
	}
	p, err := g.printer()
	if err != nil {
		return err
	}
	key, err := generateKey(o.alg, deps.Rand)
	if err != nil {
		return err
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("encoding the private key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return fmt.Errorf("encoding the public key: %w", err)
	}
	pk, err := ledger.ParsePatientKey("publicKey", base64.StdEncoding.EncodeToString(pubDER))
	if err != nil {
		return err
	}
	privPath := filepath.Join(o.out, privateKeyFile)
	pubPath := filepath.Join(o.out, publicKeyFile)
	for _, path := range []string{privPath, pubPath} {
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("--out: %s already exists; refusing to overwrite a key", path)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("--out: %w", err)
		}
	}
	if err := os.MkdirAll(o.out, 0o700); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if err := writeNew(privPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), 0o600); err != nil {
		return err
	}
	if err := writeNew(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		_ = os.Remove(privPath)
		return err
	}
	fmt.Fprintf(deps.Stderr, "wrote %s and %s; keep the private key safe\n", privPath, pubPath)
	return p.Print(deps.Stdout, keygenResult{
		Algorithm:      pk.Algorithm,
		PublicKey:      pk.Base64(),
		Pseudonym:      pk.Pseudonym(),
		PrivateKeyFile: privPath,
		PublicKeyFile:  pubPath,
	})
}

// writeNew creates path with data and mode, failing if it exists, and syncs
// it.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("--out: writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("--out: writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("--out: writing %s: %w", path, err)
	}
	return nil
}
