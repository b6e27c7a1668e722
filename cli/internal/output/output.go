// Package output renders command results as a table, JSON or YAML. Data goes
// to the writer the command passes (stdout); logs and progress never do.
package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"go.yaml.in/yaml/v3"
)

// The output formats, as the -o flag takes them.
const (
	FormatTable = "table"
	FormatJSON  = "json"
	FormatYAML  = "yaml"
)

// Formats lists the accepted -o values, for help and completion.
func Formats() []string { return []string{FormatTable, FormatJSON, FormatYAML} }

// Row is one field of a table: a name and its value.
type Row struct {
	Name  string
	Value string
}

// Tabular is a result that knows how to show itself as a table. A result
// that is not Tabular is printed as one row of compact JSON.
type Tabular interface {
	Rows() []Row
}

// List is a result that shows itself as a table with a header line and one
// line per item, such as the versions of a record or a page of access
// events. Its JSON and YAML forms are those of the value itself, normally
// an array. Each line must have as many cells as there are columns.
type List interface {
	Columns() []string
	Lines() [][]string
}

// Printer writes a result to w in one format.
type Printer interface {
	Print(w io.Writer, v any) error
}

// New returns the printer for format, or an error naming the -o flag.
func New(format string) (Printer, error) {
	switch format {
	case FormatTable:
		return tablePrinter{}, nil
	case FormatJSON:
		return jsonPrinter{}, nil
	case FormatYAML:
		return yamlPrinter{}, nil
	}
	return nil, fmt.Errorf("-o/--output: want one of %s, not %q", strings.Join(Formats(), ", "), format)
}

type jsonPrinter struct{}

func (jsonPrinter) Print(w io.Writer, v any) error {
	b, err := marshalJSON(v)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// marshalJSON renders v indented by two spaces, without HTML escaping, with
// a final newline.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("output: encoding JSON: %w", err)
	}
	return buf.Bytes(), nil
}

type yamlPrinter struct{}

// Print renders v through its JSON form, so YAML keys are the JSON names in
// the same order.
func (yamlPrinter) Print(w io.Writer, v any) error {
	b, err := marshalJSON(v)
	if err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("output: converting to YAML: %w", err)
	}
	plain(&doc)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return fmt.Errorf("output: encoding YAML: %w", err)
	}
	return enc.Close()
}

var yaml11Bool = map[string]bool{
	"y": true, "yes": true, "n": true, "no": true, "on": true, "off": true, "true": true, "false": true,
}

// plain drops the JSON quoting and flow styles; the encoder still quotes
// any string that would otherwise read as another type.
func plain(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" && yaml11Bool[strings.ToLower(n.Value)] {
		// YAML 1.1 readers take these words, such as the confidentiality
		// code N, for booleans: keep them quoted.
		n.Style = yaml.DoubleQuotedStyle
		return
	}
	n.Style = 0
	for _, c := range n.Content {
		plain(c)
	}
}

type tablePrinter struct{}

func (tablePrinter) Print(w io.Writer, v any) error {
	if l, ok := v.(List); ok {
		return printList(w, l)
	}
	rows, err := rowsOf(v)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", strings.ToUpper(r.Name), r.Value)
	}
	return tw.Flush()
}

// printList writes a header line of upper-case column names, then one line
// per item; an empty cell shows as "-" so that columns stay aligned for
// tools such as awk.
func printList(w io.Writer, l List) error {
	cols := l.Columns()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := make([]string, len(cols))
	for i, c := range cols {
		header[i] = strings.ToUpper(c)
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for i, line := range l.Lines() {
		if len(line) != len(cols) {
			return fmt.Errorf("output: line %d has %d cells for %d columns", i+1, len(line), len(cols))
		}
		cells := make([]string, len(line))
		for j, c := range line {
			if c == "" {
				c = "-"
			}
			cells[j] = c
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

func rowsOf(v any) ([]Row, error) {
	if t, ok := v.(Tabular); ok {
		return t.Rows(), nil
	}
	return []Row{{Name: "value", Value: CompactJSON(v)}}, nil
}

// CompactJSON renders v as one line of JSON, for table cells.
func CompactJSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}
