package receipt

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/medprov/medprov/chaincode/ledger"
)

// Errors of Check and Consistent, for errors.Is. Their messages may name a
// field but never carry a value.
var (
	// ErrErased means the receipt has no salt, as once its record is
	// erased, so it cannot check content.
	ErrErased = errors.New("receipt: the record is erased and its receipt has no salt, so it cannot check content")
	// ErrContentMismatch means the content does not match the receipt's
	// commitment.
	ErrContentMismatch = errors.New("receipt: the content does not match the receipt's commitment")
	// ErrLedgerMismatch means the ledger's answer disagrees with the
	// receipt; the message names the field.
	ErrLedgerMismatch = errors.New("receipt: the ledger's answer disagrees with the receipt")
)

// Result is the outcome of checking content against a receipt.
type Result struct {
	// Receipt is the receipt the content was checked against.
	Receipt Receipt
	// Match reports whether the content reproduces the receipt's
	// commitment with the receipt's salt.
	Match bool
	// ContentSHA256 is SHA-256 of the content, 64 lowercase hex digits.
	ContentSHA256 string
	// Size is the number of content bytes read.
	Size int64
}

// VerifyAnswer is the ledger's answer to VerifyRecord. It has the fields
// and JSON names of ledger.Verification, so a ledger.Verification v
// converts with VerifyAnswer(v) and the chaincode's JSON decodes into it.
// Status, Custodian, TxID and AnchoredAt are set only on a match.
type VerifyAnswer struct {
	// RecordID is the record the ledger answered about.
	RecordID string `json:"recordId"`
	// Version is the version the ledger answered about.
	Version int `json:"version"`
	// Match reports whether the commitment equals the anchored one.
	Match bool `json:"match"`
	// Status is the version's ledger status: active, superseded or erased.
	Status string `json:"status,omitempty"`
	// Custodian is the MSP ID of the record's custodian.
	Custodian string `json:"custodian,omitempty"`
	// TxID is the transaction that anchored the version.
	TxID string `json:"txId,omitempty"`
	// AnchoredAt is when the version was anchored.
	AnchoredAt *time.Time `json:"anchoredAt,omitempty"`
}

// Check streams content through SHA-256, recomputes the commitment with the
// receipt's salt (ledger.Commitment) and compares it with the receipt's
// commitment in constant time. Result.Match says whether the document
// matches its receipt; whether the ledger agrees is the caller's next step
// (LedgerQuery, then Result.Consistent). A receipt without salt gives
// ErrErased, an invalid receipt INVALID_ARGUMENT, and a read failure the
// reader's error, wrapped.
func (r Receipt) Check(content io.Reader) (Result, error) {
	if err := r.Validate(); err != nil {
		return Result{}, err
	}
	if r.Erased() {
		return Result{}, ErrErased
	}
	h := sha256.New()
	n, err := io.Copy(h, content)
	if err != nil {
		return Result{}, fmt.Errorf("receipt: reading the content: %w", err)
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	got := ledger.Commitment(r.Salt, sum)
	return Result{
		Receipt:       r,
		Match:         subtle.ConstantTimeCompare([]byte(got), []byte(r.Commitment)) == 1,
		ContentSHA256: hex.EncodeToString(sum[:]),
		Size:          n,
	}, nil
}

// Consistent checks the ledger's answer to the receipt's LedgerQuery against
// the checked content and the receipt: the content must have matched
// (otherwise ErrContentMismatch), and the ledger must answer about the same
// record and version, report a match with a known status, and name the
// receipt's custodian and transaction, and its anchoring time when it gives
// one (otherwise ErrLedgerMismatch naming the field). A nil error means the
// document is the one anchored in the receipt's transaction; the status,
// which may be superseded or erased, is the caller's to report.
//
// It does not check the receipt's BlockNumber: VerifyRecord does not return
// it, so the block number remains the custodian's statement. A verifier
// with access to the ledger can confirm it by looking the transaction up
// (with Fabric, qscc's GetBlockByTxID).
func (res Result) Consistent(v VerifyAnswer) error {
	if !res.Match {
		return ErrContentMismatch
	}
	r := res.Receipt
	mismatch := func(field string) error { return fmt.Errorf("%w: %s", ErrLedgerMismatch, field) }
	switch {
	case v.RecordID != r.RecordID:
		return mismatch(fieldRecordID)
	case v.Version != r.Version:
		return mismatch(fieldVersion)
	case !v.Match:
		return mismatch(fieldCommitment)
	case v.Status != ledger.StatusActive && v.Status != ledger.StatusSuperseded && v.Status != ledger.StatusErased:
		return mismatch("status")
	case v.Custodian != r.Custodian:
		return mismatch(fieldCustodian)
	case v.TxID != r.TxID:
		return mismatch(fieldTxID)
	case v.AnchoredAt != nil && !v.AnchoredAt.Equal(r.AnchoredAt):
		return mismatch(fieldAnchoredAt)
	}
	return nil
}
