package exchange

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/internal/devnet"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestCheckRefusals(t *testing.T) {
	e := newEnv(t)
	granted := e.granted()
	denied := e.request(e.clinB, domain.AccessRequest{RecordID: e.other, Purpose: domain.PurposeTreatment}, domain.DecisionDenied)
	yes := true
	var logged domain.AccessEvent
	if err := json.Unmarshal(e.submit(e.officerA, domain.TxLogAccess, asJSON(t, domain.LogAccessRequest{
		RecordID: e.consented, Purpose: domain.PurposeTreatment, CareRelationship: &yes})), &logged); err != nil {
		t.Fatal(err)
	}
	e.txClock.set(10 * time.Minute)
	future := e.granted()
	e.txClock.set(0)

	otherClinB := e.user(devnet.HospitalB, "clinician-2", domain.RoleClinician)
	authority := e.user(devnet.HealthAuthority, "auditor", domain.RoleAuditor)
	clinA := e.user(devnet.HospitalA, "clinician", domain.RoleClinician)
	b := callerOf(e.clinB)

	// A Checker of the health authority reads every event (its auditor
	// may), so it sees hospital A's events, of which it is not custodian.
	authorityChecker := func(used UsedTickets) *Checker {
		c, err := New(Config{Fetch: LedgerFetcher(e.ledger, identity(authority)), MSPID: devnet.HealthAuthority, Used: used, TTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// A Checker that reads as hospital B, which the ledger does not show
	// hospital A's events: they look as unknown as a made-up ID.
	blindChecker := func(used UsedTickets) *Checker {
		c, err := New(Config{Fetch: LedgerFetcher(e.ledger, identity(e.clinB)), MSPID: devnet.HospitalA, Used: used, TTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	tests := map[string]struct {
		txID    string
		caller  Caller
		checker func(UsedTickets) *Checker // nil: hospital A's at real time
		at      time.Duration              // the checker's clock offset
		want    error
		code    codes.Code
	}{
		"a ticket that is not a transaction ID is malformed": {
			txID: "not-a-tx-id", caller: b, want: ErrMalformedTicket, code: codes.InvalidArgument},
		"a transaction ID with no access event is unknown": {
			txID: strings.Repeat("ab", 32), caller: b, want: ErrUnknownTicket, code: codes.NotFound},
		"an event the ledger hides from the custodian is unknown": {
			txID: granted.TxID, caller: b, checker: blindChecker, want: ErrUnknownTicket, code: codes.NotFound},
		"an event about another custodian's record is refused": {
			txID: granted.TxID, caller: b, checker: authorityChecker, want: ErrWrongCustodian, code: codes.PermissionDenied},
		"another certificate of the requesting organisation is refused": {
			txID: granted.TxID, caller: callerOf(otherClinB), want: ErrWrongRequester, code: codes.PermissionDenied},
		"another organisation presenting the requester's fingerprint is refused": {
			txID: granted.TxID, caller: Caller{MSPID: devnet.HealthAuthority, CertFingerprint: b.CertFingerprint}, want: ErrWrongRequester, code: codes.PermissionDenied},
		"a caller with no fingerprint is refused": {
			txID: granted.TxID, caller: Caller{MSPID: b.MSPID}, want: ErrWrongRequester, code: codes.PermissionDenied},
		"a denied request is not a ticket": {
			txID: denied.TxID, caller: b, want: ErrNotGranted, code: codes.PermissionDenied},
		"the custodian's own logged access is not a ticket": {
			txID: logged.TxID, caller: callerOf(e.officerA), want: ErrNotGranted, code: codes.PermissionDenied},
		"a ticket older than the TTL has expired": {
			txID: granted.TxID, caller: b, at: ttl + time.Second, want: ErrExpired, code: codes.FailedPrecondition},
		"a ticket dated beyond the skew tolerance is not yet valid": {
			txID: future.TxID, caller: b, want: ErrNotYetValid, code: codes.PermissionDenied},
		"the wrong requester is refused before the age is looked at": {
			txID: future.TxID, caller: callerOf(clinA), want: ErrWrongRequester, code: codes.PermissionDenied},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			used := openUsed(t, filepath.Join(t.TempDir(), "used.db"))
			c := e.checkerWith(used, shifted(tc.at))
			if tc.checker != nil {
				c = tc.checker(used)
			}
			ev, err := c.Check(context.Background(), tc.txID, tc.caller)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Check: %v, want %v", err, tc.want)
			}
			if got := status.Code(err); got != tc.code {
				t.Errorf("code %s, want %s", got, tc.code)
			}
			if ev.TxID != "" {
				t.Errorf("a refusal returned an event")
			}
			for _, secret := range []string{e.consented, e.other, granted.Patient, "consent-1", tc.txID} {
				if strings.Contains(status.Convert(err).Message(), secret) {
					t.Errorf("message %q holds %q", status.Convert(err).Message(), secret)
				}
			}
			// A refusal does not use the ticket up.
			if first, err := used.MarkUsed(tc.txID, time.Now()); err != nil || !first {
				t.Errorf("after a refusal MarkUsed = %v, %v; want a first use", first, err)
			}
		})
	}
}

func TestCheckHidesWhetherTicketExists(t *testing.T) {
	e := newEnv(t)
	granted := e.granted()
	c, err := New(Config{Fetch: LedgerFetcher(e.ledger, identity(e.clinB)), MSPID: devnet.HospitalA, Used: openUsed(t, filepath.Join(t.TempDir(), "u.db")), TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	_, hidden := c.Check(e.ctx, granted.TxID, callerOf(e.clinB))
	_, missing := c.Check(e.ctx, strings.Repeat("0", 64), callerOf(e.clinB))
	if status.Convert(hidden).Message() != status.Convert(missing).Message() || status.Code(hidden) != status.Code(missing) {
		t.Errorf("hidden %v and missing %v differ", hidden, missing)
	}
}

func TestCheckHonoursOnce(t *testing.T) {
	e := newEnv(t)
	tests := map[string]struct {
		event  domain.AccessEvent
		at     time.Duration
		decide domain.Decision
	}{
		"a ticket granted by consent is honoured once": {
			event: e.granted(), decide: domain.DecisionGranted},
		"a break-the-glass ticket is honoured once": {
			event: e.request(e.clinB, domain.AccessRequest{RecordID: e.other, Purpose: domain.PurposeEmergencyTreatment,
				JustificationCode: domain.JustifyLifeThreatening}, domain.DecisionEmergency),
			decide: domain.DecisionEmergency},
		"a ticket just under the TTL old is honoured once": {
			event: e.granted(), at: ttl - time.Second, decide: domain.DecisionGranted},
		"a ticket dated within the skew tolerance is honoured once": {
			event: e.granted(), at: -(DefaultSkew - 10*time.Second), decide: domain.DecisionGranted},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, _ := e.checker(shifted(tc.at))
			ev, err := c.Check(context.Background(), tc.event.TxID, callerOf(e.clinB))
			if err != nil {
				t.Fatalf("first Check: %v", err)
			}
			if ev.TxID != tc.event.TxID || ev.Decision != tc.decide || ev.Custodian != devnet.HospitalA || ev.Patient == "" {
				t.Errorf("event %+v", ev)
			}
			_, err = c.Check(context.Background(), tc.event.TxID, callerOf(e.clinB))
			if !errors.Is(err, ErrUsed) || status.Code(err) != codes.FailedPrecondition {
				t.Fatalf("second Check: %v (%s), want ErrUsed", err, status.Code(err))
			}
		})
	}
}

func TestCheckConcurrentUseHasOneWinner(t *testing.T) {
	e := newEnv(t)
	ticket := e.granted()
	c, _ := e.checker(nil)
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.Check(context.Background(), ticket.TxID, callerOf(e.clinB))
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, ErrUsed):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d checks succeeded, want 1", wins)
	}
}

func TestUsedSurvivesReopen(t *testing.T) {
	e := newEnv(t)
	ticket := e.granted()
	path := filepath.Join(t.TempDir(), "used.db")
	u, err := OpenUsed(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.checkerWith(u, nil).Check(e.ctx, ticket.TxID, callerOf(e.clinB)); err != nil {
		t.Fatal(err)
	}
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = e.checkerWith(openUsed(t, path), nil).Check(e.ctx, ticket.TxID, callerOf(e.clinB))
	if !errors.Is(err, ErrUsed) {
		t.Fatalf("Check after reopen: %v, want ErrUsed", err)
	}
}

func TestPruneForgetsOnlyExpiredTickets(t *testing.T) {
	e := newEnv(t)
	ticket := e.granted()
	clk := &clock{}
	c, used := e.checker(clk.now)
	if _, err := c.Check(e.ctx, ticket.TxID, callerOf(e.clinB)); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Prune(); err != nil || n != 0 {
		t.Fatalf("Prune of a fresh ticket: %d, %v; want 0", n, err)
	}
	if _, err := c.Check(e.ctx, ticket.TxID, callerOf(e.clinB)); !errors.Is(err, ErrUsed) {
		t.Fatalf("Check after Prune: %v, want ErrUsed", err)
	}
	clk.set(ttl + DefaultSkew + time.Second)
	if n, err := c.Prune(); err != nil || n != 1 {
		t.Fatalf("Prune of an old ticket: %d, %v; want 1", n, err)
	}
	// Forgotten, and refused as expired all the same.
	if _, err := c.Check(e.ctx, ticket.TxID, callerOf(e.clinB)); !errors.Is(err, ErrExpired) {
		t.Fatalf("Check after Prune: %v, want ErrExpired", err)
	}
	if first, err := used.MarkUsed(ticket.TxID, ticket.At); err != nil || !first {
		t.Errorf("MarkUsed after Prune = %v, %v; want a first use", first, err)
	}
}

func TestBoltUsed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "used.db")
	u, err := OpenUsed(path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 4 {
		if first, err := u.MarkUsed(fmt.Sprintf("%064x", i), t0.Add(time.Duration(i)*time.Minute)); err != nil || !first {
			t.Fatalf("MarkUsed %d: %v, %v", i, first, err)
		}
	}
	if first, err := u.MarkUsed(fmt.Sprintf("%064x", 0), t0.Add(time.Hour)); err != nil || first {
		t.Fatalf("MarkUsed again: %v, %v; want not first", first, err)
	}
	if n, err := u.Prune(t0.Add(2 * time.Minute)); err != nil || n != 2 {
		t.Fatalf("Prune: %d, %v; want 2", n, err)
	}
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}
	u = openUsed(t, path)
	tests := map[string]struct {
		i     int
		first bool
	}{
		"a pruned ticket is forgotten":       {0, true},
		"a ticket at the cut-off is kept":    {2, false},
		"a ticket after the cut-off is kept": {3, false},
		"a ticket never seen is a first use": {9, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			first, err := u.MarkUsed(fmt.Sprintf("%064x", tc.i), t0)
			if err != nil || first != tc.first {
				t.Errorf("MarkUsed: %v, %v; want %v", first, err, tc.first)
			}
		})
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	fetch := func(context.Context, string) (domain.AccessEvent, error) { return domain.AccessEvent{}, nil }
	used := openUsed(t, filepath.Join(t.TempDir(), "used.db"))
	tests := map[string]Config{
		"no fetch function is refused": {MSPID: "HospitalAMSP", Used: used, TTL: ttl},
		"no store is refused":          {Fetch: fetch, MSPID: "HospitalAMSP", TTL: ttl},
		"a zero TTL is refused":        {Fetch: fetch, MSPID: "HospitalAMSP", Used: used},
		"a negative skew is refused":   {Fetch: fetch, MSPID: "HospitalAMSP", Used: used, TTL: ttl, Skew: -time.Second},
		"a bad MSP ID is refused":      {Fetch: fetch, MSPID: "Hospital A", Used: used, TTL: ttl},
	}
	for name, cfg := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := New(cfg); err == nil {
				t.Error("New succeeded")
			}
		})
	}
}

func TestFetchErrorsKeepTheirStatus(t *testing.T) {
	used := openUsed(t, filepath.Join(t.TempDir(), "used.db"))
	tests := map[string]struct {
		err  error
		code codes.Code
		want error
	}{
		"a closed ledger stays unavailable":          {&ledgerClosed{}, codes.Unavailable, nil},
		"a context deadline stays a deadline":        {context.DeadlineExceeded, codes.DeadlineExceeded, context.DeadlineExceeded},
		"a chaincode not-found is an unknown ticket": {domain.ErrNotFound, codes.NotFound, ErrUnknownTicket},
		"another error is internal":                  {errors.New("disk on fire"), codes.Internal, nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := New(Config{Fetch: func(context.Context, string) (domain.AccessEvent, error) { return domain.AccessEvent{}, tc.err },
				MSPID: "HospitalAMSP", Used: used, TTL: ttl})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Check(context.Background(), strings.Repeat("1", 64), Caller{MSPID: "HospitalBMSP", CertFingerprint: "x"})
			if status.Code(err) != tc.code {
				t.Errorf("code %s, want %s (%v)", status.Code(err), tc.code, err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("%v is not %v", err, tc.want)
			}
			if strings.Contains(status.Convert(err).Message(), "disk") {
				t.Errorf("internal detail in message %q", status.Convert(err).Message())
			}
		})
	}
}

// ledgerClosed stands for an error of the ledger that carries a status.
type ledgerClosed struct{}

func (*ledgerClosed) Error() string { return "the ledger is closed" }
func (*ledgerClosed) GRPCStatus() *status.Status {
	return status.New(codes.Unavailable, "the ledger is closed")
}
