package patientproof_test

import (
	"bytes"
	"testing"

	"github.com/medprov/medprov/internal/patientproof"
)

// FuzzVerify checks that Verify never panics, that the genuine Ed25519
// signature of edPriv over the encoding verifies, and that any other
// signature does not, with edPriv's key or with an ECDSA key. Seeds live in
// testdata/fuzz/FuzzVerify/; run
//
//	go test -run=^$ -fuzz=^FuzzVerify$ -fuzztime=10s ./internal/patientproof/
func FuzzVerify(f *testing.F) {
	c := encodingCases[0]
	genuine := edSign(patientproof.Encode(c.mspID, c.patient, c.id, c.challenge))
	f.Add(c.mspID, c.patient, c.id, c.challenge, genuine)
	f.Add(c.mspID, c.patient, c.id, c.challenge, []byte{})
	edK := edKey(f)
	_, ecK := ecKey(f)
	f.Fuzz(func(t *testing.T, mspID, patient, id string, challenge, sig []byte) {
		good := edSign(patientproof.Encode(mspID, patient, id, challenge))
		if err := patientproof.Verify(edK, mspID, patient, id, challenge, good); err != nil {
			t.Fatalf("the genuine signature does not verify: %v", err)
		}
		err := patientproof.Verify(edK, mspID, patient, id, challenge, sig)
		if bytes.Equal(sig, good) {
			if err != nil {
				t.Fatalf("the genuine signature does not verify: %v", err)
			}
		} else if err == nil {
			t.Fatalf("a signature that is not the genuine one verifies")
		}
		if err := patientproof.Verify(ecK, mspID, patient, id, challenge, sig); err == nil {
			t.Fatalf("a fuzzed signature verifies with a fresh ECDSA key")
		}
	})
}
