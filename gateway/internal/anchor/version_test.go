package anchor

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/medprov/medprov/gateway/internal/store"
)

// TestReconcileVersionResolvesOneEntry covers ReconcileVersion for each
// state the version can be in.
func TestReconcileVersionResolvesOneEntry(t *testing.T) {
	tests := map[string]struct {
		// crash is the Add step after which a crash is simulated; "" runs
		// Add to the end, "none" runs no Add at all.
		crash   string
		claimed bool
		want    Report
		// wantState is the entry's state afterwards; "" means not stored.
		wantState store.State
	}{
		"a version committed but not marked is marked anchored": {crash: "committed", want: Report{Pending: 1, Anchored: 1}, wantState: store.StateAnchored},
		"a version prepared but never sent is committed":        {crash: "prepared", want: Report{Pending: 1, Recommitted: 1}, wantState: store.StateAnchored},
		"a version without a transaction is rolled back":        {crash: "put", want: Report{Pending: 1, Discarded: 1}},
		"an anchored version needs nothing":                     {crash: "", want: Report{}, wantState: store.StateAnchored},
		"a version not stored needs nothing":                    {crash: "none", want: Report{}},
		"a version another call is working on is skipped":       {crash: "committed", claimed: true, want: Report{Pending: 1, Skipped: 1}, wantState: store.StatePending},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			const id = "rec-one"
			if tc.crash != "none" {
				e.a.crash = func(step string) bool { return step == tc.crash }
				_, err := e.a.Add(ctx, e.id, e.request(id), bytes.NewReader(contentOf(id)))
				if tc.crash != "" && !errors.Is(err, errCrashed) {
					t.Fatalf("Add = %v, want the simulated crash", err)
				} else if tc.crash == "" && err != nil {
					t.Fatal(err)
				}
				e.a.crash = nil
			}
			if tc.claimed {
				release, ok := e.a.claim(id)
				if !ok {
					t.Fatal("claim failed")
				}
				defer release()
			}
			rep, err := e.a.ReconcileVersion(ctx, id, 1)
			if err != nil {
				t.Fatal(err)
			}
			rep.Duration = 0
			if rep != tc.want {
				t.Errorf("ReconcileVersion = %+v, want %+v", rep, tc.want)
			}
			entry, err := e.store.Get(id, 1)
			switch {
			case tc.wantState == "" && !errors.Is(err, store.ErrNotFound):
				t.Errorf("store.Get = %v, %v; want ErrNotFound", entry, err)
			case tc.wantState != "" && (err != nil || entry.State != tc.wantState):
				t.Errorf("store.Get = %v, %v; want state %s", entry, err, tc.wantState)
			}
		})
	}
}

// TestReconcileVersionRefusesBadInput checks that a malformed ID or version
// is an error wrapping store.ErrInvalid.
func TestReconcileVersionRefusesBadInput(t *testing.T) {
	e := newEnv(t)
	for name, tc := range map[string]struct {
		id      string
		version int
	}{
		"an empty record ID": {"", 1},
		"version zero":       {"rec-x", 0},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := e.a.ReconcileVersion(context.Background(), tc.id, tc.version); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("ReconcileVersion = %v, want store.ErrInvalid", err)
			}
		})
	}
}
