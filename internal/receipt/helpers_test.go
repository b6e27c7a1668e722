package receipt_test

import (
	"errors"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/internal/receipt"
)

// update rewrites the golden files under testdata/ from the current code.
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Synthetic values; nothing here is health data.
const (
	content    = "synthetic document v1\n"
	commitment = "027a1d9a7231d01a4b0fdced0563f9357b15b67f3d3956c44273fc1d6f1894b6" // ledger's golden counting-salt-short-text
	txID       = "7b1f0c2d3e4a5b6c7d8e9fa0b1c2d3e4f5061728394a5b6c7d8e9fa0b1c2d3e4"
	otherHex   = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
)

// countingSalt is 00 01 02 … 1f.
func countingSalt() []byte {
	b := make([]byte, ledger.SaltSize)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// sample is the receipt of content under countingSalt.
func sample() receipt.Receipt {
	return receipt.Receipt{
		RecordID:    "rec-0001",
		Version:     2,
		Custodian:   "Org1MSP",
		Salt:        countingSalt(),
		Commitment:  commitment,
		TxID:        txID,
		BlockNumber: 42,
		AnchoredAt:  time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC),
	}
}

// fieldNames are the names an error may start with.
var fieldNames = []string{"receipt", "schema", "recordId", "version", "custodian", "salt", "commitment", "txId", "blockNumber", "anchoredAt"}

// wantFieldError fails unless err is INVALID_ARGUMENT naming field (any
// known field when field is empty).
func wantFieldError(t *testing.T, err error, field string) {
	t.Helper()
	var e *ledger.Error
	if !errors.As(err, &e) || !errors.Is(err, ledger.ErrInvalidArgument) {
		t.Fatalf("got %v, want INVALID_ARGUMENT", err)
	}
	if field != "" {
		if !strings.HasPrefix(e.Message, field+": ") {
			t.Fatalf("message %q does not name %s", e.Message, field)
		}
		return
	}
	for _, f := range fieldNames {
		if strings.HasPrefix(e.Message, f+": ") {
			return
		}
	}
	t.Fatalf("message %q names no field", e.Message)
}
