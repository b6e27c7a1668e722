package command

import "github.com/spf13/cobra"

func newIdentityCommand(deps Deps, g *globals) *cobra.Command {
	return newGroupCommand("identity", "Issue identities from a development CA (development only)",
		`  medprov identity issue --ca-dir devnet/orgs/HospitalAMSP --msp HospitalAMSP \
    --name alice --role clinician --clearance N --out ./alice`,
		newIdentityIssueCommand(deps, g),
	)
}
