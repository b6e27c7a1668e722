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
	transaction   string
}

func newBenchPutCommand(deps Deps, g *globals) *cobra.Command {
	o := &benchPutOptions{}
	c := &cobra.Command{
		Use:   "put --gateway-config FILE [--transaction baseline|anchor] [--identity NAME] [--concurrency N] [--duration D] [--warmup D] [--json FILE|-] [--baseline FILE]",
		Short: "Load a Fabric peer directly (Baseline:Put, or AnchorRecord), the baseline of the others",
		Long: `Submit a transaction straight to your organisation's Fabric peer with
fabric-gateway, bypassing the medprov gateway, and measure the transactions
committed VALID: the floor against which 'bench anchor' and 'bench access'
are read (docs/BENCHMARKS.md). It needs a Fabric network with the medprov
chaincode (and its Baseline contract) deployed.

--transaction chooses what each call submits:
  baseline  (the default; workload "put") the chaincode's Baseline:Put: one
            fixed-value key named by a random nonce.
  anchor    (workload "put-anchor") AnchorRecord exactly as the gateway
            submits it for 'bench anchor': a new record ID per call, the
            salted commitment (fresh random salt) to 1 KiB of synthetic
            random content, document type 18842-5, confidentiality N, for
            one synthetic patient with a generated Ed25519 key that the
            command registers first (RegisterPatient). No gateway, no
            store: set against 'bench anchor' it separates the gateway's
            overhead from the weight of the transaction. 'bench anchor'
            signs as its user (a clinician in test-network/bench.sh);
            --identity clinician signs as the same role.

A proposal the chaincode refuses is counted under the chaincode's own code
(ALREADY_EXISTS, PERMISSION_DENIED, ...) rather than the peer's ABORTED.

--gateway-config is a medprov-gateway configuration file with
ledger.backend fabric (test-network/up.sh writes one per organisation): its
peer endpoint, peer TLS CA, channel, chaincode, organisation and wallet are
used. --identity names the wallet identity that signs (default: the file's
wallet.serviceIdentity): for baseline a records officer or an admin, for
anchor a clinician or a records officer with clearance N or above. Here
--identity is a wallet name, not the identity folder of the other commands.
One gRPC connection carries every call, as in the gateway.

` + benchHelp,
		Example: `  medprov bench put --gateway-config test-network/gateways/HospitalAMSP/gateway.yaml --concurrency 1 --duration 30s --json put-c1.json
  medprov bench put --gateway-config test-network/gateways/HospitalAMSP/gateway.yaml --identity admin --concurrency 512 --duration 60s --warmup 10s --json put-c512.json
  medprov bench put --gateway-config test-network/gateways/HospitalAMSP/gateway.yaml --transaction anchor --concurrency 512 --duration 60s --warmup 10s --baseline put-c512.json --json put-anchor-c512.json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, deps, g) },
	}
	o.bench.register(c)
	f := c.Flags()
	f.StringVar(&o.gatewayConfig, "gateway-config", "", "medprov-gateway configuration file with ledger.backend fabric")
	f.StringVar(&o.identity, "identity", "", "wallet identity that signs (default: the file's wallet.serviceIdentity)")
	f.StringVar(&o.transaction, "transaction", string(bench.TransactionBaseline), "what each call submits: baseline (Baseline:Put) or anchor (AnchorRecord)")
	_ = c.MarkFlagFilename("gateway-config", "yaml", "yml")
	_ = c.RegisterFlagCompletionFunc("identity", cobra.NoFileCompletions)
	names := make([]string, len(bench.Transactions))
	for i, t := range bench.Transactions {
		names[i] = string(t)
	}
	_ = c.RegisterFlagCompletionFunc("transaction", cobra.FixedCompletions(names, cobra.ShellCompDirectiveNoFileComp))
	return c
}

func (o *benchPutOptions) run(cmd *cobra.Command, deps Deps, g *globals) error {
	base, err := o.bench.check()
	if err != nil {
		return err
	}
	tx, err := bench.ParseTransaction(o.transaction)
	if err != nil || o.transaction == "" {
		return usagef("--transaction", "want %s or %s, not %q", bench.TransactionBaseline, bench.TransactionAnchor, o.transaction)
	}
	if o.gatewayConfig == "" {
		return usagef("--gateway-config", "required: a medprov-gateway configuration file with ledger.backend fabric")
	}
	if _, err := g.printer(); err != nil {
		return err
	}
	p, err := bench.OpenPut(cmd.Context(), bench.PutOptions{ConfigFile: o.gatewayConfig, Identity: o.identity, Transaction: tx, Rand: deps.Rand})
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return usagef("--gateway-config", "%v", err)
		case errors.Is(err, bench.ErrSetup):
			return benchSetupError(err)
		}
		return err
	}
	defer p.Close()
	return o.bench.runBench(cmd, deps, g, p.Name(), p, 1, base)
}
