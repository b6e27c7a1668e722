package convert

import (
	"bytes"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/internal/receipt"
)

// receiptFields maps the receipt's field names, as receipt.Validate names
// them, to the proto's.
var receiptFields = map[string]string{
	"recordId":    "record_id",
	"version":     "version",
	"custodian":   "custodian",
	"salt":        "salt",
	"commitment":  "commitment",
	"txId":        "tx_id",
	"blockNumber": "block_number",
	"anchoredAt":  "anchored_at",
}

// Receipt returns an evidence receipt, as the API shows it. It holds the
// salt: answer with it only to callers the contract allows.
func Receipt(r receipt.Receipt) *gatewayv1.Receipt {
	return &gatewayv1.Receipt{
		RecordId:    r.RecordID,
		Version:     u32(r.Version),
		Custodian:   r.Custodian,
		Salt:        bytes.Clone(r.Salt),
		Commitment:  r.Commitment,
		TxId:        r.TxID,
		BlockNumber: r.BlockNumber,
		AnchoredAt:  Timestamp(r.AnchoredAt),
	}
}

// ReceiptFromProto returns the receipt at path (the request field, such as
// "target.receipt"), checked with receipt.Receipt.Validate: every field is
// required and valid, except the salt, which is empty (nil) once the
// record is erased. An unset receipt reads as an empty one. A failure is a
// *FieldError naming the proto field, such as "target.receipt.tx_id".
func ReceiptFromProto(path string, r *gatewayv1.Receipt) (receipt.Receipt, error) {
	version, err := intFromU32(join(path, "version"), r.GetVersion())
	if err != nil {
		return receipt.Receipt{}, err
	}
	at, err := TimeFromProto(join(path, "anchored_at"), r.GetAnchoredAt())
	if err != nil {
		return receipt.Receipt{}, err
	}
	out := receipt.Receipt{
		RecordID:    r.GetRecordId(),
		Version:     version,
		Custodian:   r.GetCustodian(),
		Commitment:  r.GetCommitment(),
		TxID:        r.GetTxId(),
		BlockNumber: r.GetBlockNumber(),
		AnchoredAt:  at,
	}
	if len(r.GetSalt()) > 0 {
		out.Salt = bytes.Clone(r.GetSalt())
	}
	if err := out.Validate(); err != nil {
		return receipt.Receipt{}, asFieldError(err, func(name string) string {
			if proto, ok := receiptFields[name]; ok {
				return join(path, proto)
			}
			return path
		})
	}
	return out, nil
}
