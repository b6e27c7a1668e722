package command

import (
	"context"

	"github.com/spf13/cobra"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/cli/internal/client"
)

type recordHistoryOptions struct{}

func newRecordHistoryCommand(deps Deps, g *globals) *cobra.Command {
	o := &recordHistoryOptions{}
	return &cobra.Command{
		Use:   "history RECORD_ID",
		Short: "List every version of a record, oldest first",
		Long: `List the on-chain evidence of every version of a record held by your
organisation, oldest first: status, document type, confidentiality,
amendment reason, anchoring transaction. Versions above your clearance are
left out. All pages are read.`,
		Example: `  medprov record history r-5f2a...
  medprov record history r-5f2a... -o json`,
		Args:              usageArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              func(cmd *cobra.Command, args []string) error { return o.run(cmd, deps, g, args[0]) },
	}
}

func (o *recordHistoryOptions) run(cmd *cobra.Command, deps Deps, g *globals, recordID string) error {
	if err := checkArg("RECORD_ID", ledger.CheckID, recordID); err != nil {
		return err
	}
	return printPages(cmd.Context(), deps, g, evidenceList{}, viewEvidence,
		func(ctx context.Context, c *client.Conn, token string) ([]*gatewayv1.RecordEvidence, string, error) {
			resp, err := c.Records.RecordHistory(ctx, &gatewayv1.RecordHistoryRequest{RecordId: recordID, PageToken: token})
			return resp.GetVersions(), resp.GetNextPageToken(), err
		})
}
