package command

import "github.com/spf13/cobra"

func newPatientCommand(deps Deps, g *globals) *cobra.Command {
	return newGroupCommand("patient", "Create and rotate a patient's signing key",
		`  medprov patient keygen --out ~/.medprov/patient
  medprov patient sign-rotation --key old.key --patient pt-... --new-public-key MCowBQYDK2VwAyEA... --sequence 4`,
		newPatientKeygenCommand(deps, g),
		newPatientSignRotationCommand(deps, g),
	)
}
