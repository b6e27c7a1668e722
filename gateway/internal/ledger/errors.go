package ledger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	domain "github.com/medprov/medprov/chaincode/ledger"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Sentinel errors of this package; match them with errors.Is. Chaincode
// errors match the sentinels of the chaincode's ledger package instead
// (domain.ErrNotFound and the others).
var (
	// ErrConflict: the transaction was ordered but invalidated by an MVCC
	// or phantom read conflict and changed nothing (codes.Aborted). A new
	// transaction may succeed.
	ErrConflict = errors.New("ledger: transaction invalidated by a conflicting update")
	// ErrCommitStatusUnknown: the context ended after the transaction may
	// have been sent for ordering (codes.DeadlineExceeded or
	// codes.Canceled), or a resend was rejected by the chaincode while an
	// earlier send may still be queued (codes.DeadlineExceeded). It may
	// still commit; Error.TxID names it.
	ErrCommitStatusUnknown = errors.New("ledger: commit status unknown")
	// ErrTxNotFound: Status found no transaction with the ID
	// (codes.NotFound).
	ErrTxNotFound = errors.New("ledger: transaction not found")
	// ErrClosed: the Ledger is closed (codes.Unavailable).
	ErrClosed = errors.New("ledger: closed")
)

// grpcCodes maps each chaincode error class to its gRPC code. The names
// are the same; INTERNAL, and text that names no class, map to Internal.
var grpcCodes = map[domain.Code]codes.Code{
	domain.CodeInvalidArgument:    codes.InvalidArgument,
	domain.CodeNotFound:           codes.NotFound,
	domain.CodeAlreadyExists:      codes.AlreadyExists,
	domain.CodePermissionDenied:   codes.PermissionDenied,
	domain.CodeFailedPrecondition: codes.FailedPrecondition,
	domain.CodeInternal:           codes.Internal,
}

// internalMessage is the only message clients see for an internal error.
const internalMessage = "internal ledger error"

// Error is the error every Ledger method returns. It carries a gRPC
// status (GRPCStatus), so that status.Code and status.FromError work on it
// and on errors wrapping it. Its message (Error) is safe to show to
// clients: a chaincode's message, which never echoes values, or a fixed
// text; the underlying detail is kept for logs (Detail, LogValue).
//
// errors.Is and errors.As see through it to the package's sentinel
// (ErrConflict, ...) and to the cause: the chaincode's *domain.Error for a
// chaincode error, the context's error, or the backend's error.
type Error struct {
	code  codes.Code
	msg   string
	txID  string
	kind  error
	cause error
}

// Error returns the client-safe message.
func (e *Error) Error() string { return e.msg }

// GRPCStatus returns the status for clients: the code and the client-safe
// message.
func (e *Error) GRPCStatus() *status.Status { return status.New(e.code, e.msg) }

// Code returns the gRPC code.
func (e *Error) Code() codes.Code { return e.code }

// TxID returns the ID of the transaction concerned, or "" when no
// transaction was created (Evaluate, or Prepare failing).
func (e *Error) TxID() string { return e.txID }

// Detail returns the message with the underlying error's full text, for
// logs only: for an internal chaincode error it holds the chaincode's
// message, which clients must not see.
func (e *Error) Detail() string {
	if e.cause == nil {
		return e.msg
	}
	return e.msg + ": " + e.cause.Error()
}

// LogValue logs the code, the transaction ID and the detail.
func (e *Error) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("code", e.code.String()), slog.String("detail", e.Detail())}
	if e.txID != "" {
		attrs = append(attrs, slog.String("txId", e.txID))
	}
	return slog.GroupValue(attrs...)
}

// Unwrap returns the package sentinel and the cause, for errors.Is and
// errors.As.
func (e *Error) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.kind, e.cause} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// chaincodeError maps a chaincode's "CODE: message" error text. Text that
// names no known class is INTERNAL; the message of an INTERNAL error is
// replaced for clients and kept in Detail.
func chaincodeError(text, txID string) *Error {
	de := domain.ParseError(text)
	code, ok := grpcCodes[de.Code]
	if !ok {
		code = codes.Internal
	}
	msg := de.Message
	if code == codes.Internal {
		msg = internalMessage
	}
	return &Error{code: code, msg: msg, txID: txID, cause: de}
}

// conflictError is a transaction invalidated with code.
func conflictError(txID string, code ValidationCode, cause error) *Error {
	return &Error{
		code: codes.Aborted, kind: ErrConflict, txID: txID, cause: cause,
		msg: fmt.Sprintf("transaction %s was invalidated by a conflicting concurrent update (%s): retry", txID, code),
	}
}

// invalidError is a transaction invalidated for another reason than a read
// conflict, which the gateway does not expect.
func invalidError(txID string, code ValidationCode, cause error) *Error {
	return &Error{code: codes.Internal, msg: internalMessage, txID: txID,
		cause: fmt.Errorf("transaction %s invalidated with %s: %w", txID, code, orNil(cause))}
}

func orNil(err error) error {
	if err == nil {
		return errors.New("no further detail")
	}
	return err
}

// contextError maps a context error; when sent is true the transaction
// txID may have been sent, so its commit status is unknown.
func contextError(err error, txID string, sent bool) *Error {
	code := codes.DeadlineExceeded
	what := "deadline exceeded"
	if errors.Is(err, context.Canceled) {
		code, what = codes.Canceled, "canceled"
	}
	e := &Error{code: code, txID: txID, cause: err, msg: what}
	if sent {
		e.kind = ErrCommitStatusUnknown
		e.msg = fmt.Sprintf("%s before transaction %s committed: its commit status is unknown", what, txID)
	}
	return e
}

// closedError is a call on a closed ledger.
func closedError(cause error) *Error {
	return &Error{code: codes.Unavailable, msg: "the ledger is closed", kind: ErrClosed, cause: cause}
}

// unavailableError is a peer that could not be reached, or whose Gateway
// service found no endorsers: retrying later may succeed.
func unavailableError(txID string, cause error) *Error {
	return &Error{code: codes.Unavailable, msg: "the ledger's peer is unavailable", txID: txID, cause: cause}
}

// internalError hides an unexpected error from clients.
func internalError(txID string, cause error) *Error {
	return &Error{code: codes.Internal, msg: internalMessage, txID: txID, cause: cause}
}

// isContextError reports whether err is a context's error.
func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
