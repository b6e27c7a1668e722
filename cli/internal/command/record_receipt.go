package command

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/cli/internal/client"
	"github.com/medprov/medprov/cli/internal/output"
)

type recordReceiptOptions struct {
	version uint32
	out     outFlags
}

// receiptResult describes a receipt written to a file; never its salt.
type receiptResult struct {
	File        string `json:"file"`
	RecordID    string `json:"recordId"`
	Version     int    `json:"version"`
	Custodian   string `json:"custodian"`
	Commitment  string `json:"commitment"`
	TxID        string `json:"txId"`
	BlockNumber uint64 `json:"blockNumber"`
	AnchoredAt  string `json:"anchoredAt"`
	StoredAt    string `json:"storedAt,omitempty"`
}

func (r receiptResult) Rows() []output.Row {
	return []output.Row{
		{Name: "file", Value: r.File},
		{Name: "record id", Value: r.RecordID},
		{Name: "version", Value: u64(uint64(r.Version))},
		{Name: "custodian", Value: r.Custodian},
		{Name: "commitment", Value: r.Commitment},
		{Name: "tx id", Value: r.TxID},
		{Name: "block number", Value: u64(r.BlockNumber)},
		{Name: "anchored at", Value: r.AnchoredAt},
		{Name: "stored at", Value: r.StoredAt},
	}
}

func newRecordReceiptCommand(deps Deps, g *globals) *cobra.Command {
	o := &recordReceiptOptions{}
	c := &cobra.Command{
		Use:   "receipt RECORD_ID [--version N] [--out FILE]",
		Short: "Save the evidence receipt of a record version",
		Long: `Get the evidence receipt of a record version held by your organisation, as
the JSON document that 'medprov verify FILE --receipt RECEIPT' reads: the
record ID, version, custodian, the commitment's salt, the commitment, and
the anchoring transaction and block. Keep it with the document: with it,
anyone can check the document against the ledger without the custodian.
It holds the salt, so it is as sensitive as the link between the document
and the ledger; the file is written with mode 0600.

Without --out (or with --out -) the receipt itself goes to stdout and -o
does not apply. With --out FILE it is written atomically (an existing FILE
is replaced only with --force) and a summary is printed. An erased record
has no receipt any more (FAILED_PRECONDITION).`,
		Example: `  medprov record receipt r-5f2a... --out summary.receipt.json
  medprov record receipt r-5f2a... --version 2 > v2.receipt.json
  medprov verify summary.pdf --receipt summary.receipt.json`,
		Args:              usageArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              func(cmd *cobra.Command, args []string) error { return o.run(cmd, deps, g, args[0]) },
	}
	c.Flags().Uint32Var(&o.version, "version", 0, "the version; 0 for the latest")
	o.out.register(c, "the file to write the receipt to (default: stdout)")
	_ = c.RegisterFlagCompletionFunc("version", cobra.NoFileCompletions)
	return c
}

func (o *recordReceiptOptions) run(cmd *cobra.Command, deps Deps, g *globals, recordID string) error {
	if err := checkArg("RECORD_ID", ledger.CheckID, recordID); err != nil {
		return err
	}
	if err := checkVersion(o.version); err != nil {
		return err
	}
	p, err := g.printer()
	if err != nil {
		return err
	}
	resp, err := call(cmd.Context(), deps, g, g.unaryCtx, func(ctx context.Context, c *client.Conn) (*gatewayv1.GetReceiptResponse, error) {
		return c.Records.GetReceipt(ctx, &gatewayv1.GetReceiptRequest{RecordId: recordID, Version: o.version})
	})
	if err != nil {
		return err
	}
	rc, err := toReceipt(resp.GetReceipt())
	if err != nil {
		return err
	}
	if rc.RecordID != recordID || (o.version != 0 && rc.Version != int(o.version)) {
		return fmtVerify("the gateway sent the receipt of %s v%d, not the one asked for", rc.RecordID, rc.Version)
	}
	data, err := rc.Marshal()
	if err != nil {
		return err
	}
	toFile, err := o.out.write(deps.Stdout, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if err != nil || !toFile {
		return err
	}
	return p.Print(deps.Stdout, receiptResult{
		File:        o.out.out,
		RecordID:    rc.RecordID,
		Version:     rc.Version,
		Custodian:   rc.Custodian,
		Commitment:  rc.Commitment,
		TxID:        rc.TxID,
		BlockNumber: rc.BlockNumber,
		AnchoredAt:  rc.AnchoredAt.Format(timeLayout),
		StoredAt:    ts(resp.GetStoredAt()),
	})
}
