package command

import (
	"github.com/spf13/cobra"

	"github.com/medprov/medprov/gateway/bench"
)

type benchAnchorOptions struct {
	bench benchOptions
}

func newBenchAnchorCommand(deps Deps, g *globals) *cobra.Command {
	o := &benchAnchorOptions{}
	c := &cobra.Command{
		Use:   "anchor [--concurrency N] [--duration D] [--warmup D] [--json FILE|-] [--baseline FILE]",
		Short: "Load a gateway with record uploads (AddRecord), counting committed anchors",
		Long: `Upload new records through your gateway as fast as --concurrency calls in
flight allow, each 1 KiB of synthetic random content (distinct per call) for
one synthetic patient that the command registers first, and measure the
committed AnchorRecord transactions. Connect as a clinician or records
officer, like the other gateway commands.

` + benchHelp,
		Example: `  medprov bench anchor --concurrency 1 --duration 30s --json anchor-c1.json
  medprov bench anchor --concurrency 512 --duration 60s --warmup 10s --baseline put-c512.json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, deps, g) },
	}
	o.bench.register(c)
	return c
}

func (o *benchAnchorOptions) run(cmd *cobra.Command, deps Deps, g *globals) error {
	base, err := o.bench.check()
	if err != nil {
		return err
	}
	if _, err := g.printer(); err != nil {
		return err
	}
	n := bench.Connections(o.bench.concurrency)
	gws, closeAll, err := g.dialGateways(deps, n)
	if err != nil {
		return err
	}
	defer closeAll()
	ctx, cancel := g.unaryCtx(cmd.Context())
	w, err := bench.NewAnchor(ctx, gws, deps.Rand)
	cancel()
	if err != nil {
		return benchSetupError(err)
	}
	return o.bench.runBench(cmd, deps, g, "anchor", w, n, base)
}
