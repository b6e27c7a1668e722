package receipt_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/internal/receipt"
)

func TestCheckSaysWhetherTheContentMatchesItsReceipt(t *testing.T) {
	tests := map[string]struct {
		edit    func(*receipt.Receipt)
		content string
		match   bool
	}{
		"the anchored content matches":               {nil, content, true},
		"one changed byte does not match":            {nil, "synthetic document v2\n", false},
		"a truncated document does not match":        {nil, content[:len(content)-1], false},
		"empty content does not match":               {nil, "", false},
		"another salt does not match":                {func(r *receipt.Receipt) { r.Salt[0] ^= 1 }, content, false},
		"another anchored commitment does not match": {func(r *receipt.Receipt) { r.Commitment = otherHex }, content, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := sample()
			if tc.edit != nil {
				tc.edit(&r)
			}
			res, err := r.Check(strings.NewReader(tc.content))
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if res.Match != tc.match {
				t.Fatalf("Match = %v, want %v", res.Match, tc.match)
			}
			if res.Size != int64(len(tc.content)) {
				t.Fatalf("Size = %d, want %d", res.Size, len(tc.content))
			}
			if err := ledger.CheckHash32("contentSHA256", res.ContentSHA256); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCheckStreamsContentInSmallReads(t *testing.T) {
	res, err := sample().Check(iotest.OneByteReader(strings.NewReader(content)))
	if err != nil || !res.Match {
		t.Fatalf("Check = %+v, %v; want a match", res, err)
	}
}

func TestCheckRefusesWhatCannotBeChecked(t *testing.T) {
	readErr := errors.New("synthetic read failure")
	tests := map[string]struct {
		edit    func(*receipt.Receipt)
		content io.Reader
		want    error
	}{
		"an erased receipt cannot check content":    {func(r *receipt.Receipt) { r.Salt = nil }, strings.NewReader(content), receipt.ErrErased},
		"an invalid receipt is an invalid argument": {func(r *receipt.Receipt) { r.Salt = r.Salt[:8] }, strings.NewReader(content), ledger.ErrInvalidArgument},
		"a read failure is passed on":               {nil, iotest.ErrReader(readErr), readErr},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := sample()
			if tc.edit != nil {
				tc.edit(&r)
			}
			if _, err := r.Check(tc.content); !errors.Is(err, tc.want) {
				t.Fatalf("Check error = %v, want %v", err, tc.want)
			}
		})
	}
}

// answer is the ledger's answer to sample's LedgerQuery.
func answer() receipt.VerifyAnswer {
	at := sample().AnchoredAt
	return receipt.VerifyAnswer{RecordID: "rec-0001", Version: 2, Match: true, Status: ledger.StatusActive, Custodian: "Org1MSP", TxID: txID, AnchoredAt: &at}
}

func TestConsistentComparesTheLedgersAnswerWithTheReceipt(t *testing.T) {
	tests := map[string]struct {
		edit    func(*receipt.VerifyAnswer)
		content string
		want    error
		field   string
	}{
		"an agreeing answer is consistent":             {nil, content, nil, ""},
		"a superseded version is still consistent":     {func(v *receipt.VerifyAnswer) { v.Status = ledger.StatusSuperseded }, content, nil, ""},
		"an answer without a time is consistent":       {func(v *receipt.VerifyAnswer) { v.AnchoredAt = nil }, content, nil, ""},
		"content that does not match is refused first": {nil, "forged", receipt.ErrContentMismatch, ""},
		"a ledger mismatch is refused":                 {func(v *receipt.VerifyAnswer) { *v = receipt.VerifyAnswer{RecordID: "rec-0001", Version: 2} }, content, receipt.ErrLedgerMismatch, "commitment"},
		"another custodian is refused":                 {func(v *receipt.VerifyAnswer) { v.Custodian = "Org2MSP" }, content, receipt.ErrLedgerMismatch, "custodian"},
		"another transaction is refused":               {func(v *receipt.VerifyAnswer) { v.TxID = otherHex }, content, receipt.ErrLedgerMismatch, "txId"},
		"an answer about another record is refused":    {func(v *receipt.VerifyAnswer) { v.RecordID = "rec-0002" }, content, receipt.ErrLedgerMismatch, "recordId"},
		"an answer about another version is refused":   {func(v *receipt.VerifyAnswer) { v.Version = 1 }, content, receipt.ErrLedgerMismatch, "version"},
		"an unknown status is refused":                 {func(v *receipt.VerifyAnswer) { v.Status = "" }, content, receipt.ErrLedgerMismatch, "status"},
		"another anchoring time is refused":            {func(v *receipt.VerifyAnswer) { at := v.AnchoredAt.Add(time.Second); v.AnchoredAt = &at }, content, receipt.ErrLedgerMismatch, "anchoredAt"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res, err := sample().Check(strings.NewReader(tc.content))
			if err != nil {
				t.Fatal(err)
			}
			v := answer()
			if tc.edit != nil {
				tc.edit(&v)
			}
			err = res.Consistent(v)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Consistent = %v, want %v", err, tc.want)
			}
			if tc.field != "" && !strings.HasSuffix(err.Error(), ": "+tc.field) {
				t.Fatalf("error %q does not name %s", err, tc.field)
			}
		})
	}
}

func TestVerifyAnswerConvertsFromTheLedgersVerification(t *testing.T) {
	at := sample().AnchoredAt
	v := ledger.Verification{RecordID: "rec-0001", Version: 2, Match: true, Status: ledger.StatusErased, Custodian: "Org1MSP", TxID: txID, AnchoredAt: &at}
	res, err := sample().Check(strings.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Consistent(receipt.VerifyAnswer(v)); err != nil {
		t.Fatalf("Consistent: %v", err)
	}
}
