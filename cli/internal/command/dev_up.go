package command

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/medprov/medprov/cli/internal/output"
	"github.com/medprov/medprov/gateway/devup"
)

// Defaults of dev up.
const (
	defaultDevDir      = "medprov-dev"
	defaultDevBasePort = 17400
	// devLastPortOffset is the highest port above --base-port a gateway
	// takes: the third organisation's metrics port, base+10*2+2.
	devLastPortOffset = 22
	// devReadyLine is the last line dev up prints once every gateway serves.
	devReadyLine = "ready"
	// Log formats of dev up.
	logFormatText = "text"
	logFormatJSON = "json"
)

type devUpOptions struct {
	dir       string
	basePort  int
	verbose   bool
	logFormat string
}

// devUserView is one wallet user of a running development organisation
// and the shell line that points the CLI at it.
type devUserView struct {
	Name      string `json:"name"`
	Role      string `json:"role"`
	Clearance string `json:"clearance"`
	Identity  string `json:"identity"`
	EnvFile   string `json:"envFile"`
	Export    string `json:"export"`
}

// devOrgView is one running organisation: its gateway's addresses, the CA
// of its TLS certificate and its users.
type devOrgView struct {
	MSPID   string        `json:"mspId"`
	GRPC    string        `json:"grpc"`
	REST    string        `json:"rest"`
	Metrics string        `json:"metrics"`
	TLSCA   string        `json:"tlsCa"`
	Users   []devUserView `json:"users"`
}

// devUpView is what dev up prints before "ready".
type devUpView struct {
	Dir  string       `json:"dir"`
	Orgs []devOrgView `json:"orgs"`
}

func newDevUpCommand(deps Deps, g *globals) *cobra.Command {
	o := &devUpOptions{}
	c := &cobra.Command{
		Use:   "up [--dir DIR] [--base-port N] [--verbose]",
		Short: "Start a development consortium with one gateway per organisation",
		Long: `Start a DEVELOPMENT consortium in this process: HospitalAMSP, HospitalBMSP
and HealthAuthorityMSP, each with its own medprov gateway on a loopback
address with mutual TLS, its own wallet, encrypted store and keys, all on
one embedded ledger under --dir. Reopening the same --dir keeps every
identity, record and ledger entry. It is for one machine and for trying
medprov out: the CAs' keys sit unprotected in --dir, and a real consortium
runs Fabric.

The i-th organisation's gateway listens on --base-port+10i (gRPC), +10i+1
(REST) and +10i+2 (metrics); --base-port 0 picks free ports.

For each organisation dev up prints its gateway's addresses and, for each
of its users, the line that points the CLI at the gateway as that user:

  export MEDPROV_GATEWAY=... MEDPROV_TLS_CA=... MEDPROV_IDENTITY=...

Users of every organisation (role, clearance):
` + devUserNames() + `
The same line is written to DIR/<MSP>/<user>.env, for scripts to source.
The last line printed is "ready": every gateway serves and has published
its address in the ledger's directory. With -o json or yaml the
organisations are printed in that format, then "ready".

dev up runs until Ctrl-C (SIGINT) or SIGTERM, then stops every gateway
(each finishes its calls in flight) and the ledger, and exits 0. Gateway
logs go to stderr at warn level; --verbose shows info too.`,
		Example: `  medprov dev up
  medprov dev up --dir /tmp/medprov-dev --base-port 0 --verbose --log-format json

  # in another shell, once it printed "ready":
  source medprov-dev/HospitalAMSP/clinician.env
  medprov patient keygen --out ./patient
  medprov patient register --public-key ./patient/patient.pub`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, deps, g) },
	}
	f := c.Flags()
	f.StringVar(&o.dir, "dir", defaultDevDir, "folder of the consortium's CAs, wallets, stores and ledger (created if missing, reused if present)")
	f.IntVar(&o.basePort, "base-port", defaultDevBasePort, "first port of the gateways; 0 picks free ports")
	f.BoolVar(&o.verbose, "verbose", false, "log the gateways' info messages too, not only warnings and errors")
	f.StringVar(&o.logFormat, "log-format", logFormatText, "format of the gateways' logs on stderr: text or json")
	_ = c.MarkFlagDirname("dir")
	_ = c.RegisterFlagCompletionFunc("base-port", cobra.NoFileCompletions)
	_ = c.RegisterFlagCompletionFunc("log-format", cobra.FixedCompletions([]string{logFormatText, logFormatJSON}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

func (o *devUpOptions) run(cmd *cobra.Command, deps Deps, g *globals) error {
	if o.dir == "" {
		return usagef("--dir", "want a folder name, not an empty one")
	}
	if o.basePort != 0 && (o.basePort < 1024 || o.basePort+devLastPortOffset > 65535) {
		return usagef("--base-port", "want 0 (free ports) or a port from 1024 to %d, not %d", 65535-devLastPortOffset, o.basePort)
	}
	logger, err := devLogger(deps.Stderr, o.logFormat, o.verbose)
	if err != nil {
		return err
	}
	p, err := g.printer()
	if err != nil {
		return err
	}
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return fmt.Errorf("--dir: %w", err)
	}

	ctx := cmd.Context()
	fmt.Fprintf(deps.Stderr, "starting a development consortium in %s ...\n", dir)
	c, err := devup.Start(ctx, dir, devup.WithBasePort(o.basePort), devup.WithLogger(logger))
	if err != nil {
		if o.basePort != 0 {
			return fmt.Errorf("starting the consortium (if a port is taken, try --base-port 0 for free ports): %w", err)
		}
		return fmt.Errorf("starting the consortium: %w", err)
	}
	view, err := writeDevEnvFiles(c)
	if err == nil {
		if g.output == output.FormatTable {
			err = printDevUp(deps.Stdout, view)
		} else {
			err = p.Print(deps.Stdout, view)
		}
	}
	if err == nil {
		fmt.Fprintln(deps.Stderr, "every gateway serves; Ctrl-C stops them")
		_, err = fmt.Fprintln(deps.Stdout, devReadyLine)
	}
	if err != nil {
		return errors.Join(err, c.Close())
	}

	<-ctx.Done()
	fmt.Fprintln(deps.Stderr, "stopping the gateways ...")
	if err := c.Close(); err != nil {
		return fmt.Errorf("stopping the consortium: %w", err)
	}
	fmt.Fprintln(deps.Stderr, "stopped")
	return nil
}

// devUserNames lists the users dev up prints settings for, one line each
// with role and clearance.
func devUserNames() string {
	var b strings.Builder
	for _, u := range devup.Users {
		if u.Name != devup.ServiceUser {
			fmt.Fprintf(&b, "  %-12s %s, %s\n", u.Name, u.Role, u.Clearance)
		}
	}
	return b.String()
}

// devLogger builds the gateways' logger: text or JSON on w, at warn level,
// or info with verbose.
func devLogger(w io.Writer, format string, verbose bool) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: slog.LevelWarn}
	if verbose {
		opts.Level = slog.LevelInfo
	}
	switch format {
	case logFormatText:
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case logFormatJSON:
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usagef("--log-format", "want %s or %s, not %q", logFormatText, logFormatJSON, format)
}

// writeDevEnvFiles writes DIR/<MSP>/<user>.env for every user but the
// gateways' own service identities, and returns what dev up prints.
func writeDevEnvFiles(c *devup.Consortium) (devUpView, error) {
	view := devUpView{Dir: c.Dir}
	for _, org := range c.Orgs() {
		ov := devOrgView{MSPID: org.MSPID, GRPC: org.Addrs.GRPC, REST: org.Addrs.REST, Metrics: org.Addrs.Metrics, TLSCA: org.TLSCAFile}
		for _, u := range devup.Users {
			if u.Name == devup.ServiceUser {
				continue // the gateway's own identity, not a person's
			}
			uv := devUserView{
				Name: u.Name, Role: u.Role, Clearance: u.Clearance,
				Identity: org.UserDir(u.Name),
				EnvFile:  filepath.Join(org.Dir, u.Name+".env"),
			}
			uv.Export = "export " + envGateway + "=" + shellQuote(org.Addrs.GRPC) +
				" " + envTLSCA + "=" + shellQuote(org.TLSCAFile) +
				" " + envIdentity + "=" + shellQuote(uv.Identity)
			content := fmt.Sprintf("# medprov dev up: %s %s (role %s, clearance %s)\n%s\n", org.MSPID, u.Name, u.Role, u.Clearance, uv.Export)
			if err := writeReplace(uv.EnvFile, content); err != nil {
				return view, err
			}
			ov.Users = append(ov.Users, uv)
		}
		view.Orgs = append(view.Orgs, ov)
	}
	return view, nil
}

// writeReplace writes content to path through a temporary file and a
// rename, so that a script never sources half a file.
func writeReplace(path, content string) error {
	a, err := createAtomic("--dir", path, true)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(a, content); err != nil {
		a.abort()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return a.commit()
}

// printDevUp prints the organisations for people: addresses, then one
// commented export line per user.
func printDevUp(w io.Writer, v devUpView) error {
	var b strings.Builder
	fmt.Fprintf(&b, "development consortium in %s (embedded ledger; development only)\n", v.Dir)
	for _, o := range v.Orgs {
		fmt.Fprintf(&b, "\n%s  gateway %s  (REST %s, metrics %s)\n", o.MSPID, o.GRPC, o.REST, o.Metrics)
		for _, u := range o.Users {
			fmt.Fprintf(&b, "  # %s: role %s, clearance %s (also in %s)\n  %s\n", u.Name, u.Role, u.Clearance, u.EnvFile, u.Export)
		}
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// shellSafe matches words a POSIX shell reads as themselves.
var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:@%+=,-]+$`)

// shellQuote quotes s for a POSIX shell: as is when safe, else in single
// quotes.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
