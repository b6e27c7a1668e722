package command

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/cli/internal/client"
	"github.com/medprov/medprov/cli/internal/output"
)

type accessRequestOptions struct {
	purpose           string
	emergency         string
	justificationFile string
}

// accessDecision is the committed outcome of an access request.
type accessDecision struct {
	BlockNumber uint64    `json:"blockNumber"`
	Event       eventView `json:"event"`
}

func (d accessDecision) Rows() []output.Row {
	rows := d.Event.Rows()
	rows = append(rows, output.Row{Name: "block number", Value: u64(d.BlockNumber)})
	if d.Event.Decision != string(ledger.DecisionDenied) {
		rows = append(rows, output.Row{Name: "next", Value: "medprov access fetch " + d.Event.TxID})
	}
	return rows
}

func newAccessRequestCommand(deps Deps, g *globals) *cobra.Command {
	o := &accessRequestOptions{}
	c := &cobra.Command{
		Use:   "request RECORD_ID --purpose P [--emergency CODE [--justification-file FILE]]",
		Short: "Ask the ledger for access to another organisation's record",
		Long: `Ask the ledger for access to the latest version of a record held by another
organisation. The chaincode decides from the patient's consents, the
purpose, your role and clearance, and commits the decision as an access
event, whatever it is. The decision is printed with its transaction ID,
which is the access ticket for 'medprov access fetch', and its block.

A DENIED decision is printed with its reason, and the command exits with
code 4, so that scripts can test it.

Break the glass, in an emergency only: --purpose ETREAT with --emergency
and a justification code (` + justificationCodes.usage() + `).
--justification-file names a file with your free-text justification: only
its SHA-256 is sent and anchored; the text never leaves this machine, keep
it. An emergency access raises an alert for auditors.`,
		Example: `  medprov access request r-5f2a... --purpose TREAT
  medprov access request r-5f2a... --purpose ETREAT --emergency LIFE-THREATENING --justification-file note.txt
  medprov access request r-5f2a... --purpose HRESCH -o json || echo "denied or failed: $?"`,
		Args:              usageArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              func(cmd *cobra.Command, args []string) error { return o.run(cmd, deps, g, args[0]) },
	}
	f := c.Flags()
	f.StringVar(&o.purpose, "purpose", "", "the purpose of use: "+purposeCodes.usage())
	f.StringVar(&o.emergency, "emergency", "", "break the glass with this justification code (with --purpose ETREAT): "+justificationCodes.usage())
	f.StringVar(&o.justificationFile, "justification-file", "", "a file with your free-text justification; only its SHA-256 is sent")
	_ = c.RegisterFlagCompletionFunc("purpose", purposeCodes.completion())
	_ = c.RegisterFlagCompletionFunc("emergency", justificationCodes.completion())
	return c
}

func (o *accessRequestOptions) run(cmd *cobra.Command, deps Deps, g *globals, recordID string) error {
	if err := checkArg("RECORD_ID", ledger.CheckID, recordID); err != nil {
		return err
	}
	purpose, err := purposeCodes.parse("--purpose", o.purpose)
	if err != nil {
		return err
	}
	req := &gatewayv1.RequestAccessRequest{RecordId: recordID, Purpose: purpose}
	if o.emergency != "" {
		if purpose != gatewayv1.PurposeOfUse_PURPOSE_OF_USE_ETREAT {
			return usagef("--emergency", "only with --purpose %s", ledger.PurposeEmergencyTreatment)
		}
		if req.JustificationCode, err = justificationCodes.parse("--emergency", o.emergency); err != nil {
			return err
		}
	}
	if o.justificationFile != "" {
		if o.emergency == "" {
			return usagef("--justification-file", "only with --emergency")
		}
		if req.JustificationHash, err = sha256File("--justification-file", o.justificationFile); err != nil {
			return err
		}
	}
	p, err := g.printer()
	if err != nil {
		return err
	}
	resp, err := call(cmd.Context(), deps, g, g.unaryCtx, func(ctx context.Context, c *client.Conn) (*gatewayv1.RequestAccessResponse, error) {
		return c.Access.RequestAccess(ctx, req)
	})
	if err != nil {
		return err
	}
	d := accessDecision{BlockNumber: resp.GetBlockNumber(), Event: viewEvent(resp.GetEvent())}
	if err := p.Print(deps.Stdout, d); err != nil {
		return err
	}
	switch resp.GetEvent().GetDecision() {
	case gatewayv1.Decision_DECISION_DENIED:
		return fmt.Errorf("%w: %s (the denial is committed in transaction %s)", ErrAccessDenied, d.Event.DenialReason, d.Event.TxID)
	case gatewayv1.Decision_DECISION_GRANTED, gatewayv1.Decision_DECISION_EMERGENCY:
		return nil
	}
	return fmt.Errorf("%w: decision", errNoField)
}

// sha256File returns the SHA-256 of a file in lowercase hex.
func sha256File(flag, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
