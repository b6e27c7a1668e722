package server

import (
	"errors"
	"fmt"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/internal/exchange"
	"github.com/medprov/medprov/gateway/internal/server/convert"
)

// exchangeService implements ExchangeService: the custodian's side of the
// cross-institution access flow. Its callers are other organisations'
// gateways presenting their user's certificate, which no wallet here holds
// (Caller.User is nil), or, rarely, this organisation's own users.
type exchangeService struct {
	gatewayv1.UnimplementedExchangeServiceServer
	s *Server
}

// FetchForAccessTicket releases a record version for an access ticket:
// the Checker decides (committed GRANTED or EMERGENCY event about this
// organisation's record, requested with the caller's certificate, fresh,
// unused; it marks the ticket used), then the version's evidence is read
// from the ledger as the gateway's service identity and its content is
// streamed from the store: a TicketHeader (evidence, salt, size), then
// 64 KiB chunks. Nothing is sent before the ticket is honoured.
//
// A certificate of another organisation carries no MSP ID this gateway
// could check: its organisation is the one the ledger recorded for the
// requester whose certificate fingerprint it matches (exchange.Caller).
//
// Errors: INVALID_ARGUMENT (access_tx_id); the Checker's refusals
// (NOT_FOUND, PERMISSION_DENIED, FAILED_PRECONDITION for a used or expired
// ticket); FAILED_PRECONDITION for a record erased since; the ledger's and
// the store's errors.
func (x *exchangeService) FetchForAccessTicket(req *gatewayv1.FetchForAccessTicketRequest, stream gatewayv1.ExchangeService_FetchForAccessTicketServer) (err error) {
	ctx := stream.Context()
	defer func() { x.s.d.Metrics.tickets.WithLabelValues(ticketResult(err)).Inc() }()
	c, ok := callerFrom(ctx)
	if !ok {
		return status.Error(codes.Unauthenticated, "caller: no verified client certificate")
	}
	txID := req.GetAccessTxId()
	if err := domain.CheckTxID("access_tx_id", txID); err != nil {
		return argStatus(err)
	}
	caller := exchange.Caller{CertFingerprint: c.Fingerprint}
	if c.User != nil {
		caller.MSPID = c.User.MSPID
	}
	log := x.s.log(ctx).With(slog.String("access_tx_id", txID), slog.Any("caller", c))
	ev, err := x.s.d.Tickets.Check(ctx, txID, caller)
	if err != nil {
		var xe *exchange.Error
		if errors.As(err, &xe) {
			log.Info("access ticket refused", slog.String("code", xe.Code().String()), slog.String("reason", xe.Detail()))
		}
		return err
	}
	log = log.With(slog.String("requester", ev.Requester.MSPID), slog.String("record_id", ev.RecordID), slog.Int("version", ev.Version))
	log.Info("access ticket honoured")

	rec, err := x.s.readRecordVersion(ctx, x.s.d.Service, ev.RecordID, ev.Version)
	if err != nil {
		return err
	}
	if rec.Custodian != x.s.d.MSPID {
		return fmt.Errorf("read record %s: the ledger answered about another custodian's record", ev.RecordID)
	}
	if rec.Status == domain.StatusErased {
		return status.Error(codes.FailedPrecondition, "record: erased since the access was granted")
	}
	content, entry, err := x.s.d.Store.Open(ctx, rec.RecordID, rec.Version)
	if err != nil {
		return fmt.Errorf("open record %s version %d: %w", rec.RecordID, rec.Version, err)
	}
	defer func() { _ = content.Close() }()
	if entry.Commitment != rec.Commitment {
		return fmt.Errorf("record %s version %d: the stored content's commitment is not the anchored one", rec.RecordID, rec.Version)
	}
	if err := stream.Send(&gatewayv1.FetchForAccessTicketResponse{Part: &gatewayv1.FetchForAccessTicketResponse_Header{
		Header: &gatewayv1.TicketHeader{Evidence: convert.RecordEvidence(rec), Salt: entry.Salt, Size: uint64(entry.Size)},
	}}); err != nil {
		return fmt.Errorf("send header: %w", err)
	}
	n, err := sendChunks(content, func(chunk []byte) error {
		return stream.Send(&gatewayv1.FetchForAccessTicketResponse{Part: &gatewayv1.FetchForAccessTicketResponse_Chunk{Chunk: chunk}})
	})
	x.s.d.Metrics.bytes.WithLabelValues("out").Add(float64(n))
	if err != nil {
		return fmt.Errorf("stream record %s version %d: %w", rec.RecordID, rec.Version, err)
	}
	if n != entry.Size {
		return fmt.Errorf("stream record %s version %d: %d bytes read, the store recorded %d", rec.RecordID, rec.Version, n, entry.Size)
	}
	log.Info("record released", slog.Int64("size", n))
	return nil
}

// ticketResult is the label of the tickets metric: "served", or the gRPC
// code the call ends with.
func ticketResult(err error) string {
	if err == nil {
		return "served"
	}
	code, _ := classify(err)
	return code.String()
}
