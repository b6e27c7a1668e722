package server

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/internal/ledger"
	"github.com/medprov/medprov/gateway/internal/server/convert"
	"github.com/medprov/medprov/gateway/internal/wallet"
	"github.com/medprov/medprov/internal/receipt"
)

// verificationService implements VerificationService: it checks a
// document and its receipt against the ledger, as the caller, without the
// custodian's store. The document's content is hashed as it streams and
// then dropped: it is neither stored nor logged.
type verificationService struct {
	gatewayv1.UnimplementedVerificationServiceServer
	s *Server
}

// VerifyDocument implements VerificationService.VerifyDocument.
//
// The commitment asked of the ledger is the one the caller gave, or the one
// computed from the content with the receipt's salt, never the receipt's
// own commitment: a document that matches the ledger but comes with a
// receipt whose commitment was altered is a match with receipt_consistent
// false. receipt_consistent needs the receipt's commitment, custodian,
// transaction and anchoring time to agree with the ledger's answer
// (receipt.Result.Consistent) and its block number to be the block that
// holds the transaction (Ledger.Status).
func (v *verificationService) VerifyDocument(stream grpc.ClientStreamingServer[gatewayv1.VerifyDocumentRequest, gatewayv1.VerifyDocumentResponse]) error {
	ctx := stream.Context()
	id, err := user(ctx)
	if err != nil {
		return err
	}
	first, err := recvFirst(stream.Recv, "target")
	if err != nil {
		return err
	}
	target := first.GetTarget()
	if target.GetReceipt() == nil {
		return status.Error(codes.InvalidArgument, "target.receipt: required")
	}
	if n := len(target.GetReceipt().GetSalt()); n != domain.SaltSize {
		return status.Error(codes.InvalidArgument, "target.receipt.salt: want "+strconv.Itoa(domain.SaltSize)+" bytes")
	}
	rc, err := convert.ReceiptFromProto("target.receipt", target.GetReceipt())
	if err != nil {
		return err
	}

	var commitment string
	if target.GetCommitment() != "" {
		if err := domain.CheckHash32("target.commitment", target.GetCommitment()); err != nil {
			return argStatus(err)
		}
		if err := verifyNoContent(stream.Recv); err != nil {
			return err
		}
		commitment = target.GetCommitment()
	} else {
		up := newUpload(stream.Recv, "target", DefaultMaxRecordSize)
		h := sha256.New()
		if _, err := io.Copy(h, up); err != nil {
			if errors.Is(up.err(), errEmptyContent) {
				return status.Error(codes.InvalidArgument, "target: want a commitment or content chunks after it; got neither")
			}
			if uerr := up.err(); uerr != nil {
				return uerr
			}
			return fmt.Errorf("hash document: %w", err)
		}
		var sum [sha256.Size]byte
		h.Sum(sum[:0])
		commitment = domain.Commitment(rc.Salt, sum)
	}

	answer, err := evaluateVerifyRecord(ctx, v.s.d.Ledger, id, rc.RecordID, rc.Version, commitment)
	if err != nil {
		return err
	}
	resp := &gatewayv1.VerifyDocumentResponse{RecordId: rc.RecordID, Version: uint32(rc.Version), Match: answer.Match}
	if answer.Match {
		consistent, err := v.consistent(ctx, rc, commitment, answer)
		if err != nil {
			return err
		}
		resp.ReceiptConsistent = consistent
		resp.Status = convert.RecordStatus(answer.Status)
		resp.Custodian = answer.Custodian
		resp.TxId = answer.TxID
		if answer.AnchoredAt != nil {
			resp.AnchoredAt = convert.Timestamp(*answer.AnchoredAt)
		}
	}
	return stream.SendAndClose(resp)
}

// consistent reports whether the receipt agrees with the ledger's answer
// to a matching commitment: its commitment, custodian, transaction and time
// (receipt.Result.Consistent), and its block number, which the ledger
// confirms by looking the transaction up. A transaction the ledger does
// not know is inconsistent; other lookup failures are errors.
func (v *verificationService) consistent(ctx context.Context, rc receipt.Receipt, commitment string, answer receipt.VerifyAnswer) (bool, error) {
	res := receipt.Result{Receipt: rc, Match: commitment == rc.Commitment}
	if err := res.Consistent(answer); err != nil {
		return false, nil
	}
	st, err := v.s.d.Ledger.Status(ctx, rc.TxID)
	if errors.Is(err, ledger.ErrTxNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up transaction %s: %w", rc.TxID, err)
	}
	return st.Valid() && st.Block == rc.BlockNumber, nil
}

// evaluateVerifyRecord evaluates VerifyRecord as the caller.
func evaluateVerifyRecord(ctx context.Context, l ledger.Ledger, id *wallet.Identity, recordID string, version int, commitment string) (receipt.VerifyAnswer, error) {
	payload, err := l.Evaluate(ctx, id.Ledger(), domain.TxVerifyRecord, recordID, strconv.Itoa(version), commitment)
	if err != nil {
		return receipt.VerifyAnswer{}, fmt.Errorf("verify record %s version %d: %w", recordID, version, err)
	}
	var answer receipt.VerifyAnswer
	if err := json.Unmarshal(payload, &answer); err != nil {
		return receipt.VerifyAnswer{}, fmt.Errorf("decode verification of record %s: %w", recordID, err)
	}
	if answer.RecordID != recordID || answer.Version != version {
		return receipt.VerifyAnswer{}, fmt.Errorf("verify record %s version %d: the ledger answered about another version", recordID, version)
	}
	return answer, nil
}

// verifyNoContent checks that a client stream ends after its first message:
// INVALID_ARGUMENT if a chunk follows a caller's own commitment.
func verifyNoContent(recv func() (*gatewayv1.VerifyDocumentRequest, error)) error {
	_, err := recv()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("receive: %w", err)
	}
	return status.Error(codes.InvalidArgument, "target.commitment: set, so no content may follow; send a commitment or content, not both")
}
