package command

import "github.com/spf13/cobra"

func newPatientCommand(deps Deps, g *globals) *cobra.Command {
	return newGroupCommand("patient", "Patient keys, registration, key rotation, and a patient's own records and access history",
		`  medprov patient keygen --out ~/.medprov/patient
  medprov patient register --public-key ~/.medprov/patient/patient.pub
  medprov patient sign-rotation --key old.key --patient pt-... --new-public-key @new.pub --sequence 4 -o json > rotation.json
  medprov patient rotate-key --file rotation.json
  medprov patient records --key ~/.medprov/patient/patient.key
  medprov patient history --key ~/.medprov/patient/patient.key --from 2026-01-01T00:00:00Z`,
		newPatientKeygenCommand(deps, g),
		newPatientRegisterCommand(deps, g),
		newPatientSignRotationCommand(deps, g),
		newPatientRotateKeyCommand(deps, g),
		newPatientRecordsCommand(deps, g),
		newPatientHistoryCommand(deps, g),
	)
}
