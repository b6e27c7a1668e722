package patientproof_test

import (
	"errors"
	"fmt"
	"io"
	"math"
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

// Synthetic holders, in the form of certificate fingerprints: a patient
// portal's service account, a clinician, and an enrolled user who should
// not see anyone's proof.
var (
	portal   = strings.Repeat("a1", 32)
	clinic   = strings.Repeat("b2", 32)
	intruder = strings.Repeat("c3", 32)
)

// noRateLimit lifts the per-holder rate for tests about other bounds: the
// test clock moves by seconds, and a nanosecond interval with this burst
// refills long before.
var noRateLimit = patientproof.WithIssueRate(time.Nanosecond, 1<<30)

// newChallenges returns a set on clk with a deterministic random source and
// the default bounds and rate unless opts say otherwise.
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
	c, err := cs.Issue(alice, portal)
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
	c, err := cs.Issue(alice, portal)
	if err != nil {
		t.Fatal(err)
	}
	sig := answer(c)
	for page := range 3 {
		if err := cs.Check(key, alice, c.ID, portal, sig); err != nil {
			t.Fatalf("page %d: Check = %v", page, err)
		}
		clk.Advance(ttl / 4)
	}
	clk.Advance(ttl/4 - time.Nanosecond)
	if err := cs.Check(key, alice, c.ID, portal, sig); err != nil {
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
			return cs.Check(edKey(t), alice, c.ID, portal, answer(c))
		}, patientproof.ErrExpired},
		"an answer long after expiry is refused": {func(t *testing.T, cs *patientproof.Challenges, clk *clock, c patientproof.Challenge) error {
			clk.Advance(24 * time.Hour)
			return cs.Check(edKey(t), alice, c.ID, portal, answer(c))
		}, patientproof.ErrExpired},
		"an expired challenge is then unknown": {func(t *testing.T, cs *patientproof.Challenges, clk *clock, c patientproof.Challenge) error {
			clk.Advance(ttl)
			_ = cs.Check(edKey(t), alice, c.ID, portal, answer(c))
			return cs.Check(edKey(t), alice, c.ID, portal, answer(c))
		}, patientproof.ErrUnknownChallenge},
		"another patient's challenge is refused": {func(t *testing.T, cs *patientproof.Challenges, clk *clock, c patientproof.Challenge) error {
			forBob := c
			forBob.Patient = bob
			return cs.Check(edKey(t), bob, c.ID, portal, answer(forBob))
		}, patientproof.ErrWrongPatient},
		"an unknown challenge ID is refused": {func(t *testing.T, cs *patientproof.Challenges, clk *clock, c patientproof.Challenge) error {
			other := c
			other.ID = strings.Repeat("f", 32)
			return cs.Check(edKey(t), alice, other.ID, portal, answer(other))
		}, patientproof.ErrUnknownChallenge},
		"an empty challenge ID is refused": {func(t *testing.T, cs *patientproof.Challenges, clk *clock, c patientproof.Challenge) error {
			return cs.Check(edKey(t), alice, "", portal, answer(c))
		}, patientproof.ErrUnknownChallenge},
		"a signature by another key is refused": {func(t *testing.T, cs *patientproof.Challenges, clk *clock, c patientproof.Challenge) error {
			return cs.Check(edKey(t), alice, c.ID, portal, ecSign(patientproof.Encode(c.MSPID, c.Patient, c.ID, c.Challenge)))
		}, patientproof.ErrBadSignature},
		"a signature checked with another key is refused": {func(t *testing.T, cs *patientproof.Challenges, clk *clock, c patientproof.Challenge) error {
			return cs.Check(ecK, alice, c.ID, portal, answer(c))
		}, patientproof.ErrBadSignature},
		"a signature over another gateway's encoding is refused": {func(t *testing.T, cs *patientproof.Challenges, clk *clock, c patientproof.Challenge) error {
			return cs.Check(edKey(t), alice, c.ID, portal, edSign(patientproof.Encode("Org2MSP", c.Patient, c.ID, c.Challenge)))
		}, patientproof.ErrBadSignature},
		"a challenge the caller altered is not the one checked": {func(t *testing.T, cs *patientproof.Challenges, clk *clock, c patientproof.Challenge) error {
			c.Challenge[0] ^= 1
			return cs.Check(edKey(t), alice, c.ID, portal, answer(c))
		}, patientproof.ErrBadSignature},
		"an empty signature is refused": {func(t *testing.T, cs *patientproof.Challenges, clk *clock, c patientproof.Challenge) error {
			return cs.Check(edKey(t), alice, c.ID, portal, nil)
		}, patientproof.ErrBadSignature},
		"a genuine answer carried by another holder is refused": {func(t *testing.T, cs *patientproof.Challenges, clk *clock, c patientproof.Challenge) error {
			return cs.Check(edKey(t), alice, c.ID, intruder, answer(c))
		}, patientproof.ErrWrongHolder},
		"a genuine answer carried by an empty holder is refused": {func(t *testing.T, cs *patientproof.Challenges, clk *clock, c patientproof.Challenge) error {
			return cs.Check(edKey(t), alice, c.ID, "", answer(c))
		}, patientproof.ErrWrongHolder},
		"another holder is refused as for an unknown challenge even after expiry": {func(t *testing.T, cs *patientproof.Challenges, clk *clock, c patientproof.Challenge) error {
			clk.Advance(ttl)
			return cs.Check(edKey(t), alice, c.ID, intruder, answer(c))
		}, patientproof.ErrWrongHolder},
		"another holder with its own challenge cannot use this one": {func(t *testing.T, cs *patientproof.Challenges, clk *clock, c patientproof.Challenge) error {
			if _, err := cs.Issue(alice, intruder); err != nil {
				t.Fatal(err)
			}
			return cs.Check(edKey(t), alice, c.ID, intruder, answer(c))
		}, patientproof.ErrWrongHolder},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			clk := newClock()
			cs := newChallenges(t, clk)
			c, err := cs.Issue(alice, portal)
			if err != nil {
				t.Fatal(err)
			}
			err = tc.run(t, cs, clk, c)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Check = %v, want %v", err, tc.want)
			}
			if tc.want != patientproof.ErrWrongHolder && errors.Is(err, patientproof.ErrWrongHolder) {
				t.Fatalf("Check = ErrWrongHolder, want only %v", tc.want)
			}
			for _, s := range []string{alice, bob, c.ID, portal, intruder} {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("error %q echoes the input", err)
				}
			}
		})
	}
}

func TestIssueRefusesBadArguments(t *testing.T) {
	tests := map[string]struct {
		patient, holder string
		field           string
	}{
		"a malformed pseudonym is refused":                   {"Jane Doe", portal, "patient"},
		"an empty holder is refused":                         {alice, "", "holder"},
		"a holder longer than MaxHolderBytes is refused":     {alice, strings.Repeat("Jane", 32) + "J", "holder"},
		"a malformed pseudonym is named before a bad holder": {"Jane Doe", "", "patient"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			random := &readCounter{r: &counter{}}
			cs := newChallenges(t, newClock(), patientproof.WithRandom(random), patientproof.WithIssueRate(time.Hour, 1))
			_, err := cs.Issue(tc.patient, tc.holder)
			if !errors.Is(err, ledger.ErrInvalidArgument) || !strings.Contains(err.Error(), tc.field+":") || strings.Contains(err.Error(), "Jane") {
				t.Fatalf("Issue = %v, want INVALID_ARGUMENT naming %s without the value", err, tc.field)
			}
			if random.reads != 0 || cs.Outstanding() != 0 {
				t.Fatal("a refused Issue drew randomness or left a challenge")
			}
			// A refusal for bad arguments takes nothing from the rate of
			// a holder: its one call an hour is still there.
			if _, err := cs.Issue(alice, portal); err != nil {
				t.Fatalf("a good Issue after the refusal = %v", err)
			}
		})
	}
	t.Run("a holder of MaxHolderBytes is accepted", func(t *testing.T) {
		cs := newChallenges(t, newClock())
		if _, err := cs.Issue(alice, strings.Repeat("f", patientproof.MaxHolderBytes)); err != nil {
			t.Fatalf("Issue = %v", err)
		}
	})
}

func TestIssuePassesOnARandomSourceFailure(t *testing.T) {
	failure := errors.New("synthetic entropy failure")
	cs, err := patientproof.New(mspID, ttl, patientproof.WithRandom(iotest.ErrReader(failure)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Issue(alice, portal); !errors.Is(err, failure) {
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
		"an invalid MSP ID is refused":                 {"Org 1", ttl, nil},
		"a zero ttl is refused":                        {mspID, 0, nil},
		"a negative ttl is refused":                    {mspID, -time.Second, nil},
		"a nil clock is refused":                       {mspID, ttl, []patientproof.Option{patientproof.WithClock(nil)}},
		"a nil random source is refused":               {mspID, ttl, []patientproof.Option{patientproof.WithRandom(nil)}},
		"a per-patient bound of 0 is refused":          {mspID, ttl, []patientproof.Option{patientproof.WithMaxPerPatient(0)}},
		"a per-holder bound of 0 is refused":           {mspID, ttl, []patientproof.Option{patientproof.WithMaxPerHolder(0)}},
		"an overall bound of 0 is refused":             {mspID, ttl, []patientproof.Option{patientproof.WithMaxOutstanding(0)}},
		"a zero issue interval is refused":             {mspID, ttl, []patientproof.Option{patientproof.WithIssueRate(0, 10)}},
		"a negative issue interval is refused":         {mspID, ttl, []patientproof.Option{patientproof.WithIssueRate(-time.Second, 10)}},
		"a burst of 0 is refused":                      {mspID, ttl, []patientproof.Option{patientproof.WithIssueRate(time.Second, 0)}},
		"a burst that overflows a duration is refused": {mspID, ttl, []patientproof.Option{patientproof.WithIssueRate(time.Hour, math.MaxInt)}},
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
	t.Run("a holder at its bound for one patient is refused for that patient, and keeps every challenge", func(t *testing.T) {
		clk := newClock()
		cs := newChallenges(t, clk, patientproof.WithMaxPerPatient(3))
		var issued []patientproof.Challenge
		for range 3 {
			c, err := cs.Issue(alice, portal)
			if err != nil {
				t.Fatal(err)
			}
			issued = append(issued, c)
			clk.Advance(time.Second)
		}
		// Anyone may ask for alice's challenges; asking again must not
		// end her session.
		for range 5 {
			if _, err := cs.Issue(alice, portal); !errors.Is(err, patientproof.ErrTooManyChallenges) {
				t.Fatalf("Issue at the bound = %v, want ErrTooManyChallenges", err)
			}
		}
		bobs, err := cs.Issue(bob, portal)
		if err != nil {
			t.Fatalf("another patient: Issue = %v", err)
		}
		clinics, err := cs.Issue(alice, clinic)
		if err != nil {
			t.Fatalf("the same patient, another holder: Issue = %v", err)
		}
		if n := cs.Outstanding(); n != 5 {
			t.Fatalf("Outstanding = %d, want the portal's 3 of alice's and 1 of bob's, and the clinic's 1", n)
		}
		for _, c := range append(issued, bobs) {
			if err := cs.Check(edKey(t), c.Patient, c.ID, portal, answer(c)); err != nil {
				t.Fatalf("an existing challenge: Check = %v", err)
			}
		}
		if err := cs.Check(edKey(t), alice, clinics.ID, clinic, answer(clinics)); err != nil {
			t.Fatalf("the clinic's challenge: Check = %v", err)
		}
	})
	t.Run("the per-patient bound lifts when the patient's oldest challenge expires", func(t *testing.T) {
		clk := newClock()
		cs := newChallenges(t, clk, patientproof.WithMaxPerPatient(2))
		first, _ := cs.Issue(alice, portal)
		clk.Advance(time.Second)
		second, _ := cs.Issue(alice, portal)
		clk.Advance(ttl - 2*time.Second)
		if _, err := cs.Issue(alice, portal); !errors.Is(err, patientproof.ErrTooManyChallenges) {
			t.Fatalf("Issue before expiry = %v, want ErrTooManyChallenges", err)
		}
		clk.Advance(time.Second) // first expires now
		third, err := cs.Issue(alice, portal)
		if err != nil {
			t.Fatalf("Issue after the oldest expired = %v", err)
		}
		if err := cs.Check(edKey(t), alice, first.ID, portal, answer(first)); !errors.Is(err, patientproof.ErrUnknownChallenge) {
			t.Fatalf("the expired challenge: Check = %v", err)
		}
		for _, c := range []patientproof.Challenge{second, third} {
			if err := cs.Check(edKey(t), alice, c.ID, portal, answer(c)); err != nil {
				t.Fatalf("an unexpired challenge: Check = %v", err)
			}
		}
	})
	t.Run("a full set is refused, and keeps every challenge", func(t *testing.T) {
		clk := newClock()
		cs := newChallenges(t, clk, patientproof.WithMaxOutstanding(2))
		first, _ := cs.Issue(alice, portal)
		second, err := cs.Issue(bob, portal)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{alice, bob, "pt-" + strings.Repeat("9", 40)} {
			for _, h := range []string{portal, clinic} {
				if _, err := cs.Issue(p, h); !errors.Is(err, patientproof.ErrTooManyChallenges) {
					t.Fatalf("Issue with a full set = %v, want ErrTooManyChallenges", err)
				}
			}
		}
		if n := cs.Outstanding(); n != 2 {
			t.Fatalf("Outstanding = %d, want 2", n)
		}
		for _, c := range []patientproof.Challenge{first, second} {
			if err := cs.Check(edKey(t), c.Patient, c.ID, portal, answer(c)); err != nil {
				t.Fatalf("an existing challenge: Check = %v", err)
			}
		}
		clk.Advance(ttl)
		if _, err := cs.Issue(alice, portal); err != nil {
			t.Fatalf("Issue once the set expired = %v", err)
		}
	})
	t.Run("expired challenges a backward clock left behind do not hold a bound", func(t *testing.T) {
		clk := newClock()
		cs := newChallenges(t, clk, patientproof.WithMaxPerPatient(2), patientproof.WithMaxOutstanding(2))
		clk.Advance(time.Hour)
		// Another holder, whose rate the backward jump does not touch.
		if _, err := cs.Issue(bob, clinic); err != nil { // expires at +1h+ttl
			t.Fatal(err)
		}
		clk.Advance(-time.Hour)
		if _, err := cs.Issue(alice, portal); err != nil { // expires at +ttl, behind bob's
			t.Fatal(err)
		}
		clk.Advance(ttl) // alice's has expired, bob's has not, and bob's is first
		if _, err := cs.Issue(alice, portal); err != nil {
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
		if _, err := cs.Issue(bob, clinic); err != nil {
			t.Fatal(err)
		}
		clk.Advance(-time.Hour)
		if _, err := cs.Issue(alice, portal); err != nil {
			t.Fatal(err)
		}
		clk.Advance(ttl)
		if _, err := cs.Issue(alice, portal); err != nil {
			t.Fatalf("Issue = %v, want alice's expired challenge dropped", err)
		}
	})
	t.Run("a refusal leaves no challenge behind and draws no randomness", func(t *testing.T) {
		random := &readCounter{r: &counter{}}
		cs := newChallenges(t, newClock(), patientproof.WithRandom(random), patientproof.WithMaxPerPatient(1))
		if _, err := cs.Issue(alice, portal); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.Issue(alice, portal); !errors.Is(err, patientproof.ErrTooManyChallenges) {
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
		cs := newChallenges(t, clk, noRateLimit, patientproof.WithMaxPerPatient(50), patientproof.WithMaxPerHolder(100))
		for i := range 100 {
			if _, err := cs.Issue([]string{alice, bob}[i%2], portal); err != nil {
				t.Fatal(err)
			}
		}
		clk.Advance(ttl)
		if _, err := cs.Issue(alice, portal); err != nil {
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
			_, err := cs.Issue(fmt.Sprintf("pt-%040x", i%300), fmt.Sprintf("%064x", i%300))
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
	cs, err := patientproof.New(mspID, ttl, patientproof.WithClock(clk.Now), noRateLimit,
		patientproof.WithMaxOutstanding(maxOutstanding), patientproof.WithMaxPerPatient(perPatient))
	if err != nil {
		t.Fatal(err)
	}
	key := edKey(t)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		issued []held
	)
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			patient := fmt.Sprintf("pt-%040x", g)
			holder := fmt.Sprintf("%064x", g)
			other := fmt.Sprintf("%064x", (g+1)%goroutines)
			var mine []patientproof.Challenge
			for i := range 50 {
				c, err := cs.Issue(patient, holder)
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
					if err := cs.Check(key, patient, c.ID, holder, answer(c)); err != nil {
						errs <- err
						return
					}
					if err := cs.Check(key, patient, c.ID, other, answer(c)); !errors.Is(err, patientproof.ErrWrongHolder) {
						errs <- fmt.Errorf("another goroutine's holder: Check = %v, want ErrWrongHolder", err)
						return
					}
				}
				if i%10 == 0 {
					clk.Advance(time.Second)
				}
			}
			mu.Lock()
			for _, c := range mine {
				issued = append(issued, held{c, holder})
			}
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
	for _, h := range issued {
		if err := cs.Check(key, h.c.Patient, h.c.ID, h.holder, answer(h.c)); err != nil {
			t.Fatalf("after the run: Check = %v", err)
		}
	}
}

// held is a challenge and the holder it was issued to.
type held struct {
	c      patientproof.Challenge
	holder string
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
