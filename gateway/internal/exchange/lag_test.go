package exchange

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/internal/ledger"
)

// laggingLedger is a custodian's peer that receives the ticket's block
// after `lag` status polls: until then Status says ErrTxNotFound and
// GetAccessEvent NOT_FOUND.
type laggingLedger struct {
	ledger.Ledger
	lag, polls int
	known      bool // the transaction exists, but is no access event
	evaluates  int
}

func (f *laggingLedger) Status(context.Context, string) (ledger.TxStatus, error) {
	f.polls++
	if f.known || f.polls > f.lag {
		return ledger.TxStatus{}, nil
	}
	return ledger.TxStatus{}, ledger.ErrTxNotFound
}

func (f *laggingLedger) Evaluate(context.Context, ledger.Identity, string, ...string) ([]byte, error) {
	f.evaluates++
	if f.known || f.polls <= f.lag {
		return nil, domain.ErrNotFound
	}
	return json.Marshal(domain.AccessEvent{Kind: domain.KindAccessEvent, TxID: "tx"})
}

func TestLedgerFetcherWaitsForALaggingPeer(t *testing.T) {
	tests := map[string]struct {
		l        *laggingLedger
		wantErr  error
		maxEvals int
	}{
		"a ticket that reaches this peer a moment later is found": {
			l: &laggingLedger{lag: 3}, maxEvals: 2,
		},
		"a transaction this peer has, but that is no access event, is not found at once": {
			l: &laggingLedger{known: true}, wantErr: domain.ErrNotFound, maxEvals: 1,
		},
		"a ticket that never arrives is not found after the wait": {
			l: &laggingLedger{lag: 1 << 30}, wantErr: domain.ErrNotFound, maxEvals: 1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ev, err := LedgerFetcher(tc.l, ledger.Identity{})(context.Background(), "tx")
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && ev.TxID != "tx") {
				t.Errorf("fetch = %+v, %v; want error %v", ev, err, tc.wantErr)
			}
			if tc.l.evaluates > tc.maxEvals {
				t.Errorf("%d evaluations, want at most %d", tc.l.evaluates, tc.maxEvals)
			}
		})
	}
}
