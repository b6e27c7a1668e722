package command

import "github.com/spf13/cobra"

func newDirectoryCommand(deps Deps, g *globals) *cobra.Command {
	return newGroupCommand("directory", "Publish and look up where organisations' gateways listen",
		`  medprov directory set --endpoint gateway.hospital-a.example:7444
  medprov directory get HospitalBMSP`,
		newDirectorySetCommand(deps, g),
		newDirectoryGetCommand(deps, g),
	)
}
