package ledger

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/embedded"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestChaincodeErrorMapping(t *testing.T) {
	tests := map[string]struct {
		text     string
		code     codes.Code
		sentinel error
		message  string
	}{
		"INVALID_ARGUMENT is InvalidArgument": {
			text: "INVALID_ARGUMENT: request.recordId: want a record ID", code: codes.InvalidArgument,
			sentinel: domain.ErrInvalidArgument, message: "request.recordId: want a record ID",
		},
		"NOT_FOUND is NotFound": {
			text: "NOT_FOUND: record rec-1", code: codes.NotFound, sentinel: domain.ErrNotFound, message: "record rec-1",
		},
		"ALREADY_EXISTS is AlreadyExists": {
			text: "ALREADY_EXISTS: record rec-1", code: codes.AlreadyExists, sentinel: domain.ErrAlreadyExists, message: "record rec-1",
		},
		"PERMISSION_DENIED is PermissionDenied": {
			text: "PERMISSION_DENIED: role auditor may not call AnchorRecord", code: codes.PermissionDenied,
			sentinel: domain.ErrPermissionDenied, message: "role auditor may not call AnchorRecord",
		},
		"FAILED_PRECONDITION is FailedPrecondition": {
			text: "FAILED_PRECONDITION: record rec-1 is erased", code: codes.FailedPrecondition,
			sentinel: domain.ErrFailedPrecondition, message: "record rec-1 is erased",
		},
		"INTERNAL is Internal and hides its text": {
			text: "INTERNAL: decode record: unexpected kind", code: codes.Internal,
			sentinel: domain.ErrInternal, message: internalMessage,
		},
		"unparsable text is Internal and hidden": {
			text: "panic: runtime error in the shim", code: codes.Internal,
			sentinel: domain.ErrInternal, message: internalMessage,
		},
		"a code name without its separator is Internal": {
			text: "NOT_FOUND record rec-1", code: codes.Internal, sentinel: domain.ErrInternal, message: internalMessage,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := error(chaincodeError(tc.text, "tx-1"))
			if got := status.Code(err); got != tc.code {
				t.Errorf("status.Code = %v, want %v", got, tc.code)
			}
			if got := status.Code(fmt.Errorf("context: %w", err)); got != tc.code {
				t.Errorf("status.Code of a wrapped error = %v, want %v", got, tc.code)
			}
			if !errors.Is(err, tc.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.sentinel)
			}
			if got := status.Convert(err).Message(); got != tc.message {
				t.Errorf("status message = %q, want %q", got, tc.message)
			}
			var le *Error
			if !errors.As(err, &le) || !strings.Contains(le.Detail(), strings.TrimPrefix(tc.text, "INTERNAL: ")) {
				t.Errorf("Detail() = %q does not keep the chaincode's text %q", le.Detail(), tc.text)
			}
			if le.TxID() != "tx-1" {
				t.Errorf("TxID() = %q, want tx-1", le.TxID())
			}
		})
	}
}

func TestBackendErrorMapping(t *testing.T) {
	tests := map[string]struct {
		err      error
		sent     bool
		code     codes.Code
		sentinel error
	}{
		"an MVCC read conflict is Aborted": {
			err:  &embedded.CommitError{TxID: "tx-1", BlockNumber: 3, Code: embedded.MVCC_READ_CONFLICT},
			code: codes.Aborted, sentinel: ErrConflict,
		},
		"a phantom read conflict is Aborted": {
			err:  &embedded.CommitError{TxID: "tx-1", BlockNumber: 3, Code: embedded.PHANTOM_READ_CONFLICT},
			code: codes.Aborted, sentinel: ErrConflict,
		},
		"a closed ledger is Unavailable": {
			err: embedded.ErrClosed, code: codes.Unavailable, sentinel: ErrClosed,
		},
		"a deadline before sending is DeadlineExceeded": {
			err: context.DeadlineExceeded, code: codes.DeadlineExceeded, sentinel: context.DeadlineExceeded,
		},
		"a deadline after sending leaves the commit status unknown": {
			err: fmt.Errorf("wait: %w", context.DeadlineExceeded), sent: true, code: codes.DeadlineExceeded, sentinel: ErrCommitStatusUnknown,
		},
		"a cancellation after sending leaves the commit status unknown": {
			err: context.Canceled, sent: true, code: codes.Canceled, sentinel: ErrCommitStatusUnknown,
		},
		"a storage failure is Internal": {
			err: errors.New("embedded: commit block 4: disk full"), code: codes.Internal, sentinel: nil,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := (&embeddedLedger{}).mapError(tc.err, "tx-1", tc.sent)
			if got := status.Code(err); got != tc.code {
				t.Errorf("status.Code = %v, want %v", got, tc.code)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.sentinel)
			}
			if tc.code == codes.Internal && status.Convert(err).Message() != internalMessage {
				t.Errorf("an internal error shows %q to clients", status.Convert(err).Message())
			}
		})
	}
}
