package scenario

import (
	"bytes"
	"encoding/csv"
	"slices"
	"time"

	"google.golang.org/grpc/codes"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
)

// audit: hospital B is granted and then denied a record of hospital A,
// whose own clinician then reads it; the health authority's auditor finds
// exactly these events by record, by patient, by requester organisation
// and by time window, and exports them as CSV.
func audit(e *env) {
	p := e.registerPatient(e.a, UserClinician)
	r := e.anchor(e.a, UserClinician, p, progressNote, gatewayv1.Confidentiality_CONFIDENTIALITY_N)
	c := e.treatConsent(p)

	w1 := e.grantedEvent(r, c.GetGrant().GetConsentId())
	e1 := e.request(UserClinician, &gatewayv1.RequestAccessRequest{RecordId: r.id, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT}).GetEvent()
	e.wantEvent(e1, w1, who(e.b, UserClinician), "RequestAccess within the consent")

	// The time windows below tell the first event from the others by its
	// whole second: wait for the next one.
	e.sleepUntil(time.Unix(e1.GetAt().GetSeconds()+1, 0))

	w2 := e.deniedEvent(r, gatewayv1.PurposeOfUse_PURPOSE_OF_USE_HRESCH, gatewayv1.DenialReason_DENIAL_REASON_PURPOSE_NOT_COVERED)
	e2 := e.request(UserClinician, &gatewayv1.RequestAccessRequest{RecordId: r.id, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_HRESCH}).GetEvent()
	e.wantEvent(e2, w2, who(e.b, UserClinician), "RequestAccess for a purpose outside the consent")
	e.want(e2.GetAt().GetSeconds() > e1.GetAt().GetSeconds(), "the second event (%v) is in the first one's second (%v): is the ledger's clock behind this one?",
		e2.GetAt().AsTime(), e1.GetAt().AsTime())
	w2.Patient = p.Pseudonym // the auditor's view of a denial names the patient

	h, _, err := e.read(e.a, UserClinician, r.id)
	e.must(err, "GetRecord by hospital A's clinician")
	w3 := &gatewayv1.AccessEvent{
		RecordId: r.id, Version: 1, Custodian: e.a, Patient: p.Pseudonym,
		Requester: &gatewayv1.Requester{MspId: e.a, Role: gatewayv1.Role_ROLE_CLINICIAN},
		Purpose:   gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT, Decision: gatewayv1.Decision_DECISION_GRANTED,
		Basis:            &gatewayv1.AccessBasis{Type: gatewayv1.BasisType_BASIS_TYPE_CUSTODIAN_STAFF},
		CareRelationship: true,
	}
	id1, id2, id3 := e1.GetTxId(), e2.GetTxId(), h.GetAccessTxId()
	wants := map[string]*gatewayv1.AccessEvent{id1: w1, id2: w2, id3: w3}
	whos := map[string]string{id1: who(e.b, UserClinician), id2: who(e.b, UserClinician), id3: who(e.a, UserClinician)}

	// checkAll checks a listing that must hold exactly this scenario's
	// events among others (a shared ledger adds to some), in order.
	checkAll := func(events []*gatewayv1.AccessEvent, want []string, step string) {
		e.t.Helper()
		e.want(inTimeOrder(events), "%s: not in time order", step)
		mine := only(events, id1, id2, id3)
		e.want(slices.Equal(txIDs(mine), want), "%s: events %v, want %v", step, txIDs(mine), want)
		for _, ev := range mine {
			e.wantEvent(ev, wants[ev.GetTxId()], whos[ev.GetTxId()], step)
		}
	}

	byRecord, err := e.trail(e.ha, UserAuditor, &gatewayv1.TrailFilter{RecordId: r.id})
	e.must(err, "AccessTrail by record")
	e.want(len(byRecord) == 3, "AccessTrail by record: %d events, want 3", len(byRecord))
	all := txIDs(byRecord)
	e.want(all[0] == id1 && slices.Contains(all, id2) && slices.Contains(all, id3), "AccessTrail by record: events %v, want %s first, then %s and %s", all, id1, id2, id3)
	checkAll(byRecord, all, "AccessTrail by record")
	e3 := byRecord[slices.Index(all, id3)]

	byPatient, err := e.trail(e.ha, UserAuditor, &gatewayv1.TrailFilter{Patient: p.Pseudonym})
	e.must(err, "AccessTrail by patient")
	e.want(len(byPatient) == 3, "AccessTrail by patient: %d events, want 3", len(byPatient))
	checkAll(byPatient, all, "AccessTrail by patient")

	byOrg, err := e.trail(e.ha, UserAuditor, &gatewayv1.TrailFilter{RequesterMspId: e.b})
	e.must(err, "AccessTrail by requester organisation")
	for _, ev := range byOrg {
		e.want(ev.GetRequester().GetMspId() == e.b, "AccessTrail by requester organisation: event %s by %s", ev.GetTxId(), ev.GetRequester().GetMspId())
	}
	checkAll(byOrg, []string{id1, id2}, "AccessTrail by requester organisation")

	windows := map[string]struct {
		start, end int64
		want       []string
	}{
		"AccessTrail in the first event's second": {e1.GetAt().GetSeconds(), e1.GetAt().GetSeconds() + 1, []string{id1}},
		"AccessTrail from the second event's second to the third's end": {e2.GetAt().GetSeconds(), e3.GetAt().GetSeconds() + 1,
			slices.DeleteFunc(slices.Clone(all), func(id string) bool { return id == id1 })},
	}
	for step, w := range windows {
		start, end := window(w.start, w.end)
		events, err := e.trail(e.ha, UserAuditor, &gatewayv1.TrailFilter{StartTime: start, EndTime: end})
		e.must(err, step)
		for _, ev := range events {
			s := ev.GetAt().GetSeconds()
			e.want(s >= w.start && s < w.end, "%s: event %s at %v is outside [%d, %d)", step, ev.GetTxId(), ev.GetAt().AsTime(), w.start, w.end)
		}
		checkAll(events, w.want, step)
	}

	file, err := e.export(e.ha, UserAuditor, &gatewayv1.TrailFilter{RecordId: r.id}, gatewayv1.ExportFormat_EXPORT_FORMAT_CSV)
	e.must(err, "ExportTrail as CSV")
	rows, err := csv.NewReader(bytes.NewReader(file)).ReadAll()
	e.must(err, "ExportTrail as CSV: parse")
	e.want(len(rows) == 1+len(byRecord), "ExportTrail as CSV: %d lines, want a header and %d events", len(rows), len(byRecord))
	for i, id := range all {
		e.want(slices.Contains(rows[i+1], id), "ExportTrail as CSV: line %d does not name event %s", i+2, id)
	}
	e.want(!slices.ContainsFunc(rows[0], func(f string) bool { return hex64.MatchString(f) }), "ExportTrail as CSV: the first line is not a header")

	officer, err := e.trail(e.a, UserOfficer, &gatewayv1.TrailFilter{RecordId: r.id})
	e.must(err, "AccessTrail by record for hospital A's records officer")
	e.want(slices.Equal(txIDs(officer), all), "AccessTrail by record for hospital A's records officer: events %v, want %v", txIDs(officer), all)
	_, err = e.trail(e.b, UserOfficer, &gatewayv1.TrailFilter{RecordId: r.id})
	e.wantCode(err, codes.NotFound, "AccessTrail by record for hospital B's records officer")
	_, err = e.trail(e.a, UserClinician, &gatewayv1.TrailFilter{RecordId: r.id})
	e.wantCode(err, codes.PermissionDenied, "AccessTrail for a clinician")
}

// sleepUntil waits until t, or stops the scenario when its context ends.
func (e *env) sleepUntil(t time.Time) {
	e.t.Helper()
	timer := time.NewTimer(time.Until(t) + 10*time.Millisecond)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-e.ctx.Done():
		e.t.Fatalf("waiting for the next second: %v", e.ctx.Err())
	}
}
