package command

import "github.com/spf13/cobra"

func newConsentCommand(deps Deps, g *globals) *cobra.Command {
	return newGroupCommand("consent", "Sign consents and revocations with the patient's key, and carry them to the ledger",
		`  medprov consent sign --key patient.key --consent-id c-1 --patient pt-... --grantee HospitalBMSP \
    --all --purpose TREAT --max-confidentiality N \
    --not-before 2026-01-01T00:00:00Z --not-after 2027-01-01T00:00:00Z --sequence 1 -o json > grant.json
  medprov consent grant --file grant.json
  medprov consent sign-revocation --key patient.key --consent-id c-1 --patient pt-... --sequence 2 -o json > revocation.json
  medprov consent revoke --file revocation.json
  medprov consent list --patient pt-...`,
		newConsentSignCommand(deps, g),
		newConsentSignRevocationCommand(deps, g),
		newConsentGrantCommand(deps, g),
		newConsentRevokeCommand(deps, g),
		newConsentListCommand(deps, g),
	)
}
