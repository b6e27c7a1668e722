package ledger_test

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medprov/medprov/chaincode/ledger"
)

// commitmentCases are the inputs of testdata/commitment_v1.golden. Each
// line of that file is: name, salt (hex), content (hex, "-" when empty),
// commitment (hex).
var commitmentCases = []struct {
	name          string
	salt, content []byte
}{
	{"zero-salt-empty-content", make([]byte, ledger.SaltSize), nil},
	{"counting-salt-short-text", seq(ledger.SaltSize, 0), []byte("synthetic document v1\n")},
	{"ff-salt-one-byte", bytes.Repeat([]byte{0xff}, ledger.SaltSize), []byte{0x00}},
	{"counting-salt-binary-content", seq(ledger.SaltSize, 0x80), seq(1000, 3)},
	{"short-salt-for-the-record", []byte("salt"), []byte("synthetic document v1\n")},
}

func seq(n int, start byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func TestCommitmentGolden(t *testing.T) {
	var buf strings.Builder
	for _, c := range commitmentCases {
		fmt.Fprintf(&buf, "%s %s %s %s\n", c.name, hexOrDash(c.salt), hexOrDash(c.content), ledger.Commitment(c.salt, sha256.Sum256(c.content)))
	}
	golden := filepath.Join("testdata", "commitment_v1.golden")
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
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 4 {
			t.Fatalf("line %d: want 4 fields, got %d", n+1, len(fields))
		}
		name, salt, content := fields[0], mustHex(t, fields[1]), mustHex(t, fields[2])
		t.Run(name, func(t *testing.T) {
			if got := ledger.Commitment(salt, sha256.Sum256(content)); got != fields[3] {
				t.Fatalf("Commitment = %s, golden %s; anchored commitments would no longer verify", got, fields[3])
			}
		})
		n++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(commitmentCases) {
		t.Fatalf("golden file has %d vectors, the test defines %d; run with -update", n, len(commitmentCases))
	}
}

func hexOrDash(b []byte) string {
	if len(b) == 0 {
		return "-"
	}
	return hex.EncodeToString(b)
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	if s == "-" {
		return nil
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCommitmentMatchesAnIndependentHMAC(t *testing.T) {
	for _, c := range commitmentCases {
		t.Run(c.name, func(t *testing.T) {
			h := sha256.New()
			h.Write(c.content)
			m := hmac.New(sha256.New, c.salt)
			m.Write(h.Sum(nil))
			want := hex.EncodeToString(m.Sum(nil))
			got := ledger.Commitment(c.salt, sha256.Sum256(c.content))
			if got != want {
				t.Fatalf("Commitment = %s, want %s", got, want)
			}
			wantCode(t, ledger.CheckHash32("commitment", got), nil)
		})
	}
}

func TestCommitmentDependsOnSaltAndContent(t *testing.T) {
	content := sha256.Sum256([]byte("synthetic"))
	base := ledger.Commitment(seq(32, 0), content)
	if ledger.Commitment(seq(32, 1), content) == base {
		t.Error("a different salt gives the same commitment")
	}
	other := content
	other[0] ^= 1
	if ledger.Commitment(seq(32, 0), other) == base {
		t.Error("a different content hash gives the same commitment")
	}
	if ledger.Commitment(seq(32, 0), content) != base {
		t.Error("Commitment is not deterministic")
	}
	// Without the salt, the commitment is not the bare content hash.
	if base == hex.EncodeToString(content[:]) {
		t.Error("the commitment is the unsalted hash")
	}
}
