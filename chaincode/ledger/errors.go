package ledger

import (
	"errors"
	"fmt"
	"strings"
)

// Code is the class of a chaincode error. The names are gRPC status code
// names, so that a gateway can map them to a status without a table of its
// own.
type Code string

// The error classes the chaincode returns.
const (
	CodeInvalidArgument    Code = "INVALID_ARGUMENT"
	CodeNotFound           Code = "NOT_FOUND"
	CodeAlreadyExists      Code = "ALREADY_EXISTS"
	CodePermissionDenied   Code = "PERMISSION_DENIED"
	CodeFailedPrecondition Code = "FAILED_PRECONDITION"
	CodeInternal           Code = "INTERNAL"
)

var knownCodes = []Code{
	CodeInvalidArgument, CodeNotFound, CodeAlreadyExists,
	CodePermissionDenied, CodeFailedPrecondition, CodeInternal,
}

// Error is a chaincode error. It crosses the wire as text, rendered by Error
// as "CODE: message", and is read back by ParseError. Messages name the
// argument at fault and never carry health data.
type Error struct {
	Code    Code
	Message string
	Err     error
}

// Error renders the error as "CODE: message".
func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Unwrap returns the underlying error, if any.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel of e's code, so that callers can
// write errors.Is(err, ledger.ErrNotFound).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Code == e.Code
}

// Sentinels, one per code, for errors.Is.
var (
	ErrInvalidArgument    = &Error{Code: CodeInvalidArgument}
	ErrNotFound           = &Error{Code: CodeNotFound}
	ErrAlreadyExists      = &Error{Code: CodeAlreadyExists}
	ErrPermissionDenied   = &Error{Code: CodePermissionDenied}
	ErrFailedPrecondition = &Error{Code: CodeFailedPrecondition}
	ErrInternal           = &Error{Code: CodeInternal}
)

func newError(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// InvalidArgument returns an INVALID_ARGUMENT error about the named argument.
func InvalidArgument(arg, format string, args ...any) *Error {
	return newError(CodeInvalidArgument, "%s: %s", arg, fmt.Sprintf(format, args...))
}

// NotFound returns a NOT_FOUND error naming what was looked for.
func NotFound(format string, args ...any) *Error {
	return newError(CodeNotFound, format, args...)
}

// AlreadyExists returns an ALREADY_EXISTS error.
func AlreadyExists(format string, args ...any) *Error {
	return newError(CodeAlreadyExists, format, args...)
}

// PermissionDenied returns a PERMISSION_DENIED error.
func PermissionDenied(format string, args ...any) *Error {
	return newError(CodePermissionDenied, format, args...)
}

// FailedPrecondition returns a FAILED_PRECONDITION error.
func FailedPrecondition(format string, args ...any) *Error {
	return newError(CodeFailedPrecondition, format, args...)
}

// Internal wraps err as an INTERNAL error with context; the rendered text
// includes err's message, so callers pass only errors from encoding and the
// shim, which carry no stored values.
func Internal(context string, err error) *Error {
	return &Error{Code: CodeInternal, Message: context + ": " + err.Error(), Err: err}
}

// AsError returns err as an *Error, classing any other error as INTERNAL.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal("unexpected error", err)
}

// ParseError reads a "CODE: message" string, as returned by the chaincode,
// back into an *Error. Text that does not start with a known code is classed
// as INTERNAL with the whole text as its message. The gateway's ledger
// client is the one place that calls it.
func ParseError(text string) *Error {
	for _, c := range knownCodes {
		if rest, ok := strings.CutPrefix(text, string(c)+": "); ok {
			return &Error{Code: c, Message: rest}
		}
	}
	return &Error{Code: CodeInternal, Message: text}
}
