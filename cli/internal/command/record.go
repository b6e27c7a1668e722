package command

import "github.com/spf13/cobra"

func newRecordCommand(deps Deps, g *globals) *cobra.Command {
	return newGroupCommand("record", "Anchor, read, amend and erase records at your gateway",
		`  medprov record add discharge-summary.pdf --patient pt-0123... --doc-type 18842-5
  medprov record get r-5f2a... --purpose TREAT --care-relationship --out summary.pdf
  medprov record amend r-5f2a... corrected.pdf --reason CORRECTION
  medprov record history r-5f2a...
  medprov record receipt r-5f2a... --out summary.receipt.json
  medprov record erase r-5f2a... --reason PATIENT-REQUEST`,
		newRecordAddCommand(deps, g),
		newRecordGetCommand(deps, g),
		newRecordAmendCommand(deps, g),
		newRecordEraseCommand(deps, g),
		newRecordHistoryCommand(deps, g),
		newRecordReceiptCommand(deps, g),
	)
}
