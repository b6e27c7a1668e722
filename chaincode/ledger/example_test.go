package ledger_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/medprov/medprov/chaincode/ledger"
)

func ExampleCommitment() {
	// The salt stays off-chain, with the document; 32 bytes from a CSPRNG
	// in real use.
	salt := make([]byte, ledger.SaltSize)
	for i := range salt {
		salt[i] = byte(i)
	}
	content := []byte("synthetic document v1\n")
	fmt.Println(ledger.Commitment(salt, sha256.Sum256(content)))
	// Output:
	// 027a1d9a7231d01a4b0fdced0563f9357b15b67f3d3956c44273fc1d6f1894b6
}

func ExampleConsentGrant_CanonicalBytes() {
	g := ledger.ConsentGrant{
		ConsentID: "consent-0001",
		Patient:   "pt-0123456789abcdef0123456789abcdef01234567",
		Grantee:   ledger.Grantee{MSPID: "Org2MSP", Role: ledger.RoleClinician},
		Scope:     ledger.Scope{DocTypes: []string{"Observation", "11506-3"}},
		Purposes:  []ledger.Purpose{ledger.PurposeTreatment},
		// Lists are sets: Normalize sorts them before encoding.
		MaxConfidentiality: ledger.ConfNormal,
		NotBefore:          "2026-01-01T00:00:00Z",
		NotAfter:           "2026-07-01T00:00:00Z",
		Sequence:           1,
	}
	n, _, _, err := g.Normalize()
	if err != nil {
		fmt.Println(err)
		return
	}
	// The patient signs these bytes with their registered key.
	fmt.Print(hex.Dump(n.CanonicalBytes()))
	// Output:
	// 00000000  6d 65 64 70 72 6f 76 2e  63 6f 6e 73 65 6e 74 2e  |medprov.consent.|
	// 00000010  67 72 61 6e 74 2e 76 31  00 00 00 00 0c 63 6f 6e  |grant.v1.....con|
	// 00000020  73 65 6e 74 2d 30 30 30  31 00 00 00 2b 70 74 2d  |sent-0001...+pt-|
	// 00000030  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|
	// 00000040  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|
	// 00000050  30 31 32 33 34 35 36 37  00 00 00 07 4f 72 67 32  |01234567....Org2|
	// 00000060  4d 53 50 00 00 00 09 63  6c 69 6e 69 63 69 61 6e  |MSP....clinician|
	// 00000070  00 00 00 00 00 00 00 00  02 00 00 00 07 31 31 35  |.............115|
	// 00000080  30 36 2d 33 00 00 00 0b  4f 62 73 65 72 76 61 74  |06-3....Observat|
	// 00000090  69 6f 6e 00 00 00 01 00  00 00 05 54 52 45 41 54  |ion........TREAT|
	// 000000a0  00 00 00 01 4e 00 00 00  14 32 30 32 36 2d 30 31  |....N....2026-01|
	// 000000b0  2d 30 31 54 30 30 3a 30  30 3a 30 30 5a 00 00 00  |-01T00:00:00Z...|
	// 000000c0  14 32 30 32 36 2d 30 37  2d 30 31 54 30 30 3a 30  |.2026-07-01T00:0|
	// 000000d0  30 3a 30 30 5a 00 00 00  00 00 00 00 01           |0:00Z........|
}
