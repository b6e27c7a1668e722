package command

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// progressFlags are the --progress and --no-progress flags of a command
// that transfers data.
type progressFlags struct {
	on, off bool
}

func (f *progressFlags) register(c *cobra.Command) {
	c.Flags().BoolVar(&f.on, "progress", false, "show a progress bar on stderr even when it is not a terminal")
	c.Flags().BoolVar(&f.off, "no-progress", false, "never show a progress bar")
}

// enabled says whether to draw a progress bar: when asked, or by default
// when stderr is a terminal.
func (f *progressFlags) enabled(deps Deps) (bool, error) {
	switch {
	case f.on && f.off:
		return false, usagef("--progress", "give --progress or --no-progress, not both")
	case f.on:
		return true, nil
	case f.off:
		return false, nil
	}
	return deps.StderrTerminal, nil
}

// progressInterval is how often the bar is redrawn at most.
const progressInterval = 100 * time.Millisecond

// progress draws one line on stderr, redrawn with a carriage return: a
// label, the bytes done and, when known, the total and the percentage.
// A nil *progress draws nothing.
type progress struct {
	w     io.Writer
	now   func() time.Time
	label string
	total int64 // negative when unknown
	done  int64
	last  time.Time
	width int // of the last line drawn, to blank what is left of it
}

// newProgress returns a bar, or nil when on is false.
func newProgress(deps Deps, on bool, label string, total int64) *progress {
	if !on {
		return nil
	}
	p := &progress{w: deps.Stderr, now: deps.Now, label: label, total: total}
	p.draw()
	return p
}

// add counts n more bytes and redraws at most every progressInterval.
func (p *progress) add(n int64) {
	if p == nil {
		return
	}
	p.done += n
	if t := p.now(); t.Sub(p.last) >= progressInterval {
		p.draw()
	}
}

// finish draws the final state and ends the line.
func (p *progress) finish() {
	if p == nil {
		return
	}
	p.draw()
	fmt.Fprintln(p.w)
}

func (p *progress) draw() {
	p.last = p.now()
	line := p.label + "  " + byteSize(p.done)
	if p.total >= 0 {
		pct := int64(100)
		if p.total > 0 {
			pct = p.done * 100 / p.total
		}
		line += fmt.Sprintf(" / %s  %3d%%", byteSize(p.total), pct)
	}
	pad := ""
	if p.width > len(line) {
		pad = strings.Repeat(" ", p.width-len(line))
	}
	p.width = len(line)
	fmt.Fprint(p.w, "\r"+line+pad)
}

// countingWriter counts what passes through it into a progress bar.
type countingWriter struct {
	w io.Writer
	p *progress
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	c.p.add(int64(n))
	return n, err
}

// byteSize renders a byte count in binary units, such as 1.5 MiB.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
