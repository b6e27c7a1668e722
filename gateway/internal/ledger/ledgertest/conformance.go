// Package ledgertest is the conformance suite that every implementation of
// the gateway's ledger.Ledger passes: the same test bodies run on the
// embedded backend always and on Fabric when one is available.
//
// It may import the ledger package, the chaincode's domain package and the
// testing package; nothing outside tests may import it.
package ledgertest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/internal/ledger"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Backend is a ledger under test, on a channel running the medprov
// chaincode. The channel may hold other state: the suite uses fresh IDs.
type Backend struct {
	// Ledger is the ledger under test. The suite closes it.
	Ledger ledger.Ledger
	// Identity returns an identity of organisation msp with the given
	// medprov.role and medprov.clearance attributes.
	Identity func(t *testing.T, msp, role, clearance string) ledger.Identity
	// Orgs are two distinct peer organisations: the first holds records,
	// the second asks for access to them.
	Orgs [2]string
	// Reopen, if set, closes Ledger and returns a new Ledger on the same
	// data, as after a restart.
	Reopen func(t *testing.T) ledger.Ledger
}

// Run runs the conformance suite. open returns a fresh Backend for each
// test; it is called once per subtest.
func Run(t *testing.T, open func(t *testing.T) *Backend) {
	tests := map[string]func(t *testing.T, s *suite){
		"chaincode errors carry the gRPC code of their class":            testChaincodeErrors,
		"a committed transaction can be looked up by its ID":             testCommitAndStatus,
		"concurrent conflicting submissions all commit when retried":     testConflictsRetried,
		"without retries a conflicting submission is aborted":            testConflictAborted,
		"an unknown commit status is resolved without a second commit":   testUnknownCommitStatus,
		"events resume after a checkpoint without gaps or repeats":       testEventsResume,
		"calls on a closed ledger are unavailable":                       testClosed,
		"a context that has ended gives the context's code":              testContextEnded,
		"committing the same transaction again returns the same outcome": testCommitTwice,
	}
	for name, test := range tests {
		t.Run(name, func(t *testing.T) {
			b := open(t)
			s := &suite{t: t, b: b, l: b.Ledger, ctx: context.Background()}
			t.Cleanup(func() { s.l.Close() })
			test(t, s)
		})
	}
}

// suite holds one test's backend and fixtures.
type suite struct {
	t   *testing.T
	b   *Backend
	l   ledger.Ledger
	ctx context.Context
}

// user returns an identity of the nth organisation.
func (s *suite) user(org int, role domain.Role) ledger.Identity {
	return s.b.Identity(s.t, s.b.Orgs[org], string(role), string(domain.ConfNormal))
}

func (s *suite) clinician(org int) ledger.Identity { return s.user(org, domain.RoleClinician) }

// fresh returns an ID no other run uses.
func fresh(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// newPatientKey returns a fresh patient public key, as RegisterPatient
// takes it, and its pseudonym.
func newPatientKey(t *testing.T) (key, pseudonym string) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	key = base64.StdEncoding.EncodeToString(der)
	k, err := domain.ParsePatientKey("publicKey", key)
	if err != nil {
		t.Fatal(err)
	}
	return key, k.Pseudonym()
}

// registerPatient registers a fresh patient through the first organisation.
func (s *suite) registerPatient() (key, pseudonym string, c *ledger.Committed) {
	s.t.Helper()
	key, pseudonym = newPatientKey(s.t)
	c, err := s.l.Submit(s.ctx, s.clinician(0), domain.TxRegisterPatient, key)
	if err != nil {
		s.t.Fatalf("RegisterPatient: %v", err)
	}
	return key, pseudonym, c
}

// anchor anchors a fresh record of patient at the first organisation.
func (s *suite) anchor(patient string) domain.AnchorRequest {
	s.t.Helper()
	req := domain.AnchorRequest{
		RecordID: fresh("rec"), Patient: patient, DocType: "Observation",
		Confidentiality: domain.ConfNormal, Commitment: hex.EncodeToString(make([]byte, 32)),
	}
	if _, err := s.l.Submit(s.ctx, s.clinician(0), domain.TxAnchorRecord, asJSON(s.t, req)); err != nil {
		s.t.Fatalf("AnchorRecord: %v", err)
	}
	return req
}

// accessRequest is a TREAT request for record by the second organisation,
// which holds no consent: the chaincode denies it, counting the denial in
// the organisation's hourly counter, which every such request touches.
func (s *suite) accessRequest(recordID string) string {
	return asJSON(s.t, domain.AccessRequest{RecordID: recordID, Purpose: domain.PurposeTreatment})
}

// mark commits a transaction and returns the checkpoint just after its
// event, so that a test reads only the events it caused.
func (s *suite) mark() ledger.Checkpoint {
	s.t.Helper()
	_, _, c := s.registerPatient()
	return ledger.Checkpoint{Block: c.Block, TxID: c.TxID}
}

// eventsUntil reads events after from until the event of transaction
// last, failing the test after a minute.
func (s *suite) eventsUntil(l ledger.Ledger, from ledger.Checkpoint, last string) []ledger.Event {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, time.Minute)
	defer cancel()
	ch, err := l.Events(ctx, from)
	if err != nil {
		s.t.Fatalf("Events: %v", err)
	}
	var got []ledger.Event
	for ev := range ch {
		got = append(got, ev)
		if ev.TxID == last {
			return got
		}
	}
	s.t.Fatalf("event stream ended before transaction %s; got %d events", last, len(got))
	return nil
}

// wantCode fails the test unless err has code want, also when wrapped.
func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("status code = %v, want %v (error: %v)", got, want, err)
	}
	if got := status.Code(fmt.Errorf("wrapped: %w", err)); got != want {
		t.Fatalf("status code of a wrapped error = %v, want %v", got, want)
	}
}

func testChaincodeErrors(t *testing.T, s *suite) {
	_, patient, _ := s.registerPatient()
	rec := s.anchor(patient)
	auditor := s.user(0, domain.RoleAuditor)
	tests := map[string]struct {
		submit   bool
		id       ledger.Identity
		tx       string
		args     []string
		code     codes.Code
		sentinel error
	}{
		"an unknown transaction is an invalid argument": {
			id: s.clinician(0), tx: "NoSuchTransaction", code: codes.InvalidArgument, sentinel: domain.ErrInvalidArgument,
		},
		"a malformed request is an invalid argument, also when submitted": {
			submit: true, id: s.clinician(0), tx: domain.TxAnchorRecord, args: []string{"{"},
			code: codes.InvalidArgument, sentinel: domain.ErrInvalidArgument,
		},
		"a missing record is not found": {
			id: s.clinician(0), tx: domain.TxGetRecord, args: []string{fresh("rec")},
			code: codes.NotFound, sentinel: domain.ErrNotFound,
		},
		"a taken record ID already exists": {
			submit: true, id: s.clinician(0), tx: domain.TxAnchorRecord, args: []string{asJSON(t, rec)},
			code: codes.AlreadyExists, sentinel: domain.ErrAlreadyExists,
		},
		"an auditor may not anchor a record": {
			submit: true, id: auditor, tx: domain.TxAnchorRecord, args: []string{asJSON(t, rec)},
			code: codes.PermissionDenied, sentinel: domain.ErrPermissionDenied,
		},
		"asking for access to one's own record fails a precondition": {
			submit: true, id: s.clinician(0), tx: domain.TxRequestAccess, args: []string{s.accessRequest(rec.RecordID)},
			code: codes.FailedPrecondition, sentinel: domain.ErrFailedPrecondition,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var err error
			if tc.submit {
				_, err = s.l.Submit(s.ctx, tc.id, tc.tx, tc.args...)
			} else {
				_, err = s.l.Evaluate(s.ctx, tc.id, tc.tx, tc.args...)
			}
			wantCode(t, err, tc.code)
			if !errors.Is(err, tc.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.sentinel)
			}
			var de *domain.Error
			if !errors.As(err, &de) {
				t.Fatalf("errors.As(%v, *domain.Error) = false", err)
			}
			if msg := status.Convert(err).Message(); msg != de.Message {
				t.Errorf("status message = %q, want the chaincode's message %q", msg, de.Message)
			}
		})
	}
}

func testCommitAndStatus(t *testing.T, s *suite) {
	tx, err := s.l.Prepare(s.ctx, s.clinician(0), domain.TxRegisterPatient, mustKey(t))
	if err != nil {
		t.Fatal(err)
	}
	if tx.ID() == "" {
		t.Fatal("Prepare gave no transaction ID")
	}
	c, err := s.l.Commit(s.ctx, tx)
	if err != nil {
		t.Fatal(err)
	}
	if c.TxID != tx.ID() || c.Block == 0 {
		t.Errorf("Commit = %+v, want transaction %s in a block after genesis", c, tx.ID())
	}
	var p domain.Patient
	if err := json.Unmarshal(c.Payload, &p); err != nil || p.Pseudonym == "" {
		t.Errorf("payload %q is not a registered patient: %v", c.Payload, err)
	}
	st, err := s.l.Status(s.ctx, c.TxID)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Valid() || st.Block != c.Block || st.TxID != c.TxID {
		t.Errorf("Status = %+v, want VALID in block %d", st, c.Block)
	}
	_, err = s.l.Status(s.ctx, hex.EncodeToString(make([]byte, 32)))
	wantCode(t, err, codes.NotFound)
	if !errors.Is(err, ledger.ErrTxNotFound) {
		t.Errorf("Status of an unknown ID: errors.Is(%v, ErrTxNotFound) = false", err)
	}
}

func mustKey(t *testing.T) string {
	key, _ := newPatientKey(t)
	return key
}

// submitConcurrently submits n access requests for record at once by the
// second organisation and returns the results and errors.
func (s *suite) submitConcurrently(l ledger.Ledger, n int, recordID string) ([]*ledger.Committed, []error) {
	id := s.clinician(1)
	arg := s.accessRequest(recordID)
	results, errs := make([]*ledger.Committed, n), make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			results[i], errs[i] = l.Submit(s.ctx, id, domain.TxRequestAccess, arg)
		})
	}
	close(start)
	wg.Wait()
	return results, errs
}

func testConflictsRetried(t *testing.T, s *suite) {
	_, patient, _ := s.registerPatient()
	rec := s.anchor(patient)
	from := s.mark()
	l := ledger.NewRetrying(s.l, ledger.WithMaxAttempts(100), ledger.WithBackoff(2*time.Millisecond, 100*time.Millisecond))
	const n = 16
	results, errs := s.submitConcurrently(l, n, rec.RecordID)
	want := map[string]bool{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("submission %d: %v (code %v)", i, err, status.Code(err))
		}
		var ev domain.AccessEvent
		if err := json.Unmarshal(results[i].Payload, &ev); err != nil || ev.Decision != domain.DecisionDenied {
			t.Errorf("submission %d: payload %q is not a denial: %v", i, results[i].Payload, err)
		}
		want[results[i].TxID] = true
	}
	last := s.mark()
	got := 0
	for _, ev := range s.eventsUntil(s.l, from, last.TxID) {
		if want[ev.TxID] {
			if ev.Name != "AccessDecided" {
				t.Errorf("event of %s is %s, want AccessDecided", ev.TxID, ev.Name)
			}
			got++
		}
	}
	if got != n {
		t.Errorf("got %d AccessDecided events of the %d submissions", got, n)
	}
}

func testConflictAborted(t *testing.T, s *suite) {
	_, patient, _ := s.registerPatient()
	rec := s.anchor(patient)
	for round := 0; round < 5; round++ {
		_, errs := s.submitConcurrently(s.l, 16, rec.RecordID)
		aborted := 0
		for _, err := range errs {
			if err == nil {
				continue
			}
			wantCode(t, err, codes.Aborted)
			if !errors.Is(err, ledger.ErrConflict) {
				t.Errorf("errors.Is(%v, ErrConflict) = false", err)
			}
			aborted++
		}
		if aborted > 0 {
			return
		}
	}
	t.Error("16 concurrent submissions touching one key never conflicted in 5 rounds")
}

// cancelOnWait is a context that is canceled the moment anyone waits on
// it (calls Done): with a backend that checks Err before sending and waits
// on Done after, the transaction is sent and the wait ends at once, so
// its commit status is unknown.
type cancelOnWait struct {
	context.Context
	once sync.Once
	done chan struct{}
}

func newCancelOnWait() *cancelOnWait {
	return &cancelOnWait{Context: context.Background(), done: make(chan struct{})}
}

func (c *cancelOnWait) Done() <-chan struct{} {
	c.once.Do(func() { close(c.done) })
	return c.done
}

func (c *cancelOnWait) Err() error {
	select {
	case <-c.done:
		return context.Canceled
	default:
		return nil
	}
}

func testUnknownCommitStatus(t *testing.T, s *suite) {
	_, patient, _ := s.registerPatient()
	rec := s.anchor(patient)
	from := s.mark()
	tx, err := s.l.Prepare(s.ctx, s.clinician(1), domain.TxRequestAccess, s.accessRequest(rec.RecordID))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.l.Commit(newCancelOnWait(), tx)
	switch {
	case err == nil:
		t.Log("the first commit finished before the context was canceled")
	case errors.Is(err, ledger.ErrCommitStatusUnknown):
		wantCode(t, err, codes.Canceled)
		var le *ledger.Error
		if !errors.As(err, &le) || le.TxID() != tx.ID() {
			t.Errorf("the error does not name transaction %s: %v", tx.ID(), err)
		}
	default:
		t.Fatalf("first commit: %v, want an unknown commit status", err)
	}
	for i := range 2 {
		c, err := ledger.NewRetrying(s.l).Commit(s.ctx, tx)
		if err != nil {
			t.Fatalf("commit again (%d): %v", i, err)
		}
		if c.TxID != tx.ID() {
			t.Errorf("commit again (%d) committed %s, want the original %s", i, c.TxID, tx.ID())
		}
		if c.Payload != nil {
			var ev domain.AccessEvent
			if err := json.Unmarshal(c.Payload, &ev); err != nil || ev.TxID != tx.ID() {
				t.Errorf("payload %q is not the original's access event: %v", c.Payload, err)
			}
		}
	}
	last := s.mark()
	got := 0
	for _, ev := range s.eventsUntil(s.l, from, last.TxID) {
		var p struct {
			RecordID string `json:"recordId"`
		}
		if ev.Name == "AccessDecided" && json.Unmarshal(ev.Payload, &p) == nil && p.RecordID == rec.RecordID {
			got++
			if ev.TxID != tx.ID() {
				t.Errorf("an access event of transaction %s, want only %s", ev.TxID, tx.ID())
			}
		}
	}
	if got != 1 {
		t.Errorf("got %d access events for the record, want exactly 1", got)
	}
}

func testCommitTwice(t *testing.T, s *suite) {
	_, patient, _ := s.registerPatient()
	req := domain.AnchorRequest{
		RecordID: fresh("rec"), Patient: patient, DocType: "Observation",
		Confidentiality: domain.ConfNormal, Commitment: hex.EncodeToString(make([]byte, 32)),
	}
	tx, err := s.l.Prepare(s.ctx, s.clinician(0), domain.TxAnchorRecord, asJSON(t, req))
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.l.Commit(s.ctx, tx)
	if err != nil {
		t.Fatal(err)
	}
	// Simulating it again would fail with ALREADY_EXISTS: the lookup comes
	// first and returns the original's outcome.
	again, err := s.l.Commit(s.ctx, tx)
	if err != nil {
		t.Fatalf("commit again: %v", err)
	}
	if again.TxID != first.TxID || again.Block != first.Block {
		t.Errorf("commit again = %+v, want %+v", again, first)
	}
	if again.Payload != nil && string(again.Payload) != string(first.Payload) {
		t.Errorf("commit again payload = %q, want %q", again.Payload, first.Payload)
	}
}

func testEventsResume(t *testing.T, s *suite) {
	from := s.mark()
	var want []string
	submitBatch := func(l ledger.Ledger, n int) {
		ids := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			key := mustKey(t)
			wg.Go(func() {
				c, err := l.Submit(s.ctx, s.clinician(0), domain.TxRegisterPatient, key)
				if err != nil {
					t.Errorf("RegisterPatient: %v", err)
					return
				}
				ids[i] = c.TxID
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		want = append(want, ids...)
	}
	// Concurrent submissions share blocks, so checkpoints fall inside
	// blocks.
	submitBatch(s.l, 8)
	all := s.eventsUntil(s.l, from, s.mark().TxID)
	var order []string // transaction IDs in commit order
	for _, ev := range all {
		order = append(order, ev.TxID)
	}
	if len(order) != len(want)+1 {
		t.Fatalf("got %d events, want %d", len(order), len(want)+1)
	}
	// Resume after the third event.
	cp := all[2].Checkpoint()
	if s.b.Reopen != nil {
		s.l = s.b.Reopen(t)
	}
	submitBatch(s.l, 4)
	last := s.mark()
	var got []string
	for _, ev := range s.eventsUntil(s.l, cp, last.TxID) {
		got = append(got, ev.TxID)
	}
	// Expected: the events after the checkpoint, then the 4 new ones and
	// the last mark, in any commit order of the batch.
	if len(got) != len(order)-3+4+1 {
		t.Fatalf("resumed with %d events, want %d: %v", len(got), len(order)-3+4+1, got)
	}
	for i, id := range order[3:] {
		if got[i] != id {
			t.Fatalf("resumed event %d is %s, want %s", i, got[i], id)
		}
	}
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Fatalf("event of %s delivered twice", id)
		}
		seen[id] = true
	}
	for _, id := range append(want[8:], last.TxID) {
		if !seen[id] {
			t.Errorf("event of %s missing after resuming", id)
		}
	}
	if _, err := s.l.Events(s.ctx, ledger.Checkpoint{Block: cp.Block, TxID: hex.EncodeToString(make([]byte, 32))}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("Events from a checkpoint naming a transaction not in its block: %v, want InvalidArgument", err)
	}
}

func testClosed(t *testing.T, s *suite) {
	id := s.clinician(0)
	tx, err := s.l.Prepare(s.ctx, id, domain.TxRegisterPatient, mustKey(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.l.Close(); err != nil {
		t.Fatal(err)
	}
	tests := map[string]func() error{
		"Prepare":  func() error { _, err := s.l.Prepare(s.ctx, id, domain.TxRegisterPatient, mustKey(t)); return err },
		"Commit":   func() error { _, err := s.l.Commit(s.ctx, tx); return err },
		"Submit":   func() error { _, err := s.l.Submit(s.ctx, id, domain.TxRegisterPatient, mustKey(t)); return err },
		"Evaluate": func() error { _, err := s.l.Evaluate(s.ctx, id, domain.TxGetRecord, "rec-1"); return err },
		"Status":   func() error { _, err := s.l.Status(s.ctx, tx.ID()); return err },
		"Events":   func() error { _, err := s.l.Events(s.ctx, ledger.Checkpoint{}); return err },
	}
	for name, call := range tests {
		t.Run(name+" is unavailable", func(t *testing.T) {
			err := call()
			wantCode(t, err, codes.Unavailable)
			if !errors.Is(err, ledger.ErrClosed) {
				t.Errorf("errors.Is(%v, ErrClosed) = false", err)
			}
		})
	}
}

func testContextEnded(t *testing.T, s *suite) {
	id := s.clinician(0)
	expired, cancel := context.WithDeadline(s.ctx, time.Now().Add(-time.Second))
	defer cancel()
	canceled, cancel2 := context.WithCancel(s.ctx)
	cancel2()
	tests := map[string]struct {
		ctx  context.Context
		call func(ctx context.Context) error
		code codes.Code
	}{
		"an evaluation past its deadline is deadline exceeded": {
			ctx: expired, code: codes.DeadlineExceeded,
			call: func(ctx context.Context) error {
				_, err := s.l.Evaluate(ctx, id, domain.TxGetRecord, "rec-1")
				return err
			},
		},
		"a submission past its deadline is deadline exceeded": {
			ctx: expired, code: codes.DeadlineExceeded,
			call: func(ctx context.Context) error {
				_, err := s.l.Submit(ctx, id, domain.TxRegisterPatient, mustKey(t))
				return err
			},
		},
		"a canceled evaluation is canceled": {
			ctx: canceled, code: codes.Canceled,
			call: func(ctx context.Context) error {
				_, err := s.l.Evaluate(ctx, id, domain.TxGetRecord, "rec-1")
				return err
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.call(tc.ctx)
			wantCode(t, err, tc.code)
			if !errors.Is(err, tc.ctx.Err()) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.ctx.Err())
			}
		})
	}
}
