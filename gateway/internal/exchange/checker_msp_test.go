package exchange

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/medprov/medprov/internal/devnet"
)

// A foreign certificate reaches the custodian with no MSP ID (Caller.MSPID
// empty): its organisation is the one the ledger recorded, once the
// fingerprint matched; an unknown fingerprint is refused all the same.
func TestCheckCallerWithoutMSPID(t *testing.T) {
	e := newEnv(t)
	otherClinB := e.user(devnet.HospitalB, "clinician-2", "clinician")
	tests := map[string]struct {
		caller Caller
		want   error
	}{
		"the requester's certificate with no MSP ID is honoured": {
			caller: Caller{CertFingerprint: callerOf(e.clinB).CertFingerprint}},
		"another certificate of the requesting organisation with no MSP ID is refused": {
			caller: Caller{CertFingerprint: callerOf(otherClinB).CertFingerprint}, want: ErrWrongRequester},
		"a certificate of the custodian's staff with no MSP ID is refused": {
			caller: Caller{CertFingerprint: callerOf(e.officerA).CertFingerprint}, want: ErrWrongRequester},
		"no MSP ID and no fingerprint is refused": {
			caller: Caller{}, want: ErrWrongRequester},
		"the requester's certificate with another MSP ID is refused": {
			caller: Caller{MSPID: devnet.HealthAuthority, CertFingerprint: callerOf(e.clinB).CertFingerprint}, want: ErrWrongRequester},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ticket := e.granted()
			c, used := e.checker(nil)
			ev, err := c.Check(context.Background(), ticket.TxID, tc.caller)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				if ev.TxID != ticket.TxID || ev.Requester.MSPID != devnet.HospitalB {
					t.Errorf("event %s of requester %s, want %s of %s", ev.TxID, ev.Requester.MSPID, ticket.TxID, devnet.HospitalB)
				}
				if _, err := c.Check(context.Background(), ticket.TxID, tc.caller); !errors.Is(err, ErrUsed) {
					t.Errorf("second Check: %v, want ErrUsed", err)
				}
				return
			}
			if !errors.Is(err, tc.want) || status.Code(err) != codes.PermissionDenied {
				t.Fatalf("Check: %v (%s), want %v", err, status.Code(err), tc.want)
			}
			if first, err := used.MarkUsed(ticket.TxID, ticket.At); err != nil || !first {
				t.Errorf("after a refusal MarkUsed = %v, %v; want a first use", first, err)
			}
		})
	}
}
