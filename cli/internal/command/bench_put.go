package command

import (
	"errors"
	"io/fs"

	"github.com/spf13/cobra"

	"github.com/medprov/medprov/gateway/bench"
)

type benchPutOptions struct {
	bench         benchOptions
	gatewayConfig string
	identity      string
}

func newBenchPutCommand(deps Deps, g *globals) *cobra.Command {
	o := &benchPutOptions{}
	c := &cobra.Command{
		Use:   "put --gateway-config FILE [--identity NAME] [--concurrency N] [--duration D] [--warmup D] [--json FILE|-] [--baseline FILE]",
		Short: "Load a Fabric peer with the chaincode's Baseline:Put, the baseline of the others",
		Long: `Submit the chaincode's Baseline:Put (one fixed-value key per call, named by a
random nonce) straight to your organisation's Fabric peer with
fabric-gateway, bypassing the medprov gateway, and measure the transactions
committed VALID: the floor against which 'bench anchor' and 'bench access'
are read (docs/BENCHMARKS.md). It needs a Fabric network with the Baseline
contract deployed.

--gateway-config is a medprov-gateway configuration file with
ledger.backend fabric (test-network/up.sh writes one per organisation): its
peer endpoint, peer TLS CA, channel, chaincode, organisation and wallet are
used. --identity names the wallet identity that signs (a records officer or
an admin; default: the file's wallet.serviceIdentity). Here --identity is a
wallet name, not the identity folder of the other commands. One gRPC
connection carries every call, as in the gateway.

` + benchHelp,
		Example: `  medprov bench put --gateway-config test-network/gateways/HospitalAMSP/gateway.yaml --concurrency 1 --duration 30s --json put-c1.json
  medprov bench put --gateway-config test-network/gateways/HospitalAMSP/gateway.yaml --identity admin --concurrency 512 --duration 60s --warmup 10s --json put-c512.json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, deps, g) },
	}
	o.bench.register(c)
	f := c.Flags()
	f.StringVar(&o.gatewayConfig, "gateway-config", "", "medprov-gateway configuration file with ledger.backend fabric")
	f.StringVar(&o.identity, "identity", "", "wallet identity that signs (default: the file's wallet.serviceIdentity)")
	_ = c.MarkFlagFilename("gateway-config", "yaml", "yml")
	_ = c.RegisterFlagCompletionFunc("identity", cobra.NoFileCompletions)
	return c
}

func (o *benchPutOptions) run(cmd *cobra.Command, deps Deps, g *globals) error {
	base, err := o.bench.check()
	if err != nil {
		return err
	}
	if o.gatewayConfig == "" {
		return usagef("--gateway-config", "required: a medprov-gateway configuration file with ledger.backend fabric")
	}
	if _, err := g.printer(); err != nil {
		return err
	}
	p, err := bench.OpenPut(bench.PutOptions{ConfigFile: o.gatewayConfig, Identity: o.identity, Rand: deps.Rand})
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return usagef("--gateway-config", "%v", err)
		}
		return err
	}
	defer p.Close()
	return o.bench.runBench(cmd, deps, g, "put", p, 1, base)
}
