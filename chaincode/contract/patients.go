package contract

import "github.com/medprov/medprov/chaincode/ledger"

// patientEvent is the payload of the patient events.
type patientEvent struct {
	Patient    string `json:"patient"`
	KeyVersion int    `json:"keyVersion"`
}

// RegisterPatient registers a patient's public key (base64 of a PKIX Ed25519
// or ECDSA P-256 key) and returns the ledger.Patient with the pseudonym
// derived from it. Staff of any custodian may register; the pseudonym is
// the same whoever registers it. Errors: INVALID_ARGUMENT,
// PERMISSION_DENIED, ALREADY_EXISTS. Event: PatientRegistered.
func (c *Contract) RegisterPatient(ctx *Context, publicKey string) (string, error) {
	if err := ctx.authorize(ledger.TxRegisterPatient); err != nil {
		return "", err
	}
	key, err := ledger.ParsePatientKey("publicKey", publicKey)
	if err != nil {
		return "", err
	}
	p := ledger.Patient{
		Kind: ledger.KindPatient, SchemaVersion: ledger.SchemaVersion,
		Pseudonym: key.Pseudonym(), PublicKey: key.Base64(), KeyAlgorithm: key.Algorithm, KeyVersion: 1,
		RegisteredBy: ctx.caller.MSPID, RegisteredAt: ctx.now, UpdatedAt: ctx.now,
	}
	st := ctx.store()
	if ok, err := st.PatientExists(p.Pseudonym); err != nil {
		return "", err
	} else if ok {
		return "", ledger.AlreadyExists("patient %s", p.Pseudonym)
	}
	if err := st.PutPatient(p); err != nil {
		return "", err
	}
	if err := st.Emit(ledger.EventPatientRegistered, patientEvent{p.Pseudonym, p.KeyVersion}); err != nil {
		return "", err
	}
	return output(p)
}

// patientSigned loads the patient, checks that sequence is the next one
// (so a replayed or reordered statement never takes effect) and that sig is
// the patient's signature over msg with the current key.
func (ctx *Context) patientSigned(arg, pseudonym string, sequence uint64, msg []byte, sig string) (ledger.Patient, error) {
	p, err := ctx.store().Patient(pseudonym)
	if err != nil {
		return p, err
	}
	key, err := ledger.ParsePatientKey("stored patient key", p.PublicKey)
	if err != nil {
		return p, &ledger.Error{Code: ledger.CodeInternal, Message: "stored patient key does not parse", Err: err}
	}
	if err := key.Verify("signature", msg, sig); err != nil {
		return p, err
	}
	if sequence != p.Sequence+1 {
		return p, ledger.FailedPrecondition("%s.sequence: want %d, the patient's next sequence number; a replayed or out-of-order statement never takes effect", arg, p.Sequence+1)
	}
	return p, nil
}

// RotatePatientKey replaces a patient's key. rotation is a JSON
// ledger.KeyRotation; signature is the patient's signature, with the
// current key, over its canonical encoding. Returns the updated
// ledger.Patient. Errors: INVALID_ARGUMENT, PERMISSION_DENIED (bad
// signature), NOT_FOUND, FAILED_PRECONDITION (wrong sequence),
// ALREADY_EXISTS (same key). Event: PatientKeyRotated.
func (c *Contract) RotatePatientKey(ctx *Context, rotation, signature string) (string, error) {
	if err := ctx.authorize(ledger.TxRotatePatientKey); err != nil {
		return "", err
	}
	var r ledger.KeyRotation
	if err := ledger.DecodeStrict("rotation", rotation, &r); err != nil {
		return "", err
	}
	key, err := r.Validate()
	if err != nil {
		return "", err
	}
	p, err := ctx.patientSigned("rotation", r.Patient, r.Sequence, r.CanonicalBytes(), signature)
	if err != nil {
		return "", err
	}
	if key.Base64() == p.PublicKey {
		return "", ledger.AlreadyExists("rotation.newPublicKey: this is already the patient's key")
	}
	p.PublicKey, p.KeyAlgorithm, p.KeyVersion = key.Base64(), key.Algorithm, p.KeyVersion+1
	p.Sequence, p.UpdatedAt = r.Sequence, ctx.now
	st := ctx.store()
	if err := st.PutPatient(p); err != nil {
		return "", err
	}
	if err := st.Emit(ledger.EventPatientKeyRotated, patientEvent{p.Pseudonym, p.KeyVersion}); err != nil {
		return "", err
	}
	return output(p)
}

// GetPatient returns a registered patient: pseudonym, public key and the
// sequence number of the patient's last signed statement (the next one must
// carry that number plus one). Any
// member may read it. Errors: INVALID_ARGUMENT, PERMISSION_DENIED,
// NOT_FOUND.
func (c *Contract) GetPatient(ctx *Context, patient string) (string, error) {
	if err := ctx.authorize(ledger.TxGetPatient); err != nil {
		return "", err
	}
	if err := ledger.CheckPseudonym("patient", patient); err != nil {
		return "", err
	}
	p, err := ctx.store().Patient(patient)
	if err != nil {
		return "", err
	}
	return output(p)
}
