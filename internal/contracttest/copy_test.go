package contracttest

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/internal/devnet"
)

// copySource is what a copy test starts from: a synthetic patient with a
// record at HospitalA, and another registered patient to mislabel with.
type copySource struct {
	patient *devnet.Patient
	other   string
	src     ledger.Record
}

// copyRequest is a request for a copy of s.src with the source's metadata,
// as the gateway's FetchRecord builds it from the custodian's header.
func copyRequest(s copySource) ledger.AnchorRequest {
	return ledger.AnchorRequest{
		RecordID: uniqueID("copy"), Patient: s.src.Patient, DocType: s.src.DocType, Confidentiality: s.src.Confidentiality,
		Commitment:  commitment(seq.Add(1)),
		DerivedFrom: &ledger.DerivedFrom{Custodian: s.src.Custodian, RecordID: s.src.RecordID, Version: s.src.Version},
	}
}

func TestCopiesAreCheckedAgainstTheirSource(t *testing.T) {
	e := newEnv(t)
	officerA := e.user(devnet.HospitalA, "records-officer", "V")
	officerB := e.user(devnet.HospitalB, "records-officer", "V")
	clinicianB := e.user(devnet.HospitalB, "clinician", "V")
	clinicianBLow := e.user(devnet.HospitalB, "clinician", "N")
	clinicianAuth := e.user(devnet.HealthAuthority, "clinician", "V")

	// consentTo grants the source's patient's TREAT consent, up to
	// confidentiality V, to grantee.
	consentTo := func(t *testing.T, s copySource, grantee string) {
		t.Helper()
		if _, err := e.grant(officerA, s.patient, grantee, func(g *ledger.ConsentGrant) { g.MaxConfidentiality = ledger.ConfVeryRestricted }); err != nil {
			t.Fatal(err)
		}
	}
	// access has c request TREAT access to the source and checks the decision.
	access := func(t *testing.T, c *devnet.Client, s copySource, want ledger.Decision) {
		t.Helper()
		ev, err := e.requestAccess(c, treat(s.src))
		if err != nil {
			t.Fatal(err)
		}
		if ev.Decision != want {
			t.Fatalf("access decision %s, want %s", ev.Decision, want)
		}
	}
	granted := func(t *testing.T, s copySource) {
		consentTo(t, s, devnet.HospitalB)
		access(t, officerB, s, ledger.DecisionGranted)
	}

	tests := map[string]struct {
		conf   ledger.Confidentiality // of the source; empty: N
		before func(t *testing.T, s *copySource)
		copier *devnet.Client // nil: officerB
		mutate func(s copySource, r *ledger.AnchorRequest)
		want   error  // nil: anchored
		arg    string // the argument the error names
	}{
		"a copy with the source's metadata after a granted request is anchored": {
			before: func(t *testing.T, s *copySource) { granted(t, *s) },
		},
		"a copy after an emergency access is anchored": {
			before: func(t *testing.T, s *copySource) {
				ev, err := e.requestAccess(clinicianB, ledger.AccessRequest{RecordID: s.src.RecordID, Purpose: ledger.PurposeEmergencyTreatment, JustificationCode: ledger.JustifyLifeThreatening})
				if err != nil || ev.Decision != ledger.DecisionEmergency {
					t.Fatalf("emergency access: %+v, %v", ev, err)
				}
			},
			copier: clinicianB,
		},
		"a copy more confidential than its source is anchored": {
			before: func(t *testing.T, s *copySource) { granted(t, *s) },
			mutate: func(_ copySource, r *ledger.AnchorRequest) { r.Confidentiality = ledger.ConfRestricted },
		},
		"a copy of a version the source has since amended is anchored": {
			before: func(t *testing.T, s *copySource) {
				granted(t, *s)
				must[ledger.Record](t)(submit(e.ctx, officerA, ledger.TxAmendRecord, asJSON(t, ledger.AmendRequest{RecordID: s.src.RecordID, Commitment: commitment(seq.Add(1)), Reason: ledger.AmendAddendum})))
			},
		},
		"a copy under another patient is refused": {
			before: func(t *testing.T, s *copySource) { granted(t, *s) },
			mutate: func(s copySource, r *ledger.AnchorRequest) { r.Patient = s.other },
			want:   ledger.ErrFailedPrecondition, arg: "request.patient",
		},
		"a copy less confidential than its source is refused": {
			before: func(t *testing.T, s *copySource) { granted(t, *s) },
			mutate: func(_ copySource, r *ledger.AnchorRequest) { r.Confidentiality = ledger.ConfLow },
			want:   ledger.ErrFailedPrecondition, arg: "request.confidentiality",
		},
		"a copy of a restricted source labelled normal is refused": {
			conf:   ledger.ConfRestricted,
			before: func(t *testing.T, s *copySource) { granted(t, *s) },
			mutate: func(_ copySource, r *ledger.AnchorRequest) { r.Confidentiality = ledger.ConfNormal },
			want:   ledger.ErrFailedPrecondition, arg: "request.confidentiality",
		},
		"a copy with another document type is refused": {
			before: func(t *testing.T, s *copySource) { granted(t, *s) },
			mutate: func(_ copySource, r *ledger.AnchorRequest) { r.DocType = "11502-2" },
			want:   ledger.ErrFailedPrecondition, arg: "request.docType",
		},
		"a copy without any access event is refused": {
			want: ledger.ErrPermissionDenied, arg: "request.derivedFrom",
		},
		"a copy after a denied request is refused": {
			before: func(t *testing.T, s *copySource) { access(t, officerB, *s, ledger.DecisionDenied) },
			want:   ledger.ErrPermissionDenied, arg: "request.derivedFrom",
		},
		"a copy on another organisation's grant is refused": {
			before: func(t *testing.T, s *copySource) {
				consentTo(t, *s, devnet.HealthAuthority)
				access(t, clinicianAuth, *s, ledger.DecisionGranted)
			},
			want: ledger.ErrPermissionDenied, arg: "request.derivedFrom",
		},
		"a copy of a newer version than the one granted is refused": {
			before: func(t *testing.T, s *copySource) {
				granted(t, *s)
				s.src = must[ledger.Record](t)(submit(e.ctx, officerA, ledger.TxAmendRecord, asJSON(t, ledger.AmendRequest{RecordID: s.src.RecordID, Commitment: commitment(seq.Add(1)), Reason: ledger.AmendAddendum})))
			},
			want: ledger.ErrPermissionDenied, arg: "request.derivedFrom",
		},
		"a copy of a source erased after the grant is refused": {
			before: func(t *testing.T, s *copySource) {
				granted(t, *s)
				must[ledger.Record](t)(submit(e.ctx, officerA, ledger.TxEraseRecord, asJSON(t, ledger.EraseRequest{RecordID: s.src.RecordID, Reason: ledger.EraseEnteredInError})))
			},
			want: ledger.ErrFailedPrecondition, arg: "request.derivedFrom",
		},
		"a copy naming the caller's own organisation is refused": {
			before: func(t *testing.T, s *copySource) { granted(t, *s) },
			mutate: func(_ copySource, r *ledger.AnchorRequest) { r.DerivedFrom.Custodian = devnet.HospitalB },
			want:   ledger.ErrInvalidArgument, arg: "request.derivedFrom.custodian",
		},
		"a copy naming another custodian than the source's is refused": {
			before: func(t *testing.T, s *copySource) { granted(t, *s) },
			mutate: func(_ copySource, r *ledger.AnchorRequest) { r.DerivedFrom.Custodian = devnet.HealthAuthority },
			want:   ledger.ErrFailedPrecondition, arg: "request.derivedFrom.custodian",
		},
		"a copy of the caller's own record passed off as another's is refused": {
			before: func(t *testing.T, s *copySource) {
				s.src = e.anchor(officerB, s.patient.Pseudonym, "18842-5", ledger.ConfNormal)
				care := true
				must[ledger.AccessEvent](t)(submit(e.ctx, officerB, ledger.TxLogAccess, asJSON(t, ledger.LogAccessRequest{RecordID: s.src.RecordID, Purpose: ledger.PurposeTreatment, CareRelationship: &care})))
			},
			mutate: func(_ copySource, r *ledger.AnchorRequest) { r.DerivedFrom.Custodian = devnet.HospitalA },
			want:   ledger.ErrPermissionDenied, arg: "request.derivedFrom",
		},
		"a copy of a made-up record is not found": {
			mutate: func(_ copySource, r *ledger.AnchorRequest) { r.DerivedFrom.RecordID = "rec-made-up" },
			want:   ledger.ErrNotFound, arg: "request.derivedFrom",
		},
		"a copy of a version that does not exist is not found": {
			before: func(t *testing.T, s *copySource) { granted(t, *s) },
			mutate: func(_ copySource, r *ledger.AnchorRequest) { r.DerivedFrom.Version = 2 },
			want:   ledger.ErrNotFound, arg: "request.derivedFrom",
		},
		"a copy of a source above the copier's clearance is not found": {
			conf:   ledger.ConfRestricted,
			before: func(t *testing.T, s *copySource) { granted(t, *s) },
			copier: clinicianBLow,
			mutate: func(_ copySource, r *ledger.AnchorRequest) { r.Confidentiality = ledger.ConfNormal },
			want:   ledger.ErrNotFound, arg: "request.derivedFrom",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			conf := tc.conf
			if conf == "" {
				conf = ledger.ConfNormal
			}
			s := copySource{patient: e.registerPatient(officerA), other: e.registerPatient(officerA).Pseudonym}
			s.src = e.anchor(officerA, s.patient.Pseudonym, "18842-5", conf)
			if tc.before != nil {
				tc.before(t, &s)
			}
			req := copyRequest(s)
			if tc.mutate != nil {
				tc.mutate(s, &req)
			}
			copier := tc.copier
			if copier == nil {
				copier = officerB
			}
			height := e.net.Ledger.Height()
			payload, err := submit(e.ctx, copier, ledger.TxAnchorRecord, asJSON(t, req))
			if tc.want == nil {
				cp := must[ledger.Record](t)(payload, err)
				if cp.Custodian != copier.MSPID() || cp.DerivedFrom == nil || *cp.DerivedFrom != *req.DerivedFrom || cp.Patient != req.Patient || cp.Confidentiality != req.Confidentiality {
					t.Fatalf("copy: %+v", cp)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			t.Logf("refused: %v", err)
			if !strings.Contains(err.Error(), ": "+tc.arg+":") {
				t.Errorf("error %q does not name %q", err, tc.arg)
			}
			for _, v := range []string{s.patient.Pseudonym, s.other, s.src.RecordID, "rec-made-up", devnet.HospitalA, devnet.HealthAuthority, "11502-2", "18842-5"} {
				if strings.Contains(err.Error(), v) {
					t.Errorf("error %q echoes the value %q", err, v)
				}
			}
			if h := e.net.Ledger.Height(); h != height {
				t.Fatalf("a refused copy changed the ledger height from %d to %d", height, h)
			}
			if _, err := officerB.Evaluate(e.ctx, ledger.TxGetRecord, req.RecordID); !errors.Is(err, ledger.ErrNotFound) {
				t.Fatalf("the refused copy is readable: %v", err)
			}
		})
	}
}

// A source hidden by clearance and a source that does not exist give one
// answer, word for word.
func TestCopiesOfHiddenAndMissingSourcesLookAlike(t *testing.T) {
	e := newEnv(t)
	officerA := e.user(devnet.HospitalA, "records-officer", "V")
	low := e.user(devnet.HospitalB, "clinician", "N")
	p := e.registerPatient(officerA)
	secret := e.anchor(officerA, p.Pseudonym, "18842-5", ledger.ConfRestricted)
	s := copySource{patient: p, src: secret}
	hidden := copyRequest(s)
	hidden.Confidentiality = ledger.ConfNormal
	missing := hidden
	missing.DerivedFrom = &ledger.DerivedFrom{Custodian: devnet.HospitalA, RecordID: "rec-not-there", Version: 1}
	_, hiddenErr := low.Submit(e.ctx, ledger.TxAnchorRecord, asJSON(t, hidden))
	_, missingErr := low.Submit(e.ctx, ledger.TxAnchorRecord, asJSON(t, missing))
	if !errors.Is(hiddenErr, ledger.ErrNotFound) || !errors.Is(missingErr, ledger.ErrNotFound) {
		t.Fatalf("hidden: %v; missing: %v; want NOT_FOUND for both", hiddenErr, missingErr)
	}
	if hiddenErr.Error() != missingErr.Error() {
		t.Fatalf("the messages differ: %q vs %q", hiddenErr, missingErr)
	}
}

// The grant search reads at most ledger.CopyAccessScanLimit events of the
// source, in time order: a grant among them is found, one behind them is
// not, and that copy fails closed.
func TestTheGrantSearchIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("commits a thousand access events")
	}
	e := newEnv(t)
	officerA := e.user(devnet.HospitalA, "records-officer", "V")
	officerB := e.user(devnet.HospitalB, "records-officer", "V")
	clinicianAuth := e.user(devnet.HealthAuthority, "clinician", "V")
	p := e.registerPatient(officerA)
	for _, grantee := range []string{devnet.HospitalB, devnet.HealthAuthority} {
		if _, err := e.grant(officerA, p, grantee, nil); err != nil {
			t.Fatal(err)
		}
	}
	s := copySource{patient: p, src: e.anchor(officerA, p.Pseudonym, "18842-5", ledger.ConfNormal)}
	if ev, err := e.requestAccess(officerB, treat(s.src)); err != nil || ev.Decision != ledger.DecisionGranted {
		t.Fatalf("HospitalB's access: %+v, %v", ev, err)
	}
	// The custodian's own staff read the record as often as the search
	// reads events: HospitalB's grant comes before them, the health
	// authority's after.
	var wg sync.WaitGroup
	errs := make(chan error, ledger.CopyAccessScanLimit)
	work := make(chan struct{})
	for range 32 {
		wg.Go(func() {
			care := true
			req := asJSON(t, ledger.LogAccessRequest{RecordID: s.src.RecordID, Purpose: ledger.PurposeTreatment, CareRelationship: &care})
			for range work {
				if _, err := submit(e.ctx, officerA, ledger.TxLogAccess, req); err != nil {
					errs <- err
				}
			}
		})
	}
	for range ledger.CopyAccessScanLimit {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if ev, err := e.requestAccess(clinicianAuth, treat(s.src)); err != nil || ev.Decision != ledger.DecisionGranted {
		t.Fatalf("the health authority's access: %+v, %v", ev, err)
	}

	must[ledger.Record](t)(submit(e.ctx, officerB, ledger.TxAnchorRecord, asJSON(t, copyRequest(s))))
	_, err := submit(e.ctx, clinicianAuth, ledger.TxAnchorRecord, asJSON(t, copyRequest(s)))
	if !errors.Is(err, ledger.ErrFailedPrecondition) || !strings.Contains(err.Error(), "request.derivedFrom:") {
		t.Fatalf("a copy whose grant is behind the search limit: %v, want FAILED_PRECONDITION naming request.derivedFrom", err)
	}
}
