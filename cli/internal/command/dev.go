package command

import "github.com/spf13/cobra"

func newDevCommand(deps Deps, g *globals) *cobra.Command {
	return newGroupCommand("dev", "Run a development consortium on this machine (development only)",
		`  medprov dev up
  medprov dev up --dir ./medprov-dev --base-port 0 --verbose`,
		newDevUpCommand(deps, g),
	)
}
