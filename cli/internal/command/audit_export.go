package command

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/cli/internal/output"
)

type auditExportOptions struct {
	format   string
	trail    trailFlags
	out      outFlags
	progress progressFlags
}

// exportResult describes an export written to a file.
type exportResult struct {
	File   string `json:"file"`
	Format string `json:"format"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

func (r exportResult) Rows() []output.Row {
	return []output.Row{
		{Name: "file", Value: r.File},
		{Name: "format", Value: r.Format},
		{Name: "size", Value: fmt.Sprint(r.Size)},
		{Name: "sha256", Value: r.SHA256},
	}
}

func newAuditExportCommand(deps Deps, g *globals) *cobra.Command {
	o := &auditExportOptions{}
	c := &cobra.Command{
		Use:   "export --format csv|json|fhir [--out FILE] [--record ID | --patient P | --org MSP] [--from T] [--to T]",
		Short: "Export the access trail as CSV, JSON or FHIR R4 AuditEvents",
		Long: `Export every access event the filter selects as one file, which the gateway
builds while it pages the ledger: csv (RFC 4180 with a header line), json
(an array of access events in the API's JSON mapping) or fhir (a FHIR R4
Bundle of AuditEvent resources). The filter and window are those of
'medprov audit trail'.

` + trailWindowHelp + `

Without --out (or with --out -) the file goes to stdout as it arrives. With
--out FILE it is written to a temporary file, synced and renamed when the
export is complete, so FILE never holds a partial export (an existing FILE
is replaced only with --force), and a summary is printed. A progress bar
(bytes received) is drawn on stderr when it is a terminal, or with
--progress.`,
		Example: `  medprov audit export --format csv --org HospitalBMSP --out trail.csv
  medprov audit export --format fhir --patient pt-0123... --out trail.fhir.json
  medprov audit export --format json --from 2026-01-01T00:00:00Z | jq length`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, deps, g) },
	}
	c.Flags().StringVar(&o.format, "format", "", "the file format: "+exportFormatCodes.usage())
	o.trail.register(c)
	o.out.register(c, "the file to write (default: stdout)")
	o.progress.register(c)
	_ = c.RegisterFlagCompletionFunc("format", exportFormatCodes.completion())
	return c
}

func (o *auditExportOptions) run(cmd *cobra.Command, deps Deps, g *globals) error {
	format, err := exportFormatCodes.parse("--format", o.format)
	if err != nil {
		return err
	}
	filter, err := o.trail.filter()
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
	var res exportResult
	toFile, err := o.out.write(deps.Stdout, func(w io.Writer) (err error) {
		res, err = o.export(cmd, deps, g, &gatewayv1.ExportTrailRequest{Filter: filter, Format: format}, w, showProgress)
		return err
	})
	if err != nil || !toFile {
		return err
	}
	res.File = o.out.out
	return p.Print(deps.Stdout, res)
}

func (o *auditExportOptions) export(cmd *cobra.Command, deps Deps, g *globals, req *gatewayv1.ExportTrailRequest, w io.Writer, showProgress bool) (exportResult, error) {
	conn, err := g.dial(deps)
	if err != nil {
		return exportResult{}, err
	}
	defer conn.Close()
	ctx, cancel := g.transferCtx(cmd.Context())
	defer cancel()
	stream, err := conn.Audit.ExportTrail(ctx, req)
	if err != nil {
		return exportResult{}, rpcError(err)
	}
	prog := newProgress(deps, showProgress, "export", -1)
	defer prog.finish()
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(h, w), p: prog}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return exportResult{}, rpcError(err)
		}
		if _, err := cw.Write(msg.GetChunk()); err != nil {
			return exportResult{}, fmt.Errorf("writing the export: %w", err)
		}
	}
	return exportResult{Format: o.format, Size: cw.n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}
