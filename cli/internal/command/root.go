// Package command holds the medprov commands. NewRoot builds the command
// tree; each command lives in its own file as newXCommand(deps), binds its
// flags to an options struct and returns errors from RunE. Only main exits,
// with ExitCode(err), and prints the error with ErrorLine.
//
// The gateway-backed commands reach a gateway through the client package
// only; the package must not import the gateway's internals.
package command

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/medprov/medprov/cli/internal/output"
	"github.com/medprov/medprov/internal/rpccode"
)

// The documented exit codes.
const (
	ExitOK           = 0 // the command succeeded
	ExitError        = 1 // the command failed (I/O, keys, CA, ...)
	ExitUsage        = 2 // bad command line: unknown command, bad or missing flag or argument
	ExitVerifyFailed = 3 // verification ran and failed: the document does not match
	ExitRefused      = 4 // the gateway refused: PERMISSION_DENIED, UNAUTHENTICATED, or an access request DENIED
	ExitNotFound     = 5 // the gateway answered NOT_FOUND
	ExitUnavailable  = 6 // the gateway is unreachable or timed out: UNAVAILABLE, DEADLINE_EXCEEDED
)

const exitCodesHelp = `Exit codes:
  0  success
  1  error (reading or writing files, keys, the CA, ...; any other gateway
     error such as INVALID_ARGUMENT, ALREADY_EXISTS or FAILED_PRECONDITION)
  2  usage error: unknown command, bad or missing flag or argument
  3  verification failed: the document does not match its receipt
  4  refused by the gateway (PERMISSION_DENIED, UNAUTHENTICATED), or an
     access request that the ledger DENIED
  5  not found (NOT_FOUND): missing, another organisation's, or above your
     clearance
  6  gateway unreachable or too slow (UNAVAILABLE, DEADLINE_EXCEEDED)`

// Deps is what commands need from the outside world; tests replace it.
type Deps struct {
	Stdin  io.Reader
	Stdout io.Writer // data
	Stderr io.Writer // logs, progress, warnings
	// Rand is the randomness for keys and ECDSA signatures.
	Rand io.Reader
	// Now is the clock.
	Now func() time.Time
	// LookupEnv reads an environment variable, as os.LookupEnv does; nil
	// reads none.
	LookupEnv func(string) (string, bool)
	// StdinTerminal and StderrTerminal say whether stdin and stderr are
	// terminals: confirmations need the first, progress bars show by
	// default on the second.
	StdinTerminal, StderrTerminal bool
}

// DefaultDeps returns the process's standard streams and environment,
// crypto/rand and the wall clock.
func DefaultDeps() Deps {
	return Deps{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Rand: rand.Reader, Now: time.Now, LookupEnv: os.LookupEnv,
		StdinTerminal:  isTerminal(os.Stdin),
		StderrTerminal: isTerminal(os.Stderr),
	}
}

// isTerminal reports whether f is a character device, as a terminal is.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
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

// ErrAccessDenied is wrapped by the error of an access request that the
// ledger committed as DENIED; it exits with ExitRefused.
var ErrAccessDenied = errors.New("access denied")

// RPCError is an error status the gateway answered with. Its message is
// "CODE: message", with the gRPC code name in upper case as the API
// documents it (NOT_FOUND, PERMISSION_DENIED, ...).
type RPCError struct {
	Code    codes.Code
	Message string
}

func (e *RPCError) Error() string { return rpccode.Name(e.Code) + ": " + e.Message }

// GRPCStatus returns the status, so that status.Code works on the error.
func (e *RPCError) GRPCStatus() *status.Status { return status.New(e.Code, e.Message) }

// rpcError turns an error a gRPC call returned into an *RPCError; other
// errors and nil pass through.
func rpcError(err error) error {
	if err == nil {
		return nil
	}
	var re *RPCError
	if errors.As(err, &re) {
		return err
	}
	if s, ok := status.FromError(err); ok {
		return &RPCError{Code: s.Code(), Message: s.Message()}
	}
	return err
}

// ExitCode maps an error returned by the root command to an exit code.
func ExitCode(err error) int {
	var ue *UsageError
	var re *RPCError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue):
		return ExitUsage
	case errors.Is(err, ErrVerificationFailed):
		return ExitVerifyFailed
	case errors.Is(err, ErrAccessDenied):
		return ExitRefused
	case errors.As(err, &re):
		switch re.Code {
		case codes.PermissionDenied, codes.Unauthenticated:
			return ExitRefused
		case codes.NotFound:
			return ExitNotFound
		case codes.Unavailable, codes.DeadlineExceeded:
			return ExitUnavailable
		}
	}
	return ExitError
}

// ErrorLine is how main reports an error: the command's path, then the
// error; a gateway error reads "medprov record get: NOT_FOUND: message".
func ErrorLine(cmd *cobra.Command, err error) string {
	name := "medprov"
	if cmd != nil {
		name = cmd.CommandPath()
	}
	return name + ": " + err.Error()
}

// globals are the root's persistent flags.
type globals struct {
	output string
	conn   connFlags
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
	groupRecords  = "records"
	groupPatient  = "patient"
	groupAccess   = "access"
	groupEvidence = "evidence"
	groupAdmin    = "admin"
	groupDev      = "dev"
)

// NewRoot builds the medprov command tree.
func NewRoot(deps Deps) *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "medprov",
		Short: "Work with medprov medical-record provenance",
		Long: `medprov anchors medical records and their amendments through a hospital's
medprov gateway, fetches records across organisations with the patient's
consent, carries patients' signed consents to the ledger, and reads the
access trail. Offline, it makes patient keys, signs consents, checks
documents against their evidence receipts and issues development identities.

` + connHelp + `

Data goes to stdout in the format -o selects (table, json or yaml); logs,
progress and warnings go to stderr.

` + exitCodesHelp,
		Example: `  export MEDPROV_GATEWAY=gateway.hospital-a.example:7443
  export MEDPROV_IDENTITY=~/.medprov/alice MEDPROV_TLS_CA=~/.medprov/tlsca.pem
  medprov record add discharge-summary.pdf --patient pt-0123... --doc-type 18842-5
  medprov patient keygen --out ~/.medprov/patient
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
	g.conn.register(root)
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error { return g.conn.prepare(cmd) }

	root.AddGroup(
		&cobra.Group{ID: groupRecords, Title: "Records:"},
		&cobra.Group{ID: groupPatient, Title: "Patients and consent:"},
		&cobra.Group{ID: groupAccess, Title: "Access and audit:"},
		&cobra.Group{ID: groupEvidence, Title: "Evidence:"},
		&cobra.Group{ID: groupAdmin, Title: "Gateway administration:"},
		&cobra.Group{ID: groupDev, Title: "Development:"},
	)
	add := func(group string, cmds ...*cobra.Command) {
		for _, c := range cmds {
			c.GroupID = group
			root.AddCommand(c)
		}
	}
	add(groupRecords, newRecordCommand(deps, g))
	add(groupPatient, newPatientCommand(deps, g), newConsentCommand(deps, g))
	add(groupAccess, newAccessCommand(deps, g), newAuditCommand(deps, g))
	add(groupEvidence, newVerifyCommand(deps, g))
	add(groupAdmin, newGatewayCommand(deps, g), newDirectoryCommand(deps, g))
	add(groupDev, newIdentityCommand(deps, g), newDevCommand(deps, g), newBenchCommand(deps, g))
	addCompletionExample(root)
	return root
}

var completionExamples = map[string]string{
	"bash":       "  source <(medprov completion bash)\n  medprov completion bash > /etc/bash_completion.d/medprov",
	"zsh":        "  medprov completion zsh > \"${fpath[1]}/_medprov\"",
	"fish":       "  medprov completion fish > ~/.config/fish/completions/medprov.fish",
	"powershell": "  medprov completion powershell | Out-String | Invoke-Expression",
}

// addCompletionExample creates cobra's default completion command now,
// rather than when it runs, to give it and its shells an Example.
func addCompletionExample(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		c.Example = `  source <(medprov completion bash)
  medprov completion zsh > "${fpath[1]}/_medprov"
  medprov completion fish > ~/.config/fish/completions/medprov.fish
  medprov completion powershell | Out-String | Invoke-Expression`
		c.Args = usageArgs(cobra.NoArgs)
		c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
		for _, sh := range c.Commands() {
			sh.Example = completionExamples[sh.Name()]
		}
	}
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
