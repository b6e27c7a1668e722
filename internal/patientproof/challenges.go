package patientproof

import (
	"container/list"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
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

// Default bounds on outstanding challenges.
const (
	DefaultMaxPerPatient  = 8
	DefaultMaxOutstanding = 10_000
)

// ErrTooManyChallenges means Issue refused a challenge because a bound is
// reached: the patient already has the most unexpired challenges allowed,
// or the set as a whole does. Nothing is evicted, so a caller who asks for
// challenges for someone else's pseudonym cannot end that patient's live
// session; the patient reuses an outstanding challenge or waits for one to
// expire. The gateway maps it to RESOURCE_EXHAUSTED and rate-limits the
// callers who reach it. It never carries any part of the input.
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
	maxTotal      int
}

// WithClock sets the clock; the default is time.Now.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithRandom sets the random source; the default is crypto/rand.Reader. It
// is only read with the Challenges' lock held, so it need not be safe for
// concurrent use.
func WithRandom(r io.Reader) Option { return func(c *config) { c.random = r } }

// WithMaxPerPatient bounds the unexpired challenges of one patient; when a
// patient has that many, Issue refuses another with ErrTooManyChallenges
// until one expires. The default is DefaultMaxPerPatient.
func WithMaxPerPatient(n int) Option { return func(c *config) { c.maxPerPatient = n } }

// WithMaxOutstanding bounds the unexpired challenges of all patients; when
// there are that many, Issue refuses another with ErrTooManyChallenges
// until one expires. The default is DefaultMaxOutstanding.
func WithMaxOutstanding(n int) Option { return func(c *config) { c.maxTotal = n } }

// entry is an outstanding challenge.
type entry struct {
	c    Challenge
	elem *list.Element // in Challenges.order
}

// Challenges is a gateway's set of outstanding challenges. A challenge may
// be answered any number of times until it expires, so one proof serves
// every page of a listing. Memory is bounded: at most the configured number
// of challenges per patient and overall, beyond which Issue refuses with
// ErrTooManyChallenges rather than evict a challenge still in use, and
// expired ones purged as new ones are issued or checked. It is safe for
// concurrent use.
type Challenges struct {
	mspID string
	ttl   time.Duration
	cfg   config

	mu        sync.Mutex
	byID      map[string]*entry
	order     *list.List          // of *entry, oldest first
	byPatient map[string][]string // challenge IDs, oldest first
}

// New returns an empty set of challenges for the gateway of organisation
// mspID, each valid for ttl after it is issued. It refuses an invalid MSP
// ID, a ttl that is not positive, or bounds below 1.
func New(mspID string, ttl time.Duration, opts ...Option) (*Challenges, error) {
	if err := ledger.CheckMSPID("mspID", mspID); err != nil {
		return nil, err
	}
	if ttl <= 0 {
		return nil, ledger.InvalidArgument("ttl", "want a positive duration")
	}
	cfg := config{now: time.Now, random: rand.Reader, maxPerPatient: DefaultMaxPerPatient, maxTotal: DefaultMaxOutstanding}
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
	case cfg.maxTotal < 1:
		return nil, ledger.InvalidArgument("maxOutstanding", "want at least 1")
	}
	return &Challenges{
		mspID:     mspID,
		ttl:       ttl,
		cfg:       cfg,
		byID:      make(map[string]*entry),
		order:     list.New(),
		byPatient: make(map[string][]string),
	}, nil
}

// Issue draws a fresh challenge for a patient, valid until now + ttl. A
// pseudonym that is malformed is INVALID_ARGUMENT; whether the patient is
// registered is the caller's to check. When the patient already has the
// per-patient bound of unexpired challenges, or the whole set has the
// overall bound, Issue refuses with ErrTooManyChallenges and leaves every
// outstanding challenge valid: anyone may ask for a challenge for any
// pseudonym, so evicting would let them end a patient's session. The
// gateway maps the refusal to RESOURCE_EXHAUSTED and rate-limits callers.
func (cs *Challenges) Issue(patient string) (Challenge, error) {
	if err := ledger.CheckPseudonym("patient", patient); err != nil {
		return Challenge{}, err
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	now := cs.cfg.now()
	cs.purgeLocked(now)
	if cs.atPatientBoundLocked(patient, now) || cs.atOverallBoundLocked(now) {
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

	e := &entry{c: c}
	e.elem = cs.order.PushBack(e)
	cs.byID[id] = e
	cs.byPatient[patient] = append(cs.byPatient[patient], id)
	return cloneChallenge(c), nil
}

// Check verifies a patient's answer to an outstanding challenge: it must be
// known, unexpired, issued to this patient, and sig must be the patient's
// signature over its encoding with key (the patient's current key, looked
// up by the caller). The challenge stays outstanding until it expires.
// Errors are ErrUnknownChallenge, ErrExpired, ErrWrongPatient and
// ErrBadSignature.
func (cs *Challenges) Check(key ledger.PatientKey, patient, challengeID string, sig []byte) error {
	cs.mu.Lock()
	now := cs.cfg.now()
	e, ok := cs.byID[challengeID]
	if ok && !now.Before(e.c.ExpireTime) {
		cs.removeLocked(e)
		cs.purgeLocked(now)
		cs.mu.Unlock()
		return ErrExpired
	}
	cs.purgeLocked(now)
	if !ok {
		cs.mu.Unlock()
		return ErrUnknownChallenge
	}
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

// atPatientBoundLocked reports whether the patient has maxPerPatient
// unexpired challenges, first dropping any of theirs that have expired.
func (cs *Challenges) atPatientBoundLocked(patient string, now time.Time) bool {
	ids := cs.byPatient[patient]
	if len(ids) < cs.cfg.maxPerPatient {
		return false
	}
	for _, id := range slices.Clone(ids) {
		if e := cs.byID[id]; !now.Before(e.c.ExpireTime) {
			cs.removeLocked(e)
		}
	}
	return len(cs.byPatient[patient]) >= cs.cfg.maxPerPatient
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
	ids := cs.byPatient[e.c.Patient]
	if i := slices.Index(ids, e.c.ID); i >= 0 {
		ids = slices.Delete(ids, i, i+1)
	}
	if len(ids) == 0 {
		delete(cs.byPatient, e.c.Patient)
	} else {
		cs.byPatient[e.c.Patient] = ids
	}
}

func cloneChallenge(c Challenge) Challenge {
	c.Challenge = slices.Clone(c.Challenge)
	return c
}
