package command

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/cli/internal/client"
	"github.com/medprov/medprov/cli/internal/output"
)

type recordGetOptions struct {
	version          uint32
	purpose          string
	careRelationship bool
	out              outFlags
	progress         progressFlags
}

// getResult describes a downloaded record version; never its content.
type getResult struct {
	File          string       `json:"file"`
	Size          uint64       `json:"size"`
	ContentSHA256 string       `json:"contentSha256"`
	AccessTxID    string       `json:"accessTxId"`
	BlockNumber   uint64       `json:"blockNumber"`
	Evidence      evidenceView `json:"evidence"`
}

func (r getResult) Rows() []output.Row {
	rows := []output.Row{
		{Name: "file", Value: r.File},
		{Name: "size", Value: u64(r.Size)},
		{Name: "content sha256", Value: r.ContentSHA256},
		{Name: "commitment check", Value: "MATCH: the content reproduces the anchored commitment"},
		{Name: "access tx id", Value: r.AccessTxID},
	}
	rows = append(rows, r.Evidence.Rows()...)
	return append(rows, output.Row{Name: "block number", Value: u64(r.BlockNumber)})
}

func newRecordGetCommand(deps Deps, g *globals) *cobra.Command {
	o := &recordGetOptions{}
	c := &cobra.Command{
		Use:   "get RECORD_ID --out FILE [--version N] [--purpose P] [--care-relationship]",
		Short: "Download a record held by your gateway",
		Long: `Download the content of a record version held by your organisation. The
gateway first commits the read as an access event (LogAccess) with the
purpose and your statement of a care relationship: without
--care-relationship the event raises an OUTSIDE_CARE_RELATIONSHIP alert
for auditors.

The content is written to a temporary file next to --out, checked (size,
and HMAC-SHA256 of the salt over its SHA-256 equal to the anchored
commitment), synced and renamed to --out: on any failure --out is left as
it was and no partial file remains. An existing --out is replaced only
with --force. The evidence of the version is printed.

With --out -, the content goes to stdout as it arrives and the evidence to
stderr; a failed check is then reported after the content was written, by
the exit code (3).`,
		Example: `  medprov record get r-5f2a... --purpose TREAT --care-relationship --out summary.pdf
  medprov record get r-5f2a... --version 1 --out - --no-progress > v1.pdf`,
		Args:              usageArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              func(cmd *cobra.Command, args []string) error { return o.run(cmd, deps, g, args[0]) },
	}
	f := c.Flags()
	f.Uint32Var(&o.version, "version", 0, "the version; 0 for the latest")
	f.StringVar(&o.purpose, "purpose", string(ledger.PurposeTreatment), "the purpose of use logged for the read: "+purposeCodes.usage())
	f.BoolVar(&o.careRelationship, "care-relationship", false, "state that you treat the patient (without it the read raises an alert)")
	o.out.register(c, "the file to write the content to, or - for stdout")
	o.progress.register(c)
	_ = c.RegisterFlagCompletionFunc("purpose", purposeCodes.completion())
	_ = c.RegisterFlagCompletionFunc("version", cobra.NoFileCompletions)
	return c
}

func (o *recordGetOptions) run(cmd *cobra.Command, deps Deps, g *globals, recordID string) error {
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
	if o.out.out == "" {
		return usagef("--out", "required: the file to write the content to, or - for stdout")
	}
	showProgress, err := o.progress.enabled(deps)
	if err != nil {
		return err
	}
	p, conn, err := g.connect(deps)
	if err != nil {
		return err
	}
	defer conn.Close()
	req := &gatewayv1.GetRecordRequest{RecordId: recordID, Version: o.version, Purpose: purpose, CareRelationship: o.careRelationship}
	res, err := downloadTo(cmd.Context(), deps, g, conn, req, &o.out, showProgress)
	if err != nil {
		return err
	}
	if o.out.toStdout() {
		return p.Print(deps.Stderr, res)
	}
	return p.Print(deps.Stdout, res)
}

// downloadTo downloads a record version into --out (atomically) or to
// stdout, and returns what it got.
func downloadTo(ctx context.Context, deps Deps, g *globals, conn *client.Conn, req *gatewayv1.GetRecordRequest, out *outFlags, showProgress bool) (getResult, error) {
	var res getResult
	toFile, err := out.write(deps.Stdout, func(w io.Writer) (err error) {
		res, err = download(ctx, deps, g, conn, req, w, showProgress)
		return err
	})
	switch {
	case !toFile:
		res.File = "-"
	case err == nil:
		res.File = out.out
	}
	return res, err
}

// download streams a record version into w and checks it: the header
// first and once, the version asked for, the size, and the content's
// commitment with the receipt's salt. A failed check wraps
// ErrVerificationFailed; gateway errors are *RPCError.
func download(ctx context.Context, deps Deps, g *globals, conn *client.Conn, req *gatewayv1.GetRecordRequest, w io.Writer, showProgress bool) (getResult, error) {
	ctx, cancel := g.transferCtx(ctx)
	defer cancel()
	stream, err := conn.Records.GetRecord(ctx, req)
	if err != nil {
		return getResult{}, rpcError(err)
	}
	first, err := stream.Recv()
	if errors.Is(err, io.EOF) {
		return getResult{}, errors.New("the gateway ended the download without sending the record")
	}
	if err != nil {
		return getResult{}, rpcError(err)
	}
	header := first.GetHeader()
	if header == nil {
		return getResult{}, errors.New("the gateway sent content before the record header")
	}
	ev, rc := header.GetEvidence(), header.GetReceipt()
	if ev == nil || rc == nil {
		return getResult{}, fmt.Errorf("%w: header evidence and receipt", errNoField)
	}
	if ev.GetRecordId() != req.GetRecordId() || (req.GetVersion() != 0 && ev.GetVersion() != req.GetVersion()) {
		return getResult{}, fmt.Errorf("%w: the gateway sent record %s v%d, not the one asked for", ErrVerificationFailed, ev.GetRecordId(), ev.GetVersion())
	}
	if len(rc.GetSalt()) != ledger.SaltSize {
		return getResult{}, fmt.Errorf("%w: the receipt's salt is not %d bytes, so the content cannot be checked", ErrVerificationFailed, ledger.SaltSize)
	}
	res := getResult{
		Size:        header.GetSize(),
		AccessTxID:  header.GetAccessTxId(),
		BlockNumber: rc.GetBlockNumber(),
		Evidence:    viewEvidence(ev),
	}
	prog := newProgress(deps, showProgress, req.GetRecordId(), int64(header.GetSize()))
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(h, w), p: prog}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			prog.finish()
			return res, rpcError(err)
		}
		if msg.GetHeader() != nil {
			prog.finish()
			return res, errors.New("the gateway sent a second record header")
		}
		if _, err := cw.Write(msg.GetChunk()); err != nil {
			prog.finish()
			return res, fmt.Errorf("writing the content: %w", err)
		}
	}
	prog.finish()
	var sum [sha256.Size]byte
	copy(sum[:], h.Sum(nil))
	res.ContentSHA256 = hex.EncodeToString(sum[:])
	if uint64(cw.n) != header.GetSize() {
		return res, fmt.Errorf("%w: received %d bytes, the header announced %d", ErrVerificationFailed, cw.n, header.GetSize())
	}
	if c := ledger.Commitment(rc.GetSalt(), sum); c != ev.GetCommitment() || c != rc.GetCommitment() {
		return res, fmt.Errorf("%w: the content does not reproduce the anchored commitment of %s v%d", ErrVerificationFailed, ev.GetRecordId(), ev.GetVersion())
	}
	return res, nil
}
