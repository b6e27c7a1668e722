package patientproof_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/internal/patientproof"
)

const ttl = 2 * time.Minute

// Two synthetic pseudonyms.
const (
	alice = "pt-0123456789abcdef0123456789abcdef01234567"
	bob   = "pt-fedcba9876543210fedcba9876543210fedcba98"
)

func newChallenges(t testing.TB, clk *clock, opts ...patientproof.Option) *patientproof.Challenges {
	t.Helper()
	opts = append([]patientproof.Option{patientproof.WithClock(clk.Now), patientproof.WithRandom(&counter{})}, opts...)
	cs, err := patientproof.New(mspID, ttl, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// answer signs c with edPriv.
func answer(c patientproof.Challenge) []byte {
	return edSign(patientproof.Encode(c.MSPID, c.Patient, c.ID, c.Challenge))
}

func TestIssueDrawsIDAndChallengeFromTheRandomSource(t *testing.T) {
	clk := newClock()
	cs := newChallenges(t, clk)
	c, err := cs.Issue(alice)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != "000102030405060708090a0b0c0d0e0f" {
		t.Errorf("ID = %s, want the first 16 random bytes in hex", c.ID)
	}
	if string(c.Challenge) != string(seq(32, 16)) {
		t.Errorf("Challenge = %x, want the next 32 random bytes", c.Challenge)
	}
	if c.MSPID != mspID || c.Patient != alice || !c.ExpireTime.Equal(clk.Now().Add(ttl)) {
		t.Errorf("Issue = %+v", c)
	}
}

func TestCheckAcceptsAGenuineAnswerUntilExpiry(t *testing.T) {
	clk := newClock()
	cs := newChallenges(t, clk)
	key := edKey(t)
	c, err := cs.Issue(alice)
	if err != nil {
		t.Fatal(err)
	}
	sig := answer(c)
	for page := range 3 {
		if err := cs.Check(key, alice, c.ID, sig); err != nil {
			t.Fatalf("page %d: Check = %v", page, err)
		}
		clk.Advance(ttl / 4)
	}
	clk.Advance(ttl/4 - time.Nanosecond)
	if err := cs.Check(key, alice, c.ID, sig); err != nil {
		t.Fatalf("just before expiry: Check = %v", err)
	}
}

func TestCheckRefuses(t *testing.T) {
	ecSign, ecK := ecKey(t)
	tests := map[string]struct {
		run  func(t *testing.T, cs *patientproof.Challenges, clk *clock, c patientproof.Challenge) error
		want error
	}{
		"an answer at the expiry time is refused": {func(t *testing.T, cs *patientproof.Challenges, clk *clock, c patientproof.Challenge) error {
			clk.Advance(ttl)
			return cs.Check(edKey(t), alice, c.ID, answer(c))
		}, patientproof.ErrExpired},
		"an answer long after expiry is refused": {func(t *testing.T, cs *patientproof.Challenges, clk *clock, c patientproof.Challenge) error {
			clk.Advance(24 * time.Hour)
			return cs.Check(edKey(t), alice, c.ID, answer(c))
		}, patientproof.ErrExpired},
		"an expired challenge is then unknown": {func(t *testing.T, cs *patientproof.Challenges, clk *clock, c patientproof.Challenge) error {
			clk.Advance(ttl)
			_ = cs.Check(edKey(t), alice, c.ID, answer(c))
			return cs.Check(edKey(t), alice, c.ID, answer(c))
		}, patientproof.ErrUnknownChallenge},
		"another patient's challenge is refused": {func(t *testing.T, cs *patientproof.Challenges, clk *clock, c patientproof.Challenge) error {
			forBob := c
			forBob.Patient = bob
			return cs.Check(edKey(t), bob, c.ID, answer(forBob))
		}, patientproof.ErrWrongPatient},
		"an unknown challenge ID is refused": {func(t *testing.T, cs *patientproof.Challenges, clk *clock, c patientproof.Challenge) error {
			other := c
			other.ID = strings.Repeat("f", 32)
			return cs.Check(edKey(t), alice, other.ID, answer(other))
		}, patientproof.ErrUnknownChallenge},
		"an empty challenge ID is refused": {func(t *testing.T, cs *patientproof.Challenges, clk *clock, c patientproof.Challenge) error {
			return cs.Check(edKey(t), alice, "", answer(c))
		}, patientproof.ErrUnknownChallenge},
		"a signature by another key is refused": {func(t *testing.T, cs *patientproof.Challenges, clk *clock, c patientproof.Challenge) error {
			return cs.Check(edKey(t), alice, c.ID, ecSign(patientproof.Encode(c.MSPID, c.Patient, c.ID, c.Challenge)))
		}, patientproof.ErrBadSignature},
		"a signature checked with another key is refused": {func(t *testing.T, cs *patientproof.Challenges, clk *clock, c patientproof.Challenge) error {
			return cs.Check(ecK, alice, c.ID, answer(c))
		}, patientproof.ErrBadSignature},
		"a signature over another gateway's encoding is refused": {func(t *testing.T, cs *patientproof.Challenges, clk *clock, c patientproof.Challenge) error {
			return cs.Check(edKey(t), alice, c.ID, edSign(patientproof.Encode("Org2MSP", c.Patient, c.ID, c.Challenge)))
		}, patientproof.ErrBadSignature},
		"a challenge the caller altered is not the one checked": {func(t *testing.T, cs *patientproof.Challenges, clk *clock, c patientproof.Challenge) error {
			c.Challenge[0] ^= 1
			return cs.Check(edKey(t), alice, c.ID, answer(c))
		}, patientproof.ErrBadSignature},
		"an empty signature is refused": {func(t *testing.T, cs *patientproof.Challenges, clk *clock, c patientproof.Challenge) error {
			return cs.Check(edKey(t), alice, c.ID, nil)
		}, patientproof.ErrBadSignature},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			clk := newClock()
			cs := newChallenges(t, clk)
			c, err := cs.Issue(alice)
			if err != nil {
				t.Fatal(err)
			}
			err = tc.run(t, cs, clk, c)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Check = %v, want %v", err, tc.want)
			}
			for _, s := range []string{alice, bob, c.ID} {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("error %q echoes the input", err)
				}
			}
		})
	}
}

func TestIssueRefusesAMalformedPseudonym(t *testing.T) {
	cs := newChallenges(t, newClock())
	_, err := cs.Issue("Jane Doe")
	if !errors.Is(err, ledger.ErrInvalidArgument) || strings.Contains(err.Error(), "Jane") {
		t.Fatalf("Issue = %v, want INVALID_ARGUMENT without the value", err)
	}
}

func TestIssuePassesOnARandomSourceFailure(t *testing.T) {
	failure := errors.New("synthetic entropy failure")
	cs, err := patientproof.New(mspID, ttl, patientproof.WithRandom(iotest.ErrReader(failure)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Issue(alice); !errors.Is(err, failure) {
		t.Fatalf("Issue = %v, want the random source's error", err)
	}
	if cs.Outstanding() != 0 {
		t.Fatal("a failed Issue left a challenge behind")
	}
}

func TestNewRefusesBadConfiguration(t *testing.T) {
	tests := map[string]struct {
		mspID string
		ttl   time.Duration
		opts  []patientproof.Option
	}{
		"an invalid MSP ID is refused":        {"Org 1", ttl, nil},
		"a zero ttl is refused":               {mspID, 0, nil},
		"a negative ttl is refused":           {mspID, -time.Second, nil},
		"a nil clock is refused":              {mspID, ttl, []patientproof.Option{patientproof.WithClock(nil)}},
		"a nil random source is refused":      {mspID, ttl, []patientproof.Option{patientproof.WithRandom(nil)}},
		"a per-patient bound of 0 is refused": {mspID, ttl, []patientproof.Option{patientproof.WithMaxPerPatient(0)}},
		"an overall bound of 0 is refused":    {mspID, ttl, []patientproof.Option{patientproof.WithMaxOutstanding(0)}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := patientproof.New(tc.mspID, tc.ttl, tc.opts...); !errors.Is(err, ledger.ErrInvalidArgument) {
				t.Fatalf("New = %v, want INVALID_ARGUMENT", err)
			}
		})
	}
}

func TestMemoryIsBounded(t *testing.T) {
	t.Run("a patient's oldest challenge is evicted at the per-patient bound", func(t *testing.T) {
		clk := newClock()
		cs := newChallenges(t, clk, patientproof.WithMaxPerPatient(3))
		var issued []patientproof.Challenge
		for range 4 {
			c, err := cs.Issue(alice)
			if err != nil {
				t.Fatal(err)
			}
			issued = append(issued, c)
			clk.Advance(time.Second)
		}
		bobs, err := cs.Issue(bob)
		if err != nil {
			t.Fatal(err)
		}
		if n := cs.Outstanding(); n != 4 {
			t.Fatalf("Outstanding = %d, want 3 of alice's and 1 of bob's", n)
		}
		if err := cs.Check(edKey(t), alice, issued[0].ID, answer(issued[0])); !errors.Is(err, patientproof.ErrUnknownChallenge) {
			t.Fatalf("the evicted challenge: Check = %v", err)
		}
		for _, c := range append(issued[1:], bobs) {
			if err := cs.Check(edKey(t), c.Patient, c.ID, answer(c)); err != nil {
				t.Fatalf("a kept challenge: Check = %v", err)
			}
		}
	})
	t.Run("the oldest challenge overall is evicted at the overall bound", func(t *testing.T) {
		clk := newClock()
		cs := newChallenges(t, clk, patientproof.WithMaxOutstanding(2))
		first, _ := cs.Issue(alice)
		second, _ := cs.Issue(bob)
		third, err := cs.Issue(bob)
		if err != nil {
			t.Fatal(err)
		}
		if n := cs.Outstanding(); n != 2 {
			t.Fatalf("Outstanding = %d, want 2", n)
		}
		if err := cs.Check(edKey(t), alice, first.ID, answer(first)); !errors.Is(err, patientproof.ErrUnknownChallenge) {
			t.Fatalf("the evicted challenge: Check = %v", err)
		}
		for _, c := range []patientproof.Challenge{second, third} {
			if err := cs.Check(edKey(t), c.Patient, c.ID, answer(c)); err != nil {
				t.Fatalf("a kept challenge: Check = %v", err)
			}
		}
	})
	t.Run("expired challenges are purged when a new one is issued", func(t *testing.T) {
		clk := newClock()
		cs := newChallenges(t, clk)
		for i := range 100 {
			if _, err := cs.Issue([]string{alice, bob}[i%2]); err != nil {
				t.Fatal(err)
			}
		}
		clk.Advance(ttl)
		if _, err := cs.Issue(alice); err != nil {
			t.Fatal(err)
		}
		if n := cs.Outstanding(); n != 1 {
			t.Fatalf("Outstanding = %d, want only the new challenge", n)
		}
	})
	t.Run("many patients never exceed the overall bound", func(t *testing.T) {
		cs := newChallenges(t, newClock(), patientproof.WithMaxOutstanding(50), patientproof.WithMaxPerPatient(2))
		for i := range 1000 {
			if _, err := cs.Issue(fmt.Sprintf("pt-%040x", i%300)); err != nil {
				t.Fatal(err)
			}
			if n := cs.Outstanding(); n > 50 {
				t.Fatalf("Outstanding = %d after %d issues", n, i+1)
			}
		}
	})
}

func TestChallengesAreSafeForConcurrentUse(t *testing.T) {
	clk := newClock()
	cs, err := patientproof.New(mspID, ttl, patientproof.WithClock(clk.Now), patientproof.WithMaxOutstanding(64), patientproof.WithMaxPerPatient(4))
	if err != nil {
		t.Fatal(err)
	}
	key := edKey(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Go(func() {
			patient := fmt.Sprintf("pt-%040x", g)
			for i := range 50 {
				c, err := cs.Issue(patient)
				if err != nil {
					errs <- err
					return
				}
				err = cs.Check(key, patient, c.ID, answer(c))
				// Other goroutines may evict it at the overall bound.
				if err != nil && !errors.Is(err, patientproof.ErrUnknownChallenge) {
					errs <- err
					return
				}
				if i%10 == 0 {
					clk.Advance(time.Second)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := cs.Outstanding(); n > 64 {
		t.Fatalf("Outstanding = %d, above the bound", n)
	}
}

var _ io.Reader = (*counter)(nil)
