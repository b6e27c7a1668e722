package store

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

func TestSetPrepared(t *testing.T) {
	tests := map[string]struct {
		// setup prepares the store; it returns the record to set.
		setup func(t *testing.T, s *Store) (string, int)
		tx    []byte
		want  error
	}{
		"a pending entry keeps the transaction": {
			setup: func(t *testing.T, s *Store) (string, int) { put(t, s, "rec-1", 1, []byte("x")); return "rec-1", 1 },
			tx:    []byte("tx-encoding"),
		},
		"an anchored entry is refused": {
			setup: func(t *testing.T, s *Store) (string, int) {
				put(t, s, "rec-1", 1, []byte("x"))
				if err := s.MarkAnchored("rec-1", 1, "tx-1", 3); err != nil {
					t.Fatal(err)
				}
				return "rec-1", 1
			},
			tx: []byte("tx"), want: ErrNotPending,
		},
		"an erased entry is refused": {
			setup: func(t *testing.T, s *Store) (string, int) {
				put(t, s, "rec-1", 1, []byte("x"))
				if err := s.Erase("rec-1"); err != nil {
					t.Fatal(err)
				}
				return "rec-1", 1
			},
			tx: []byte("tx"), want: ErrErased,
		},
		"a missing entry is not found": {
			setup: func(t *testing.T, s *Store) (string, int) { return "rec-1", 1 },
			tx:    []byte("tx"), want: ErrNotFound,
		},
		"an empty transaction is invalid": {
			setup: func(t *testing.T, s *Store) (string, int) { put(t, s, "rec-1", 1, []byte("x")); return "rec-1", 1 },
			tx:    nil, want: ErrInvalid,
		},
		"an oversized transaction is invalid": {
			setup: func(t *testing.T, s *Store) (string, int) { put(t, s, "rec-1", 1, []byte("x")); return "rec-1", 1 },
			tx:    make([]byte, MaxPrepared+1), want: ErrInvalid,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s, _, _ := newTestStore(t)
			id, v := tc.setup(t, s)
			err := s.SetPrepared(id, v, tc.tx)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("SetPrepared = %v, want %v", err, tc.want)
			}
			if tc.want != nil {
				return
			}
			e, err := s.Get(id, v)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(e.Prepared, tc.tx) {
				t.Errorf("Get: Prepared = %q, want %q", e.Prepared, tc.tx)
			}
			pending, err := s.Pending(context.Background())
			if err != nil || len(pending) != 1 || !bytes.Equal(pending[0].Prepared, tc.tx) {
				t.Errorf("Pending = %v, %v; want the entry with its transaction", pending, err)
			}
		})
	}
}

// TestPreparedSurvivesReopenAndIsClearedWhenAnchored checks that the
// prepared transaction is durable and that MarkAnchored drops it.
func TestPreparedSurvivesReopenAndIsClearedWhenAnchored(t *testing.T) {
	s, keys, dir := newTestStore(t)
	put(t, s, "rec-1", 1, []byte("x"))
	if err := s.SetPrepared("rec-1", 1, []byte("first")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPrepared("rec-1", 1, []byte("second")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir+"/store", keys)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e, err := s.Get("rec-1", 1)
	if err != nil || string(e.Prepared) != "second" {
		t.Fatalf("after reopen: Prepared = %q, %v; want second", e.Prepared, err)
	}
	if err := s.MarkAnchored("rec-1", 1, "tx-1", 2); err != nil {
		t.Fatal(err)
	}
	if e, err := s.Get("rec-1", 1); err != nil || e.Prepared != nil {
		t.Errorf("after MarkAnchored: Prepared = %q, %v; want nil", e.Prepared, err)
	}
}
