package ledger_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	domain "github.com/medprov/medprov/chaincode/ledger"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/medprov/medprov/gateway/internal/ledger"
	"github.com/medprov/medprov/gateway/internal/ledger/ledgertest"
	"github.com/medprov/medprov/internal/devnet"
)

// devnetBackend starts a development consortium in a fresh directory and
// returns it as a conformance Backend; Reopen closes the consortium and
// starts it again on the same directory.
func devnetBackend(t *testing.T) *ledgertest.Backend {
	dir := t.TempDir()
	var mu sync.Mutex
	n, err := devnet.Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		n.Close()
	})
	b := &ledgertest.Backend{
		Ledger: ledger.NewEmbedded(n.Ledger),
		Orgs:   [2]string{devnet.HospitalA, devnet.HospitalB},
	}
	b.Identity = func(t *testing.T, msp, role, clearance string) ledger.Identity {
		mu.Lock()
		defer mu.Unlock()
		c, err := n.User(msp, role+"-"+clearance, role, clearance)
		if err != nil {
			t.Fatal(err)
		}
		return ledger.Identity{MSPID: c.MSPID(), CertPEM: c.Identity.CertPEM, Signer: c.Identity.Key}
	}
	b.Reopen = func(t *testing.T) ledger.Ledger {
		mu.Lock()
		defer mu.Unlock()
		if err := b.Ledger.Close(); err != nil {
			t.Fatal(err)
		}
		if n, err = devnet.Start(dir); err != nil {
			t.Fatal(err)
		}
		b.Ledger = ledger.NewEmbedded(n.Ledger)
		return b.Ledger
	}
	return b
}

func TestEmbeddedConformance(t *testing.T) {
	ledgertest.Run(t, devnetBackend)
}

// countingLedger counts the commits it passes on.
type countingLedger struct {
	ledger.Ledger
	commits atomic.Int32
}

func (c *countingLedger) Commit(ctx context.Context, t *ledger.Transaction) (*ledger.Committed, error) {
	c.commits.Add(1)
	return c.Ledger.Commit(ctx, t)
}

func TestRetryingNeverRetriesChaincodeErrors(t *testing.T) {
	b := devnetBackend(t)
	defer b.Ledger.Close()
	counter := &countingLedger{Ledger: b.Ledger}
	l := ledger.NewRetrying(counter)
	id := b.Identity(t, devnet.HospitalA, string(domain.RoleClinician), string(domain.ConfNormal))
	auditor := b.Identity(t, devnet.HospitalA, string(domain.RoleAuditor), string(domain.ConfNormal))
	tests := map[string]struct {
		id   ledger.Identity
		tx   string
		args []string
		code codes.Code
	}{
		"a malformed request is submitted once":            {id: id, tx: domain.TxAnchorRecord, args: []string{"{"}, code: codes.InvalidArgument},
		"a request for a missing record is submitted once": {id: id, tx: domain.TxRequestAccess, args: []string{`{"recordId":"rec-missing","purpose":"TREAT"}`}, code: codes.NotFound},
		"a forbidden call is submitted once":               {id: auditor, tx: domain.TxRegisterPatient, args: []string{"key"}, code: codes.PermissionDenied},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			before := counter.commits.Load()
			_, err := l.Submit(context.Background(), tc.id, tc.tx, tc.args...)
			if got := status.Code(err); got != tc.code {
				t.Fatalf("status.Code = %v, want %v (error: %v)", got, tc.code, err)
			}
			if n := counter.commits.Load() - before; n != 1 {
				t.Errorf("committed %d times, want once", n)
			}
		})
	}
}
