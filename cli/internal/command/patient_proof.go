package command

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/cli/internal/client"
	"github.com/medprov/medprov/internal/patientproof"
)

// patientKeyFlags are the --key and --patient flags of the commands a
// patient runs.
type patientKeyFlags struct {
	key, patient string
}

func (f *patientKeyFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.key, "key", "", "the patient's current private key file (PKCS#8 PEM)")
	c.Flags().StringVar(&f.patient, "patient", "", "the patient's pseudonym (default: derived from --key; needed after a key rotation)")
	_ = c.RegisterFlagCompletionFunc("patient", cobra.NoFileCompletions)
}

const patientKeyHelp = `The patient proves possession of the registered key: the gateway issues a
challenge, which the CLI signs with --key (the private key from 'medprov
patient keygen'); the key never leaves this machine. The pseudonym is the
one derived from --key; after a key rotation it stays the one derived from
the first key, so give it with --patient.`

// load reads the key and returns it with the patient's pseudonym.
func (f *patientKeyFlags) load() (*patientSigner, string, error) {
	if f.patient != "" {
		if err := checkArg("--patient", ledger.CheckPseudonym, f.patient); err != nil {
			return nil, "", err
		}
	}
	signer, err := loadPatientKey("--key", f.key)
	if err != nil {
		return nil, "", err
	}
	if f.patient != "" {
		return signer, f.patient, nil
	}
	pub, err := signer.publicKey()
	if err != nil {
		return nil, "", fmt.Errorf("--key: %w", err)
	}
	return signer, pub.Pseudonym(), nil
}

// provePatient proves to the gateway that the patient holds the key: it
// asks for a challenge for the pseudonym and signs the challenge encoding
// of internal/patientproof. The proof serves every page until the
// challenge expires.
func provePatient(ctx context.Context, deps Deps, g *globals, conn *client.Conn, signer *patientSigner, patient string) (*gatewayv1.PatientProof, error) {
	callCtx, cancel := g.unaryCtx(ctx)
	defer cancel()
	ch, err := conn.Patients.GetChallenge(callCtx, &gatewayv1.GetChallengeRequest{Patient: patient})
	if err != nil {
		return nil, rpcError(err)
	}
	if err := ledger.CheckMSPID("msp_id", ch.GetMspId()); err != nil {
		return nil, fmt.Errorf("the gateway's challenge: %w", err)
	}
	if len(ch.GetChallenge()) != patientproof.ChallengeBytes || ch.GetChallengeId() == "" {
		return nil, fmt.Errorf("the gateway's challenge is malformed: want an ID and %d random bytes", patientproof.ChallengeBytes)
	}
	sig, err := signer.signRaw(deps.Rand, patientproof.Encode(ch.GetMspId(), patient, ch.GetChallengeId(), ch.GetChallenge()))
	if err != nil {
		return nil, err
	}
	return &gatewayv1.PatientProof{Patient: patient, ChallengeId: ch.GetChallengeId(), Signature: sig}, nil
}

// printPatientPages is printPages for a listing of the patient's own:
// it loads the key with key.load, checks -o, dials the gateway, proves
// the patient with provePatient and reads every page with page, which
// sends the proof. Errors are those of each step.
func printPatientPages[Item, V any, L ~[]V](ctx context.Context, deps Deps, g *globals, key *patientKeyFlags, list L, view func(Item) V, page func(ctx context.Context, conn *client.Conn, proof *gatewayv1.PatientProof, token string) ([]Item, string, error)) error {
	signer, patient, err := key.load()
	if err != nil {
		return err
	}
	p, conn, err := g.connect(deps)
	if err != nil {
		return err
	}
	defer conn.Close()
	proof, err := provePatient(ctx, deps, g, conn, signer, patient)
	if err != nil {
		return err
	}
	list, err = collect(ctx, g, list, view, func(ctx context.Context, token string) ([]Item, string, error) {
		return page(ctx, conn, proof, token)
	})
	if err != nil {
		return err
	}
	return p.Print(deps.Stdout, list)
}
