package command

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/cli/internal/client"
	"github.com/medprov/medprov/gateway/bench"
)

type benchAccessOptions struct {
	bench        benchOptions
	custodianEnv string
	grantee      string
	records      int
	patients     int
}

func newBenchAccessCommand(deps Deps, g *globals) *cobra.Command {
	o := &benchAccessOptions{}
	c := &cobra.Command{
		Use:   "access --custodian-env FILE --grantee MSP [--records N] [--patients N] [--concurrency N] [--duration D] [--warmup D] [--json FILE|-] [--baseline FILE]",
		Short: "Load a gateway with access requests (RequestAccess), counting committed grants",
		Long: `Request access to another organisation's records through your gateway (the
requesting organisation, --grantee) as fast as --concurrency calls in flight
allow, purpose TREAT, and measure the committed RequestAccess transactions.
Connect to your gateway as a clinician, records officer or researcher with
clearance N or more, like the other gateway commands.

First, through the custodian's gateway, as the user of --custodian-env (an
environment file of a clinician or records officer of the custodian, as
'medprov dev up' writes them: export MEDPROV_GATEWAY=... MEDPROV_TLS_CA=...
MEDPROV_IDENTITY=...), the command registers --patients synthetic patients
with generated keys, anchors --records synthetic records (1 KiB of random
content, confidentiality N) spread over them, and submits for each patient a
consent signed with the patient's key that grants --grantee all of the
patient's records for TREAT up to N. One first request must be GRANTED.
Calls go round the records; granted requests write only keys of their own
transaction, so they do not conflict (denials would: they share an hourly
counter).

` + benchHelp,
		Example: `  medprov bench access --custodian-env medprov-dev/HospitalAMSP/officer.env --grantee HospitalBMSP \
    --concurrency 512 --duration 60s --warmup 10s --baseline put-c512.json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, deps, g) },
	}
	o.bench.register(c)
	f := c.Flags()
	f.StringVar(&o.custodianEnv, "custodian-env", "", "environment file naming the custodian's gateway, TLS CA and a staff identity")
	f.StringVar(&o.grantee, "grantee", "", "the MSP ID of your organisation, the requester, to which the consents are granted")
	f.IntVar(&o.records, "records", bench.DefaultAccessRecords, "synthetic records the calls go round")
	f.IntVar(&o.patients, "patients", bench.DefaultAccessPatients, "synthetic patients the records belong to, one consent each")
	_ = c.MarkFlagFilename("custodian-env", "env")
	for _, n := range []string{"grantee", "records", "patients"} {
		_ = c.RegisterFlagCompletionFunc(n, cobra.NoFileCompletions)
	}
	return c
}

func (o *benchAccessOptions) run(cmd *cobra.Command, deps Deps, g *globals) error {
	base, err := o.bench.check()
	if err != nil {
		return err
	}
	if o.custodianEnv == "" {
		return usagef("--custodian-env", "required: the environment file of a staff user of the custodian's gateway")
	}
	if err := checkArg("--grantee", ledger.CheckMSPID, o.grantee); err != nil {
		return err
	}
	if o.records < 1 {
		return usagef("--records", "want 1 or more, not %d", o.records)
	}
	if o.patients < 1 || o.patients > o.records {
		return usagef("--patients", "want 1 to --records (%d), not %d", o.records, o.patients)
	}
	if _, err := g.printer(); err != nil {
		return err
	}
	custodian, err := o.dialCustodian()
	if err != nil {
		return err
	}
	defer custodian.Close()
	n := bench.Connections(o.bench.concurrency)
	gws, closeAll, err := g.dialGateways(deps, n)
	if err != nil {
		return err
	}
	defer closeAll()
	ctx, cancel := g.transferCtx(cmd.Context())
	w, err := bench.NewAccess(ctx, bench.AccessOptions{
		Custodian: benchGateway(custodian), Requesters: gws, Grantee: o.grantee,
		Records: o.records, Patients: o.patients, Rand: deps.Rand, Now: deps.Now,
	})
	cancel()
	if err != nil {
		return benchSetupError(err)
	}
	return o.bench.runBench(cmd, deps, g, "access", w, n, base)
}

// dialCustodian connects to the custodian's gateway as the environment
// file says. Errors name --custodian-env.
func (o *benchAccessOptions) dialCustodian() (*client.Conn, error) {
	vars, err := readEnvFile(o.custodianEnv)
	if err != nil {
		return nil, fmt.Errorf("--custodian-env: %w", err)
	}
	for _, k := range []string{envGateway, envTLSCA, envIdentity} {
		if vars[k] == "" {
			return nil, usagef("--custodian-env", "%s sets no %s", o.custodianEnv, k)
		}
	}
	conn, err := client.Dial(client.Config{Address: vars[envGateway], IdentityDir: vars[envIdentity], TLSCAFile: vars[envTLSCA], UserAgent: "medprov-cli"})
	if err != nil {
		return nil, fmt.Errorf("--custodian-env: %w", err)
	}
	return conn, nil
}
