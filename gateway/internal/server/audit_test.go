package server_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/internal/devnet"
)

// cpaAuditScene is a consortium with a known set of access events:
//
//	granted   HospitalB clinician reads rec-au-1 (HospitalA, patient p) on p's consent
//	denied    HospitalB researcher asks for rec-au-1: ROLE_NOT_COVERED
//	emergency HealthAuthority clinician breaks the glass on rec-au-2 (HospitalA, patient q)
//	outside   HospitalA clinician logs a read of rec-au-1 outside a care relationship
//	foreign   HospitalA clinician asks for rec-au-b (HospitalB, patient p): NO_CONSENT
type cpaAuditScene struct {
	f                                            *fixture
	p, q                                         *devnet.Patient
	granted, denied, emergency, outside, foreign string // transaction IDs
	start                                        time.Time
}

func newCPAAuditScene(t *testing.T) *cpaAuditScene {
	t.Helper()
	f := newFixture(t)
	ctx := t.Context()
	s := &cpaAuditScene{f: f, start: time.Now().UTC().Truncate(time.Second)}
	s.p = f.register(t, devnet.HospitalA)
	s.q = f.register(t, devnet.HospitalA)
	f.addRecord(t, devnet.HospitalA, "clinician", "rec-au-1", s.p.Pseudonym, gatewayv1.Confidentiality_CONFIDENTIALITY_N)
	f.addRecord(t, devnet.HospitalA, "clinician", "rec-au-2", s.q.Pseudonym, gatewayv1.Confidentiality_CONFIDENTIALITY_N)
	f.addRecord(t, devnet.HospitalB, "clinician", "rec-au-b", s.p.Pseudonym, gatewayv1.Confidentiality_CONFIDENTIALITY_N)
	f.grant(t, devnet.HospitalA, s.p, newGrant(s.p, "c-au-1", devnet.HospitalB, 1))
	s.granted = f.request(t, devnet.HospitalB, "clinician", treat("rec-au-1"), gatewayv1.Decision_DECISION_GRANTED).GetTxId()
	s.denied = f.request(t, devnet.HospitalB, "researcher", treat("rec-au-1"), gatewayv1.Decision_DECISION_DENIED).GetTxId()
	hash := sha256.Sum256([]byte("synthetic justification"))
	s.emergency = f.request(t, devnet.HealthAuthority, "clinician", &gatewayv1.RequestAccessRequest{
		RecordId: "rec-au-2", Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_ETREAT,
		JustificationCode: gatewayv1.JustificationCode_JUSTIFICATION_CODE_LIFE_THREATENING, JustificationHash: hex.EncodeToString(hash[:]),
	}, gatewayv1.Decision_DECISION_EMERGENCY).GetTxId()
	logged, err := f.access(t, devnet.HospitalA, "clinician").LogAccess(ctx, &gatewayv1.LogAccessRequest{
		RecordId: "rec-au-1", Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_CAREMGT, CareRelationship: false,
	})
	if err != nil {
		t.Fatalf("LogAccess: %v", err)
	}
	s.outside = logged.GetEvent().GetTxId()
	s.foreign = f.request(t, devnet.HospitalA, "clinician", treat("rec-au-b"), gatewayv1.Decision_DECISION_DENIED).GetTxId()
	return s
}

// cpaTxIDs returns the events' transaction IDs, sorted, for set comparisons.
func cpaTxIDs(evs []*gatewayv1.AccessEvent) []string {
	ids := make([]string, len(evs))
	for i, ev := range evs {
		ids[i] = ev.GetTxId()
	}
	slices.Sort(ids)
	return ids
}

// cpaSorted returns the IDs sorted.
func cpaSorted(ids ...string) []string {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return ids
}

// cpaInTrailOrder fails unless evs are in time order, then transaction ID.
func cpaInTrailOrder(t *testing.T, evs []*gatewayv1.AccessEvent) {
	t.Helper()
	for i := 1; i < len(evs); i++ {
		a, b := evs[i-1], evs[i]
		at, bt := a.GetAt().AsTime(), b.GetAt().AsTime()
		if bt.Before(at) || (bt.Equal(at) && b.GetTxId() < a.GetTxId()) {
			t.Fatalf("events %d and %d are out of order: %v, %v", i-1, i, a, b)
		}
	}
}

func TestAccessTrail(t *testing.T) {
	t.Parallel()
	s := newCPAAuditScene(t)
	f := s.f
	all := []string{s.granted, s.denied, s.emergency, s.outside, s.foreign}
	tests := map[string]struct {
		msp, user string
		filter    *gatewayv1.TrailFilter
		want      []string
	}{
		"a records officer sees the events about the organisation's records": {
			msp: devnet.HospitalA, user: "officer", want: []string{s.granted, s.denied, s.emergency, s.outside},
		},
		"an admin sees the same as a records officer": {
			msp: devnet.HospitalA, user: "admin", want: []string{s.granted, s.denied, s.emergency, s.outside},
		},
		"an auditor sees every event": {
			msp: devnet.HealthAuthority, user: "auditor", want: all,
		},
		"an auditor of a hospital sees every event too": {
			msp: devnet.HospitalB, user: "auditor", want: all,
		},
		"the record filter selects one record's events": {
			msp: devnet.HospitalA, user: "officer", filter: &gatewayv1.TrailFilter{RecordId: "rec-au-1"},
			want: []string{s.granted, s.denied, s.outside},
		},
		"the patient filter of a custodian leaves out other custodians' records": {
			msp: devnet.HospitalA, user: "officer", filter: &gatewayv1.TrailFilter{Patient: s.p.Pseudonym},
			want: []string{s.granted, s.denied, s.outside},
		},
		"the patient filter of an auditor covers every custodian": {
			msp: devnet.HealthAuthority, user: "auditor", filter: &gatewayv1.TrailFilter{Patient: s.p.Pseudonym},
			want: []string{s.granted, s.denied, s.outside, s.foreign},
		},
		"the requester filter selects one organisation's requests": {
			msp: devnet.HospitalA, user: "officer", filter: &gatewayv1.TrailFilter{RequesterMspId: devnet.HospitalB},
			want: []string{s.granted, s.denied},
		},
		"the requester filter of an auditor": {
			msp: devnet.HealthAuthority, user: "auditor", filter: &gatewayv1.TrailFilter{RequesterMspId: devnet.HospitalA},
			want: []string{s.outside, s.foreign},
		},
		"the other custodian sees its own record's event": {
			msp: devnet.HospitalB, user: "officer", want: []string{s.foreign},
		},
		"an auditor's filter on an unknown record is empty": {
			msp: devnet.HealthAuthority, user: "auditor", filter: &gatewayv1.TrailFilter{RecordId: "rec-none"},
		},
		"a window around the events selects them": {
			msp: devnet.HealthAuthority, user: "auditor",
			filter: &gatewayv1.TrailFilter{StartTime: timestamppb.New(s.start), EndTime: timestamppb.New(time.Now().Truncate(time.Second).Add(2 * time.Second))},
			want:   all,
		},
		"a window that ends at the start selects nothing": {
			msp: devnet.HealthAuthority, user: "auditor", filter: &gatewayv1.TrailFilter{EndTime: timestamppb.New(s.start)},
		},
		"a filter with a window that ends at the start selects nothing": {
			msp: devnet.HospitalA, user: "officer", filter: &gatewayv1.TrailFilter{RecordId: "rec-au-1", EndTime: timestamppb.New(s.start)},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cl := f.audit(t, tc.msp, tc.user)
			got := listTrail(t, cl, tc.filter, 0)
			if !slices.Equal(cpaTxIDs(got), cpaSorted(tc.want...)) {
				t.Fatalf("AccessTrail = %v; want %v", cpaTxIDs(got), cpaSorted(tc.want...))
			}
			cpaInTrailOrder(t, got)
			paged := listTrail(t, cl, tc.filter, 1)
			if len(paged) != len(got) {
				t.Fatalf("AccessTrail one a page gave %d events; want %d", len(paged), len(got))
			}
			for i := range got {
				if !proto.Equal(paged[i], got[i]) {
					t.Fatalf("event %d one a page = %v; want %v", i, paged[i], got[i])
				}
			}
		})
	}

	// The events as stored: the denial keeps the patient for the
	// custodian, the emergency its basis and alert.
	byTx := map[string]*gatewayv1.AccessEvent{}
	for _, ev := range listTrail(t, f.audit(t, devnet.HealthAuthority, "auditor"), nil, 0) {
		byTx[ev.GetTxId()] = ev
	}
	if ev := byTx[s.denied]; ev.GetPatient() != s.p.Pseudonym || ev.GetDenialReason() != gatewayv1.DenialReason_DENIAL_REASON_ROLE_NOT_COVERED {
		t.Errorf("the denial in the trail = %v; want patient and ROLE_NOT_COVERED", ev)
	}
	if ev := byTx[s.emergency]; ev.GetBasis().GetType() != gatewayv1.BasisType_BASIS_TYPE_BREAK_THE_GLASS ||
		!slices.Equal(ev.GetAlerts(), []gatewayv1.Alert{gatewayv1.Alert_ALERT_EMERGENCY_ACCESS}) {
		t.Errorf("the emergency in the trail = %v; want break the glass with an alert", ev)
	}

	// Roles and organisations the chaincode refuses.
	refused := map[string]struct {
		msp, user string
		filter    *gatewayv1.TrailFilter
		code      codes.Code
	}{
		"a clinician may not read the trail":  {devnet.HospitalA, "clinician", nil, codes.PermissionDenied},
		"a researcher may not read the trail": {devnet.HospitalA, "researcher", nil, codes.PermissionDenied},
		"a records officer may not filter on another custodian's record": {
			devnet.HospitalB, "officer", &gatewayv1.TrailFilter{RecordId: "rec-au-1"}, codes.NotFound,
		},
		"a records officer may not filter on an unknown record": {
			devnet.HospitalA, "officer", &gatewayv1.TrailFilter{RecordId: "rec-none"}, codes.NotFound,
		},
		"a caller outside the wallet may not read the trail": {devnet.HospitalA, "", nil, codes.PermissionDenied},
	}
	for name, tc := range refused {
		t.Run(name, func(t *testing.T) {
			_, err := f.audit(t, tc.msp, tc.user).AccessTrail(t.Context(), &gatewayv1.AccessTrailRequest{Filter: tc.filter})
			wantStatus(t, err, tc.code, "")
		})
	}
}

func TestAlerts(t *testing.T) {
	t.Parallel()
	s := newCPAAuditScene(t)
	f := s.f
	tests := map[string]struct {
		msp, user string
		req       *gatewayv1.AlertsRequest
		want      []string
	}{
		"an auditor sees every alert":                              {devnet.HealthAuthority, "auditor", &gatewayv1.AlertsRequest{}, []string{s.emergency, s.outside}},
		"a records officer sees the alerts about the organisation": {devnet.HospitalA, "officer", &gatewayv1.AlertsRequest{PageSize: 1}, []string{s.emergency, s.outside}},
		"another custodian has no alert":                           {devnet.HospitalB, "officer", &gatewayv1.AlertsRequest{}, nil},
		"a window before the events has no alert":                  {devnet.HealthAuthority, "auditor", &gatewayv1.AlertsRequest{EndTime: timestamppb.New(s.start)}, nil},
		"a window of 366 days around the events holds all of them": {devnet.HealthAuthority, "auditor", &gatewayv1.AlertsRequest{StartTime: timestamppb.New(s.start.Add(-365 * 24 * time.Hour)), EndTime: timestamppb.New(s.start.Add(24 * time.Hour))}, []string{s.emergency, s.outside}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cl := f.audit(t, tc.msp, tc.user)
			got := allPages(t, "Alerts", func(token string) ([]*gatewayv1.AccessEvent, string, error) {
				req := proto.Clone(tc.req).(*gatewayv1.AlertsRequest)
				req.PageToken = token
				resp, err := cl.Alerts(t.Context(), req)
				return resp.GetEvents(), resp.GetNextPageToken(), err
			})
			if !slices.Equal(cpaTxIDs(got), cpaSorted(tc.want...)) {
				t.Fatalf("Alerts = %v; want %v", cpaTxIDs(got), cpaSorted(tc.want...))
			}
			cpaInTrailOrder(t, got)
			for _, ev := range got {
				if len(ev.GetAlerts()) == 0 {
					t.Errorf("Alerts returned %v, which has no alert", ev)
				}
			}
		})
	}
	for name, user := range map[string]string{"a clinician": "clinician", "a researcher": "researcher"} {
		t.Run(name+" may not read alerts", func(t *testing.T) {
			_, err := f.audit(t, devnet.HospitalA, user).Alerts(t.Context(), &gatewayv1.AlertsRequest{})
			wantStatus(t, err, codes.PermissionDenied, "")
		})
	}
}

// cpaExport runs ExportTrail and returns the file and the size of each
// chunk.
func cpaExport(t *testing.T, cl gatewayv1.AuditServiceClient, req *gatewayv1.ExportTrailRequest) ([]byte, []int, error) {
	t.Helper()
	stream, err := cl.ExportTrail(t.Context(), req)
	if err != nil {
		return nil, nil, err
	}
	var file bytes.Buffer
	var sizes []int
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return file.Bytes(), sizes, nil
		}
		if err != nil {
			return file.Bytes(), sizes, err
		}
		sizes = append(sizes, len(resp.GetChunk()))
		file.Write(resp.GetChunk())
	}
}

// cpaLedgerCode writes an enum value as the ledger's code: its name without
// the enum's prefix, in the ledger's spelling.
func cpaLedgerCode(name, prefix string, hyphens bool) string {
	if strings.HasSuffix(name, "_UNSPECIFIED") {
		return ""
	}
	s := strings.TrimPrefix(name, prefix)
	if hyphens {
		s = strings.ReplaceAll(s, "_", "-")
	}
	return s
}

// cpaCSVWant is the CSV line the export must hold for ev.
func cpaCSVWant(ev *gatewayv1.AccessEvent) []string {
	care := ""
	if ev.GetBasis().GetType() == gatewayv1.BasisType_BASIS_TYPE_CUSTODIAN_STAFF {
		care = strconv.FormatBool(ev.GetCareRelationship())
	}
	var alerts []string
	for _, a := range ev.GetAlerts() {
		alerts = append(alerts, cpaLedgerCode(a.String(), "ALERT_", false))
	}
	return []string{
		ev.GetAt().AsTime().UTC().Format(time.RFC3339Nano), ev.GetTxId(),
		cpaLedgerCode(ev.GetDecision().String(), "DECISION_", false),
		ev.GetRequester().GetMspId(), strings.ToLower(cpaLedgerCode(ev.GetRequester().GetRole().String(), "ROLE_", true)),
		ev.GetRequester().GetCertFingerprint(), ev.GetRecordId(), strconv.Itoa(int(ev.GetVersion())), ev.GetCustodian(), ev.GetPatient(),
		cpaLedgerCode(ev.GetPurpose().String(), "PURPOSE_OF_USE_", false), cpaLedgerCode(ev.GetBasis().GetType().String(), "BASIS_TYPE_", false),
		ev.GetBasis().GetConsentId(), cpaLedgerCode(ev.GetBasis().GetJustificationCode().String(), "JUSTIFICATION_CODE_", true),
		cpaLedgerCode(ev.GetDenialReason().String(), "DENIAL_REASON_", false), care, strings.Join(alerts, ";"),
	}
}

// cpaFHIRBundle is the part of a FHIR R4 Bundle of AuditEvents the tests
// read.
type cpaFHIRBundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Timestamp    string `json:"timestamp"`
	Entry        []struct {
		Resource struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
			Type         struct{ System, Code string }
			Subtype      []struct{ System, Code string }
			Action       string `json:"action"`
			Recorded     string `json:"recorded"`
			Outcome      string `json:"outcome"`
			Purpose      []struct {
				Coding []struct{ System, Code string }
			} `json:"purposeOfEvent"`
			Agent []struct {
				Role []struct {
					Coding []struct{ System, Code string }
				}
				Who struct {
					Identifier struct {
						System, Value string
						Assigner      struct {
							Identifier struct{ System, Value string }
						}
					}
				}
				Requestor *bool    `json:"requestor"`
				Policy    []string `json:"policy"`
			} `json:"agent"`
			Source struct {
				Observer struct {
					Identifier struct{ System, Value string }
				}
			}
			Entity []struct {
				What struct {
					Identifier struct{ System, Value string }
				}
				Type   struct{ System, Code string }
				Role   struct{ System, Code string }
				Detail []struct {
					Type        string `json:"type"`
					ValueString string `json:"valueString"`
				}
			}
		} `json:"resource"`
	} `json:"entry"`
}

// cpaCheckFHIR fails unless b is a FHIR R4 Bundle whose AuditEvents are the
// events, in order, mapped as audit_export.go documents.
func cpaCheckFHIR(t *testing.T, b []byte, events []*gatewayv1.AccessEvent, observer string) {
	t.Helper()
	var bundle cpaFHIRBundle
	if err := json.Unmarshal(b, &bundle); err != nil {
		t.Fatalf("the FHIR export is not JSON: %v", err)
	}
	if bundle.ResourceType != "Bundle" || bundle.Type != "collection" || bundle.Timestamp == "" {
		t.Fatalf("the FHIR export is %q of type %q at %q; want a collection Bundle with a timestamp", bundle.ResourceType, bundle.Type, bundle.Timestamp)
	}
	if len(bundle.Entry) != len(events) {
		t.Fatalf("the Bundle has %d entries; want %d", len(bundle.Entry), len(events))
	}
	if len(events) == 0 && bytes.Contains(b, []byte(`"entry"`)) {
		t.Errorf("an empty Bundle has an entry field; FHIR JSON has no empty arrays: %s", b)
	}
	for i, ev := range events {
		r := bundle.Entry[i].Resource
		if r.ResourceType != "AuditEvent" || r.ID != ev.GetTxId() || r.Action != "R" ||
			r.Type.System != "http://dicom.nema.org/resources/ontology/DCM" || r.Type.Code != "110110" {
			t.Fatalf("entry %d: %+v; want AuditEvent %s, DICOM 110110, action R", i, r, ev.GetTxId())
		}
		recorded, err := time.Parse(time.RFC3339Nano, r.Recorded)
		if err != nil || !recorded.Equal(ev.GetAt().AsTime()) {
			t.Errorf("entry %d: recorded %q; want %v", i, r.Recorded, ev.GetAt().AsTime())
		}
		wantOutcome := "0"
		if ev.GetDecision() == gatewayv1.Decision_DECISION_DENIED {
			wantOutcome = "4"
		}
		if r.Outcome != wantOutcome {
			t.Errorf("entry %d: outcome %q; want %q for %v", i, r.Outcome, wantOutcome, ev.GetDecision())
		}
		btg := slices.ContainsFunc(r.Subtype, func(c struct{ System, Code string }) bool {
			return c.System == "http://terminology.hl7.org/CodeSystem/v3-ActReason" && c.Code == "BTG"
		})
		if btg != (ev.GetDecision() == gatewayv1.Decision_DECISION_EMERGENCY) {
			t.Errorf("entry %d: subtype %v; want BTG exactly for an emergency", i, r.Subtype)
		}
		if len(r.Purpose) != 1 || len(r.Purpose[0].Coding) != 1 || r.Purpose[0].Coding[0].Code != cpaLedgerCode(ev.GetPurpose().String(), "PURPOSE_OF_USE_", false) ||
			r.Purpose[0].Coding[0].System != "http://terminology.hl7.org/CodeSystem/v3-ActReason" {
			t.Errorf("entry %d: purposeOfEvent %+v; want %v", i, r.Purpose, ev.GetPurpose())
		}
		if len(r.Agent) != 1 {
			t.Fatalf("entry %d: %d agents; want the requester", i, len(r.Agent))
		}
		a := r.Agent[0]
		if a.Requestor == nil || !*a.Requestor || a.Who.Identifier.Value != ev.GetRequester().GetCertFingerprint() ||
			a.Who.Identifier.Assigner.Identifier.Value != ev.GetRequester().GetMspId() ||
			len(a.Role) != 1 || a.Role[0].Coding[0].Code != strings.ToLower(cpaLedgerCode(ev.GetRequester().GetRole().String(), "ROLE_", true)) {
			t.Errorf("entry %d: agent %+v; want requestor %s of %s as %v", i, a, ev.GetRequester().GetCertFingerprint(), ev.GetRequester().GetMspId(), ev.GetRequester().GetRole())
		}
		if id := ev.GetBasis().GetConsentId(); id != "" && !slices.Equal(a.Policy, []string{"urn:medprov:consent:" + id}) {
			t.Errorf("entry %d: policy %v; want the consent %s", i, a.Policy, id)
		}
		if r.Source.Observer.Identifier.Value != observer {
			t.Errorf("entry %d: source observer %+v; want %s", i, r.Source.Observer, observer)
		}
		if len(r.Entity) != 2 || r.Entity[0].What.Identifier.Value != ev.GetRecordId() || r.Entity[0].What.Identifier.System != "urn:medprov:record-id" ||
			r.Entity[1].What.Identifier.Value != ev.GetPatient() || r.Entity[1].What.Identifier.System != "urn:medprov:patient-pseudonym" ||
			r.Entity[1].Role.Code != "1" {
			t.Errorf("entry %d: entities %+v; want record %s and patient %s", i, r.Entity, ev.GetRecordId(), ev.GetPatient())
		}
		if len(r.Entity) > 0 && (len(r.Entity[0].Detail) < 2 || r.Entity[0].Detail[0].Type != "version" ||
			r.Entity[0].Detail[0].ValueString != strconv.Itoa(int(ev.GetVersion())) || r.Entity[0].Detail[1].ValueString != ev.GetCustodian()) {
			t.Errorf("entry %d: record details %+v; want version %d and custodian %s", i, r.Entity[0].Detail, ev.GetVersion(), ev.GetCustodian())
		}
	}
}

func TestExportTrail(t *testing.T) {
	t.Parallel()
	s := newCPAAuditScene(t)
	f := s.f
	tests := map[string]struct {
		msp, user string
		filter    *gatewayv1.TrailFilter
	}{
		"an auditor exports everything":                   {devnet.HealthAuthority, "auditor", nil},
		"a records officer exports a patient":             {devnet.HospitalA, "officer", &gatewayv1.TrailFilter{Patient: s.p.Pseudonym}},
		"a records officer exports a record":              {devnet.HospitalA, "officer", &gatewayv1.TrailFilter{RecordId: "rec-au-1"}},
		"an admin exports a requester":                    {devnet.HospitalA, "admin", &gatewayv1.TrailFilter{RequesterMspId: devnet.HospitalB}},
		"an auditor exports a window":                     {devnet.HealthAuthority, "auditor", &gatewayv1.TrailFilter{StartTime: timestamppb.New(s.start)}},
		"an empty export is still a well-formed file":     {devnet.HospitalB, "officer", &gatewayv1.TrailFilter{RequesterMspId: devnet.HealthAuthority}},
		"an auditor exports a patient with a past window": {devnet.HealthAuthority, "auditor", &gatewayv1.TrailFilter{Patient: s.p.Pseudonym, EndTime: timestamppb.New(s.start)}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cl := f.audit(t, tc.msp, tc.user)
			events := listTrail(t, cl, tc.filter, 0)

			b, _, err := cpaExport(t, cl, &gatewayv1.ExportTrailRequest{Filter: tc.filter, Format: gatewayv1.ExportFormat_EXPORT_FORMAT_CSV})
			if err != nil {
				t.Fatalf("CSV export: %v", err)
			}
			if !bytes.HasSuffix(b, []byte("\r\n")) {
				t.Errorf("the CSV export does not end its lines with CRLF: %q", b)
			}
			rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
			if err != nil {
				t.Fatalf("the CSV export does not parse: %v", err)
			}
			header := "time,tx_id,decision,requester_msp,requester_role,requester_cert,record_id,version,custodian,patient,purpose,basis,consent_id,justification,denial_reason,care_relationship,alerts"
			if len(rows) == 0 || strings.Join(rows[0], ",") != header {
				t.Fatalf("the CSV header is %v; want %s", rows, header)
			}
			if len(rows)-1 != len(events) {
				t.Fatalf("the CSV export has %d lines of events; want %d", len(rows)-1, len(events))
			}
			for i, ev := range events {
				if want := cpaCSVWant(ev); !slices.Equal(rows[i+1], want) {
					t.Errorf("CSV line %d = %q; want %q", i+1, rows[i+1], want)
				}
			}

			b, _, err = cpaExport(t, cl, &gatewayv1.ExportTrailRequest{Filter: tc.filter, Format: gatewayv1.ExportFormat_EXPORT_FORMAT_JSON})
			if err != nil {
				t.Fatalf("JSON export: %v", err)
			}
			var raw []json.RawMessage
			if err := json.Unmarshal(b, &raw); err != nil {
				t.Fatalf("the JSON export is not one JSON array: %v", err)
			}
			if len(raw) != len(events) {
				t.Fatalf("the JSON export has %d events; want %d", len(raw), len(events))
			}
			for i, ev := range events {
				var got gatewayv1.AccessEvent
				if err := protojson.Unmarshal(raw[i], &got); err != nil {
					t.Fatalf("JSON event %d is not an AccessEvent: %v", i, err)
				}
				if !proto.Equal(&got, ev) {
					t.Errorf("JSON event %d = %v; want %v", i, &got, ev)
				}
			}

			b, _, err = cpaExport(t, cl, &gatewayv1.ExportTrailRequest{Filter: tc.filter, Format: gatewayv1.ExportFormat_EXPORT_FORMAT_FHIR})
			if err != nil {
				t.Fatalf("FHIR export: %v", err)
			}
			cpaCheckFHIR(t, b, events, tc.msp)
		})
	}

	// An emergency maps to the break-the-glass subtype and keeps its
	// justification.
	b, _, err := cpaExport(t, f.audit(t, devnet.HealthAuthority, "auditor"), &gatewayv1.ExportTrailRequest{
		Filter: &gatewayv1.TrailFilter{RecordId: "rec-au-2"}, Format: gatewayv1.ExportFormat_EXPORT_FORMAT_FHIR,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"code":"BTG"`, `"valueString":"LIFE-THREATENING"`, `"code":"EMERGENCY_ACCESS"`, `"code":"ETREAT"`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("the FHIR export of the emergency lacks %s: %s", want, b)
		}
	}
}

func TestAuditServiceRefusesBadInput(t *testing.T) {
	t.Parallel()
	s := newCPAAuditScene(t)
	f := s.f
	ctx := t.Context()
	now := time.Now().Truncate(time.Second)
	cl := f.audit(t, devnet.HealthAuthority, "auditor")
	first, err := cl.AccessTrail(ctx, &gatewayv1.AccessTrailRequest{Filter: &gatewayv1.TrailFilter{Patient: s.p.Pseudonym}, PageSize: 1})
	if err != nil || first.GetNextPageToken() == "" {
		t.Fatalf("AccessTrail one a page: %v, %v; want a next page token", first, err)
	}
	filters := map[string]struct {
		filter *gatewayv1.TrailFilter
		field  string
	}{
		"a record and a patient":          {&gatewayv1.TrailFilter{RecordId: "rec-au-1", Patient: s.p.Pseudonym}, "filter"},
		"a patient and a requester":       {&gatewayv1.TrailFilter{Patient: s.p.Pseudonym, RequesterMspId: devnet.HospitalA}, "filter"},
		"all three filters":               {&gatewayv1.TrailFilter{RecordId: "rec-au-1", Patient: s.p.Pseudonym, RequesterMspId: devnet.HospitalA}, "filter"},
		"a malformed record ID":           {&gatewayv1.TrailFilter{RecordId: "r"}, "filter.record_id"},
		"a malformed pseudonym":           {&gatewayv1.TrailFilter{Patient: "pt-abc"}, "filter.patient"},
		"a malformed requester":           {&gatewayv1.TrailFilter{RequesterMspId: "Org 1"}, "filter.requester_msp_id"},
		"an end before the start":         {&gatewayv1.TrailFilter{StartTime: timestamppb.New(now), EndTime: timestamppb.New(now.Add(-time.Hour))}, "filter.end_time"},
		"a start with a fraction":         {&gatewayv1.TrailFilter{StartTime: &timestamppb.Timestamp{Seconds: now.Unix(), Nanos: 500}}, "filter.start_time"},
		"an end out of range":             {&gatewayv1.TrailFilter{EndTime: &timestamppb.Timestamp{Seconds: -1 << 60}}, "filter.end_time"},
		"a start in the future":           {&gatewayv1.TrailFilter{StartTime: timestamppb.New(now.Add(time.Hour))}, "filter.start_time"},
		"a window of 367 days":            {&gatewayv1.TrailFilter{StartTime: timestamppb.New(now.Add(-367 * 24 * time.Hour)), EndTime: timestamppb.New(now)}, "filter.start_time"},
		"a start 367 days ago, no filter": {&gatewayv1.TrailFilter{StartTime: timestamppb.New(now.Add(-367 * 24 * time.Hour))}, "filter.start_time"},
	}
	for name, tc := range filters {
		t.Run("AccessTrail refuses "+name, func(t *testing.T) {
			_, err := cl.AccessTrail(ctx, &gatewayv1.AccessTrailRequest{Filter: tc.filter})
			wantStatus(t, err, codes.InvalidArgument, tc.field)
		})
		t.Run("ExportTrail refuses "+name, func(t *testing.T) {
			b, sizes, err := cpaExport(t, cl, &gatewayv1.ExportTrailRequest{Filter: tc.filter, Format: gatewayv1.ExportFormat_EXPORT_FORMAT_CSV})
			wantStatus(t, err, codes.InvalidArgument, tc.field)
			if len(b) != 0 || len(sizes) != 0 {
				t.Errorf("a refused export sent %d chunks", len(sizes))
			}
		})
	}
	// A long window is fine with a filter.
	if _, err := cl.AccessTrail(ctx, &gatewayv1.AccessTrailRequest{Filter: &gatewayv1.TrailFilter{
		Patient: s.p.Pseudonym, StartTime: timestamppb.New(now.Add(-3 * 366 * 24 * time.Hour)),
	}}); err != nil {
		t.Errorf("AccessTrail by patient over three years: %v", err)
	}

	others := map[string]struct {
		call  func() error
		code  codes.Code
		field string
	}{
		"a negative page size": {
			call: func() error {
				_, err := cl.AccessTrail(ctx, &gatewayv1.AccessTrailRequest{PageSize: -1})
				return err
			},
			code: codes.InvalidArgument, field: "page_size",
		},
		"a page size above 1000": {
			call: func() error {
				_, err := cl.Alerts(ctx, &gatewayv1.AlertsRequest{PageSize: 1001})
				return err
			},
			code: codes.InvalidArgument, field: "page_size",
		},
		"a made-up page token": {
			call: func() error {
				_, err := cl.AccessTrail(ctx, &gatewayv1.AccessTrailRequest{PageToken: "not-a-bookmark"})
				return err
			},
			code: codes.InvalidArgument, field: "page_token",
		},
		"a page token from another filter": {
			call: func() error {
				_, err := cl.AccessTrail(ctx, &gatewayv1.AccessTrailRequest{Filter: &gatewayv1.TrailFilter{RecordId: "rec-au-1"}, PageToken: first.GetNextPageToken()})
				return err
			},
			code: codes.InvalidArgument, field: "page_token",
		},
		"a page token of the trail for alerts": {
			call: func() error {
				_, err := cl.Alerts(ctx, &gatewayv1.AlertsRequest{PageToken: first.GetNextPageToken()})
				return err
			},
			code: codes.InvalidArgument, field: "page_token",
		},
		"an alerts window of 367 days": {
			call: func() error {
				_, err := cl.Alerts(ctx, &gatewayv1.AlertsRequest{StartTime: timestamppb.New(now.Add(-367 * 24 * time.Hour))})
				return err
			},
			code: codes.InvalidArgument, field: "start_time",
		},
		"an alerts end before the start": {
			call: func() error {
				_, err := cl.Alerts(ctx, &gatewayv1.AlertsRequest{StartTime: timestamppb.New(now), EndTime: timestamppb.New(now.Add(-time.Second))})
				return err
			},
			code: codes.InvalidArgument, field: "end_time",
		},
		"an alerts end with a fraction": {
			call: func() error {
				_, err := cl.Alerts(ctx, &gatewayv1.AlertsRequest{EndTime: &timestamppb.Timestamp{Seconds: now.Unix(), Nanos: 1}})
				return err
			},
			code: codes.InvalidArgument, field: "end_time",
		},
		"an export without a format": {
			call: func() error {
				_, _, err := cpaExport(t, cl, &gatewayv1.ExportTrailRequest{})
				return err
			},
			code: codes.InvalidArgument, field: "format",
		},
		"an export with an unknown format": {
			call: func() error {
				_, _, err := cpaExport(t, cl, &gatewayv1.ExportTrailRequest{Format: 42})
				return err
			},
			code: codes.InvalidArgument, field: "format",
		},
		"an export by a clinician": {
			call: func() error {
				_, _, err := cpaExport(t, f.audit(t, devnet.HospitalA, "clinician"), &gatewayv1.ExportTrailRequest{Format: gatewayv1.ExportFormat_EXPORT_FORMAT_JSON})
				return err
			},
			code: codes.PermissionDenied,
		},
		"an export of another custodian's record": {
			call: func() error {
				_, _, err := cpaExport(t, f.audit(t, devnet.HospitalB, "officer"), &gatewayv1.ExportTrailRequest{
					Filter: &gatewayv1.TrailFilter{RecordId: "rec-au-1"}, Format: gatewayv1.ExportFormat_EXPORT_FORMAT_FHIR,
				})
				return err
			},
			code: codes.NotFound,
		},
		"an export by a caller outside the wallet": {
			call: func() error {
				_, _, err := cpaExport(t, f.audit(t, devnet.HospitalA, ""), &gatewayv1.ExportTrailRequest{Format: gatewayv1.ExportFormat_EXPORT_FORMAT_CSV})
				return err
			},
			code: codes.PermissionDenied,
		},
		"alerts for a caller outside the wallet": {
			call: func() error {
				_, err := f.audit(t, devnet.HospitalA, "").Alerts(ctx, &gatewayv1.AlertsRequest{})
				return err
			},
			code: codes.PermissionDenied,
		},
	}
	for name, tc := range others {
		t.Run(name+" is refused", func(t *testing.T) {
			wantStatus(t, tc.call(), tc.code, tc.field)
		})
	}
}

// TestExportTrailStreamsManyPages exports a trail of more than one ledger
// page (1000 events) and more than one chunk.
func TestExportTrailStreamsManyPages(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("commits 1001 access events")
	}
	f := newFixture(t)
	p := f.register(t, devnet.HospitalA)
	f.addRecord(t, devnet.HospitalA, "clinician", "rec-many", p.Pseudonym, gatewayv1.Confidentiality_CONFIDENTIALITY_N)
	const n = 1001
	var wg sync.WaitGroup
	errs := make(chan error, n)
	jobs := make(chan int)
	for range 100 {
		wg.Go(func() {
			cl := f.access(t, devnet.HospitalA, "clinician")
			for range jobs {
				_, err := cl.LogAccess(t.Context(), &gatewayv1.LogAccessRequest{RecordId: "rec-many", Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT, CareRelationship: true})
				if err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("LogAccess: %v", err)
	}
	cl := f.audit(t, devnet.HospitalA, "officer")
	filter := &gatewayv1.TrailFilter{RecordId: "rec-many"}
	events := listTrail(t, cl, filter, 0)
	if len(events) != n {
		t.Fatalf("AccessTrail has %d events; want %d", len(events), n)
	}
	for _, format := range []gatewayv1.ExportFormat{gatewayv1.ExportFormat_EXPORT_FORMAT_CSV, gatewayv1.ExportFormat_EXPORT_FORMAT_JSON, gatewayv1.ExportFormat_EXPORT_FORMAT_FHIR} {
		t.Run(format.String(), func(t *testing.T) {
			b, sizes, err := cpaExport(t, cl, &gatewayv1.ExportTrailRequest{Filter: filter, Format: format})
			if err != nil {
				t.Fatalf("ExportTrail: %v", err)
			}
			if len(sizes) < 2 {
				t.Errorf("the export of %d bytes came in %d chunk(s); want several", len(b), len(sizes))
			}
			for i, size := range sizes {
				if size > 64<<10 || size == 0 || (i < len(sizes)-1 && size != 64<<10) {
					t.Fatalf("chunk %d has %d bytes; want full chunks of 64 KiB, the last one at most that", i, size)
				}
			}
			var got []string
			switch format {
			case gatewayv1.ExportFormat_EXPORT_FORMAT_CSV:
				rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rows[1:] {
					got = append(got, r[1])
				}
			case gatewayv1.ExportFormat_EXPORT_FORMAT_JSON:
				var evs []struct {
					TxID string `json:"txId"`
				}
				if err := json.Unmarshal(b, &evs); err != nil {
					t.Fatal(err)
				}
				for _, ev := range evs {
					got = append(got, ev.TxID)
				}
			case gatewayv1.ExportFormat_EXPORT_FORMAT_FHIR:
				cpaCheckFHIR(t, b, events, devnet.HospitalA)
				return
			}
			want := make([]string, len(events))
			for i, ev := range events {
				want[i] = ev.GetTxId()
			}
			if !slices.Equal(got, want) {
				t.Errorf("the export holds %d events; want the trail's %d, in order", len(got), len(want))
			}
		})
	}
}
