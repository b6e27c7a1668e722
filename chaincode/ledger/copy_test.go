package ledger_test

import (
	"strings"
	"testing"

	"github.com/medprov/medprov/chaincode/ledger"
)

// copyOf is a valid anchor request, at orgB, for a copy of record().
func copyOf(src ledger.Record) ledger.AnchorRequest {
	return ledger.AnchorRequest{
		RecordID: "copy-001", Patient: src.Patient, DocType: src.DocType, Confidentiality: src.Confidentiality, Commitment: hashB,
		DerivedFrom: &ledger.DerivedFrom{Custodian: src.Custodian, RecordID: src.RecordID, Version: src.Version},
	}
}

func TestCheckCopy(t *testing.T) {
	tests := map[string]struct {
		req    func(*ledger.AnchorRequest)
		src    func(*ledger.Record)
		caller string
		arg    string // "" for success; else the argument the FAILED_PRECONDITION names
	}{
		"a copy with the source's metadata is accepted": {
			caller: orgB,
		},
		"a copy more confidential than the source is accepted": {
			req: func(r *ledger.AnchorRequest) { r.Confidentiality = ledger.ConfVeryRestricted }, caller: orgB,
		},
		"a copy of a superseded version is accepted": {
			src: func(s *ledger.Record) { s.Status = ledger.StatusSuperseded }, caller: orgB,
		},
		"a copy of an unrestricted source at U is accepted": {
			src: func(s *ledger.Record) { s.Confidentiality = ledger.ConfUnrestricted },
			req: func(r *ledger.AnchorRequest) { r.Confidentiality = ledger.ConfUnrestricted }, caller: orgB,
		},
		"a copy under another patient is refused": {
			req: func(r *ledger.AnchorRequest) { r.Patient = other }, caller: orgB, arg: "request.patient",
		},
		"a copy one level less confidential than the source is refused": {
			req: func(r *ledger.AnchorRequest) { r.Confidentiality = ledger.ConfModerate }, caller: orgB, arg: "request.confidentiality",
		},
		"a copy of a very restricted source at R is refused": {
			src: func(s *ledger.Record) { s.Confidentiality = ledger.ConfVeryRestricted },
			req: func(r *ledger.AnchorRequest) { r.Confidentiality = ledger.ConfRestricted }, caller: orgB, arg: "request.confidentiality",
		},
		"a copy with another document type is refused": {
			req: func(r *ledger.AnchorRequest) { r.DocType = "DiagnosticReport" }, caller: orgB, arg: "request.docType",
		},
		"a copy naming another custodian than the source's is refused": {
			req: func(r *ledger.AnchorRequest) { r.DerivedFrom.Custodian = "Org3MSP" }, caller: orgB, arg: "request.derivedFrom.custodian",
		},
		"a copy of a record the caller's organisation holds is refused": {
			req: func(r *ledger.AnchorRequest) { r.DerivedFrom.Custodian = orgB }, src: func(s *ledger.Record) { s.Custodian = orgB }, caller: orgB, arg: "request.derivedFrom",
		},
		"a copy of an erased source is refused": {
			src: func(s *ledger.Record) { s.Status = ledger.StatusErased }, caller: orgB, arg: "request.derivedFrom",
		},
		"a source that is not the version named is refused": {
			src: func(s *ledger.Record) { s.Version = 3 }, caller: orgB, arg: "request.derivedFrom",
		},
		"a source that is not the record named is refused": {
			src: func(s *ledger.Record) { s.RecordID = "rec-999" }, caller: orgB, arg: "request.derivedFrom",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			src := record()
			req := copyOf(src)
			if tc.req != nil {
				tc.req(&req)
			}
			if tc.src != nil {
				tc.src(&src)
			}
			err := ledger.CheckCopy(req, src, tc.caller)
			if tc.arg == "" {
				wantCode(t, err, nil)
				return
			}
			wantCode(t, err, ledger.ErrFailedPrecondition)
			if !strings.HasPrefix(err.Error(), "FAILED_PRECONDITION: "+tc.arg+":") {
				t.Fatalf("error %q does not name argument %q", err, tc.arg)
			}
			for _, v := range []string{patient, other, orgA, orgB, "Org3MSP", src.RecordID, "DiagnosticReport", "11506-3"} {
				if strings.Contains(err.Error(), v) {
					t.Fatalf("error %q echoes the value %q", err, v)
				}
			}
		})
	}
}

func TestCheckCopyWithoutDerivedFromIsInvalid(t *testing.T) {
	req := copyOf(record())
	req.DerivedFrom = nil
	wantInvalid(t, ledger.CheckCopy(req, record(), orgB), "request.derivedFrom")
}

func TestCheckCopyFollowsTheConfidentialityOrder(t *testing.T) {
	codes := ledger.Confidentialities
	for i, s := range codes {
		for j, c := range codes {
			src := record()
			src.Confidentiality = s
			req := copyOf(src)
			req.Confidentiality = c
			err := ledger.CheckCopy(req, src, orgB)
			if ok := err == nil; ok != (j >= i) {
				t.Errorf("copy at %s of a source at %s: error %v, want accepted=%v", c, s, err, j >= i)
			}
		}
	}
}

func TestGrantsCopy(t *testing.T) {
	from := ledger.DerivedFrom{Custodian: orgA, RecordID: "rec-001", Version: 2}
	granted := func() ledger.AccessEvent {
		return ledger.AccessEvent{
			RecordID: "rec-001", Version: 2, Custodian: orgA, Patient: patient,
			Requester: ledger.Requester{MSPID: orgB, Role: ledger.RoleClinician}, Purpose: ledger.PurposeTreatment,
			Decision: ledger.DecisionGranted, Basis: &ledger.Basis{Type: ledger.BasisConsent, ConsentID: "consent-001"},
		}
	}
	tests := map[string]struct {
		mutate func(*ledger.AccessEvent)
		want   bool
	}{
		"a granted request of the caller's organisation entitles it": {func(*ledger.AccessEvent) {}, true},
		"an emergency access entitles it": {func(ev *ledger.AccessEvent) {
			ev.Decision, ev.Basis = ledger.DecisionEmergency, &ledger.Basis{Type: ledger.BasisBreakTheGlass, JustificationCode: ledger.JustifyLifeThreatening}
		}, true},
		"a denied request does not":             {func(ev *ledger.AccessEvent) { ev.Decision, ev.Basis = ledger.DecisionDenied, nil }, false},
		"an unknown decision does not":          {func(ev *ledger.AccessEvent) { ev.Decision = "MAYBE" }, false},
		"another organisation's grant does not": {func(ev *ledger.AccessEvent) { ev.Requester.MSPID = "Org3MSP" }, false},
		"a grant for another version does not":  {func(ev *ledger.AccessEvent) { ev.Version = 1 }, false},
		"a grant for another record does not":   {func(ev *ledger.AccessEvent) { ev.RecordID = "rec-002" }, false},
		"a read logged by the custodian's own staff does not": {func(ev *ledger.AccessEvent) {
			ev.Custodian, ev.Requester.MSPID, ev.Basis = orgB, orgB, &ledger.Basis{Type: ledger.BasisCustodianStaff}
		}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ev := granted()
			tc.mutate(&ev)
			if got := ev.GrantsCopy(from, orgB); got != tc.want {
				t.Fatalf("GrantsCopy = %v, want %v", got, tc.want)
			}
		})
	}
}
