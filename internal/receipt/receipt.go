package receipt

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/medprov/medprov/chaincode/ledger"
)

// Schema is the value of a receipt's schema field. A change of format needs
// a new schema version.
const Schema = "medprov.receipt.v1"

// MaxBytes is the largest receipt Parse accepts.
const MaxBytes = 4 << 10

// MaxBlockNumber is the largest block number a receipt may carry: 2^53 - 1,
// so that JSON readers that hold numbers as doubles read it exactly.
const MaxBlockNumber = 1<<53 - 1

// maxVersion mirrors the ledger's version bound (ledger.ParseVersion).
const maxVersion = 1_000_000

// Field names, as in the JSON document and in error messages. fieldReceipt
// names the document as a whole.
const (
	fieldReceipt     = "receipt"
	fieldSchema      = "schema"
	fieldRecordID    = "recordId"
	fieldVersion     = "version"
	fieldCustodian   = "custodian"
	fieldSalt        = "salt"
	fieldCommitment  = "commitment"
	fieldTxID        = "txId"
	fieldBlockNumber = "blockNumber"
	fieldAnchoredAt  = "anchoredAt"
)

// fields lists the document's fields in canonical order, and whether each
// is required.
var fields = []struct {
	name     string
	required bool
}{
	{fieldSchema, true},
	{fieldRecordID, true},
	{fieldVersion, true},
	{fieldCustodian, true},
	{fieldSalt, false},
	{fieldCommitment, true},
	{fieldTxID, true},
	{fieldBlockNumber, true},
	{fieldAnchoredAt, true},
}

// Receipt is the evidence receipt of one record version. The zero value is
// not a valid receipt.
type Receipt struct {
	// RecordID is the opaque record ID.
	RecordID string
	// Version is the record version, 1 to 1000000.
	Version int
	// Custodian is the MSP ID of the organisation that holds the record.
	Custodian string
	// Salt is the 32-byte commitment salt; nil once the record is erased.
	Salt []byte
	// Commitment is the anchored commitment, 64 lowercase hex digits.
	Commitment string
	// TxID is the anchoring transaction ID, 64 lowercase hex digits.
	TxID string
	// BlockNumber is the number of the block holding the anchoring
	// transaction, 1 to MaxBlockNumber (block 0 is the genesis block). It
	// is the custodian's statement: VerifyRecord does not return it, so
	// Result.Consistent does not confirm it. A verifier with access to the
	// ledger can confirm it by looking the transaction (TxID) up.
	BlockNumber uint64
	// AnchoredAt is the transaction time of the anchoring, in UTC.
	AnchoredAt time.Time
}

// wire is the JSON form, in canonical field order.
type wire struct {
	Schema      string `json:"schema"`
	RecordID    string `json:"recordId"`
	Version     int    `json:"version"`
	Custodian   string `json:"custodian"`
	Salt        string `json:"salt,omitempty"`
	Commitment  string `json:"commitment"`
	TxID        string `json:"txId"`
	BlockNumber uint64 `json:"blockNumber"`
	AnchoredAt  string `json:"anchoredAt"`
}

// Erased reports whether the receipt has no salt, as once its record is
// erased; such a receipt cannot check content.
func (r Receipt) Erased() bool { return len(r.Salt) == 0 }

// Validate checks every field of the receipt with the ledger's rules. Its
// errors are INVALID_ARGUMENT naming the field, never echoing the value.
func (r Receipt) Validate() error {
	if err := ledger.CheckID(fieldRecordID, r.RecordID); err != nil {
		return err
	}
	if r.Version < 1 || r.Version > maxVersion {
		return ledger.InvalidArgument(fieldVersion, "want a version number from 1 to %d", maxVersion)
	}
	if err := ledger.CheckMSPID(fieldCustodian, r.Custodian); err != nil {
		return err
	}
	if len(r.Salt) != 0 && len(r.Salt) != ledger.SaltSize {
		return ledger.InvalidArgument(fieldSalt, "want %d bytes, or none once the record is erased", ledger.SaltSize)
	}
	if err := ledger.CheckHash32(fieldCommitment, r.Commitment); err != nil {
		return err
	}
	if err := ledger.CheckTxID(fieldTxID, r.TxID); err != nil {
		return err
	}
	if r.BlockNumber < 1 || r.BlockNumber > MaxBlockNumber {
		return ledger.InvalidArgument(fieldBlockNumber, "want a block number from 1 to %d", uint64(MaxBlockNumber))
	}
	if r.AnchoredAt.IsZero() {
		return ledger.InvalidArgument(fieldAnchoredAt, "want the anchoring time")
	}
	if y := r.AnchoredAt.UTC().Year(); y < 1 || y > 9999 {
		return ledger.InvalidArgument(fieldAnchoredAt, "want a year from 0001 to 9999")
	}
	return nil
}

// Marshal renders the receipt canonically: the fields in a fixed order,
// indented by two spaces for people, the salt left out once erased, the
// time in RFC 3339 UTC with the shortest fraction, and a final newline. It
// refuses an invalid receipt, so whatever it renders Parse accepts; the
// fields of a valid receipt are plain ASCII, so the rendering holds no
// escape sequence.
func (r Receipt) Marshal() ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	w := wire{
		Schema:      Schema,
		RecordID:    r.RecordID,
		Version:     r.Version,
		Custodian:   r.Custodian,
		Commitment:  r.Commitment,
		TxID:        r.TxID,
		BlockNumber: r.BlockNumber,
		AnchoredAt:  r.AnchoredAt.UTC().Format(time.RFC3339Nano),
	}
	if len(r.Salt) != 0 {
		w.Salt = hex.EncodeToString(r.Salt)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(w); err != nil {
		return nil, ledger.Internal("receipt: encoding", err)
	}
	return buf.Bytes(), nil
}

// Parse reads a receipt strictly: one JSON object of at most MaxBytes with
// exactly the documented field names (no unknown, duplicated or
// differently-cased ones, no nulls), every required field present and every
// value valid. The document must contain no backslash, so no JSON escape
// sequence: names and values are compared as written, and "tx\u0049d" is
// not txId. No valid receipt needs one, since IDs, hex and RFC 3339 times
// are plain ASCII, and Marshal writes none. The salt may be absent or empty
// for an erased record. Errors are INVALID_ARGUMENT naming the field
// ("receipt" for the document as a whole) and never echo a value.
func Parse(data []byte) (Receipt, error) {
	if len(data) > MaxBytes {
		return Receipt{}, ledger.InvalidArgument(fieldReceipt, "want at most %d bytes", MaxBytes)
	}
	if bytes.IndexByte(data, '\\') >= 0 {
		return Receipt{}, ledger.InvalidArgument(fieldReceipt, "want no escape sequences")
	}
	raw, err := splitObject(data)
	if err != nil {
		return Receipt{}, err
	}
	for _, f := range fields {
		v, ok := raw[f.name]
		if !ok {
			if f.required {
				return Receipt{}, ledger.InvalidArgument(f.name, "required")
			}
			continue
		}
		if string(v) == "null" {
			return Receipt{}, ledger.InvalidArgument(f.name, "want a value, not null")
		}
	}

	var r Receipt
	schema, err := str(raw, fieldSchema)
	if err != nil {
		return Receipt{}, err
	}
	if schema != Schema {
		return Receipt{}, ledger.InvalidArgument(fieldSchema, "want %s", Schema)
	}
	if r.RecordID, err = str(raw, fieldRecordID); err != nil {
		return Receipt{}, err
	}
	if err := json.Unmarshal(raw[fieldVersion], &r.Version); err != nil {
		return Receipt{}, ledger.InvalidArgument(fieldVersion, "want a version number from 1 to %d", maxVersion)
	}
	if r.Custodian, err = str(raw, fieldCustodian); err != nil {
		return Receipt{}, err
	}
	if _, ok := raw[fieldSalt]; ok {
		salt, err := str(raw, fieldSalt)
		if err != nil {
			return Receipt{}, err
		}
		if salt != "" {
			if err := ledger.CheckHash32(fieldSalt, salt); err != nil {
				return Receipt{}, err
			}
			r.Salt, _ = hex.DecodeString(salt)
		}
	}
	if r.Commitment, err = str(raw, fieldCommitment); err != nil {
		return Receipt{}, err
	}
	if r.TxID, err = str(raw, fieldTxID); err != nil {
		return Receipt{}, err
	}
	if err := json.Unmarshal(raw[fieldBlockNumber], &r.BlockNumber); err != nil {
		return Receipt{}, ledger.InvalidArgument(fieldBlockNumber, "want a block number from 1 to %d", uint64(MaxBlockNumber))
	}
	at, err := str(raw, fieldAnchoredAt)
	if err != nil {
		return Receipt{}, err
	}
	if r.AnchoredAt, err = parseTime(at); err != nil {
		return Receipt{}, err
	}
	if err := r.Validate(); err != nil {
		return Receipt{}, err
	}
	return r, nil
}

// parseTime reads an RFC 3339 UTC time in the canonical form Marshal
// writes: a "Z" zone and a fraction without trailing zeros.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || !strings.HasSuffix(s, "Z") || t.Format(time.RFC3339Nano) != s {
		return time.Time{}, ledger.InvalidArgument(fieldAnchoredAt, "want an RFC 3339 UTC time like 2026-01-02T15:04:05.123Z, without trailing zeros in the fraction")
	}
	return t, nil
}

// str decodes the named field as a JSON string.
func str(raw map[string]json.RawMessage, name string) (string, error) {
	var s string
	if err := json.Unmarshal(raw[name], &s); err != nil {
		return "", ledger.InvalidArgument(name, "want a string")
	}
	return s, nil
}

// splitObject reads exactly one JSON object and returns its members' raw
// values by exact name. Unknown, duplicated or differently-cased names, and
// anything after the object, are refused. Names are input too, so errors
// never repeat them.
func splitObject(data []byte) (map[string]json.RawMessage, error) {
	malformed := ledger.InvalidArgument(fieldReceipt, "want one JSON object with the documented fields")
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, malformed
	}
	raw := make(map[string]json.RawMessage, len(fields))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, malformed
		}
		name, ok := tok.(string)
		if !ok {
			return nil, malformed
		}
		if !known(name) {
			return nil, ledger.InvalidArgument(fieldReceipt, "an unknown field")
		}
		if _, dup := raw[name]; dup {
			return nil, ledger.InvalidArgument(name, "given more than once")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, malformed
		}
		raw[name] = v
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, malformed
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, ledger.InvalidArgument(fieldReceipt, "want exactly one JSON object, with nothing after it")
	}
	return raw, nil
}

func known(name string) bool {
	for _, f := range fields {
		if f.name == name {
			return true
		}
	}
	return false
}

// LedgerQuery returns the arguments of the chaincode's VerifyRecord for this
// receipt: record ID, version in decimal, and commitment.
func (r Receipt) LedgerQuery() (recordID, version, commitment string) {
	return r.RecordID, strconv.Itoa(r.Version), r.Commitment
}
