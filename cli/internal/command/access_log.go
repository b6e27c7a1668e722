package command

import (
	"context"

	"github.com/spf13/cobra"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/cli/internal/client"
)

type accessLogOptions struct {
	version          uint32
	purpose          string
	careRelationship bool
}

func newAccessLogCommand(deps Deps, g *globals) *cobra.Command {
	o := &accessLogOptions{}
	c := &cobra.Command{
		Use:   "log RECORD_ID --purpose P [--version N] [--care-relationship]",
		Short: "Log on the ledger that you read one of your organisation's records elsewhere",
		Long: `Record on the ledger that you, a member of the custodian's own staff, read
one of its records outside the gateway (for example in the hospital's own
record system). Without --care-relationship, the event raises an
OUTSIDE_CARE_RELATIONSHIP alert for auditors. The committed access event is
printed. ('medprov record get' logs its reads itself.)`,
		Example: `  medprov access log r-5f2a... --purpose TREAT --care-relationship
  medprov access log r-5f2a... --version 2 --purpose HOPERAT`,
		Args:              usageArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              func(cmd *cobra.Command, args []string) error { return o.run(cmd, deps, g, args[0]) },
	}
	f := c.Flags()
	f.Uint32Var(&o.version, "version", 0, "the version read; 0 for the latest")
	f.StringVar(&o.purpose, "purpose", "", "the purpose of use: "+purposeCodes.usage())
	f.BoolVar(&o.careRelationship, "care-relationship", false, "state that you treat the patient (without it the read raises an alert)")
	_ = c.RegisterFlagCompletionFunc("purpose", purposeCodes.completion())
	return c
}

func (o *accessLogOptions) run(cmd *cobra.Command, deps Deps, g *globals, recordID string) error {
	if err := checkArg("RECORD_ID", ledger.CheckID, recordID); err != nil {
		return err
	}
	if err := checkVersion(o.version); err != nil {
		return err
	}
	purpose, err := purposeCodes.parse("--purpose", o.purpose)
	if err != nil {
		return err
	}
	return printCall(cmd.Context(), deps, g, g.unaryCtx, func(ctx context.Context, c *client.Conn) (any, error) {
		resp, err := c.Access.LogAccess(ctx, &gatewayv1.LogAccessRequest{
			RecordId: recordID, Version: o.version, Purpose: purpose, CareRelationship: o.careRelationship,
		})
		return viewEvent(resp.GetEvent()), err
	})
}
