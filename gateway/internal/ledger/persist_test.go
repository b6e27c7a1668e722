package ledger_test

import (
	"context"
	"errors"
	"testing"

	domain "github.com/medprov/medprov/chaincode/ledger"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/medprov/medprov/gateway/internal/ledger"
	"github.com/medprov/medprov/internal/devnet"
)

// TestRestoredTransactionCommitsOnce checks that a transaction rebuilt
// from its encoding is the same transaction: whichever copy commits first,
// the others return its outcome and nothing commits twice.
func TestRestoredTransactionCommitsOnce(t *testing.T) {
	tests := map[string]struct {
		// commitOriginalFirst commits the prepared transaction before the
		// restored copy.
		commitOriginalFirst bool
	}{
		"the original commits, then the restored copy": {commitOriginalFirst: true},
		"the restored copy commits, then the original": {commitOriginalFirst: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b := devnetBackend(t)
			defer b.Ledger.Close()
			ctx := context.Background()
			id := b.Identity(t, devnet.HospitalA, string(domain.RoleClinician), string(domain.ConfNormal))
			p, err := devnet.NewPatient()
			if err != nil {
				t.Fatal(err)
			}
			orig, err := b.Ledger.Prepare(ctx, id, domain.TxRegisterPatient, p.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			data, err := orig.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			restored, err := ledger.RestoreTransaction(data)
			if err != nil {
				t.Fatal(err)
			}
			if restored.ID() != orig.ID() || restored.Name() != orig.Name() {
				t.Fatalf("restored %s %s, want %s %s", restored.ID(), restored.Name(), orig.ID(), orig.Name())
			}
			first, second := orig, restored
			if !tc.commitOriginalFirst {
				first, second = restored, orig
			}
			c1, err := b.Ledger.Commit(ctx, first)
			if err != nil {
				t.Fatal(err)
			}
			c2, err := b.Ledger.Commit(ctx, second)
			if err != nil {
				t.Fatalf("second commit: %v", err)
			}
			if c1.TxID != c2.TxID || c1.Block != c2.Block {
				t.Errorf("commits %s@%d and %s@%d, want the same", c1.TxID, c1.Block, c2.TxID, c2.Block)
			}
			again, err := ledger.RestoreTransaction(data)
			if err != nil {
				t.Fatal(err)
			}
			if c3, err := b.Ledger.Commit(ctx, again); err != nil || c3.Block != c1.Block {
				t.Errorf("third commit = %v, %v; want block %d", c3, err, c1.Block)
			}
		})
	}
}

func TestRestoreTransactionRefusesGarbage(t *testing.T) {
	tests := map[string]struct{ data string }{
		"not JSON":        {data: "{"},
		"unknown format":  {data: `{"format":2,"backend":"embedded","txId":"a","function":"F","nonce":"AA=="}`},
		"unknown backend": {data: `{"format":1,"backend":"fabric","txId":"a","function":"F","nonce":"AA=="}`},
		"no nonce":        {data: `{"format":1,"backend":"embedded","txId":"a","function":"F"}`},
		"no ID":           {data: `{"format":1,"backend":"embedded","function":"F","nonce":"AA=="}`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ledger.RestoreTransaction([]byte(tc.data))
			if status.Code(err) != codes.InvalidArgument {
				t.Fatalf("RestoreTransaction = %v, want InvalidArgument", err)
			}
			var le *ledger.Error
			if !errors.As(err, &le) {
				t.Errorf("error %T is not a *ledger.Error", err)
			}
		})
	}
}
