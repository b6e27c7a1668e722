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
	t.Run("a patient at the per-patient bound is refused, and keeps every challenge", func(t *testing.T) {
		clk := newClock()
		cs := newChallenges(t, clk, patientproof.WithMaxPerPatient(3))
		var issued []patientproof.Challenge
		for range 3 {
			c, err := cs.Issue(alice)
			if err != nil {
				t.Fatal(err)
			}
			issued = append(issued, c)
			clk.Advance(time.Second)
		}
		// Anyone may ask for alice's challenges; asking again must not
		// end her session.
		for range 5 {
			if _, err := cs.Issue(alice); !errors.Is(err, patientproof.ErrTooManyChallenges) {
				t.Fatalf("Issue at the bound = %v, want ErrTooManyChallenges", err)
			}
		}
		bobs, err := cs.Issue(bob)
		if err != nil {
			t.Fatalf("another patient: Issue = %v", err)
		}
		if n := cs.Outstanding(); n != 4 {
			t.Fatalf("Outstanding = %d, want 3 of alice's and 1 of bob's", n)
		}
		for _, c := range append(issued, bobs) {
			if err := cs.Check(edKey(t), c.Patient, c.ID, answer(c)); err != nil {
				t.Fatalf("an existing challenge: Check = %v", err)
			}
		}
	})
	t.Run("the per-patient bound lifts when the patient's oldest challenge expires", func(t *testing.T) {
		clk := newClock()
		cs := newChallenges(t, clk, patientproof.WithMaxPerPatient(2))
		first, _ := cs.Issue(alice)
		clk.Advance(time.Second)
		second, _ := cs.Issue(alice)
		clk.Advance(ttl - 2*time.Second)
		if _, err := cs.Issue(alice); !errors.Is(err, patientproof.ErrTooManyChallenges) {
			t.Fatalf("Issue before expiry = %v, want ErrTooManyChallenges", err)
		}
		clk.Advance(time.Second) // first expires now
		third, err := cs.Issue(alice)
		if err != nil {
			t.Fatalf("Issue after the oldest expired = %v", err)
		}
		if err := cs.Check(edKey(t), alice, first.ID, answer(first)); !errors.Is(err, patientproof.ErrUnknownChallenge) {
			t.Fatalf("the expired challenge: Check = %v", err)
		}
		for _, c := range []patientproof.Challenge{second, third} {
			if err := cs.Check(edKey(t), alice, c.ID, answer(c)); err != nil {
				t.Fatalf("an unexpired challenge: Check = %v", err)
			}
		}
	})
	t.Run("a full set is refused, and keeps every challenge", func(t *testing.T) {
		clk := newClock()
		cs := newChallenges(t, clk, patientproof.WithMaxOutstanding(2))
		first, _ := cs.Issue(alice)
		second, err := cs.Issue(bob)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{alice, bob, "pt-" + strings.Repeat("9", 40)} {
			if _, err := cs.Issue(p); !errors.Is(err, patientproof.ErrTooManyChallenges) {
				t.Fatalf("Issue with a full set = %v, want ErrTooManyChallenges", err)
			}
		}
		if n := cs.Outstanding(); n != 2 {
			t.Fatalf("Outstanding = %d, want 2", n)
		}
		for _, c := range []patientproof.Challenge{first, second} {
			if err := cs.Check(edKey(t), c.Patient, c.ID, answer(c)); err != nil {
				t.Fatalf("an existing challenge: Check = %v", err)
			}
		}
		clk.Advance(ttl)
		if _, err := cs.Issue(alice); err != nil {
			t.Fatalf("Issue once the set expired = %v", err)
		}
	})
	t.Run("expired challenges a backward clock left behind do not hold a bound", func(t *testing.T) {
		clk := newClock()
		cs := newChallenges(t, clk, patientproof.WithMaxPerPatient(2), patientproof.WithMaxOutstanding(2))
		clk.Advance(time.Hour)
		if _, err := cs.Issue(bob); err != nil { // expires at +1h+ttl
			t.Fatal(err)
		}
		clk.Advance(-time.Hour)
		if _, err := cs.Issue(alice); err != nil { // expires at +ttl, behind bob's
			t.Fatal(err)
		}
		clk.Advance(ttl) // alice's has expired, bob's has not, and bob's is first
		if _, err := cs.Issue(alice); err != nil {
			t.Fatalf("Issue = %v, want the expired challenge dropped", err)
		}
		if n := cs.Outstanding(); n != 2 {
			t.Fatalf("Outstanding = %d, want bob's and alice's new one", n)
		}
	})
	t.Run("a patient's expired challenge a backward clock left behind does not hold the bound", func(t *testing.T) {
		clk := newClock()
		cs := newChallenges(t, clk, patientproof.WithMaxPerPatient(1))
		clk.Advance(time.Hour)
		if _, err := cs.Issue(bob); err != nil {
			t.Fatal(err)
		}
		clk.Advance(-time.Hour)
		if _, err := cs.Issue(alice); err != nil {
			t.Fatal(err)
		}
		clk.Advance(ttl)
		if _, err := cs.Issue(alice); err != nil {
			t.Fatalf("Issue = %v, want alice's expired challenge dropped", err)
		}
	})
	t.Run("a refusal leaves no challenge behind and draws no randomness", func(t *testing.T) {
		random := &readCounter{r: &counter{}}
		cs := newChallenges(t, newClock(), patientproof.WithRandom(random), patientproof.WithMaxPerPatient(1))
		if _, err := cs.Issue(alice); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.Issue(alice); !errors.Is(err, patientproof.ErrTooManyChallenges) {
			t.Fatalf("Issue = %v, want ErrTooManyChallenges", err)
		}
		if random.reads != 1 {
			t.Fatalf("%d reads of the random source, want only the first challenge's", random.reads)
		}
		if n := cs.Outstanding(); n != 1 {
			t.Fatalf("Outstanding = %d, want 1", n)
		}
	})
	t.Run("expired challenges are purged when a new one is issued", func(t *testing.T) {
		clk := newClock()
		cs := newChallenges(t, clk, patientproof.WithMaxPerPatient(50))
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
		clk := newClock()
		cs := newChallenges(t, clk, patientproof.WithMaxOutstanding(50), patientproof.WithMaxPerPatient(2))
		refused := 0
		for i := range 1000 {
			_, err := cs.Issue(fmt.Sprintf("pt-%040x", i%300))
			switch {
			case errors.Is(err, patientproof.ErrTooManyChallenges):
				refused++
			case err != nil:
				t.Fatal(err)
			}
			if n := cs.Outstanding(); n > 50 {
				t.Fatalf("Outstanding = %d after %d issues", n, i+1)
			}
			if i%100 == 99 {
				clk.Advance(ttl / 2)
			}
		}
		if refused == 0 || refused == 1000 {
			t.Fatalf("%d of 1000 refused, want some", refused)
		}
	})
}

func TestChallengesAreSafeForConcurrentUse(t *testing.T) {
	const (
		goroutines     = 16
		perPatient     = 4
		maxOutstanding = 40 // below goroutines*perPatient, so patients contend for it
	)
	clk := newClock()
	cs, err := patientproof.New(mspID, ttl, patientproof.WithClock(clk.Now), patientproof.WithMaxOutstanding(maxOutstanding), patientproof.WithMaxPerPatient(perPatient))
	if err != nil {
		t.Fatal(err)
	}
	key := edKey(t)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		issued []patientproof.Challenge
	)
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			patient := fmt.Sprintf("pt-%040x", g)
			var mine []patientproof.Challenge
			for i := range 50 {
				c, err := cs.Issue(patient)
				switch {
				case errors.Is(err, patientproof.ErrTooManyChallenges):
					if len(mine) > perPatient {
						errs <- fmt.Errorf("%d challenges issued to one patient", len(mine))
						return
					}
				case err != nil:
					errs <- err
					return
				default:
					mine = append(mine, c)
				}
				// Nothing expires during the test (the clock moves at most
				// 80s of the 2m ttl) and nothing is evicted, so every
				// challenge this patient holds must still check.
				for _, c := range mine {
					if err := cs.Check(key, patient, c.ID, answer(c)); err != nil {
						errs <- err
						return
					}
				}
				if i%10 == 0 {
					clk.Advance(time.Second)
				}
			}
			mu.Lock()
			issued = append(issued, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := cs.Outstanding(); n != maxOutstanding || len(issued) != maxOutstanding {
		t.Fatalf("Outstanding = %d, issued %d, want both %d", n, len(issued), maxOutstanding)
	}
	for _, c := range issued {
		if err := cs.Check(key, c.Patient, c.ID, answer(c)); err != nil {
			t.Fatalf("after the run: Check = %v", err)
		}
	}
}

// readCounter counts the reads of a random source; Issue reads it with its
// lock held.
type readCounter struct {
	r     io.Reader
	reads int
}

func (c *readCounter) Read(p []byte) (int, error) {
	c.reads++
	return c.r.Read(p)
}

var _ io.Reader = (*counter)(nil)
