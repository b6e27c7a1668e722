package command

import (
	"context"

	"github.com/spf13/cobra"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/cli/internal/client"
)

type recordEraseOptions struct {
	reason string
	yes    bool
}

func newRecordEraseCommand(deps Deps, g *globals) *cobra.Command {
	o := &recordEraseOptions{}
	c := &cobra.Command{
		Use:   "erase RECORD_ID --reason REASON [--yes]",
		Short: "Erase a record for good (crypto-shredding); records officers only",
		Long: `Erase a record held by your organisation: the gateway destroys the data
keys and salts of every version, so that neither the content nor the link
between content and ledger can ever be recovered, and writes the erasure
tombstone on the ledger. This cannot be undone. The reason is one of
` + erasureReasonCodes.usage() + `.

The command asks you to type the record ID to confirm; --yes skips the
question. Without a terminal on stdin, --yes is required.

The evidence of the latest version, as erased, is printed.`,
		Example: `  medprov record erase r-5f2a... --reason PATIENT-REQUEST
  medprov record erase r-5f2a... --reason RETENTION-EXPIRED --yes -o json`,
		Args:              usageArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              func(cmd *cobra.Command, args []string) error { return o.run(cmd, deps, g, args[0]) },
	}
	c.Flags().StringVar(&o.reason, "reason", "", "why the record is erased: "+erasureReasonCodes.usage())
	c.Flags().BoolVar(&o.yes, "yes", false, "do not ask for confirmation")
	_ = c.RegisterFlagCompletionFunc("reason", erasureReasonCodes.completion())
	return c
}

func (o *recordEraseOptions) run(cmd *cobra.Command, deps Deps, g *globals, recordID string) error {
	if err := checkArg("RECORD_ID", ledger.CheckID, recordID); err != nil {
		return err
	}
	reason, err := erasureReasonCodes.parse("--reason", o.reason)
	if err != nil {
		return err
	}
	p, err := g.printer()
	if err != nil {
		return err
	}
	if !o.yes {
		q := "Erase record " + recordID + " (" + o.reason + ")? Its data keys and salts are destroyed for good\n" +
			"and an erasure tombstone is written on the ledger. This cannot be undone."
		if err := confirm(deps, q, recordID); err != nil {
			return err
		}
	}
	resp, err := call(cmd.Context(), deps, g, g.unaryCtx, func(ctx context.Context, c *client.Conn) (*gatewayv1.EraseRecordResponse, error) {
		return c.Records.EraseRecord(ctx, &gatewayv1.EraseRecordRequest{RecordId: recordID, Reason: reason})
	})
	if err != nil {
		return err
	}
	return p.Print(deps.Stdout, viewEvidence(resp.GetEvidence()))
}
