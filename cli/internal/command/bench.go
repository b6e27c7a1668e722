package command

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/status"

	"github.com/medprov/medprov/cli/internal/client"
	"github.com/medprov/medprov/cli/internal/output"
	"github.com/medprov/medprov/gateway/bench"
)

// Defaults of the bench commands.
const (
	defaultBenchConcurrency = 16
	defaultBenchDuration    = 30 * time.Second
	// jsonStdout is the --json value that writes the result to stdout.
	jsonStdout = "-"
)

const benchHelp = `A call counts when its transaction committed: the gateway answers AddRecord
and RequestAccess only after the block that holds it commits, and put waits
for the commit status and counts only VALID transactions. --concurrency
calls are kept in flight for --duration (after an uncounted --warmup); a
Fabric transaction waits about one orderer batch timeout to commit, so
saturating a network takes hundreds in flight (the issue's figure: at least
512). Gateway workloads spread the calls over ceil(N/512) gRPC
connections.

A progress line goes to stderr every second. The result goes to stdout in
the -o format (a table by default): committed transactions, errors by code
(ABORTED is an MVCC conflict the gateway gave up retrying; a Fabric
validation code such as MVCC_READ_CONFLICT for put and put-anchor, and the
chaincode's own code for a refused proposal; DENIED for an access that was
refused), throughput in transactions per second, and the p50, p95,
p99 and max latency of one committed call. --json FILE also writes the
result as JSON (--json - writes only the JSON to stdout); --baseline FILE,
the JSON of an earlier run (typically put), adds the ratios of this run's
throughput and p50 latency to it.

The exit code is 0 when at least one call committed, even if others
failed (they are in the result); 1 when none did.`

// benchOptions are the flags every bench command takes.
type benchOptions struct {
	concurrency int
	duration    time.Duration
	warmup      time.Duration
	json        string
	baseline    string
}

func (o *benchOptions) register(c *cobra.Command) {
	f := c.Flags()
	f.IntVar(&o.concurrency, "concurrency", defaultBenchConcurrency, fmt.Sprintf("calls in flight: 1 to %d", bench.MaxConcurrency))
	f.DurationVar(&o.duration, "duration", defaultBenchDuration, "the measured time, such as 30s or 2m")
	f.DurationVar(&o.warmup, "warmup", 0, "time to run before measuring, not counted")
	f.StringVar(&o.json, "json", "", "also write the result as JSON to FILE; - writes only the JSON to stdout")
	f.StringVar(&o.baseline, "baseline", "", "JSON result of an earlier run (such as put) to compare with")
	_ = c.MarkFlagFilename("json", "json")
	_ = c.MarkFlagFilename("baseline", "json")
	for _, n := range []string{"concurrency", "duration", "warmup"} {
		_ = c.RegisterFlagCompletionFunc(n, cobra.NoFileCompletions)
	}
}

// check validates the flags and reads the baseline, before anything is
// dialled or set up.
func (o *benchOptions) check() (*bench.Result, error) {
	switch {
	case o.concurrency < 1 || o.concurrency > bench.MaxConcurrency:
		return nil, usagef("--concurrency", "want 1 to %d, not %d", bench.MaxConcurrency, o.concurrency)
	case o.duration <= 0:
		return nil, usagef("--duration", "want a duration above 0, such as 30s")
	case o.warmup < 0:
		return nil, usagef("--warmup", "want a duration of 0 or more")
	}
	if o.baseline == "" {
		return nil, nil
	}
	b, err := os.ReadFile(o.baseline)
	if err != nil {
		return nil, fmt.Errorf("--baseline: %w", err)
	}
	var base bench.Result
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&base); err != nil || base.Workload == "" {
		return nil, usagef("--baseline", "%s is not the JSON result of a bench run", o.baseline)
	}
	if base.Committed == 0 || base.Throughput <= 0 || base.Latency.P50 <= 0 {
		return nil, usagef("--baseline", "%s has no committed calls to compare with", o.baseline)
	}
	return &base, nil
}

// benchComparison is this run against a baseline run.
type benchComparison struct {
	Workload        string  `json:"workload"`
	Concurrency     int     `json:"concurrency"`
	Throughput      float64 `json:"throughputTxPerSec"`
	P50             float64 `json:"p50Ms"`
	ThroughputRatio float64 `json:"throughputRatio"`
	P50Ratio        float64 `json:"p50Ratio"`
}

// benchReport is what a bench command prints: the result, and the
// comparison with the baseline when one was given.
type benchReport struct {
	bench.Result
	Baseline *benchComparison `json:"baseline,omitempty"`
}

func newBenchReport(res bench.Result, base *bench.Result) benchReport {
	r := benchReport{Result: res}
	if base != nil {
		r.Baseline = &benchComparison{
			Workload: base.Workload, Concurrency: base.Concurrency,
			Throughput: base.Throughput, P50: base.Latency.P50,
			ThroughputRatio: res.Throughput / base.Throughput,
			P50Ratio:        res.Latency.P50 / base.Latency.P50,
		}
	}
	return r
}

func (r benchReport) Rows() []output.Row {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	rows := []output.Row{
		benchRow("workload", r.Workload),
		benchRow("concurrency", strconv.Itoa(r.Concurrency)),
		benchRow("connections", strconv.Itoa(r.Connections)),
		benchRow("warm-up", (time.Duration(r.WarmupSeconds * float64(time.Second))).String()),
		benchRow("duration", (time.Duration(r.DurationSeconds * float64(time.Second))).Round(time.Millisecond).String()),
		benchRow("committed", strconv.FormatInt(r.Committed, 10)),
		benchRow("errors", benchErrors(r.Errors)),
		benchRow("throughput", f(r.Throughput)+" tx/s"),
		benchRow("latency p50", f(r.Latency.P50)+" ms"),
		benchRow("latency p95", f(r.Latency.P95)+" ms"),
		benchRow("latency p99", f(r.Latency.P99)+" ms"),
		benchRow("latency max", f(r.Latency.Max)+" ms"),
		benchRow("max in flight", strconv.Itoa(r.MaxInFlight)),
	}
	if r.CPUSeconds > 0 {
		rows = append(rows, benchRow("cpu", f(r.CPUSeconds)+" s"))
	}
	if r.Interrupted {
		rows = append(rows, benchRow("interrupted", "yes"))
	}
	if b := r.Baseline; b != nil {
		rows = append(rows,
			benchRow("baseline", fmt.Sprintf("%s at concurrency %d: %s tx/s, p50 %s ms", b.Workload, b.Concurrency, f(b.Throughput), f(b.P50))),
			benchRow("throughput vs baseline", strconv.FormatFloat(b.ThroughputRatio, 'f', 2, 64)+"×"),
			benchRow("p50 vs baseline", strconv.FormatFloat(b.P50Ratio, 'f', 2, 64)+"×"),
		)
	}
	return rows
}

// benchErrors renders the error counts as "CODE n, CODE n", or "0".
func benchErrors(errs map[string]int64) string {
	if len(errs) == 0 {
		return "0"
	}
	codes := make([]string, 0, len(errs))
	for c := range errs {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = fmt.Sprintf("%s %d", c, errs[c])
	}
	return strings.Join(parts, ", ")
}

// errNothingCommitted is returned when a run committed no call.
var errNothingCommitted = errors.New("no call committed")

// runBench runs the workload and prints the report. It returns the run's
// error (an interruption) after printing what was measured, or
// errNothingCommitted.
func (o *benchOptions) runBench(cmd *cobra.Command, deps Deps, g *globals, name string, w bench.Workload, conns int, base *bench.Result) error {
	res, runErr := bench.Run(cmd.Context(), bench.Options{
		Name: name, Workload: w, Concurrency: o.concurrency,
		Duration: o.duration, Warmup: o.warmup, Progress: deps.Stderr, Now: deps.Now,
	})
	if runErr != nil && !res.Interrupted {
		return runErr
	}
	res.Connections = conns
	report := newBenchReport(res, base)
	if o.json != "" {
		b, err := json.MarshalIndent(report, "", "  ")
		if err != nil {
			return err
		}
		b = append(b, '\n')
		if o.json == jsonStdout {
			if _, err := deps.Stdout.Write(b); err != nil {
				return err
			}
		} else if err := os.WriteFile(o.json, b, 0o644); err != nil {
			return fmt.Errorf("--json: %w", err)
		}
	}
	if o.json != jsonStdout {
		if err := g.print(deps, report); err != nil {
			return err
		}
	}
	if runErr != nil {
		return runErr
	}
	if res.Committed == 0 {
		return fmt.Errorf("%w in %s (errors: %s)", errNothingCommitted, time.Duration(res.DurationSeconds*float64(time.Second)), benchErrors(res.Errors))
	}
	return nil
}

// dialGateways opens n connections to the gateway as the bench clients of
// each, and returns them with a function that closes them.
func (g *globals) dialGateways(deps Deps, n int) ([]bench.Gateway, func(), error) {
	var conns []*client.Conn
	closeAll := func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}
	gws := make([]bench.Gateway, 0, n)
	for range n {
		c, err := g.dial(deps)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		conns = append(conns, c)
		gws = append(gws, benchGateway(c))
	}
	return gws, closeAll, nil
}

// benchGateway returns the bench clients of a connection.
func benchGateway(c *client.Conn) bench.Gateway {
	return bench.Gateway{Records: c.Records, Consents: c.Consents, Access: c.Access}
}

// benchSetupError turns a workload's setup error into what the exit code
// follows: a denied access (exit 4), a gateway status, or the error as it
// is.
func benchSetupError(err error) error {
	if bench.Code(err) == bench.LabelDenied {
		return fmt.Errorf("%w: %w", ErrAccessDenied, err)
	}
	if _, ok := status.FromError(err); ok {
		return rpcError(err)
	}
	return err
}

// readEnvFile reads the MEDPROV_* settings of an environment file as
// 'medprov dev up' writes them: lines of "export NAME=VALUE ...", values
// plain or in single quotes (with '\” for a quote); blank lines and #
// comments are skipped. Errors name the line.
func readEnvFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	vars := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		words, err := shellWords(strings.TrimPrefix(line, "export "))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		for _, w := range words {
			k, v, ok := strings.Cut(w, "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("%s:%d: want NAME=VALUE assignments", path, n)
			}
			vars[k] = v
		}
	}
	return vars, sc.Err()
}

// shellWords splits s into words at unquoted spaces; single quotes quote
// everything up to the next single quote.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord, quoted, escaped := false, false, false
	for _, r := range s {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case quoted && r == '\'':
			quoted = false
		case quoted:
			cur.WriteRune(r)
		case r == '\'':
			quoted, inWord = true, true
		case r == '\\':
			// dev up writes \' to put a quote in a quoted value.
			escaped, inWord = true, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case r == '"' || r == '$' || r == '`':
			return nil, fmt.Errorf("unsupported shell syntax %q; use plain or single-quoted values", r)
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quoted || escaped {
		return nil, errors.New("unterminated single quote or backslash")
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

func newBenchCommand(deps Deps, g *globals) *cobra.Command {
	return newGroupCommand("bench", "Measure committed transactions per second and latency",
		`  medprov bench put --gateway-config test-network/gateways/HospitalAMSP/gateway.yaml --concurrency 512 --duration 60s --warmup 10s --json put.json
  medprov bench anchor --concurrency 512 --duration 60s --warmup 10s --baseline put.json`,
		newBenchAnchorCommand(deps, g), newBenchAccessCommand(deps, g), newBenchPutCommand(deps, g))
}

// benchRow is one row of the bench report.
func benchRow(name, value string) output.Row { return output.Row{Name: name, Value: value} }
