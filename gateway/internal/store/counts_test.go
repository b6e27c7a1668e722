package store

import (
	"context"
	"testing"
)

func TestCountsFollowEveryStateChange(t *testing.T) {
	s, _, _ := newTestStore(t)
	ctx := context.Background()
	want := func(step string, c Counts) {
		t.Helper()
		got, err := s.Counts(ctx)
		if err != nil {
			t.Fatalf("%s: Counts: %v", step, err)
		}
		if got != c {
			t.Errorf("%s: Counts = %+v, want %+v", step, got, c)
		}
	}
	want("empty store", Counts{})
	put(t, s, "r-a", 1, content("a", 10))
	put(t, s, "r-b", 1, content("b", 10))
	put(t, s, "r-b", 2, content("b2", 10))
	want("three puts", Counts{Pending: 3})
	if err := s.MarkAnchored("r-a", 1, "tx-a", 3); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkAnchored("r-b", 1, "tx-b", 4); err != nil {
		t.Fatal(err)
	}
	want("two anchored", Counts{Pending: 1, Anchored: 2})
	if err := s.Discard("r-b", 2); err != nil {
		t.Fatal(err)
	}
	want("one discarded", Counts{Anchored: 2})
	if err := s.Erase("r-b"); err != nil {
		t.Fatal(err)
	}
	want("one erased", Counts{Anchored: 1, Erased: 1})

	ctxDone, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Counts(ctxDone); err == nil {
		t.Error("Counts with a cancelled context: no error")
	}
}
