package server_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/internal/devnet"
)

// recVerify sends a VerifyDocument call: the target (if any), then the
// content in chunks of 100 KiB, then extra messages.
func recVerify(ctx context.Context, client gatewayv1.VerificationServiceClient, target *gatewayv1.VerifyTarget, content []byte, extra ...*gatewayv1.VerifyDocumentRequest) (*gatewayv1.VerifyDocumentResponse, error) {
	stream, err := client.VerifyDocument(ctx)
	if err != nil {
		return nil, err
	}
	var msgs []*gatewayv1.VerifyDocumentRequest
	if target != nil {
		msgs = append(msgs, &gatewayv1.VerifyDocumentRequest{Part: &gatewayv1.VerifyDocumentRequest_Target{Target: target}})
	}
	for c := range slices.Chunk(content, 100<<10) {
		msgs = append(msgs, &gatewayv1.VerifyDocumentRequest{Part: &gatewayv1.VerifyDocumentRequest_Chunk{Chunk: c}})
	}
	return sendAll(stream, append(msgs, extra...))
}

func TestVerifyDocument(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	patient := f.register(t, devnet.HospitalA).Pseudonym
	clinician := f.records(t, devnet.HospitalA, "clinician")
	officer := f.records(t, devnet.HospitalA, "officer")
	doc := document(20, 300_000)
	added := addRecord(t, clinician, recordMetadata("verify-1", patient), doc)
	rc := added.GetReceipt()
	restricted := recordMetadata("verify-r", patient)
	restricted.Confidentiality = gatewayv1.Confidentiality_CONFIDENTIALITY_R
	restrictedDoc := document(21, 100)
	restrictedRc := addRecord(t, officer, restricted, restrictedDoc).GetReceipt()

	tampered := bytes.Clone(doc)
	tampered[len(tampered)/2] ^= 0x01
	withReceipt := func(change func(r *gatewayv1.Receipt)) *gatewayv1.VerifyTarget {
		r := proto.Clone(rc).(*gatewayv1.Receipt)
		change(r)
		return &gatewayv1.VerifyTarget{Receipt: r}
	}
	otherTx := strings.Repeat("ab", 32)

	verdicts := map[string]struct {
		msp, user  string
		target     *gatewayv1.VerifyTarget
		content    []byte
		match      bool
		consistent bool
	}{
		"the anchored document with its receipt matches": {
			target: &gatewayv1.VerifyTarget{Receipt: rc}, content: doc, match: true, consistent: true,
		},
		"the caller's own commitment matches without content": {
			target: &gatewayv1.VerifyTarget{Receipt: rc, Commitment: rc.GetCommitment()}, match: true, consistent: true,
		},
		"a document with one bit flipped does not match": {
			target: &gatewayv1.VerifyTarget{Receipt: rc}, content: tampered,
		},
		"a truncated document does not match": {
			target: &gatewayv1.VerifyTarget{Receipt: rc}, content: doc[:len(doc)-1],
		},
		"the wrong salt does not match": {
			target: withReceipt(func(r *gatewayv1.Receipt) { r.Salt = bytes.Repeat([]byte{7}, 32) }), content: doc,
		},
		"a receipt naming another transaction matches but is inconsistent": {
			target: withReceipt(func(r *gatewayv1.Receipt) { r.TxId = otherTx }), content: doc, match: true,
		},
		"a receipt naming another block matches but is inconsistent": {
			target: withReceipt(func(r *gatewayv1.Receipt) { r.BlockNumber += 1000 }), content: doc, match: true,
		},
		"a receipt naming another custodian matches but is inconsistent": {
			target: withReceipt(func(r *gatewayv1.Receipt) { r.Custodian = devnet.HospitalB }), content: doc, match: true,
		},
		"a receipt with an altered commitment matches the ledger by content but is inconsistent": {
			target: withReceipt(func(r *gatewayv1.Receipt) { r.Commitment = strings.Repeat("0", 64) }), content: doc, match: true,
		},
		"another organisation's clinician verifies at its own gateway": {
			msp: devnet.HospitalB, target: &gatewayv1.VerifyTarget{Receipt: rc}, content: doc, match: true, consistent: true,
		},
		"an auditor verifies": {
			user: "auditor", target: &gatewayv1.VerifyTarget{Receipt: rc}, content: doc, match: true, consistent: true,
		},
		"a researcher verifies": {
			user: "researcher", target: &gatewayv1.VerifyTarget{Receipt: rc}, content: doc, match: true, consistent: true,
		},
	}
	for name, tc := range verdicts {
		t.Run(name, func(t *testing.T) {
			msp, user := cmp.Or(tc.msp, devnet.HospitalA), cmp.Or(tc.user, "clinician")
			resp, err := recVerify(ctx, f.verification(t, msp, user), tc.target, tc.content)
			if err != nil {
				t.Fatalf("VerifyDocument: %v", err)
			}
			if resp.GetRecordId() != "verify-1" || resp.GetVersion() != 1 || resp.GetMatch() != tc.match || resp.GetReceiptConsistent() != tc.consistent {
				t.Fatalf("VerifyDocument = %v, want match %v, consistent %v", resp, tc.match, tc.consistent)
			}
			if tc.match {
				if resp.GetStatus() != gatewayv1.RecordStatus_RECORD_STATUS_ACTIVE || resp.GetCustodian() != devnet.HospitalA ||
					resp.GetTxId() != rc.GetTxId() || !resp.GetAnchoredAt().AsTime().Equal(rc.GetAnchoredAt().AsTime()) {
					t.Errorf("a match answered %v", resp)
				}
			} else if resp.GetStatus() != 0 || resp.GetCustodian() != "" || resp.GetTxId() != "" || resp.GetAnchoredAt() != nil {
				t.Errorf("a mismatch answered more than the record and version: %v", resp)
			}
		})
	}

	chunk := &gatewayv1.VerifyDocumentRequest{Part: &gatewayv1.VerifyDocumentRequest_Chunk{Chunk: []byte("synthetic")}}
	target := &gatewayv1.VerifyDocumentRequest{Part: &gatewayv1.VerifyDocumentRequest_Target{Target: &gatewayv1.VerifyTarget{Receipt: rc}}}
	refused := map[string]struct {
		user    string
		target  *gatewayv1.VerifyTarget
		content []byte
		extra   []*gatewayv1.VerifyDocumentRequest
		code    codes.Code
		want    string
	}{
		"a stream without a target is refused": {
			content: doc, code: codes.InvalidArgument, want: "target: must be the first message",
		},
		"an empty stream is refused": {
			code: codes.InvalidArgument, want: "target: must be the first message",
		},
		"a target without a receipt is refused": {
			target: &gatewayv1.VerifyTarget{}, content: doc, code: codes.InvalidArgument, want: "target.receipt",
		},
		"a salt of 31 bytes is refused": {
			target: withReceipt(func(r *gatewayv1.Receipt) { r.Salt = r.Salt[:31] }), content: doc, code: codes.InvalidArgument, want: "target.receipt.salt",
		},
		"a receipt without salt is refused": {
			target: withReceipt(func(r *gatewayv1.Receipt) { r.Salt = nil }), content: doc, code: codes.InvalidArgument, want: "target.receipt.salt",
		},
		"a receipt with a malformed record ID is refused": {
			target: withReceipt(func(r *gatewayv1.Receipt) { r.RecordId = "-" }), content: doc, code: codes.InvalidArgument, want: "target.receipt.record_id",
		},
		"a receipt with version 0 is refused": {
			target: withReceipt(func(r *gatewayv1.Receipt) { r.Version = 0 }), content: doc, code: codes.InvalidArgument, want: "target.receipt.version",
		},
		"a receipt with a malformed transaction ID is refused": {
			target: withReceipt(func(r *gatewayv1.Receipt) { r.TxId = "tx-1" }), content: doc, code: codes.InvalidArgument, want: "target.receipt.tx_id",
		},
		"a commitment together with content is refused": {
			target: &gatewayv1.VerifyTarget{Receipt: rc, Commitment: rc.GetCommitment()}, content: doc, code: codes.InvalidArgument, want: "target.commitment",
		},
		"neither a commitment nor content is refused": {
			target: &gatewayv1.VerifyTarget{Receipt: rc}, code: codes.InvalidArgument, want: "neither",
		},
		"a malformed commitment is refused": {
			target: &gatewayv1.VerifyTarget{Receipt: rc, Commitment: strings.ToUpper(rc.GetCommitment())}, code: codes.InvalidArgument, want: "target.commitment",
		},
		"a second target is refused": {
			target: &gatewayv1.VerifyTarget{Receipt: rc}, content: doc, extra: []*gatewayv1.VerifyDocumentRequest{target, chunk}, code: codes.InvalidArgument, want: "target: exactly once",
		},
		"a version that does not exist is not found": {
			target: withReceipt(func(r *gatewayv1.Receipt) { r.Version = 2 }), content: doc, code: codes.NotFound,
		},
		"a record above the caller's clearance is not found": {
			user: "clinician-l", target: &gatewayv1.VerifyTarget{Receipt: restrictedRc}, content: restrictedDoc, code: codes.NotFound,
		},
	}
	for name, tc := range refused {
		t.Run(name, func(t *testing.T) {
			user := cmp.Or(tc.user, "clinician")
			resp, err := recVerify(ctx, f.verification(t, devnet.HospitalA, user), tc.target, tc.content, tc.extra...)
			wantCode(t, err, tc.code, tc.want)
			if resp != nil {
				t.Errorf("a refused call answered %v", resp)
			}
		})
	}

	t.Run("the document of an erased record still matches, as erased", func(t *testing.T) {
		if _, err := officer.EraseRecord(ctx, &gatewayv1.EraseRecordRequest{RecordId: "verify-r", Reason: gatewayv1.ErasureReason_ERASURE_REASON_ENTERED_IN_ERROR}); err != nil {
			t.Fatalf("EraseRecord: %v", err)
		}
		resp, err := recVerify(ctx, f.verification(t, devnet.HospitalA, "officer"), &gatewayv1.VerifyTarget{Receipt: restrictedRc}, restrictedDoc)
		if err != nil {
			t.Fatalf("VerifyDocument: %v", err)
		}
		if !resp.GetMatch() || !resp.GetReceiptConsistent() || resp.GetStatus() != gatewayv1.RecordStatus_RECORD_STATUS_ERASED {
			t.Fatalf("VerifyDocument = %v", resp)
		}
	})

	t.Run("the commitment the gateway computes is the ledger's formula", func(t *testing.T) {
		sum := sha256.Sum256(doc)
		if got := domain.Commitment(rc.GetSalt(), sum); got != rc.GetCommitment() {
			t.Fatalf("commitment %s, receipt says %s", got, rc.GetCommitment())
		}
	})
}
