package exchange

import (
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Sentinels of the refusals; match them with errors.Is. The gRPC code of
// each is given in brackets.
//
// Codes: the custodian answers NotFound for a ticket it cannot see,
// PermissionDenied when the ticket does not entitle this caller to this
// custodian's record (wrong custodian, wrong requester, not granted, or a
// future-dated event, which is a forged or badly skewed proposal
// timestamp), and FailedPrecondition when the ticket was valid once but
// no longer is (expired, used): a new RequestAccess can fix it.
var (
	// ErrMalformedTicket: the ticket is not a transaction ID
	// (InvalidArgument).
	ErrMalformedTicket = errors.New("exchange: malformed ticket")
	// ErrUnknownTicket: the ledger shows this organisation no access event
	// for the ticket (NotFound).
	ErrUnknownTicket = errors.New("exchange: unknown ticket")
	// ErrWrongCustodian: the event is about another organisation's record
	// (PermissionDenied).
	ErrWrongCustodian = errors.New("exchange: ticket for another custodian")
	// ErrWrongRequester: the event was requested by another organisation
	// or another certificate (PermissionDenied).
	ErrWrongRequester = errors.New("exchange: ticket issued to another requester")
	// ErrNotGranted: the decision is DENIED, or the event is not a
	// RequestAccess decision (PermissionDenied).
	ErrNotGranted = errors.New("exchange: access not granted")
	// ErrExpired: the event is older than the TTL (FailedPrecondition).
	ErrExpired = errors.New("exchange: ticket expired")
	// ErrNotYetValid: the event's time is further in the future than the
	// clock skew tolerance (PermissionDenied).
	ErrNotYetValid = errors.New("exchange: ticket dated in the future")
	// ErrUsed: the ticket was honoured before (FailedPrecondition).
	ErrUsed = errors.New("exchange: ticket already used")
)

// refusals maps each sentinel to its gRPC code and client message.
var refusals = map[error]struct {
	code codes.Code
	msg  string
}{
	ErrMalformedTicket: {codes.InvalidArgument, "ticket: want a transaction ID of 64 lowercase hex digits"},
	ErrUnknownTicket:   {codes.NotFound, "unknown ticket"},
	ErrWrongCustodian:  {codes.PermissionDenied, "the ticket is for another custodian"},
	ErrWrongRequester:  {codes.PermissionDenied, "the ticket was not issued to the caller"},
	ErrNotGranted:      {codes.PermissionDenied, "the ticket does not grant access"},
	ErrExpired:         {codes.FailedPrecondition, "the ticket has expired: request access again"},
	ErrNotYetValid:     {codes.PermissionDenied, "the ticket is dated in the future beyond the clock skew tolerance"},
	ErrUsed:            {codes.FailedPrecondition, "the ticket has already been used: request access again"},
}

// Error is a refusal, or an internal failure of a check. Its message
// (Error) is safe for clients and names no patient, record or purpose;
// Detail adds the cause for logs.
type Error struct {
	code  codes.Code
	msg   string
	kind  error
	cause error
}

// refuse returns the refusal of sentinel kind.
func refuse(kind error) *Error {
	r := refusals[kind]
	return &Error{code: r.code, msg: r.msg, kind: kind}
}

// internal is a failure that is not a refusal; the cause stays in Detail.
func internal(cause error) *Error {
	return &Error{code: codes.Internal, msg: "internal error checking the ticket", cause: cause}
}

// Error returns the client-safe message.
func (e *Error) Error() string { return e.msg }

// GRPCStatus returns the status for clients.
func (e *Error) GRPCStatus() *status.Status { return status.New(e.code, e.msg) }

// Code returns the gRPC code.
func (e *Error) Code() codes.Code { return e.code }

// Detail returns the message with the cause, for logs only.
func (e *Error) Detail() string {
	if e.cause == nil {
		return e.msg
	}
	return e.msg + ": " + e.cause.Error()
}

// Unwrap returns the sentinel and the cause.
func (e *Error) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.kind, e.cause} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}
