package command

import "github.com/spf13/cobra"

func newAccessCommand(deps Deps, g *globals) *cobra.Command {
	return newGroupCommand("access", "Request and fetch other organisations' records, and log your own staff's reads",
		`  medprov access request r-5f2a... --purpose TREAT
  medprov access fetch 3f9c... --out summary.pdf
  medprov access request r-5f2a... --purpose ETREAT --emergency LIFE-THREATENING --justification-file note.txt
  medprov access log r-5f2a... --purpose TREAT --care-relationship`,
		newAccessRequestCommand(deps, g),
		newAccessFetchCommand(deps, g),
		newAccessLogCommand(deps, g),
	)
}
