package command

import "github.com/spf13/cobra"

func newGatewayCommand(deps Deps, g *globals) *cobra.Command {
	return newGroupCommand("gateway", "Check and run your organisation's gateway (admins)",
		`  medprov gateway status
  medprov gateway rotate-keys`,
		newGatewayStatusCommand(deps, g),
		newGatewayRotateKeysCommand(deps, g),
	)
}
