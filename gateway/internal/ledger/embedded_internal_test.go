package ledger

import (
	"context"
	"errors"
	"testing"

	domain "github.com/medprov/medprov/chaincode/ledger"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/medprov/medprov/internal/devnet"
)

// A transaction sent again (here: restored from its encoding) whose
// re-simulation the chaincode rejects, while the ledger does not know it
// yet, has an unknown commit status if an earlier send of it may still be
// queued for ordering: the original can still commit. Only when no send
// can be queued is the chaincode's rejection the answer.
//
// The setup: prepare a RegisterPatient transaction, then commit a
// different transaction registering the same key, so that re-simulating
// the first is rejected (ALREADY_EXISTS) and looking it up finds nothing.
// An earlier send whose Commit gave up while it was queued is represented
// by the backend's record of it (setQueued, which Commit makes when
// Submit returns on its context); reproducing that race for real would
// need control over the embedded committer.
func TestEmbeddedResendRejectedWhileOriginalMayBeQueued(t *testing.T) {
	for name, queued := range map[string]bool{
		"an earlier send may still be queued: status unknown": true,
		"no send can be queued: the chaincode error":          false,
	} {
		t.Run(name, func(t *testing.T) {
			n, err := devnet.Start(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			l := NewEmbedded(n.Ledger).(*embeddedLedger)
			defer l.Close()
			c, err := n.User(devnet.HospitalA, "clinician", string(domain.RoleClinician), string(domain.ConfNormal))
			if err != nil {
				t.Fatal(err)
			}
			id := Identity{MSPID: c.MSPID(), CertPEM: c.Identity.CertPEM}
			p, err := devnet.NewPatient()
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			orig, err := l.Prepare(ctx, id, domain.TxRegisterPatient, p.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			enc, err := orig.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := l.Submit(ctx, id, domain.TxRegisterPatient, p.PublicKey); err != nil {
				t.Fatal(err)
			}
			if queued {
				l.setQueued(orig.ID(), true)
			}
			tx, err := RestoreTransaction(enc)
			if err != nil {
				t.Fatal(err)
			}
			_, err = l.Commit(ctx, tx)
			var le *Error
			if !errors.As(err, &le) || le.TxID() != tx.ID() {
				t.Fatalf("Commit = %v, want an *Error naming %s", err, tx.ID())
			}
			var de *domain.Error
			if queued {
				if !errors.Is(err, ErrCommitStatusUnknown) || status.Code(err) != codes.DeadlineExceeded || errors.As(err, &de) {
					t.Fatalf("Commit = %v (code %v), want ErrCommitStatusUnknown (DeadlineExceeded), not a chaincode error", err, status.Code(err))
				}
				return
			}
			if errors.Is(err, ErrCommitStatusUnknown) || status.Code(err) != codes.AlreadyExists || !errors.As(err, &de) {
				t.Fatalf("Commit = %v (code %v), want the chaincode's ALREADY_EXISTS", err, status.Code(err))
			}
		})
	}
}
