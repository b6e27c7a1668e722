// Command medprov is the medprov command-line client. Exit codes are
// documented in the root command's help and in cli/README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/medprov/medprov/cli/internal/command"
)

func main() {
	deps := command.DefaultDeps()
	// Ctrl-C or SIGTERM cancels the running command's context: gateway
	// calls and transfers stop, and no partial output file is left.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	cmd, err := command.NewRoot(deps).ExecuteContextC(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(deps.Stderr, command.ErrorLine(cmd, err))
		if command.ExitCode(err) == command.ExitUsage {
			path := "medprov"
			if cmd != nil {
				path = cmd.CommandPath()
			}
			fmt.Fprintf(deps.Stderr, "Run '%s --help' for usage.\n", path)
		}
	}
	os.Exit(command.ExitCode(err))
}
