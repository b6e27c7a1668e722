package command

import (
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/cli/internal/client"
)

// recordIDBytes is the number of random bytes in a generated record ID,
// which is "r-" and their lowercase hex.
const recordIDBytes = 12

type recordAddOptions struct {
	patient         string
	docType         string
	confidentiality string
	recordID        string
	keepGoing       bool
	progress        progressFlags
}

// addResult is the outcome of uploading one file.
type addResult struct {
	File          string `json:"file"`
	RecordID      string `json:"recordId"`
	Version       uint32 `json:"version,omitempty"`
	TxID          string `json:"txId,omitempty"`
	BlockNumber   uint64 `json:"blockNumber,omitempty"`
	Size          int64  `json:"size"`
	ContentSHA256 string `json:"contentSha256"`
	Error         string `json:"error,omitempty"`
}

// addResults is what record add prints: one line per file.
type addResults []addResult

func (r addResults) failed() int {
	n := 0
	for _, x := range r {
		if x.Error != "" {
			n++
		}
	}
	return n
}

func (r addResults) Columns() []string {
	cols := []string{"file", "record id", "version", "tx id", "block"}
	if r.failed() > 0 {
		cols = append(cols, "error")
	}
	return cols
}

func (r addResults) Lines() [][]string {
	withErr := r.failed() > 0
	lines := make([][]string, 0, len(r))
	for _, x := range r {
		line := []string{x.File, x.RecordID, "", x.TxID, ""}
		if x.Error == "" {
			line[2], line[4] = u32(x.Version), u64(x.BlockNumber)
		}
		if withErr {
			line = append(line, x.Error)
		}
		lines = append(lines, line)
	}
	return lines
}

func newRecordAddCommand(deps Deps, g *globals) *cobra.Command {
	o := &recordAddOptions{}
	c := &cobra.Command{
		Use:   "add FILE... --patient PSEUDONYM --doc-type CODE [--confidentiality C] [--record-id ID]",
		Short: "Upload records to your gateway and anchor their evidence",
		Long: `Upload one or more files as new records of a registered patient. For a
folder, each regular file directly in it is added (sub-folders and links
are skipped). Each file is read twice: once for its SHA-256, sent with the
metadata so that the gateway refuses content that differs, then again to
stream it in 64 KiB chunks. The gateway encrypts and stores the content,
anchors version 1 on the ledger and answers once the transaction is
committed. The CLI then checks that the anchored commitment is that of the
file it sent.

Record IDs are opaque, never a medical record number: the CLI makes one per
file ("r-" and 24 random hex digits) unless --record-id names it, which is
allowed with one file only.

One line per file is printed: the file, the record ID, the version, the
anchoring transaction and its block. With several files the command stops
at the first failure (the files anchored until then are printed);
--keep-going adds the others and reports each failure, and the exit code is
1 if any file failed.

A progress bar is drawn on stderr when it is a terminal, or with --progress.`,
		Example: `  medprov record add discharge-summary.pdf --patient pt-0123... --doc-type 18842-5
  medprov record add ./scans --patient pt-0123... --doc-type ImagingStudy --confidentiality R --keep-going -o json
  medprov record add lab.json --patient pt-0123... --doc-type 11502-2 --record-id r-lab-2026-0001`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, deps, g, args) },
	}
	f := c.Flags()
	f.StringVar(&o.patient, "patient", "", "the patient's pseudonym (pt-...)")
	f.StringVar(&o.docType, "doc-type", "", "the document type: a LOINC code or a FHIR R4 resource type")
	f.StringVar(&o.confidentiality, "confidentiality", string(ledger.ConfNormal), "the confidentiality: "+confidentialityCodes.usage())
	f.StringVar(&o.recordID, "record-id", "", "the record ID (one file only; default: generated)")
	f.BoolVar(&o.keepGoing, "keep-going", false, "after a failure, add the remaining files and report every failure")
	o.progress.register(c)
	_ = c.RegisterFlagCompletionFunc("confidentiality", confidentialityCodes.completion())
	_ = c.RegisterFlagCompletionFunc("doc-type", cobra.FixedCompletions(ledger.FHIRDocumentTypes, cobra.ShellCompDirectiveNoFileComp))
	for _, n := range []string{"patient", "record-id"} {
		_ = c.RegisterFlagCompletionFunc(n, cobra.NoFileCompletions)
	}
	return c
}

func (o *recordAddOptions) run(cmd *cobra.Command, deps Deps, g *globals, args []string) error {
	if err := checkArg("--patient", ledger.CheckPseudonym, o.patient); err != nil {
		return err
	}
	if err := checkArg("--doc-type", ledger.CheckDocType, o.docType); err != nil {
		return err
	}
	conf, err := confidentialityCodes.parse("--confidentiality", o.confidentiality)
	if err != nil {
		return err
	}
	if o.recordID != "" {
		if err := checkArg("--record-id", ledger.CheckID, o.recordID); err != nil {
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
	files, err := expandFiles(deps, args)
	if err != nil {
		return err
	}
	if o.recordID != "" && len(files) != 1 {
		return usagef("--record-id", "only with one file; %d files given", len(files))
	}
	ids := make([]string, len(files))
	for i := range files {
		if o.recordID != "" {
			ids[i] = o.recordID
			continue
		}
		if ids[i], err = newRecordID(deps.Rand); err != nil {
			return err
		}
	}
	conn, err := g.dial(deps)
	if err != nil {
		return err
	}
	defer conn.Close()

	var results addResults
	var firstErr error
	for i, file := range files {
		meta := &gatewayv1.RecordMetadata{RecordId: ids[i], Patient: o.patient, DocType: o.docType, Confidentiality: conf}
		res, err := o.addOne(cmd, deps, g, conn, file, meta, showProgress)
		if err == nil {
			results = append(results, res)
			continue
		}
		if !o.keepGoing {
			firstErr = err
			if len(files) > 1 {
				firstErr = fmt.Errorf("%s: %w", file, err)
			}
			if len(results) > 0 {
				fmt.Fprintf(deps.Stderr, "stopped at %s; %d of %d files were not added\n", file, len(files)-len(results), len(files))
			}
			break
		}
		fmt.Fprintf(deps.Stderr, "%s failed: %v\n", file, err)
		res.Error = err.Error()
		results = append(results, res)
	}
	if len(results) > 0 {
		if err := p.Print(deps.Stdout, results); err != nil {
			return err
		}
	}
	if firstErr != nil {
		return firstErr
	}
	if n := results.failed(); n > 0 {
		return fmt.Errorf("%d of %d files failed", n, len(files))
	}
	return nil
}

// addOne uploads one file and checks the gateway's answer against it.
func (o *recordAddOptions) addOne(cmd *cobra.Command, deps Deps, g *globals, conn *client.Conn, file string, meta *gatewayv1.RecordMetadata, showProgress bool) (addResult, error) {
	res := addResult{File: file, RecordID: meta.GetRecordId()}
	lf, err := hashFile(file)
	if err != nil {
		return res, err
	}
	res.Size, res.ContentSHA256 = lf.size, hex.EncodeToString(lf.sum[:])
	if lf.size == 0 {
		return res, fmt.Errorf("%s: empty; a record needs content", file)
	}
	meta.ContentSha256 = lf.sum[:]
	resp, err := uploadFile(cmd.Context(), deps, g, conn.Records.AddRecord,
		&gatewayv1.AddRecordRequest{Part: &gatewayv1.AddRecordRequest_Metadata{Metadata: meta}},
		func(b []byte) *gatewayv1.AddRecordRequest {
			return &gatewayv1.AddRecordRequest{Part: &gatewayv1.AddRecordRequest_Chunk{Chunk: b}}
		},
		lf, showProgress)
	if err != nil {
		return res, err
	}
	if err := checkAnchored(resp.GetEvidence(), resp.GetReceipt(), meta.GetRecordId(), lf, resp.GetSize()); err != nil {
		return res, err
	}
	res.RecordID = resp.GetEvidence().GetRecordId()
	res.Version = resp.GetEvidence().GetVersion()
	res.TxID = resp.GetEvidence().GetTxId()
	res.BlockNumber = resp.GetReceipt().GetBlockNumber()
	return res, nil
}

// errAnchorMismatch is wrapped when the gateway's answer to an upload does
// not describe the content sent.
var errAnchorMismatch = fmt.Errorf("%w: the gateway's evidence does not match the content sent", ErrVerificationFailed)

// checkAnchored checks the gateway's answer to an upload of sent: the
// evidence and receipt are about the record asked for, the size is that of
// the file, and the anchored commitment is HMAC-SHA256(salt, SHA-256 of
// the file).
// recordID "" accepts any record ID.
func checkAnchored(ev *gatewayv1.RecordEvidence, rc *gatewayv1.Receipt, recordID string, sent localFile, gotSize uint64) error {
	if ev == nil || rc == nil {
		return fmt.Errorf("%w: evidence and receipt", errNoField)
	}
	switch {
	case recordID != "" && ev.GetRecordId() != recordID:
		return fmt.Errorf("%w: record ID %q, asked for %q", errAnchorMismatch, ev.GetRecordId(), recordID)
	case rc.GetRecordId() != ev.GetRecordId() || rc.GetVersion() != ev.GetVersion():
		return fmt.Errorf("%w: the receipt is for another version", errAnchorMismatch)
	case gotSize != uint64(sent.size):
		return fmt.Errorf("%w: size %d, sent %d bytes", errAnchorMismatch, gotSize, sent.size)
	case len(rc.GetSalt()) != ledger.SaltSize:
		return fmt.Errorf("%w: the receipt's salt is not %d bytes", errAnchorMismatch, ledger.SaltSize)
	}
	want := ledger.Commitment(rc.GetSalt(), sent.sum)
	if ev.GetCommitment() != want || rc.GetCommitment() != want {
		return fmt.Errorf("%w: commitment", errAnchorMismatch)
	}
	return nil
}

// expandFiles returns the files to upload: each argument that is a file,
// and the regular files directly in each argument that is a folder, in
// name order. It checks every file before anything is sent.
func expandFiles(deps Deps, args []string) ([]string, error) {
	var files []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, a)
			continue
		}
		entries, err := os.ReadDir(a)
		if err != nil {
			return nil, err
		}
		var in []string
		for _, e := range entries {
			if !e.Type().IsRegular() {
				fmt.Fprintf(deps.Stderr, "skipping %s: not a regular file\n", filepath.Join(a, e.Name()))
				continue
			}
			in = append(in, filepath.Join(a, e.Name()))
		}
		if len(in) == 0 {
			return nil, fmt.Errorf("%s: no regular files in the folder", a)
		}
		sort.Strings(in)
		files = append(files, in...)
	}
	for _, f := range files {
		if err := checkUploadFile(f); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// newRecordID makes an opaque record ID: "r-" and 24 random lowercase hex
// digits.
func newRecordID(rand io.Reader) (string, error) {
	b := make([]byte, recordIDBytes)
	if _, err := io.ReadFull(rand, b); err != nil {
		return "", fmt.Errorf("making a record ID: %w", err)
	}
	return "r-" + hex.EncodeToString(b), nil
}
