package patientproof

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/medprov/medprov/chaincode/ledger"
)

// Prefix is the domain-separation prefix of the challenge encoding; Encode
// follows it with one 0x00 byte. A change of encoding needs a new prefix
// version.
const Prefix = "medprov.patient.challenge.v1"

// MaxSignatureBytes is the largest signature accepted, as in the API's
// PatientProof (an Ed25519 signature is 64 bytes, a DER ECDSA P-256 one at
// most 72).
const MaxSignatureBytes = 150

// Errors of Verify and Challenges.Check, for errors.Is. They never carry
// any part of the input.
var (
	// ErrBadSignature means the signature is empty, too long or does not
	// verify with the patient's key.
	ErrBadSignature = errors.New("patientproof: the signature does not verify with the patient's key")
	// ErrUnknownChallenge means no outstanding challenge has the given ID:
	// never issued, or already purged after expiry.
	ErrUnknownChallenge = errors.New("patientproof: unknown challenge")
	// ErrWrongHolder means the challenge is outstanding but was issued to
	// another holder (another caller's certificate). It wraps
	// ErrUnknownChallenge and reads the same, so that whoever reports an
	// unknown challenge reports it identically: to another carrier, a
	// challenge it did not ask for does not exist. errors.Is(err,
	// ErrWrongHolder) tells the two apart.
	ErrWrongHolder = fmt.Errorf("%w", ErrUnknownChallenge)
	// ErrExpired means the challenge has expired.
	ErrExpired = errors.New("patientproof: the challenge has expired")
	// ErrWrongPatient means the challenge was issued to another patient.
	ErrWrongPatient = errors.New("patientproof: the challenge was issued to another patient")
)

// Encode returns the bytes a patient signs to answer a challenge: Prefix, a
// 0x00 byte, then the gateway's MSP ID, the patient pseudonym, the
// challenge ID and the challenge bytes, each as a 4-byte big-endian length
// and its bytes.
func Encode(mspID, patient, challengeID string, challenge []byte) []byte {
	n := len(Prefix) + 1 + 4*4 + len(mspID) + len(patient) + len(challengeID) + len(challenge)
	buf := make([]byte, 0, n)
	buf = append(buf, Prefix...)
	buf = append(buf, 0)
	for _, s := range [][]byte{[]byte(mspID), []byte(patient), []byte(challengeID), challenge} {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(s)))
		buf = append(buf, s...)
	}
	return buf
}

// Verify checks a patient's signature (raw bytes, as in the API) over the
// challenge encoding with the patient's key, by the ledger's rules: Ed25519,
// or ASN.1 DER ECDSA over SHA-256. Any failure, including an empty or
// oversized signature or a zero key, is ErrBadSignature.
func Verify(key ledger.PatientKey, mspID, patient, challengeID string, challenge []byte, sig []byte) error {
	if len(sig) == 0 || len(sig) > MaxSignatureBytes {
		return ErrBadSignature
	}
	msg := Encode(mspID, patient, challengeID, challenge)
	if err := key.Verify("signature", msg, base64.StdEncoding.EncodeToString(sig)); err != nil {
		return ErrBadSignature
	}
	return nil
}
