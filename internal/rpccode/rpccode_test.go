package rpccode

import (
	"testing"

	"google.golang.org/grpc/codes"
)

func TestName(t *testing.T) {
	for code, want := range map[codes.Code]string{
		codes.OK:                 "OK",
		codes.NotFound:           "NOT_FOUND",
		codes.FailedPrecondition: "FAILED_PRECONDITION",
		codes.DeadlineExceeded:   "DEADLINE_EXCEEDED",
		codes.Code(99):           "CODE(99)",
	} {
		if got := Name(code); got != want {
			t.Errorf("Name(%d) = %q, want %q", code, got, want)
		}
	}
}
