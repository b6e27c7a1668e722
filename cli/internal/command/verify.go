package command

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/medprov/medprov/cli/internal/output"
	"github.com/medprov/medprov/internal/receipt"
)

type verifyOptions struct {
	receipt string
}

// ledgerNotChecked says plainly what offline verification leaves out.
const ledgerNotChecked = "not performed: offline, only the document and its receipt were compared; ask a gateway's VerifyRecord with the arguments below to confirm the receipt against the ledger"

// verifyRecordArgs are the arguments of the chaincode's VerifyRecord.
type verifyRecordArgs struct {
	RecordID   string `json:"recordId"`
	Version    string `json:"version"`
	Commitment string `json:"commitment"`
}

// verifyResult is what verify prints.
type verifyResult struct {
	Document      string           `json:"document"`
	Receipt       string           `json:"receipt"`
	Match         bool             `json:"match"`
	ContentSHA256 string           `json:"contentSha256"`
	Size          int64            `json:"size"`
	Custodian     string           `json:"custodian"`
	TxID          string           `json:"txId"`
	BlockNumber   uint64           `json:"blockNumber"`
	AnchoredAt    string           `json:"anchoredAt"`
	LedgerCheck   string           `json:"ledgerCheck"`
	VerifyRecord  verifyRecordArgs `json:"verifyRecord"`
}

func (r verifyResult) Rows() []output.Row {
	verdict := "MATCH: the document matches its receipt"
	if !r.Match {
		verdict = "MISMATCH: the document does not match its receipt"
	}
	return []output.Row{
		{Name: "document", Value: r.Document},
		{Name: "receipt", Value: r.Receipt},
		{Name: "result", Value: verdict},
		{Name: "content sha256", Value: r.ContentSHA256},
		{Name: "size", Value: strconv.FormatInt(r.Size, 10)},
		{Name: "custodian", Value: r.Custodian},
		{Name: "tx id", Value: r.TxID},
		{Name: "block number", Value: strconv.FormatUint(r.BlockNumber, 10)},
		{Name: "anchored at", Value: r.AnchoredAt},
		{Name: "ledger check", Value: r.LedgerCheck},
		{Name: "verifyRecord recordId", Value: r.VerifyRecord.RecordID},
		{Name: "verifyRecord version", Value: r.VerifyRecord.Version},
		{Name: "verifyRecord commitment", Value: r.VerifyRecord.Commitment},
	}
}

func newVerifyCommand(deps Deps, g *globals) *cobra.Command {
	o := &verifyOptions{}
	c := &cobra.Command{
		Use:   "verify FILE --receipt RECEIPT",
		Short: "Check a document against its evidence receipt (offline)",
		Long: `Check that a document is the one its evidence receipt commits to: the
document's SHA-256, salted with the receipt's salt, must reproduce the
receipt's commitment.

This check is offline. The ledger check is NOT performed: the output gives
the VerifyRecord arguments (recordId, version, commitment) with which a
gateway confirms that the ledger anchored this commitment in the receipt's
transaction. A receipt of an erased record has no salt and cannot check a
document.

The exit code is 3 if the document does not match its receipt.`,
		Example: `  medprov verify discharge-summary.pdf --receipt discharge-summary.receipt.json
  medprov verify scan.dcm --receipt scan.receipt.json -o json`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(_ *cobra.Command, args []string) error { return o.run(deps, g, args[0]) },
	}
	c.Flags().StringVar(&o.receipt, "receipt", "", "the document's evidence receipt (JSON)")
	return c
}

func (o *verifyOptions) run(deps Deps, g *globals, file string) error {
	if o.receipt == "" {
		return usagef("--receipt", "required: the document's evidence receipt")
	}
	p, err := g.printer()
	if err != nil {
		return err
	}
	data, err := os.ReadFile(o.receipt)
	if err != nil {
		return fmt.Errorf("--receipt: %w", err)
	}
	rc, err := receipt.Parse(data)
	if err != nil {
		return fmt.Errorf("--receipt: %s: %w", o.receipt, err)
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := rc.Check(f)
	if errors.Is(err, receipt.ErrErased) {
		return fmt.Errorf("%s: %w", o.receipt, err)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	id, version, commitment := rc.LedgerQuery()
	out := verifyResult{
		Document:      file,
		Receipt:       o.receipt,
		Match:         res.Match,
		ContentSHA256: res.ContentSHA256,
		Size:          res.Size,
		Custodian:     rc.Custodian,
		TxID:          rc.TxID,
		BlockNumber:   rc.BlockNumber,
		AnchoredAt:    rc.AnchoredAt.UTC().Format("2006-01-02T15:04:05.999999999Z07:00"),
		LedgerCheck:   ledgerNotChecked,
		VerifyRecord:  verifyRecordArgs{RecordID: id, Version: version, Commitment: commitment},
	}
	if err := p.Print(deps.Stdout, out); err != nil {
		return err
	}
	if !res.Match {
		return fmt.Errorf("%w: %s does not match its receipt %s", ErrVerificationFailed, file, o.receipt)
	}
	return nil
}
