package server

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/medprov/medprov/gateway/internal/anchor"
	"github.com/medprov/medprov/gateway/internal/exchange"
	"github.com/medprov/medprov/gateway/internal/server/convert"
	"github.com/medprov/medprov/gateway/internal/store"
	"github.com/medprov/medprov/internal/patientproof"
)

// mapStatus is the one place where errors become gRPC statuses. Handlers
// return errors as the packages below produce them (wrapped with context);
// mapStatus picks the code and a message that is safe for the client:
//
//   - errors that already carry a status (the ledger client's, which map
//     the chaincode's CODE tokens; the exchange checker's refusals;
//     statuses made here) keep their code and message;
//   - the sentinels of the store, the anchorer, the conversions and the
//     patient challenges get their documented codes;
//   - anything else is INTERNAL with the request ID only; the cause goes to
//     the log.
//
// None of these messages holds content: the packages below name fields and
// identifiers, never values of records.
func mapStatus(ctx context.Context, logger *slog.Logger, err error) error {
	if err == nil {
		return nil
	}
	code, msg := classify(err)
	if code == codes.Internal || code == codes.Unknown {
		logFrom(ctx, logger).Error("rpc failed", slog.String("error", err.Error()))
		return status.Error(codes.Internal, "internal error; request ID "+requestID(ctx))
	}
	return status.Error(code, msg)
}

func classify(err error) (codes.Code, string) {
	var fe *convert.FieldError
	var xe *exchange.Error
	switch {
	case errors.Is(err, context.Canceled):
		return codes.Canceled, "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded, "deadline exceeded"
	case errors.As(err, &fe):
		return codes.InvalidArgument, fe.Error()
	case errors.As(err, &xe):
		return xe.Code(), xe.Error()
	case errors.Is(err, store.ErrNotFound):
		return codes.NotFound, "record: not found at this gateway"
	case errors.Is(err, store.ErrErased):
		return codes.FailedPrecondition, "record: erased"
	case errors.Is(err, store.ErrExists):
		return codes.AlreadyExists, "record: this version is already stored"
	case errors.Is(err, store.ErrInvalid):
		return codes.InvalidArgument, err.Error()
	case errors.Is(err, store.ErrKeyUnavailable):
		return codes.FailedPrecondition, "store: the key-encryption key of this record is not available"
	case errors.Is(err, anchor.ErrInvalid):
		return codes.InvalidArgument, err.Error()
	case errors.Is(err, anchor.ErrBusy):
		return codes.Aborted, "record: another call is anchoring this record; retry"
	case errors.Is(err, anchor.ErrPending):
		return codes.FailedPrecondition, "record: a version is still being anchored; retry later"
	case errors.Is(err, exchange.ErrCommitmentMismatch):
		return codes.DataLoss, err.Error()
	case errors.Is(err, exchange.ErrSizeMismatch): // a fetched copy of the wrong size: nothing kept
		return codes.DataLoss, err.Error()
	case errors.Is(err, errSourceMismatch): // FetchRecord: the custodian's evidence disagrees with the ledger
		return codes.DataLoss, errSourceMismatch.Error()
	case errors.Is(err, patientproof.ErrTooManyChallenges):
		return codes.ResourceExhausted, "patient: too many challenges asked for; reuse an outstanding one or retry later"
	case errors.Is(err, patientproof.ErrBadSignature),
		errors.Is(err, patientproof.ErrUnknownChallenge),
		errors.Is(err, patientproof.ErrExpired),
		errors.Is(err, patientproof.ErrWrongPatient):
		return codes.Unauthenticated, "proof: " + strings.TrimPrefix(err.Error(), "patientproof: ")
	}
	// Status errors, also wrapped (fmt.Errorf("...: %w", ledgerErr)):
	// FromError finds them and keeps the whole message.
	if s, ok := status.FromError(err); ok {
		return s.Code(), s.Message()
	}
	return codes.Internal, err.Error()
}
