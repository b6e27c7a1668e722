// Package walkthrough is the scripted tour that `make demo` plays: it starts
// `medprov dev up` (three organisations, each with its own gateway, on one
// embedded ledger) as a child process and drives it with the `medprov` CLI,
// one child process per command, as the organisations' users and a patient
// would. Hospital A adds records; a patient registers and consents for
// hospital B; B requests, fetches and verifies a record, is denied outside
// the consent and breaks the glass; the patient lists who accessed their
// records and revokes; an auditor reads the trail and alerts; a receipt is
// checked offline; A erases a record. Each step checks exit codes and the
// CLI's JSON output and prints one line: "[ok] ..." or "[FAIL] step: why",
// followed by the failing command's stderr, indented. Run stops at the
// first failure.
//
// What it checks is what a user sees: it talks to the medprov binary only,
// and must not import the gateway, the CLI or the chaincode packages.
// Every patient and document in it is synthetic.
package walkthrough

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// DefaultStartTimeout is how long Run waits for dev up to print "ready".
const DefaultStartTimeout = 60 * time.Second

// DefaultStopTimeout is how long Run waits for dev up to exit after SIGINT.
const DefaultStopTimeout = 30 * time.Second

// Config is what Run needs.
type Config struct {
	// Medprov is the path of the medprov binary.
	Medprov string
	// Dir is an empty folder for the consortium, the patient's key and the
	// documents; the caller removes it.
	Dir string
	// Out receives one line per step.
	Out io.Writer
	// Now is the clock for the consent's validity; nil is time.Now.
	Now func() time.Time
	// StartTimeout bounds the wait for dev up's "ready"; 0 is
	// DefaultStartTimeout.
	StartTimeout time.Duration
	// Gateways, when set, is a folder of <MSP>/<user>.env files of three
	// gateways that already run on a Fabric network
	// (test-network/gateways.sh writes them): the walkthrough plays on
	// them instead of starting dev up.
	Gateways string
	// StopTimeout bounds the wait for dev up to exit after SIGINT; 0 is
	// DefaultStopTimeout.
	StopTimeout time.Duration
}

// ErrFailed is wrapped by Run's error when a step did not behave as
// expected; the step's "[FAIL]" line is already printed.
var ErrFailed = errors.New("walkthrough failed")

// Run plays the walkthrough: it starts dev up in cfg.Dir, plays every step,
// and stops dev up with SIGINT, expecting it to exit 0; with cfg.Gateways
// it plays on those running gateways and leaves them running. It returns
// nil only
// if every step behaved as expected; otherwise an error wrapping ErrFailed
// (after printing the step's "[FAIL]" line), or an error about cfg.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Medprov == "" {
		return errors.New("walkthrough: Config.Medprov: want the path of the medprov binary")
	}
	if cfg.Dir == "" {
		return errors.New("walkthrough: Config.Dir: want a folder")
	}
	if cfg.Out == nil {
		return errors.New("walkthrough: Config.Out: want a writer")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = DefaultStopTimeout
	}
	t := &tour{cfg: cfg, run: &Runner{Medprov: cfg.Medprov, Dir: cfg.Dir}}
	n := 0
	pass := func(line string) {
		n++
		fmt.Fprintf(cfg.Out, "[ok] %s\n", line)
	}

	if cfg.Gateways != "" {
		env, err := readEnvFiles(cfg.Gateways)
		if err != nil {
			return t.fail("the gateways' settings are read", err)
		}
		t.run.Env = env
		if err := t.play(ctx, pass); err != nil {
			return err
		}
		fmt.Fprintf(cfg.Out, "all %d steps behaved as expected\n", n)
		return nil
	}
	c, err := startConsortium(ctx, cfg.Medprov, cfg.Dir, cfg.StartTimeout)
	if err != nil {
		return t.fail("dev up starts the consortium", err)
	}
	t.run.Env = c.env
	failed := t.play(ctx, pass)
	stopErr := c.stop(cfg.StopTimeout)
	if failed != nil {
		return failed
	}
	if stopErr != nil {
		return t.fail("dev up stops on SIGINT", stopErr)
	}
	pass("dev up stopped on SIGINT and exited 0")
	fmt.Fprintf(cfg.Out, "all %d steps behaved as expected\n", n)
	return nil
}

// play runs every step in order, calling pass with each one's line; it
// stops at the first step that does not behave and returns its error.
func (t *tour) play(ctx context.Context, pass func(string)) error {
	for _, s := range t.steps() {
		line, err := s.run(ctx)
		if err != nil {
			return t.fail(s.name, err)
		}
		pass(line)
	}
	return nil
}

// backend is the ledger backend the gateways must report.
func (c Config) backend() string {
	if c.Gateways != "" {
		return "fabric"
	}
	return "embedded"
}

// fail prints a step's "[FAIL]" line, and the stderr of the command that
// failed, indented; it returns an error wrapping ErrFailed.
func (t *tour) fail(step string, err error) error {
	fmt.Fprintf(t.cfg.Out, "[FAIL] %s: %v\n", step, err)
	var ce *CommandError
	if errors.As(err, &ce) && strings.TrimSpace(ce.Stderr) != "" {
		fmt.Fprint(t.cfg.Out, indent(ce.Stderr))
	}
	var se *startError
	if errors.As(err, &se) && strings.TrimSpace(se.stderr) != "" {
		fmt.Fprint(t.cfg.Out, indent(se.stderr))
	}
	return fmt.Errorf("%w: %s: %w", ErrFailed, step, err)
}

// indent prefixes every line of s with four spaces.
func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}

// environ is the process environment without the MEDPROV_ variables, so
// that the caller's settings never leak into a step.
func environ() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MEDPROV_") {
			out = append(out, kv)
		}
	}
	return out
}
