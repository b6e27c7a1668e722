package command

import (
	"fmt"

	"github.com/spf13/cobra"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/cli/internal/output"
)

type accessFetchOptions struct {
	copyRecordID     string
	purpose          string
	careRelationship bool
	out              outFlags
	progress         progressFlags
}

// fetchResult is a verified copy fetched from its custodian.
type fetchResult struct {
	Source      evidenceView `json:"source"`
	Copy        evidenceView `json:"copy"`
	BlockNumber uint64       `json:"blockNumber"`
	Size        uint64       `json:"size"`
	Download    *getResult   `json:"download,omitempty"`
}

func (r fetchResult) Rows() []output.Row {
	rows := []output.Row{
		{Name: "source", Value: fmt.Sprintf("%s %s v%d", r.Source.Custodian, r.Source.RecordID, r.Source.Version)},
		{Name: "source commitment", Value: r.Source.Commitment},
		{Name: "source tx id", Value: r.Source.TxID},
		{Name: "copy record id", Value: r.Copy.RecordID},
		{Name: "copy version", Value: u32(r.Copy.Version)},
		{Name: "copy tx id", Value: r.Copy.TxID},
		{Name: "block number", Value: u64(r.BlockNumber)},
		{Name: "size", Value: u64(r.Size)},
	}
	if d := r.Download; d != nil {
		rows = append(rows,
			output.Row{Name: "file", Value: d.File},
			output.Row{Name: "content sha256", Value: d.ContentSHA256},
			output.Row{Name: "read access tx id", Value: d.AccessTxID},
		)
	}
	return rows
}

func newAccessFetchCommand(deps Deps, g *globals) *cobra.Command {
	o := &accessFetchOptions{}
	c := &cobra.Command{
		Use:   "fetch ACCESS_TX_ID [--copy-record-id ID] [--out FILE]",
		Short: "Fetch a record you were granted access to, as a verified copy",
		Long: `Complete a granted access: your gateway looks the custodian's gateway up in
the on-chain directory, fetches the record with the access ticket
(ACCESS_TX_ID, the transaction ID that 'medprov access request' printed),
checks the content against the anchored commitment, stores it encrypted
and anchors it as a record of your organisation, derived from the source.
Nothing is kept unless the content verifies (DATA_LOSS otherwise). A ticket
can be used once, within its lifetime.

--copy-record-id names the local copy (default: the gateway makes one).
With --out, the copy's content is then downloaded to FILE as 'medprov
record get' does, its read logged with --purpose (default TREAT) and
--care-relationship.`,
		Example: `  medprov access fetch 3f9c0d... 
  medprov access fetch 3f9c0d... --copy-record-id r-copy-0001 --out summary.pdf --care-relationship`,
		Args:              usageArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              func(cmd *cobra.Command, args []string) error { return o.run(cmd, deps, g, args[0]) },
	}
	f := c.Flags()
	f.StringVar(&o.copyRecordID, "copy-record-id", "", "the record ID of the local copy (default: made by the gateway)")
	f.StringVar(&o.purpose, "purpose", string(ledger.PurposeTreatment), "with --out: the purpose logged for reading the copy: "+purposeCodes.usage())
	f.BoolVar(&o.careRelationship, "care-relationship", false, "with --out: state that you treat the patient")
	o.out.register(c, "also download the copy's content to this file, or - for stdout")
	o.progress.register(c)
	_ = c.RegisterFlagCompletionFunc("purpose", purposeCodes.completion())
	_ = c.RegisterFlagCompletionFunc("copy-record-id", cobra.NoFileCompletions)
	return c
}

func (o *accessFetchOptions) run(cmd *cobra.Command, deps Deps, g *globals, ticket string) error {
	if err := checkArg("ACCESS_TX_ID", ledger.CheckTxID, ticket); err != nil {
		return err
	}
	if o.copyRecordID != "" {
		if err := checkArg("--copy-record-id", ledger.CheckID, o.copyRecordID); err != nil {
			return err
		}
	}
	purpose, err := purposeCodes.parse("--purpose", o.purpose)
	if err != nil {
		return err
	}
	showProgress, err := o.progress.enabled(deps)
	if err != nil {
		return err
	}
	p, err := g.printer()
	if err != nil {
		return err
	}
	if o.out.out != "" && !o.out.toStdout() {
		if err := checkAbsent("--out", o.out.out, o.out.force); err != nil {
			return err
		}
	}
	conn, err := g.dial(deps)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := g.transferCtx(cmd.Context())
	defer cancel()
	resp, err := conn.Access.FetchRecord(ctx, &gatewayv1.FetchRecordRequest{AccessTxId: ticket, CopyRecordId: o.copyRecordID})
	if err != nil {
		return rpcError(err)
	}
	src, cp := resp.GetSource(), resp.GetCopy()
	if src == nil || cp == nil {
		return fmt.Errorf("%w: source and copy", errNoField)
	}
	if d := cp.GetDerivedFrom(); d.GetCustodian() != src.GetCustodian() || d.GetRecordId() != src.GetRecordId() || d.GetVersion() != src.GetVersion() {
		return fmtVerify("the copy %s is not marked as derived from %s %s v%d", cp.GetRecordId(), src.GetCustodian(), src.GetRecordId(), src.GetVersion())
	}
	if o.copyRecordID != "" && cp.GetRecordId() != o.copyRecordID {
		return fmtVerify("the copy was anchored as %s, not %s", cp.GetRecordId(), o.copyRecordID)
	}
	res := fetchResult{Source: viewEvidence(src), Copy: viewEvidence(cp), BlockNumber: resp.GetReceipt().GetBlockNumber(), Size: resp.GetSize()}
	if o.out.out == "" {
		return p.Print(deps.Stdout, res)
	}
	got, err := downloadTo(cmd.Context(), deps, g, conn, &gatewayv1.GetRecordRequest{
		RecordId: cp.GetRecordId(), Version: cp.GetVersion(), Purpose: purpose, CareRelationship: o.careRelationship,
	}, &o.out, showProgress)
	if err != nil {
		if perr := p.Print(deps.Stderr, res); perr != nil {
			return perr
		}
		return fmt.Errorf("the copy is anchored as %s, but downloading it failed (retry with medprov record get %s --out FILE): %w", cp.GetRecordId(), cp.GetRecordId(), err)
	}
	res.Download = &got
	if o.out.toStdout() {
		return p.Print(deps.Stderr, res)
	}
	return p.Print(deps.Stdout, res)
}
