package patientproof

import (
	"container/list"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/medprov/medprov/chaincode/ledger"
)

// Sizes of what Issue draws from the random source.
const (
	// IDBytes is the number of random bytes in a challenge ID, which is
	// their lowercase hex.
	IDBytes = 16
	// ChallengeBytes is the number of random bytes a patient signs.
	ChallengeBytes = 32
)

// MaxHolderBytes is the longest holder accepted; a certificate fingerprint
// in hex (exchange.Fingerprint) is 64 bytes.
const MaxHolderBytes = 128

// Default bounds on outstanding challenges and on the rate of Issue, per
// holder unless the name says otherwise (see the package doc).
const (
	// DefaultMaxPerPatient bounds the unexpired challenges one holder has
	// for one patient.
	DefaultMaxPerPatient = 8
	// DefaultMaxPerHolder bounds the unexpired challenges of one holder.
	DefaultMaxPerHolder = 16
	// DefaultMaxOutstanding bounds the unexpired challenges of all
	// holders together.
	DefaultMaxOutstanding = 10_000
	// DefaultIssueEvery is the sustained interval between two Issue calls
	// of one holder.
	DefaultIssueEvery = time.Second
	// DefaultIssueBurst is how many Issue calls a holder that has been
	// idle may make at once.
	DefaultIssueBurst = 10
)

// ErrTooManyChallenges means Issue refused a challenge because a bound is
// reached: the holder asks faster than its rate allows, or already has the
// most unexpired challenges allowed for a holder or for this patient and
// holder, or the set as a whole does. Nothing is evicted, so a caller who
// asks for challenges for someone else's pseudonym cannot end that
// patient's live session, and since every bound but the overall one is
// counted per holder, cannot keep another holder from getting one either.
// The caller reuses an outstanding challenge, or waits. The gateway maps it
// to RESOURCE_EXHAUSTED. It never carries any part of the input.
var ErrTooManyChallenges = errors.New("patientproof: too many outstanding challenges")

// Challenge is an issued challenge, the content of GetChallengeResponse.
type Challenge struct {
	// ID is the opaque challenge ID: IDBytes random bytes in lowercase hex.
	ID string
	// Challenge is ChallengeBytes random bytes.
	Challenge []byte
	// MSPID is the gateway's MSP ID, part of the signed encoding.
	MSPID string
	// Patient is the pseudonym the challenge was issued to.
	Patient string
	// ExpireTime is when the challenge stops being accepted.
	ExpireTime time.Time
}

// Option configures Challenges.
type Option func(*config)

type config struct {
	now           func() time.Time
	random        io.Reader
	maxPerPatient int
	maxPerHolder  int
	maxTotal      int
	issueEvery    time.Duration
	issueBurst    int
}

// WithClock sets the clock; the default is time.Now.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithRandom sets the random source; the default is crypto/rand.Reader. It
// is only read with the Challenges' lock held, so it need not be safe for
// concurrent use.
func WithRandom(r io.Reader) Option { return func(c *config) { c.random = r } }

// WithMaxPerPatient bounds the unexpired challenges that one holder has for
// one patient; when it has that many, Issue refuses that holder another for
// that patient with ErrTooManyChallenges until one expires. Other holders
// are not affected. The default is DefaultMaxPerPatient.
func WithMaxPerPatient(n int) Option { return func(c *config) { c.maxPerPatient = n } }

// WithMaxPerHolder bounds the unexpired challenges of one holder, for all
// patients; when it has that many, Issue refuses it another with
// ErrTooManyChallenges until one expires. A carrier serving many patients
// at once needs it raised. The default is DefaultMaxPerHolder.
func WithMaxPerHolder(n int) Option { return func(c *config) { c.maxPerHolder = n } }

// WithMaxOutstanding bounds the unexpired challenges of all holders; when
// there are that many, Issue refuses another with ErrTooManyChallenges
// until one expires. The default is DefaultMaxOutstanding.
func WithMaxOutstanding(n int) Option { return func(c *config) { c.maxTotal = n } }

// WithIssueRate limits how often one holder may call Issue: once every
// interval sustained, and up to burst calls at once after being idle for
// burst × every (a token bucket). A call over the rate is refused with
// ErrTooManyChallenges. The defaults are DefaultIssueEvery and
// DefaultIssueBurst.
func WithIssueRate(every time.Duration, burst int) Option {
	return func(c *config) { c.issueEvery, c.issueBurst = every, burst }
}

// entry is an outstanding challenge.
type entry struct {
	c      Challenge
	holder string
	elem   *list.Element // in Challenges.order
}

// Challenges is a gateway's set of outstanding challenges, each bound to
// the holder that asked for it. A challenge may be answered by its holder
// any number of times until it expires, so one proof serves every page of a
// listing. Issue is rate-limited per holder, and memory is bounded: at most
// the configured number of challenges per holder, per patient and holder,
// and overall, beyond which Issue refuses with ErrTooManyChallenges rather
// than evict a challenge still in use; expired ones are purged as new ones
// are issued or checked. It is safe for concurrent use.
type Challenges struct {
	mspID string
	ttl   time.Duration
	cfg   config
	// burstSpan is issueBurst × issueEvery, the time an idle holder takes
	// to regain its whole burst.
	burstSpan time.Duration

	mu       sync.Mutex
	byID     map[string]*entry
	order    *list.List          // of *entry, oldest first
	byHolder map[string][]*entry // oldest first
	// rate is each recently active holder's theoretical arrival time (the
	// generic cell rate algorithm, a token bucket in one number): a call
	// at now is allowed when max(rate, now) + issueEvery ≤ now + burstSpan.
	// A holder whose time is not after now has its whole burst and is
	// dropped at the next sweep.
	rate      map[string]time.Time
	nextSweep time.Time
}

// New returns an empty set of challenges for the gateway of organisation
// mspID, each valid for ttl after it is issued. It refuses
// (INVALID_ARGUMENT) an invalid MSP ID, a ttl that is not positive, a nil
// clock or random source, bounds below 1, an issue interval that is not
// positive, a burst below 1, or an interval and burst whose product
// overflows a time.Duration.
func New(mspID string, ttl time.Duration, opts ...Option) (*Challenges, error) {
	if err := ledger.CheckMSPID("mspID", mspID); err != nil {
		return nil, err
	}
	if ttl <= 0 {
		return nil, ledger.InvalidArgument("ttl", "want a positive duration")
	}
	cfg := config{
		now:           time.Now,
		random:        rand.Reader,
		maxPerPatient: DefaultMaxPerPatient,
		maxPerHolder:  DefaultMaxPerHolder,
		maxTotal:      DefaultMaxOutstanding,
		issueEvery:    DefaultIssueEvery,
		issueBurst:    DefaultIssueBurst,
	}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case cfg.now == nil:
		return nil, ledger.InvalidArgument("clock", "want a clock")
	case cfg.random == nil:
		return nil, ledger.InvalidArgument("random", "want a random source")
	case cfg.maxPerPatient < 1:
		return nil, ledger.InvalidArgument("maxPerPatient", "want at least 1")
	case cfg.maxPerHolder < 1:
		return nil, ledger.InvalidArgument("maxPerHolder", "want at least 1")
	case cfg.maxTotal < 1:
		return nil, ledger.InvalidArgument("maxOutstanding", "want at least 1")
	case cfg.issueEvery <= 0:
		return nil, ledger.InvalidArgument("issueEvery", "want a positive duration")
	case cfg.issueBurst < 1:
		return nil, ledger.InvalidArgument("issueBurst", "want at least 1")
	case int64(cfg.issueBurst) > math.MaxInt64/int64(cfg.issueEvery):
		return nil, ledger.InvalidArgument("issueBurst", "want burst × interval to fit in a duration")
	}
	return &Challenges{
		mspID:     mspID,
		ttl:       ttl,
		cfg:       cfg,
		burstSpan: time.Duration(cfg.issueBurst) * cfg.issueEvery,
		byID:      make(map[string]*entry),
		order:     list.New(),
		byHolder:  make(map[string][]*entry),
		rate:      make(map[string]time.Time),
	}, nil
}

// Issue draws a fresh challenge for a patient, bound to holder (the
// gateway passes the fingerprint of the calling certificate) and valid
// until now + ttl. A malformed pseudonym, or a holder that is empty or
// longer than MaxHolderBytes, is INVALID_ARGUMENT; whether the patient is
// registered is the caller's to check. Every other call counts against the
// holder's rate; over it, or when the holder already has its bound of
// unexpired challenges overall or for this patient, or the whole set has
// the overall bound, Issue refuses with ErrTooManyChallenges and leaves
// every outstanding challenge valid: anyone may ask for a challenge for any
// pseudonym, so evicting would let them end a patient's session. An error
// of the random source is returned wrapped.
func (cs *Challenges) Issue(patient, holder string) (Challenge, error) {
	if err := ledger.CheckPseudonym("patient", patient); err != nil {
		return Challenge{}, err
	}
	if holder == "" || len(holder) > MaxHolderBytes {
		return Challenge{}, ledger.InvalidArgument("holder", "want the caller's certificate fingerprint, 1 to %d bytes", MaxHolderBytes)
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	now := cs.cfg.now()
	cs.purgeLocked(now)
	if !cs.allowLocked(holder, now) ||
		cs.atHolderBoundsLocked(patient, holder, now) ||
		cs.atOverallBoundLocked(now) {
		return Challenge{}, ErrTooManyChallenges
	}

	buf := make([]byte, IDBytes+ChallengeBytes)
	if _, err := io.ReadFull(cs.cfg.random, buf); err != nil {
		return Challenge{}, fmt.Errorf("patientproof: reading the random source: %w", err)
	}
	id := hex.EncodeToString(buf[:IDBytes])
	if _, dup := cs.byID[id]; dup {
		return Challenge{}, errors.New("patientproof: the random source repeated a challenge ID")
	}
	c := Challenge{
		ID:         id,
		Challenge:  buf[IDBytes:],
		MSPID:      cs.mspID,
		Patient:    patient,
		ExpireTime: now.Add(cs.ttl),
	}

	e := &entry{c: c, holder: holder}
	e.elem = cs.order.PushBack(e)
	cs.byID[id] = e
	cs.byHolder[holder] = append(cs.byHolder[holder], e)
	return cloneChallenge(c), nil
}

// Check verifies a patient's answer to an outstanding challenge, carried by
// holder: the challenge must be known, issued to this holder, unexpired and
// issued to this patient, and sig must be the patient's signature over its
// encoding with key (the patient's current key, looked up by the caller).
// The holder is not part of the encoding. The challenge stays outstanding
// until it expires. Errors are ErrUnknownChallenge, ErrWrongHolder (which
// wraps ErrUnknownChallenge; reported before expiry, so another holder
// learns nothing about the challenge), ErrExpired, ErrWrongPatient and
// ErrBadSignature.
func (cs *Challenges) Check(key ledger.PatientKey, patient, challengeID, holder string, sig []byte) error {
	cs.mu.Lock()
	now := cs.cfg.now()
	e, ok := cs.byID[challengeID]
	switch {
	case !ok:
		cs.purgeLocked(now)
		cs.mu.Unlock()
		return ErrUnknownChallenge
	case e.holder != holder:
		cs.purgeLocked(now)
		cs.mu.Unlock()
		return ErrWrongHolder
	case !now.Before(e.c.ExpireTime):
		cs.removeLocked(e)
		cs.purgeLocked(now)
		cs.mu.Unlock()
		return ErrExpired
	}
	cs.purgeLocked(now)
	if e.c.Patient != patient {
		cs.mu.Unlock()
		return ErrWrongPatient
	}
	c := e.c // the challenge bytes are never modified, so sharing is safe
	cs.mu.Unlock()
	return Verify(key, c.MSPID, c.Patient, c.ID, c.Challenge, sig)
}

// Outstanding returns the number of challenges held, expired ones not yet
// purged included.
func (cs *Challenges) Outstanding() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.order.Len()
}

// allowLocked takes one call from holder's rate, or reports false, taking
// nothing, when the holder is over it. A holder whose time is further ahead
// than a whole burst can explain (the clock went backwards) is treated as
// having just spent its whole burst, so a backward clock delays its next
// call by at most one interval.
func (cs *Challenges) allowLocked(holder string, now time.Time) bool {
	cs.sweepRateLocked(now)
	tat, ok := cs.rate[holder]
	if !ok || tat.Before(now) {
		tat = now
	}
	if limit := now.Add(cs.burstSpan); tat.After(limit) {
		tat = limit
	}
	next := tat.Add(cs.cfg.issueEvery)
	if next.Sub(now) > cs.burstSpan {
		cs.rate[holder] = tat
		return false
	}
	cs.rate[holder] = next
	return true
}

// sweepRateLocked forgets, at most once per burst × every, the holders
// whose bucket is full again, so the rate state holds only the holders
// active in the last two such spans.
func (cs *Challenges) sweepRateLocked(now time.Time) {
	if now.Before(cs.nextSweep) && cs.nextSweep.Sub(now) <= cs.burstSpan {
		return
	}
	for h, tat := range cs.rate {
		if !tat.After(now) {
			delete(cs.rate, h)
		}
	}
	cs.nextSweep = now.Add(cs.burstSpan)
}

// atHolderBoundsLocked reports whether holder has maxPerHolder unexpired
// challenges, or maxPerPatient unexpired ones for patient, first dropping
// any of the holder's that have expired (purgeLocked may have left some
// behind a newer one when the clock went backwards).
func (cs *Challenges) atHolderBoundsLocked(patient, holder string, now time.Time) bool {
	for _, e := range slices.Clone(cs.byHolder[holder]) {
		if !now.Before(e.c.ExpireTime) {
			cs.removeLocked(e)
		}
	}
	held := cs.byHolder[holder]
	if len(held) >= cs.cfg.maxPerHolder {
		return true
	}
	forPatient := 0
	for _, e := range held {
		if e.c.Patient == patient {
			forPatient++
		}
	}
	return forPatient >= cs.cfg.maxPerPatient
}

// atOverallBoundLocked reports whether maxOutstanding unexpired challenges
// are held. purgeLocked has dropped the expired ones at the front; only at
// the bound does it look further, for expired ones a clock that went
// backwards left behind newer ones.
func (cs *Challenges) atOverallBoundLocked(now time.Time) bool {
	if cs.order.Len() < cs.cfg.maxTotal {
		return false
	}
	for f := cs.order.Front(); f != nil; {
		next := f.Next()
		if e := f.Value.(*entry); !now.Before(e.c.ExpireTime) {
			cs.removeLocked(e)
		}
		f = next
	}
	return cs.order.Len() >= cs.cfg.maxTotal
}

// purgeLocked drops expired challenges from the oldest on, stopping at the
// first unexpired one. With a clock that goes backwards an expired
// challenge may stay behind a newer one; Check still refuses it, and Issue
// drops it before refusing at a bound.
func (cs *Challenges) purgeLocked(now time.Time) {
	for f := cs.order.Front(); f != nil; f = cs.order.Front() {
		e := f.Value.(*entry)
		if now.Before(e.c.ExpireTime) {
			return
		}
		cs.removeLocked(e)
	}
}

// removeLocked forgets one challenge.
func (cs *Challenges) removeLocked(e *entry) {
	cs.order.Remove(e.elem)
	delete(cs.byID, e.c.ID)
	held := cs.byHolder[e.holder]
	if i := slices.Index(held, e); i >= 0 {
		held = slices.Delete(held, i, i+1)
	}
	if len(held) == 0 {
		delete(cs.byHolder, e.holder)
	} else {
		cs.byHolder[e.holder] = held
	}
}

func cloneChallenge(c Challenge) Challenge {
	c.Challenge = slices.Clone(c.Challenge)
	return c
}
