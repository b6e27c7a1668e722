// Package command holds the medprov commands. NewRoot builds the command
// tree; each command lives in its own file as newXCommand(deps), binds its
// flags to an options struct and returns errors from RunE. Only main exits,
// with ExitCode(err).
package command

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/medprov/medprov/cli/internal/output"
)

// The documented exit codes.
const (
	ExitOK           = 0 // the command succeeded
	ExitError        = 1 // the command failed (I/O, keys, CA, ...)
	ExitUsage        = 2 // bad command line: unknown command, bad or missing flag or argument
	ExitVerifyFailed = 3 // verification ran and failed: the document does not match
)

const exitCodesHelp = `Exit codes:
  0  success
  1  error (reading or writing files, keys, the CA, ...)
  2  usage error: unknown command, bad or missing flag or argument
  3  verification failed: the document does not match its receipt`

// Deps is what commands need from the outside world; tests replace it.
type Deps struct {
	Stdin  io.Reader
	Stdout io.Writer // data
	Stderr io.Writer // logs, progress, warnings
	// Rand is the randomness for keys and ECDSA signatures.
	Rand io.Reader
	// Now is the clock.
	Now func() time.Time
}

// DefaultDeps returns the process's standard streams, crypto/rand and the
// wall clock.
func DefaultDeps() Deps {
	return Deps{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Rand: rand.Reader, Now: time.Now}
}

// UsageError is a bad command line; it exits with ExitUsage.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// usagef returns a UsageError naming the flag at fault.
func usagef(flag, format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf("%s: %s", flag, fmt.Sprintf(format, args...))}
}

// ErrVerificationFailed is wrapped by errors of checks that ran and failed;
// they exit with ExitVerifyFailed.
var ErrVerificationFailed = errors.New("verification failed")

// ExitCode maps an error returned by the root command to an exit code.
func ExitCode(err error) int {
	var ue *UsageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue):
		return ExitUsage
	case errors.Is(err, ErrVerificationFailed):
		return ExitVerifyFailed
	}
	return ExitError
}

// globals are the root's persistent flags.
type globals struct {
	output string
}

// printer returns the printer for -o.
func (g *globals) printer() (output.Printer, error) {
	p, err := output.New(g.output)
	if err != nil {
		return nil, &UsageError{Err: err}
	}
	return p, nil
}

// Command groups.
const (
	groupPatient  = "patient"
	groupEvidence = "evidence"
	groupDev      = "dev"
)

// NewRoot builds the medprov command tree.
func NewRoot(deps Deps) *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "medprov",
		Short: "Work with medprov medical-record provenance",
		Long: `medprov signs patient consents, checks documents against their evidence
receipts and issues development identities. These commands work offline;
the commands that talk to a medprov gateway come later.

Data goes to stdout in the format -o selects (table, json or yaml); logs
and warnings go to stderr.

` + exitCodesHelp,
		Example: `  medprov patient keygen --out ~/.medprov/patient
  medprov consent sign --key ~/.medprov/patient/patient.key ... -o json
  medprov verify report.pdf --receipt report.receipt.json`,
		Args:          usageArgs(cobra.NoArgs),
		RunE:          func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(deps.Stdin)
	root.SetOut(deps.Stdout)
	root.SetErr(deps.Stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &UsageError{Err: err} })
	root.PersistentFlags().StringVarP(&g.output, "output", "o", output.FormatTable, "output format: table, json or yaml")
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(output.Formats(), cobra.ShellCompDirectiveNoFileComp))

	root.AddGroup(
		&cobra.Group{ID: groupPatient, Title: "Patient keys and consent:"},
		&cobra.Group{ID: groupEvidence, Title: "Evidence:"},
		&cobra.Group{ID: groupDev, Title: "Development:"},
	)
	add := func(group string, cmds ...*cobra.Command) {
		for _, c := range cmds {
			c.GroupID = group
			root.AddCommand(c)
		}
	}
	add(groupPatient, newPatientCommand(deps, g), newConsentCommand(deps, g))
	add(groupEvidence, newVerifyCommand(deps, g))
	add(groupDev, newIdentityCommand(deps, g))
	return root
}

// usageArgs marks argument errors as usage errors.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &UsageError{Err: err}
		}
		return nil
	}
}

// newGroupCommand returns a command that only holds subcommands: run bare,
// it shows its help; with an unknown subcommand, it is a usage error.
func newGroupCommand(use, short, example string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:     use,
		Short:   short,
		Example: example,
		Args:    usageArgs(cobra.NoArgs),
		RunE:    func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	c.AddCommand(subs...)
	return c
}

// print writes a result to stdout in the -o format.
func (g *globals) print(deps Deps, v any) error {
	p, err := g.printer()
	if err != nil {
		return err
	}
	return p.Print(deps.Stdout, v)
}
