package bench

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
)

// Defaults of AccessOptions.
const (
	DefaultAccessRecords  = 64
	DefaultAccessPatients = 8
	// setupParallelism bounds the setup calls in flight.
	setupParallelism = 64
	// consentValidity is how long the synthetic consents last; they start
	// an hour before setup, to allow for clock skew.
	consentValidity = 7 * 24 * time.Hour
)

// LabelDenied counts an access request the ledger committed as DENIED:
// for this workload it means the setup does not hold (wrong grantee, a
// consent revoked), so it is counted as an error.
const LabelDenied = "DENIED"

// AccessOptions configures NewAccess.
type AccessOptions struct {
	// Custodian is a connection to the custodian's gateway as a clinician
	// or records officer; setup registers patients, anchors records and
	// submits consents through it.
	Custodian Gateway
	// Requesters are connections to the requesting organisation's gateway
	// as a clinician, records officer or researcher with clearance N or
	// more: Connections(concurrency) of them.
	Requesters []Gateway
	// Grantee is the requesting organisation's MSP ID, to which the
	// synthetic consents are granted.
	Grantee string
	// Records is the number of synthetic records the calls go round;
	// 0 means DefaultAccessRecords.
	Records int
	// Patients is the number of synthetic patients the records belong to,
	// each with one consent; 0 means DefaultAccessPatients, and it is at
	// most Records.
	Patients int
	// Rand makes the patient keys, the run ID and the content.
	Rand io.Reader
	// Now is the clock the consents' validity starts from; nil means
	// time.Now.
	Now func() time.Time
}

// Access is the access workload: each call is AccessService.RequestAccess
// with purpose TREAT through the requesting organisation's gateway, on the
// next of the synthetic records in turn; the gateway answers once the
// access event committed, and a call counts only if it was GRANTED.
//
// Hot keys: a granted RequestAccess reads the record and the patient's
// consents for the grantee (a range query re-validated at commit) and
// writes only keys named by its own transaction ID, so grants do not
// conflict however many are in flight. A denial also increments the
// requesting organisation's hourly denial counter, one key that every
// denial of the hour writes (ADR 0006): denials at hundreds in flight
// conflict (ABORTED once the gateway's retries are spent). The setup makes
// every call a grant, and the records are spread over several patients so
// that no single consent range is read by every call.
type Access struct {
	requesters []Gateway
	records    []string
	seq        atomic.Uint64
}

// NewAccess sets the access workload up: through o.Custodian it registers
// o.Patients synthetic patients, anchors o.Records records of 1 KiB of
// random content (confidentiality N) spread over them, and submits for
// each patient a consent signed with the patient's key, granting
// o.Grantee every record, purpose TREAT, up to confidentiality N. It then
// makes one RequestAccess through the first requester, which must be
// GRANTED. Errors wrap ErrSetup, naming the step; a probe that is denied
// says why.
func NewAccess(ctx context.Context, o AccessOptions) (*Access, error) {
	if o.Records == 0 {
		o.Records = DefaultAccessRecords
	}
	if o.Patients == 0 {
		o.Patients = min(DefaultAccessPatients, o.Records)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	switch {
	case len(o.Requesters) == 0:
		return nil, fmt.Errorf("%w: no connection to the requesting gateway", ErrSetup)
	case o.Custodian.Records == nil:
		return nil, fmt.Errorf("%w: no connection to the custodian's gateway", ErrSetup)
	case o.Records < 1:
		return nil, fmt.Errorf("%w: records: want 1 or more, not %d", ErrSetup, o.Records)
	case o.Patients < 1 || o.Patients > o.Records:
		return nil, fmt.Errorf("%w: patients: want 1 to the number of records (%d), not %d", ErrSetup, o.Records, o.Patients)
	}
	if err := domain.CheckMSPID("grantee", o.Grantee); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	run, err := runID(o.Rand)
	if err != nil {
		return nil, err
	}
	s, err := seed(o.Rand)
	if err != nil {
		return nil, err
	}
	patients := make([]syntheticPatient, o.Patients)
	for i := range patients {
		// Keys are made here, in order, so that o.Rand is read by one
		// goroutine; the registrations run in parallel.
		if patients[i].key, err = newPatientKey(o.Rand); err != nil {
			return nil, err
		}
	}
	err = parallel(ctx, len(patients), func(ctx context.Context, i int) error {
		p, err := registerKey(ctx, o.Custodian, patients[i].key)
		patients[i] = p
		return err
	})
	if err != nil {
		return nil, err
	}

	a := &Access{requesters: o.Requesters, records: make([]string, o.Records)}
	for i := range a.records {
		a.records[i] = fmt.Sprintf("bench-%s-r%d", run, i)
	}
	err = parallel(ctx, len(a.records), func(ctx context.Context, i int) error {
		b := make([]byte, ContentSize)
		content(b, s, uint64(i))
		if _, err := addRecord(ctx, o.Custodian, a.records[i], patients[i%len(patients)].pseudonym, b); err != nil {
			return fmt.Errorf("%w: anchor record %s: %w", ErrSetup, a.records[i], err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	from := o.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	err = parallel(ctx, len(patients), func(ctx context.Context, i int) error {
		return grantConsent(ctx, o.Custodian, patients[i], fmt.Sprintf("bench-%s-c%d", run, i), o.Grantee, from, from.Add(consentValidity))
	})
	if err != nil {
		return nil, err
	}

	if err := a.Call(ctx, 0); err != nil {
		return nil, fmt.Errorf("%w: first access request through the requesting gateway (is %s its organisation?): %w", ErrSetup, o.Grantee, err)
	}
	return a, nil
}

// Records returns the IDs of the synthetic records the calls go round.
func (a *Access) Records() []string { return append([]string(nil), a.records...) }

// Call requests access to the next record through the worker's
// connection. Errors: the gateway's status; a DENIED decision, labelled
// LabelDenied with its reason.
func (a *Access) Call(ctx context.Context, worker int) error {
	id := a.records[(a.seq.Add(1)-1)%uint64(len(a.records))]
	resp, err := pick(a.requesters, worker).Access.RequestAccess(ctx, &gatewayv1.RequestAccessRequest{
		RecordId: id, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT,
	})
	if err != nil {
		return err
	}
	ev := resp.GetEvent()
	switch {
	case ev.GetDecision() == gatewayv1.Decision_DECISION_GRANTED && ev.GetRecordId() == id:
		return nil
	case ev.GetDecision() == gatewayv1.Decision_DECISION_DENIED:
		return WithLabel(LabelDenied, fmt.Errorf("access to record %s denied: %s", id, ev.GetDenialReason()))
	}
	return WithLabel(errBadAnswer, fmt.Errorf("access to record %s: decision %s for record %q, want GRANTED for it", id, ev.GetDecision(), ev.GetRecordId()))
}

// newPatientKey generates an Ed25519 patient key from random.
func newPatientKey(random io.Reader) (ed25519.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(random)
	if err != nil {
		return nil, fmt.Errorf("%w: generate a patient key: %w", ErrSetup, err)
	}
	return priv, nil
}

// grantConsent signs, as patient p, a consent granting grantee all of
// p's records for purpose TREAT up to confidentiality N within [from, to),
// and submits it through gw. Errors wrap ErrSetup.
func grantConsent(ctx context.Context, gw Gateway, p syntheticPatient, consentID, grantee string, from, to time.Time) error {
	grant := domain.ConsentGrant{
		ConsentID: consentID, Patient: p.pseudonym,
		Grantee:            domain.Grantee{MSPID: grantee},
		Scope:              domain.Scope{All: true},
		Purposes:           []domain.Purpose{domain.PurposeTreatment},
		MaxConfidentiality: domain.ConfNormal,
		NotBefore:          from.Format(time.RFC3339), NotAfter: to.Format(time.RFC3339),
		Sequence: 1,
	}
	grant, _, _, err := grant.Normalize()
	if err != nil {
		return fmt.Errorf("%w: consent %s: %w", ErrSetup, consentID, err)
	}
	sig := ed25519.Sign(p.key, grant.CanonicalBytes())
	_, err = gw.Consents.GrantConsent(ctx, &gatewayv1.GrantConsentRequest{
		Grant: &gatewayv1.ConsentGrant{
			ConsentId: consentID, Patient: p.pseudonym,
			Grantee:            &gatewayv1.Grantee{MspId: grantee},
			Scope:              &gatewayv1.ConsentScope{All: true},
			Purposes:           []gatewayv1.PurposeOfUse{gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT},
			MaxConfidentiality: gatewayv1.Confidentiality_CONFIDENTIALITY_N,
			NotBefore:          timestamppb.New(from), NotAfter: timestamppb.New(to),
			Sequence: 1,
		},
		Signature: sig,
	})
	if err != nil {
		return fmt.Errorf("%w: GrantConsent %s: %w", ErrSetup, consentID, err)
	}
	return nil
}

// parallel runs f for 0..n-1 with at most setupParallelism at once, and
// returns the first error; the first error cancels the context of the
// others.
func parallel(ctx context.Context, n int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, setupParallelism)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := f(ctx, i); err != nil {
				once.Do(func() { first = err; cancel(err) })
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}
