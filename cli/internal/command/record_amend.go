package command

import (
	"encoding/hex"
	"fmt"

	"github.com/spf13/cobra"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/cli/internal/output"
)

type recordAmendOptions struct {
	reason          string
	docType         string
	confidentiality string
	progress        progressFlags
}

// amendResult is the outcome of an amendment.
type amendResult struct {
	File          string       `json:"file"`
	Size          int64        `json:"size"`
	ContentSHA256 string       `json:"contentSha256"`
	BlockNumber   uint64       `json:"blockNumber"`
	Evidence      evidenceView `json:"evidence"`
}

func (r amendResult) Rows() []output.Row {
	rows := []output.Row{
		{Name: "file", Value: r.File},
		{Name: "size", Value: fmt.Sprint(r.Size)},
		{Name: "content sha256", Value: r.ContentSHA256},
	}
	rows = append(rows, r.Evidence.Rows()...)
	return append(rows, output.Row{Name: "block number", Value: u64(r.BlockNumber)})
}

func newRecordAmendCommand(deps Deps, g *globals) *cobra.Command {
	o := &recordAmendOptions{}
	c := &cobra.Command{
		Use:   "amend RECORD_ID FILE --reason REASON [--doc-type CODE] [--confidentiality C]",
		Short: "Upload new content for a record and anchor it as the next version",
		Long: `Upload FILE as the next version of an active record held by your
organisation; the previous version becomes superseded. The reason is one
of ` + amendmentReasonCodes.usage() + `. --doc-type and
--confidentiality change the version's document type and confidentiality;
left out, they keep the previous version's.

The file is hashed first and its SHA-256 sent with the metadata, then
streamed in 64 KiB chunks; the CLI checks that the anchored commitment is
that of the file. A progress bar is drawn on stderr when it is a terminal,
or with --progress.`,
		Example: `  medprov record amend r-5f2a... corrected-summary.pdf --reason CORRECTION
  medprov record amend r-5f2a... addendum.pdf --reason ADDENDUM --confidentiality R -o json`,
		Args: usageArgs(cobra.ExactArgs(2)),
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 1 {
				return nil, cobra.ShellCompDirectiveDefault
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, deps, g, args[0], args[1]) },
	}
	f := c.Flags()
	f.StringVar(&o.reason, "reason", "", "why the record is amended: "+amendmentReasonCodes.usage())
	f.StringVar(&o.docType, "doc-type", "", "a new document type (default: keep)")
	f.StringVar(&o.confidentiality, "confidentiality", "", "a new confidentiality (default: keep): "+confidentialityCodes.usage())
	o.progress.register(c)
	_ = c.RegisterFlagCompletionFunc("reason", amendmentReasonCodes.completion())
	_ = c.RegisterFlagCompletionFunc("confidentiality", confidentialityCodes.completion())
	_ = c.RegisterFlagCompletionFunc("doc-type", cobra.FixedCompletions(ledger.FHIRDocumentTypes, cobra.ShellCompDirectiveNoFileComp))
	return c
}

func (o *recordAmendOptions) run(cmd *cobra.Command, deps Deps, g *globals, recordID, file string) error {
	if err := checkArg("RECORD_ID", ledger.CheckID, recordID); err != nil {
		return err
	}
	reason, err := amendmentReasonCodes.parse("--reason", o.reason)
	if err != nil {
		return err
	}
	meta := &gatewayv1.AmendmentMetadata{RecordId: recordID, Reason: reason, DocType: o.docType}
	if o.docType != "" {
		if err := checkArg("--doc-type", ledger.CheckDocType, o.docType); err != nil {
			return err
		}
	}
	if o.confidentiality != "" {
		if meta.Confidentiality, err = confidentialityCodes.parse("--confidentiality", o.confidentiality); err != nil {
			return err
		}
	}
	showProgress, err := o.progress.enabled(deps)
	if err != nil {
		return err
	}
	p, err := g.printer()
	if err != nil {
		return err
	}
	if err := checkUploadFile(file); err != nil {
		return err
	}
	lf, err := hashFile(file)
	if err != nil {
		return err
	}
	meta.ContentSha256 = lf.sum[:]
	conn, err := g.dial(deps)
	if err != nil {
		return err
	}
	defer conn.Close()
	resp, err := uploadFile(cmd.Context(), deps, g, conn.Records.AmendRecord,
		&gatewayv1.AmendRecordRequest{Part: &gatewayv1.AmendRecordRequest_Metadata{Metadata: meta}},
		func(b []byte) *gatewayv1.AmendRecordRequest {
			return &gatewayv1.AmendRecordRequest{Part: &gatewayv1.AmendRecordRequest_Chunk{Chunk: b}}
		},
		lf, showProgress)
	if err != nil {
		return err
	}
	if err := checkAnchored(resp.GetEvidence(), resp.GetReceipt(), recordID, lf, resp.GetSize()); err != nil {
		return err
	}
	return p.Print(deps.Stdout, amendResult{
		File:          file,
		Size:          lf.size,
		ContentSHA256: hex.EncodeToString(lf.sum[:]),
		BlockNumber:   resp.GetReceipt().GetBlockNumber(),
		Evidence:      viewEvidence(resp.GetEvidence()),
	})
}
