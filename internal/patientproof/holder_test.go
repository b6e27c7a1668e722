package patientproof_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/medprov/medprov/internal/patientproof"
)

func TestAProofServesOnlyTheHolderThatAskedForIt(t *testing.T) {
	clk := newClock()
	cs := newChallenges(t, clk)
	key := edKey(t)
	c, err := cs.Issue(alice, portal)
	if err != nil {
		t.Fatal(err)
	}
	// The patient signs what the device sees; the holder is not in it.
	sig := edSign(patientproof.Encode(c.MSPID, alice, c.ID, c.Challenge))
	for page := range 3 {
		if err := cs.Check(key, alice, c.ID, portal, sig); err != nil {
			t.Fatalf("page %d carried by the holder: Check = %v", page, err)
		}
		// Anyone else who saw the proof gets nothing from it, and learns
		// no more than for a challenge that does not exist.
		err := cs.Check(key, alice, c.ID, intruder, sig)
		if !errors.Is(err, patientproof.ErrWrongHolder) || !errors.Is(err, patientproof.ErrUnknownChallenge) {
			t.Fatalf("page %d carried by another holder: Check = %v, want ErrWrongHolder", page, err)
		}
		if err.Error() != patientproof.ErrUnknownChallenge.Error() {
			t.Fatalf("another holder's error reads %q, want it to read as an unknown challenge %q", err, patientproof.ErrUnknownChallenge)
		}
		clk.Advance(ttl / 4)
	}
	// The replays neither spent nor rebound it.
	if err := cs.Check(key, alice, c.ID, portal, sig); err != nil {
		t.Fatalf("after the replays, carried by the holder: Check = %v", err)
	}
	if n := cs.Outstanding(); n != 1 {
		t.Fatalf("Outstanding = %d, want 1", n)
	}
	// A genuinely unknown challenge is not ErrWrongHolder.
	if err := cs.Check(key, alice, "0123", intruder, sig); !errors.Is(err, patientproof.ErrUnknownChallenge) || errors.Is(err, patientproof.ErrWrongHolder) {
		t.Fatalf("an unknown challenge: Check = %v, want only ErrUnknownChallenge", err)
	}
}

func TestTwoHoldersOfOnePatientHaveTheirOwnChallenges(t *testing.T) {
	cs := newChallenges(t, newClock())
	key := edKey(t)
	mine, err := cs.Issue(alice, portal)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := cs.Issue(alice, clinic)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		c      patientproof.Challenge
		holder string
		want   error
	}{
		"the portal's proof carried by the portal is accepted": {mine, portal, nil},
		"the clinic's proof carried by the clinic is accepted": {theirs, clinic, nil},
		"the portal's proof carried by the clinic is refused":  {mine, clinic, patientproof.ErrWrongHolder},
		"the clinic's proof carried by the portal is refused":  {theirs, portal, patientproof.ErrWrongHolder},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if err := cs.Check(key, alice, tc.c.ID, tc.holder, answer(tc.c)); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("Check = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestAHolderHasABoundOfOutstandingChallenges(t *testing.T) {
	clk := newClock()
	cs := newChallenges(t, clk, patientproof.WithMaxPerHolder(3))
	var issued []patientproof.Challenge
	for i := range 3 {
		// Three patients, so that only the per-holder bound can refuse.
		c, err := cs.Issue(fmt.Sprintf("pt-%040x", i), intruder)
		if err != nil {
			t.Fatalf("challenge %d: %v", i+1, err)
		}
		issued = append(issued, c)
		clk.Advance(time.Second)
	}
	for _, p := range []string{alice, bob} {
		if _, err := cs.Issue(p, intruder); !errors.Is(err, patientproof.ErrTooManyChallenges) {
			t.Fatalf("Issue at the holder's bound = %v, want ErrTooManyChallenges", err)
		}
	}
	// Another holder is not affected, for any patient.
	for _, p := range []string{alice, issued[0].Patient} {
		if _, err := cs.Issue(p, portal); err != nil {
			t.Fatalf("another holder: Issue = %v", err)
		}
	}
	// The refusals evicted nothing.
	for _, c := range issued {
		if err := cs.Check(edKey(t), c.Patient, c.ID, intruder, answer(c)); err != nil {
			t.Fatalf("an existing challenge: Check = %v", err)
		}
	}
	// The bound lifts when the holder's oldest challenge expires.
	clk.Advance(ttl - 3*time.Second)
	if _, err := cs.Issue(alice, intruder); err != nil {
		t.Fatalf("Issue after the holder's oldest expired = %v", err)
	}
	if _, err := cs.Issue(bob, intruder); !errors.Is(err, patientproof.ErrTooManyChallenges) {
		t.Fatalf("Issue at the bound again = %v, want ErrTooManyChallenges", err)
	}
}

func TestIssueIsRateLimitedPerHolder(t *testing.T) {
	const (
		every = time.Second
		burst = 3
	)
	// issue asks for a challenge for a fresh patient each time, so that only
	// the rate can refuse.
	n := 0
	issue := func(cs *patientproof.Challenges, holder string) error {
		n++
		_, err := cs.Issue(fmt.Sprintf("pt-%040x", n), holder)
		return err
	}
	wantAllowed := func(t *testing.T, cs *patientproof.Challenges, holder string, k int) {
		t.Helper()
		for i := range k {
			if err := issue(cs, holder); err != nil {
				t.Fatalf("call %d of %d: Issue = %v, want a challenge", i+1, k, err)
			}
		}
	}
	wantRefused := func(t *testing.T, cs *patientproof.Challenges, holder string) {
		t.Helper()
		if err := issue(cs, holder); !errors.Is(err, patientproof.ErrTooManyChallenges) {
			t.Fatalf("Issue = %v, want ErrTooManyChallenges", err)
		}
	}
	newSet := func(t *testing.T, clk *clock, opts ...patientproof.Option) *patientproof.Challenges {
		return newChallenges(t, clk, append([]patientproof.Option{patientproof.WithIssueRate(every, burst), patientproof.WithMaxPerHolder(100)}, opts...)...)
	}

	t.Run("a burst is allowed at once, and no more", func(t *testing.T) {
		cs := newSet(t, newClock())
		wantAllowed(t, cs, portal, burst)
		wantRefused(t, cs, portal)
	})
	t.Run("one call is allowed per interval sustained", func(t *testing.T) {
		clk := newClock()
		cs := newSet(t, clk)
		wantAllowed(t, cs, portal, burst)
		for range 5 {
			clk.Advance(every - time.Nanosecond)
			wantRefused(t, cs, portal)
			clk.Advance(time.Nanosecond)
			wantAllowed(t, cs, portal, 1)
			wantRefused(t, cs, portal)
		}
	})
	t.Run("a holder idle for burst intervals has its whole burst again, and no more", func(t *testing.T) {
		clk := newClock()
		cs := newSet(t, clk)
		wantAllowed(t, cs, portal, burst)
		clk.Advance(burst * every)
		wantAllowed(t, cs, portal, burst)
		wantRefused(t, cs, portal)
		clk.Advance(time.Hour)
		wantAllowed(t, cs, portal, burst)
		wantRefused(t, cs, portal)
	})
	t.Run("refused calls take nothing from the rate", func(t *testing.T) {
		clk := newClock()
		cs := newSet(t, clk)
		wantAllowed(t, cs, portal, burst)
		for range 100 {
			wantRefused(t, cs, portal)
		}
		clk.Advance(every)
		wantAllowed(t, cs, portal, 1)
	})
	t.Run("one holder over its rate does not slow another", func(t *testing.T) {
		cs := newSet(t, newClock())
		wantAllowed(t, cs, intruder, burst)
		wantRefused(t, cs, intruder)
		wantAllowed(t, cs, portal, burst)
		wantRefused(t, cs, portal)
	})
	t.Run("a call refused at another bound still counts against the rate", func(t *testing.T) {
		cs := newChallenges(t, newClock(), patientproof.WithIssueRate(every, burst), patientproof.WithMaxPerPatient(1))
		if _, err := cs.Issue(alice, portal); err != nil {
			t.Fatal(err)
		}
		for range burst - 1 {
			if _, err := cs.Issue(alice, portal); !errors.Is(err, patientproof.ErrTooManyChallenges) {
				t.Fatalf("Issue at the per-patient bound = %v, want ErrTooManyChallenges", err)
			}
		}
		wantRefused(t, cs, portal) // a fresh patient, but the burst is spent
	})
	t.Run("a rate refusal leaves no challenge behind and draws no randomness", func(t *testing.T) {
		random := &readCounter{r: &counter{}}
		cs := newSet(t, newClock(), patientproof.WithRandom(random))
		wantAllowed(t, cs, portal, burst)
		wantRefused(t, cs, portal)
		if random.reads != burst || cs.Outstanding() != burst {
			t.Fatalf("%d reads, %d outstanding; want %d of each", random.reads, cs.Outstanding(), burst)
		}
	})
	t.Run("a clock that went backwards delays a holder by one interval at most", func(t *testing.T) {
		clk := newClock()
		cs := newSet(t, clk)
		wantAllowed(t, cs, portal, 1)
		clk.Advance(-time.Hour)
		wantRefused(t, cs, portal)
		clk.Advance(every)
		wantAllowed(t, cs, portal, 1)
	})
	t.Run("the rate of idle holders is forgotten", func(t *testing.T) {
		clk := newClock()
		cs := newSet(t, clk)
		for i := range 100 {
			wantAllowed(t, cs, fmt.Sprintf("%064x", i), 1)
		}
		if n := cs.RateHolders(); n != 100 {
			t.Fatalf("rate kept for %d holders, want 100", n)
		}
		clk.Advance(burst * every)
		wantAllowed(t, cs, portal, 1)
		if n := cs.RateHolders(); n != 1 {
			t.Fatalf("rate kept for %d holders after they were idle, want only the portal's", n)
		}
	})
}

func TestAnotherCallerCannotLockAPatientOut(t *testing.T) {
	// The attack: an enrolled intruder asks for as many challenges for
	// alice's pseudonym as the gateway gives it, with the default bounds
	// and rate, at one instant and then over time.
	clk := newClock()
	cs := newChallenges(t, clk)
	refused := 0
	for range 10 * patientproof.DefaultIssueBurst {
		if _, err := cs.Issue(alice, intruder); errors.Is(err, patientproof.ErrTooManyChallenges) {
			refused++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	for range 3 * ttl / time.Second {
		clk.Advance(time.Second)
		if _, err := cs.Issue(alice, intruder); err != nil && !errors.Is(err, patientproof.ErrTooManyChallenges) {
			t.Fatal(err)
		}
	}
	if refused == 0 {
		t.Fatal("the intruder was never refused")
	}
	if n := cs.Outstanding(); n != patientproof.DefaultMaxPerPatient {
		t.Fatalf("the intruder holds %d challenges for alice, want its bound %d", n, patientproof.DefaultMaxPerPatient)
	}

	// Alice's own portal still gets a challenge, and its proof works for
	// every page.
	key := edKey(t)
	c, err := cs.Issue(alice, portal)
	if err != nil {
		t.Fatalf("alice's portal: Issue = %v, want a challenge", err)
	}
	for page := range 3 {
		if err := cs.Check(key, alice, c.ID, portal, answer(c)); err != nil {
			t.Fatalf("page %d: Check = %v", page, err)
		}
	}
	// So does her clinician, up to a per-patient bound of its own.
	for i := range patientproof.DefaultMaxPerPatient {
		if _, err := cs.Issue(alice, clinic); err != nil {
			t.Fatalf("the clinician's challenge %d: Issue = %v", i+1, err)
		}
	}
}
