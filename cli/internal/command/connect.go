package command

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/medprov/medprov/cli/internal/client"
	"github.com/medprov/medprov/cli/internal/output"
)

// Environment variables that stand in for the connection flags.
const (
	envGateway  = "MEDPROV_GATEWAY"
	envIdentity = "MEDPROV_IDENTITY"
	envTLSCA    = "MEDPROV_TLS_CA"
)

// defaultTimeout bounds each unary gateway call.
const defaultTimeout = 30 * time.Second

const connHelp = `Commands that talk to a gateway connect over gRPC with mutual TLS:
  --gateway HOST:PORT   the gateway (or MEDPROV_GATEWAY)
  --identity DIR        your identity folder: DIR/msp/signcerts and
                        DIR/msp/keystore, as issued by your organisation's CA;
                        its certificate is your TLS client certificate
                        (or MEDPROV_IDENTITY)
  --tls-ca FILE         PEM CA that the gateway's TLS certificate must chain
                        to (or MEDPROV_TLS_CA)
  --timeout D           deadline of each call (default 30s; 0 for none).
                        Uploads, downloads, exports, record fetches and key
                        rotations have no deadline unless --timeout is given;
                        Ctrl-C stops them.
A flag wins over its environment variable.`

// connFlags are the root's persistent connection flags.
type connFlags struct {
	gateway    string
	identity   string
	tlsCA      string
	timeout    time.Duration
	timeoutSet bool
}

func (f *connFlags) register(root *cobra.Command) {
	pf := root.PersistentFlags()
	pf.StringVar(&f.gateway, "gateway", "", "the gateway's host:port (env "+envGateway+")")
	pf.StringVar(&f.identity, "identity", "", "your identity folder with msp/signcerts and msp/keystore (env "+envIdentity+")")
	pf.StringVar(&f.tlsCA, "tls-ca", "", "PEM CA the gateway's TLS certificate must chain to (env "+envTLSCA+")")
	pf.DurationVar(&f.timeout, "timeout", defaultTimeout, "deadline of each gateway call; 0 for none; transfers have none unless set")
	_ = root.MarkPersistentFlagDirname("identity")
	_ = root.MarkPersistentFlagFilename("tls-ca", "pem", "crt")
	_ = root.RegisterFlagCompletionFunc("gateway", cobra.NoFileCompletions)
	_ = root.RegisterFlagCompletionFunc("timeout", cobra.NoFileCompletions)
}

// prepare runs before every command: it checks --timeout and notes whether
// it was given.
func (f *connFlags) prepare(cmd *cobra.Command) error {
	if f.timeout < 0 {
		return usagef("--timeout", "want a duration of 0 or more, such as 30s or 2m")
	}
	f.timeoutSet = cmd.Flags().Changed("timeout")
	return nil
}

// value returns the flag's value, or else the environment variable's.
func value(deps Deps, flagValue, env string) string {
	if flagValue != "" || deps.LookupEnv == nil {
		return flagValue
	}
	v, _ := deps.LookupEnv(env)
	return v
}

// connSettings names the flag and variable of each client.Config field, as
// client.FieldError names it.
var connSettings = map[string]struct{ flag, env string }{
	"address":  {"--gateway", envGateway},
	"identity": {"--identity", envIdentity},
	"tlsCA":    {"--tls-ca", envTLSCA},
}

// dial connects to the gateway the flags or environment name. A missing
// or malformed setting is a usage error naming the flag and its variable;
// an unreadable identity or CA file is an error naming the flag.
func (g *globals) dial(deps Deps) (*client.Conn, error) {
	cfg := client.Config{
		Address:     value(deps, g.conn.gateway, envGateway),
		IdentityDir: value(deps, g.conn.identity, envIdentity),
		TLSCAFile:   value(deps, g.conn.tlsCA, envTLSCA),
		UserAgent:   "medprov-cli",
	}
	conn, err := client.Dial(cfg)
	if err == nil {
		return conn, nil
	}
	var fe *client.FieldError
	if !errors.As(err, &fe) {
		return nil, err
	}
	n := connSettings[fe.Field]
	flag, env := n.flag, n.env
	switch {
	case errors.Is(err, client.ErrMissing):
		return nil, usagef(flag, "%v; or set %s", fe.Err, env)
	case fe.Field == "address":
		return nil, usagef(flag, "%v (from the flag or %s)", fe.Err, env)
	}
	return nil, fmt.Errorf("%s: %w", flag, fe.Err)
}

// connect checks -o, then dials the gateway, so that a bad -o is reported
// before any connection is made. Close the connection when done. Errors
// are those of g.printer and g.dial.
func (g *globals) connect(deps Deps) (output.Printer, *client.Conn, error) {
	p, err := g.printer()
	if err != nil {
		return nil, nil, err
	}
	conn, err := g.dial(deps)
	if err != nil {
		return nil, nil, err
	}
	return p, conn, nil
}

// unaryCtx bounds one unary call by --timeout (none when 0).
func (g *globals) unaryCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if g.conn.timeout > 0 {
		return context.WithTimeout(ctx, g.conn.timeout)
	}
	return context.WithCancel(ctx)
}

// transferCtx is the context of a streaming transfer or a long-running
// call: no deadline unless --timeout was given; Ctrl-C cancels it through
// ctx.
func (g *globals) transferCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if g.conn.timeoutSet && g.conn.timeout > 0 {
		return context.WithTimeout(ctx, g.conn.timeout)
	}
	return context.WithCancel(ctx)
}
