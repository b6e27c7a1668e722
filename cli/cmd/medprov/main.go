// Command medprov is the medprov command-line client. Exit codes are
// documented in the root command's help and in cli/README.md.
package main

import (
	"fmt"
	"os"

	"github.com/medprov/medprov/cli/internal/command"
)

func main() {
	deps := command.DefaultDeps()
	err := command.NewRoot(deps).Execute()
	if err != nil {
		fmt.Fprintf(deps.Stderr, "medprov: %v\n", err)
		if command.ExitCode(err) == command.ExitUsage {
			fmt.Fprintln(deps.Stderr, "Run 'medprov --help' for usage.")
		}
	}
	os.Exit(command.ExitCode(err))
}
