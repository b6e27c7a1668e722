package convert_test

import (
	"bytes"
	"reflect"
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/gateway/internal/server/convert"
	"github.com/medprov/medprov/internal/receipt"
)

func validReceipt() receipt.Receipt {
	return receipt.Receipt{
		RecordID: "rec-0001", Version: 2, Custodian: "HospitalAMSP",
		Salt:       bytes.Repeat([]byte{0x42}, 32),
		Commitment: testCommitment, TxID: testTxID, BlockNumber: receipt.MaxBlockNumber,
		AnchoredAt: at(0),
	}
}

func TestReceiptsRoundTrip(t *testing.T) {
	erased := validReceipt()
	erased.Salt = nil
	tests := map[string]receipt.Receipt{
		"a receipt with its salt":             validReceipt(),
		"an erased record's receipt, no salt": erased,
	}
	for name, r := range tests {
		t.Run(name, func(t *testing.T) {
			if err := r.Validate(); err != nil {
				t.Fatalf("the fixture is invalid: %v", err)
			}
			p := convert.Receipt(r)
			if len(r.Salt) > 0 {
				wantAllSet(t, p)
			}
			got, err := convert.ReceiptFromProto("target.receipt", p)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, r) {
				t.Errorf("round trip gives %+v; want %+v", got, r)
			}
			// The salt is copied, never shared.
			if len(p.Salt) > 0 {
				p.Salt[0] ^= 0xff
				if got.Salt[0] != r.Salt[0] {
					t.Error("the domain receipt shares its salt with the proto")
				}
			}
		})
	}
}

func TestReceiptConvertsEveryField(t *testing.T) {
	wantProto(t, convert.Receipt(validReceipt()), &gatewayv1.Receipt{
		RecordId: "rec-0001", Version: 2, Custodian: "HospitalAMSP", Salt: bytes.Repeat([]byte{0x42}, 32),
		Commitment: testCommitment, TxId: testTxID, BlockNumber: receipt.MaxBlockNumber, AnchoredAt: timestamppb.New(at(0)),
	})
}

func TestReceiptFromProtoRefusesAnInvalidReceiptNamingTheProtoField(t *testing.T) {
	tests := map[string]struct {
		mutate func(r *gatewayv1.Receipt)
		field  string
	}{
		"a bad record ID":                {mutate: func(r *gatewayv1.Receipt) { r.RecordId = "x" }, field: "target.receipt.record_id"},
		"version 0":                      {mutate: func(r *gatewayv1.Receipt) { r.Version = 0 }, field: "target.receipt.version"},
		"a version above the ledger's":   {mutate: func(r *gatewayv1.Receipt) { r.Version = 1_000_001 }, field: "target.receipt.version"},
		"no custodian":                   {mutate: func(r *gatewayv1.Receipt) { r.Custodian = "" }, field: "target.receipt.custodian"},
		"a salt of 31 bytes":             {mutate: func(r *gatewayv1.Receipt) { r.Salt = r.Salt[:31] }, field: "target.receipt.salt"},
		"an upper-case commitment":       {mutate: func(r *gatewayv1.Receipt) { r.Commitment = "ABCDEF" + r.Commitment[6:] }, field: "target.receipt.commitment"},
		"a short transaction ID":         {mutate: func(r *gatewayv1.Receipt) { r.TxId = r.TxId[1:] }, field: "target.receipt.tx_id"},
		"block 0, the genesis block":     {mutate: func(r *gatewayv1.Receipt) { r.BlockNumber = 0 }, field: "target.receipt.block_number"},
		"a block beyond 2^53-1":          {mutate: func(r *gatewayv1.Receipt) { r.BlockNumber = receipt.MaxBlockNumber + 1 }, field: "target.receipt.block_number"},
		"no anchoring time":              {mutate: func(r *gatewayv1.Receipt) { r.AnchoredAt = nil }, field: "target.receipt.anchored_at"},
		"an anchoring time out of range": {mutate: func(r *gatewayv1.Receipt) { r.AnchoredAt.Nanos = -1 }, field: "target.receipt.anchored_at"},
		"an unset receipt has no record": {mutate: func(r *gatewayv1.Receipt) { *r = gatewayv1.Receipt{} }, field: "target.receipt.record_id"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := convert.Receipt(validReceipt())
			tc.mutate(p)
			got, err := convert.ReceiptFromProto("target.receipt", p)
			wantFieldError(t, err, tc.field)
			if !reflect.DeepEqual(got, receipt.Receipt{}) {
				t.Errorf("got %+v with the error; want the zero receipt", got)
			}
		})
	}
}

func TestReceiptFromProtoReadsAnUnsetReceiptAsEmpty(t *testing.T) {
	_, err := convert.ReceiptFromProto("receipt", nil)
	wantFieldError(t, err, "receipt.record_id")
}
