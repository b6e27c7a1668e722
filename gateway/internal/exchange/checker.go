package exchange

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/internal/ledger"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// DefaultSkew is the clock skew tolerance when Config.Skew is zero.
const DefaultSkew = 2 * time.Minute

// FetchFunc reads the access event committed by transaction txID, as the
// custodian. It returns an error matching domain.ErrNotFound, or carrying
// codes.NotFound, when the ledger shows the custodian no such event.
type FetchFunc func(ctx context.Context, txID string) (domain.AccessEvent, error)

// LedgerFetcher returns a FetchFunc that evaluates GetAccessEvent on l as
// identity id (a member of the custodian organisation) and decodes the
// event. Errors are l's (*ledger.Error, with a gRPC status), or an
// internal error when the payload is not an access event.
func LedgerFetcher(l ledger.Ledger, id ledger.Identity) FetchFunc {
	return func(ctx context.Context, txID string) (domain.AccessEvent, error) {
		out, err := l.Evaluate(ctx, id, domain.TxGetAccessEvent, txID)
		if errors.Is(err, domain.ErrNotFound) && awaitTransaction(ctx, l, txID) {
			// The requester's peer committed the event before ours did.
			out, err = l.Evaluate(ctx, id, domain.TxGetAccessEvent, txID)
		}
		if err != nil {
			return domain.AccessEvent{}, err
		}
		var ev domain.AccessEvent
		if err := json.Unmarshal(out, &ev); err != nil {
			return domain.AccessEvent{}, internal(fmt.Errorf("decode access event: %w", err))
		}
		if ev.Kind != domain.KindAccessEvent {
			return domain.AccessEvent{}, internal(fmt.Errorf("GetAccessEvent returned a document of kind %q", ev.Kind))
		}
		return ev, nil
	}
}

// LagWait bounds how long LedgerFetcher waits for a ticket's transaction
// to reach this organisation's peer. On Fabric the requester's gateway
// answers once its own peer committed the block; the custodian's peer may
// commit it a moment later.
const LagWait = 3 * time.Second

// awaitTransaction waits, up to LagWait, until the ledger holds the
// transaction txID, and reports whether it does. A transaction that is
// already there (so GetAccessEvent's NOT_FOUND is final) returns false at
// once, as does an ended ctx.
func awaitTransaction(ctx context.Context, l ledger.Ledger, txID string) bool {
	if _, err := l.Status(ctx, txID); err == nil || !errors.Is(err, ledger.ErrTxNotFound) {
		return false
	}
	deadline := time.NewTimer(LagWait)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-deadline.C:
			return false
		case <-tick.C:
			if _, err := l.Status(ctx, txID); err == nil {
				return true
			} else if !errors.Is(err, ledger.ErrTxNotFound) {
				return false
			}
		}
	}
}

// Caller is the authenticated peer presenting a ticket, as the custodian's
// mTLS server sees it.
//
// The ticket is bound to the certificate that signed RequestAccess, not
// only to its organisation: CertFingerprint must equal the event's
// requester.certFingerprint (SHA-256 of the certificate's DER, lowercase
// hex; see Fingerprint). So a ticket that leaks within, or out of, the
// requesting organisation is useless without that certificate's key, and
// the access trail names the identity that actually received the record.
// The price: the requesting gateway must present, as its mTLS client
// certificate, the certificate it submitted RequestAccess with (or the
// server must derive the caller from it), and a certificate renewed
// between request and redemption invalidates the ticket, which a short
// TTL makes rare and a new RequestAccess fixes.
//
// MSPID may be left empty when the custodian cannot name the caller's
// organisation itself: a certificate of another organisation's user,
// presented by its gateway, is in no wallet of the custodian, and the
// configuration holds no table from consortium CAs to MSP IDs. Then the
// organisation is the one the ledger recorded for the requester, once the
// fingerprint matched: the ticket is bound to that exact certificate, which
// signed RequestAccess under the requester's MSP, and the caller proved
// possession of its key in the TLS handshake. A non-empty MSPID must equal
// the requester's MSP ID as well. CertFingerprint is always required.
type Caller struct {
	MSPID           string
	CertFingerprint string
}

// Fingerprint returns the fingerprint the chaincode stores for a
// certificate: SHA-256 of its DER bytes, in lowercase hex.
func Fingerprint(certDER []byte) string {
	sum := sha256.Sum256(certDER)
	return hex.EncodeToString(sum[:])
}

// Config configures a Checker.
type Config struct {
	// Fetch reads access events as the custodian (required).
	Fetch FetchFunc
	// MSPID is this gateway's organisation, the custodian (required).
	MSPID string
	// Used records honoured tickets (required).
	Used UsedTickets
	// TTL is how long after its time an access event may be honoured
	// (required, positive).
	TTL time.Duration
	// Skew is how far in the future an event's time may be; zero means
	// DefaultSkew.
	Skew time.Duration
	// Clock is the custodian's clock; nil means time.Now.
	Clock func() time.Time
}

// Checker decides whether to honour access tickets. It is safe for
// concurrent use.
type Checker struct {
	fetch FetchFunc
	msp   string
	used  UsedTickets
	ttl   time.Duration
	skew  time.Duration
	now   func() time.Time
}

// New returns a Checker for cfg.
func New(cfg Config) (*Checker, error) {
	switch {
	case cfg.Fetch == nil:
		return nil, errors.New("exchange: Config.Fetch is required")
	case cfg.Used == nil:
		return nil, errors.New("exchange: Config.Used is required")
	case cfg.TTL <= 0:
		return nil, errors.New("exchange: Config.TTL must be positive")
	case cfg.Skew < 0:
		return nil, errors.New("exchange: Config.Skew must not be negative")
	}
	if err := domain.CheckMSPID("MSPID", cfg.MSPID); err != nil {
		return nil, fmt.Errorf("exchange: %w", err)
	}
	c := &Checker{fetch: cfg.Fetch, msp: cfg.MSPID, used: cfg.Used, ttl: cfg.TTL, skew: cfg.Skew, now: cfg.Clock}
	if c.skew == 0 {
		c.skew = DefaultSkew
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// Check decides whether the custodian honours ticket txID presented by
// caller; see the package documentation for the rules and their order,
// and Caller for a caller whose MSPID is empty.
// On success the ticket is marked used and the access event is returned.
//
// Errors: a refusal (*Error matching one of the sentinels); the fetch
// function's error when it carries a gRPC status other than NotFound (for
// the ledger: Unavailable, DeadlineExceeded, ...); an Internal *Error when
// the used-ticket store fails or the ledger returned another event.
func (c *Checker) Check(ctx context.Context, txID string, caller Caller) (domain.AccessEvent, error) {
	if err := domain.CheckTxID("ticket", txID); err != nil {
		return domain.AccessEvent{}, refuse(ErrMalformedTicket)
	}
	ev, err := c.fetch(ctx, txID)
	if err != nil {
		return domain.AccessEvent{}, fetchError(err)
	}
	if ev.TxID != txID {
		return domain.AccessEvent{}, internal(errors.New("the ledger returned the access event of another transaction"))
	}
	if err := c.decide(ev, caller); err != nil {
		return domain.AccessEvent{}, err
	}
	first, err := c.used.MarkUsed(txID, ev.At)
	if err != nil {
		return domain.AccessEvent{}, internal(fmt.Errorf("mark ticket used: %w", err))
	}
	if !first {
		return domain.AccessEvent{}, refuse(ErrUsed)
	}
	return ev, nil
}

// decide runs the checks on the event that need no store.
func (c *Checker) decide(ev domain.AccessEvent, caller Caller) error {
	if ev.Custodian != c.msp {
		return refuse(ErrWrongCustodian)
	}
	// The fingerprint binds the ticket to one certificate; an empty MSPID
	// takes the organisation the ledger recorded for that certificate (see
	// Caller).
	if caller.CertFingerprint == "" || ev.Requester.CertFingerprint != caller.CertFingerprint ||
		caller.MSPID != "" && ev.Requester.MSPID != caller.MSPID {
		return refuse(ErrWrongRequester)
	}
	// Only a RequestAccess decision for another organisation is a ticket:
	// a LogAccess event (the custodian's own staff) is GRANTED too.
	if ev.Decision != domain.DecisionGranted && ev.Decision != domain.DecisionEmergency ||
		ev.Requester.MSPID == ev.Custodian {
		return refuse(ErrNotGranted)
	}
	now := c.now()
	if ev.At.Sub(now) > c.skew {
		return refuse(ErrNotYetValid)
	}
	if now.Sub(ev.At) > c.ttl {
		return refuse(ErrExpired)
	}
	return nil
}

// Prune forgets used tickets whose events are older than TTL plus the
// skew tolerance: the Checker refuses them as expired anyway. Call it from
// time to time.
func (c *Checker) Prune() (int, error) {
	return c.used.Prune(c.now().Add(-(c.ttl + c.skew)))
}

// fetchError maps an error of the fetch function.
func fetchError(err error) error {
	if errors.Is(err, domain.ErrNotFound) || status.Code(err) == codes.NotFound {
		e := refuse(ErrUnknownTicket)
		e.cause = err
		return e
	}
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		st := status.FromContextError(err)
		return &Error{code: st.Code(), msg: st.Message(), cause: err}
	}
	return internal(err)
}
