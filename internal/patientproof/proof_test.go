package patientproof_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medprov/medprov/internal/patientproof"
)

// encodingCases are the inputs of testdata/challenge_v1.golden. Each line
// of that file is: name, encoding (hex), Ed25519 signature of edPriv over
// it (hex).
var encodingCases = []struct {
	name               string
	mspID, patient, id string
	challenge          []byte
}{
	{"typical", "Org1MSP", "pt-0123456789abcdef0123456789abcdef01234567", "000102030405060708090a0b0c0d0e0f", seq(32, 0x10)},
	{"other-gateway", "Hospital-B.example", "pt-0123456789abcdef0123456789abcdef01234567", "000102030405060708090a0b0c0d0e0f", seq(32, 0x10)},
	{"all-empty", "", "", "", nil},
}

func seq(n int, start byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func TestEncodingGolden(t *testing.T) {
	var buf strings.Builder
	for _, c := range encodingCases {
		enc := patientproof.Encode(c.mspID, c.patient, c.id, c.challenge)
		fmt.Fprintf(&buf, "%s %x %x\n", c.name, enc, edSign(enc))
	}
	golden := filepath.Join("testdata", "challenge_v1.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(buf.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(golden)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 || n >= len(encodingCases) || fields[0] != encodingCases[n].name {
			t.Fatalf("line %d does not match the cases; run with -update", n+1)
		}
		c := encodingCases[n]
		t.Run("the "+c.name+" encoding is stable", func(t *testing.T) {
			enc := patientproof.Encode(c.mspID, c.patient, c.id, c.challenge)
			if got := hex.EncodeToString(enc); got != fields[1] {
				t.Fatalf("Encode = %s, golden %s; patients' tools would sign other bytes", got, fields[1])
			}
			sig, err := hex.DecodeString(fields[2])
			if err != nil {
				t.Fatal(err)
			}
			if err := patientproof.Verify(edKey(t), c.mspID, c.patient, c.id, c.challenge, sig); err != nil {
				t.Fatalf("the golden signature does not verify: %v", err)
			}
		})
		n++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(encodingCases) {
		t.Fatalf("golden file has %d vectors, the test defines %d; run with -update", n, len(encodingCases))
	}
}

func TestEncodeLaysOutPrefixAndLengthPrefixedFields(t *testing.T) {
	var want bytes.Buffer
	want.WriteString("medprov.patient.challenge.v1\x00")
	want.Write([]byte{0, 0, 0, 7})
	want.WriteString("Org1MSP")
	want.Write([]byte{0, 0, 0, 3})
	want.WriteString("pt-")
	want.Write([]byte{0, 0, 0, 2})
	want.WriteString("id")
	want.Write([]byte{0, 0, 0, 1, 0xff})
	if got := patientproof.Encode("Org1MSP", "pt-", "id", []byte{0xff}); !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("Encode = %x, want %x", got, want.Bytes())
	}
}

func TestEncodeIsUnambiguous(t *testing.T) {
	a := patientproof.Encode("Org1MSP", "pt-a", "id", []byte("x"))
	b := patientproof.Encode("Org1MS", "Ppt-a", "id", []byte("x"))
	c := patientproof.Encode("Org1MSP", "pt-a", "idx", nil)
	if bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Fatal("moving bytes between fields gives the same encoding")
	}
}

func TestVerify(t *testing.T) {
	ecSign, ecK := ecKey(t)
	edK := edKey(t)
	patient := encodingCases[0].patient
	id := encodingCases[0].id
	ch := encodingCases[0].challenge
	msg := patientproof.Encode(mspID, patient, id, ch)
	edSig := edSign(msg)
	ecSig := ecSign(msg)
	flipped := bytes.Clone(edSig)
	flipped[10] ^= 1
	tests := map[string]struct {
		verify func() error
		want   error
	}{
		"a genuine Ed25519 signature verifies":     {func() error { return patientproof.Verify(edK, mspID, patient, id, ch, edSig) }, nil},
		"a genuine ECDSA signature verifies":       {func() error { return patientproof.Verify(ecK, mspID, patient, id, ch, ecSig) }, nil},
		"a flipped bit does not verify":            {func() error { return patientproof.Verify(edK, mspID, patient, id, ch, flipped) }, patientproof.ErrBadSignature},
		"another gateway's MSP ID does not verify": {func() error { return patientproof.Verify(edK, "Org2MSP", patient, id, ch, edSig) }, patientproof.ErrBadSignature},
		"another challenge ID does not verify":     {func() error { return patientproof.Verify(edK, mspID, patient, "ffff", ch, edSig) }, patientproof.ErrBadSignature},
		"another challenge does not verify":        {func() error { return patientproof.Verify(edK, mspID, patient, id, seq(32, 0), edSig) }, patientproof.ErrBadSignature},
		"another key does not verify":              {func() error { return patientproof.Verify(ecK, mspID, patient, id, ch, edSig) }, patientproof.ErrBadSignature},
		"an empty signature does not verify":       {func() error { return patientproof.Verify(edK, mspID, patient, id, ch, nil) }, patientproof.ErrBadSignature},
		"an oversized signature does not verify": {func() error {
			return patientproof.Verify(edK, mspID, patient, id, ch, append(bytes.Clone(edSig), make([]byte, 100)...))
		}, patientproof.ErrBadSignature},
		"a zero key verifies nothing": {func() error { return patientproof.Verify(ledgerZeroKey, mspID, patient, id, ch, edSig) }, patientproof.ErrBadSignature},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.verify()
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}
