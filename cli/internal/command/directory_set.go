package command

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/cli/internal/client"
)

// maxDirectoryCA is the largest CA certificate PEM a directory entry holds.
const maxDirectoryCA = 8192

type directorySetOptions struct {
	endpoint   string
	endpointCA string
}

func newDirectorySetCommand(deps Deps, g *globals) *cobra.Command {
	o := &directorySetOptions{}
	c := &cobra.Command{
		Use:   "set --endpoint HOST:PORT [--endpoint-ca FILE]",
		Short: "Publish where your gateway listens for other gateways (admins)",
		Long: `Publish your organisation's entry in the on-chain directory, replacing any
existing one: the host:port where other organisations' gateways reach your
gateway's exchange service, and the one CA certificate that signs its TLS
certificate. Admins of the gateway's organisation only.

The CA is --endpoint-ca, a PEM file with exactly one CA certificate (at
most 8192 bytes). Without it, the CA of the connection (--tls-ca or
MEDPROV_TLS_CA) is published, which is right when the exchange port
serves the same TLS certificate as the API.`,
		Example: `  medprov directory set --endpoint gateway.hospital-a.example:7444
  medprov directory set --endpoint gateway.hospital-a.example:7444 --endpoint-ca exchange-ca.pem -o json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, deps, g) },
	}
	c.Flags().StringVar(&o.endpoint, "endpoint", "", "host:port of your gateway's exchange service")
	c.Flags().StringVar(&o.endpointCA, "endpoint-ca", "", "PEM CA certificate that signs that endpoint's TLS certificate (default: --tls-ca)")
	_ = c.RegisterFlagCompletionFunc("endpoint", cobra.NoFileCompletions)
	_ = c.MarkFlagFilename("endpoint-ca", "pem", "crt")
	return c
}

func (o *directorySetOptions) run(cmd *cobra.Command, deps Deps, g *globals) error {
	if err := checkArg("--endpoint", ledger.CheckEndpoint, o.endpoint); err != nil {
		return err
	}
	flag, path := "--endpoint-ca", o.endpointCA
	if path == "" {
		flag, path = "--tls-ca", value(deps, g.conn.tlsCA, envTLSCA)
		if path == "" {
			return usagef("--endpoint-ca", "required: the PEM CA certificate of the endpoint (or give --tls-ca or %s)", envTLSCA)
		}
	}
	caPEM, err := readOneCA(flag, path)
	if err != nil {
		return err
	}
	return printCall(cmd.Context(), deps, g, g.unaryCtx, func(ctx context.Context, c *client.Conn) (any, error) {
		resp, err := c.Admin.SetDirectoryEntry(ctx, &gatewayv1.SetDirectoryEntryRequest{Endpoint: o.endpoint, TlsCaCertPem: caPEM})
		return viewDirectory(resp.GetEntry()), err
	})
}

// readOneCA reads a PEM file that must hold exactly one CA certificate,
// and returns it re-encoded.
func readOneCA(flag, path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return "", usagef(flag, "%s: want one PEM CERTIFICATE block", path)
	}
	if strings.TrimSpace(string(rest)) != "" {
		return "", usagef(flag, "%s: want exactly one certificate, found more", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return "", usagef(flag, "%s: not an X.509 certificate: %v", path, err)
	}
	if !cert.IsCA {
		return "", usagef(flag, "%s: not a CA certificate", path)
	}
	out := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: block.Bytes}))
	if len(out) > maxDirectoryCA {
		return "", usagef(flag, "%s: the certificate is larger than %d bytes", path, maxDirectoryCA)
	}
	return out, nil
}
