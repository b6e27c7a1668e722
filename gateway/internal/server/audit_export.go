package server

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/internal/server/convert"
)

// exportChunkSize is the most bytes one ExportTrailResponse carries. The
// export holds one ledger page and one chunk at a time, whatever the size
// of the trail.
const exportChunkSize = 64 << 10

// ExportTrail streams every access event a filter selects as one file in
// the requested format, reading the ledger page by page (domain.MaxPageSize
// events a page) as the caller. The first page is read before anything is
// sent, so a refused export (INVALID_ARGUMENT, NOT_FOUND,
// PERMISSION_DENIED, as AccessTrail) sends nothing; a failure later ends
// the stream with an error, and the client must discard what it received.
//
// The window is fixed when the export starts: an unset end_time becomes
// the current second plus one and, without a narrowing filter, an unset
// start_time the 30 days before it. So every page reads the same window,
// and events committed during the export with a later time are left out.
func (a *auditService) ExportTrail(req *gatewayv1.ExportTrailRequest, stream grpc.ServerStreamingServer[gatewayv1.ExportTrailResponse]) error {
	ctx := stream.Context()
	id, err := user(ctx)
	if err != nil {
		return err
	}
	q, w, err := a.s.trailQuery(req.GetFilter())
	if err != nil {
		return err
	}
	var enc trailEncoder
	switch req.GetFormat() {
	case gatewayv1.ExportFormat_EXPORT_FORMAT_CSV:
		enc = &csvTrail{}
	case gatewayv1.ExportFormat_EXPORT_FORMAT_JSON:
		enc = &jsonTrail{}
	case gatewayv1.ExportFormat_EXPORT_FORMAT_FHIR:
		enc = &fhirTrail{observer: a.s.d.MSPID, at: a.s.d.Now().UTC()}
	default:
		return status.Error(codes.InvalidArgument, "format: want one of EXPORT_FORMAT_CSV, EXPORT_FORMAT_JSON, EXPORT_FORMAT_FHIR")
	}
	q.To = w.toT.UTC().Format(domain.TimeLayout)
	if q.From == "" && !w.fromT.IsZero() {
		q.From = w.fromT.UTC().Format(domain.TimeLayout)
	}
	q.PageSize = domain.MaxPageSize
	page, err := a.s.accessHistory(ctx, id.Ledger(), q)
	if err != nil {
		return err
	}
	out := &chunkWriter{send: func(b []byte) error {
		return stream.Send(&gatewayv1.ExportTrailResponse{Chunk: b})
	}}
	if err := enc.begin(out); err != nil {
		return fmt.Errorf("export trail: %w", err)
	}
	for {
		for _, ev := range page.Items {
			if err := enc.event(out, ev); err != nil {
				return fmt.Errorf("export trail: %w", err)
			}
		}
		if err := enc.flush(); err != nil {
			return fmt.Errorf("export trail: %w", err)
		}
		if page.Bookmark == "" {
			break
		}
		q.Bookmark = page.Bookmark
		if page, err = a.s.accessHistory(ctx, id.Ledger(), q); err != nil {
			return err
		}
	}
	if err := enc.end(out); err != nil {
		return fmt.Errorf("export trail: %w", err)
	}
	if err := out.flush(); err != nil {
		return fmt.Errorf("export trail: %w", err)
	}
	return nil
}

// chunkWriter sends what is written to it in chunks of exportChunkSize
// bytes (the last one shorter), reusing one buffer.
type chunkWriter struct {
	send func([]byte) error
	buf  []byte
}

// Write implements io.Writer; it fails with the first error of send.
func (w *chunkWriter) Write(p []byte) (int, error) {
	if w.buf == nil {
		w.buf = make([]byte, 0, exportChunkSize)
	}
	written := 0
	for len(p) > 0 {
		k := min(exportChunkSize-len(w.buf), len(p))
		w.buf = append(w.buf, p[:k]...)
		p, written = p[k:], written+k
		if len(w.buf) == exportChunkSize {
			if err := w.flush(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

// flush sends the buffered bytes, if any.
func (w *chunkWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	err := w.send(w.buf)
	w.buf = w.buf[:0]
	if err != nil {
		return fmt.Errorf("send chunk: %w", err)
	}
	return nil
}

// trailEncoder writes access events as one file: begin, then event for
// each event in trail order (flush after each page), then end.
type trailEncoder interface {
	begin(w io.Writer) error
	event(w io.Writer, ev domain.AccessEvent) error
	flush() error
	end(w io.Writer) error
}

// csvColumns is the header of a CSV export; csvRecord fills them.
var csvColumns = []string{
	"time", "tx_id", "decision", "requester_msp", "requester_role", "requester_cert",
	"record_id", "version", "custodian", "patient", "purpose", "basis", "consent_id",
	"justification", "denial_reason", "care_relationship", "alerts",
}

// csvTrail writes RFC 4180 CSV (CRLF line ends, fields quoted where they
// need it) with a header line, one event a line. Codes are written as the
// ledger stores them (GRANTED, clinician, TREAT, ...); time is RFC 3339 in
// UTC with the transaction's fraction of a second; care_relationship is
// true or false for LogAccess events and empty for RequestAccess events;
// alerts are separated by ";"; justification is the break-the-glass
// justification code. The justification hash is not a column.
type csvTrail struct{ w *csv.Writer }

func (c *csvTrail) begin(w io.Writer) error {
	c.w = csv.NewWriter(w)
	c.w.UseCRLF = true
	return c.w.Write(csvColumns)
}

func (c *csvTrail) event(_ io.Writer, ev domain.AccessEvent) error {
	return c.w.Write(csvRecord(ev))
}

func (c *csvTrail) flush() error {
	c.w.Flush()
	return c.w.Error()
}

func (c *csvTrail) end(io.Writer) error { return c.flush() }

// csvRecord returns an event's fields in csvColumns order.
func csvRecord(ev domain.AccessEvent) []string {
	var basis domain.Basis
	if ev.Basis != nil {
		basis = *ev.Basis
	}
	care := ""
	if ev.CareRelationship != nil {
		care = strconv.FormatBool(*ev.CareRelationship)
	}
	alerts := make([]string, len(ev.Alerts))
	for i, a := range ev.Alerts {
		alerts[i] = string(a)
	}
	return []string{
		ev.At.UTC().Format(time.RFC3339Nano), ev.TxID, string(ev.Decision),
		ev.Requester.MSPID, string(ev.Requester.Role), ev.Requester.CertFingerprint,
		ev.RecordID, strconv.Itoa(ev.Version), ev.Custodian, ev.Patient, string(ev.Purpose),
		string(basis.Type), basis.ConsentID, string(basis.JustificationCode),
		string(ev.DenialReason), care, strings.Join(alerts, ";"),
	}
}

// jsonTrail writes one JSON array whose elements are the events as this
// API's AccessEvent in the proto3 JSON mapping (protojson defaults:
// lowerCamelCase names, enum value names, RFC 3339 timestamps, fields at
// their zero value left out), so protojson.Unmarshal reads each element
// back into an AccessEvent.
type jsonTrail struct{ n int }

func (j *jsonTrail) begin(w io.Writer) error {
	_, err := io.WriteString(w, "[")
	return err
}

func (j *jsonTrail) event(w io.Writer, ev domain.AccessEvent) error {
	b, err := protojson.Marshal(convert.AccessEvent(ev))
	if err != nil {
		return fmt.Errorf("encode access event: %w", err)
	}
	if j.n > 0 {
		if _, err := io.WriteString(w, ","); err != nil {
			return err
		}
	}
	j.n++
	_, err = w.Write(b)
	return err
}

func (j *jsonTrail) flush() error { return nil }

func (j *jsonTrail) end(w io.Writer) error {
	_, err := io.WriteString(w, "]")
	return err
}

// fhirTrail writes a FHIR R4 Bundle of type "collection", as JSON, with one
// AuditEvent resource an access event (fhirAuditEvent gives the mapping).
// The Bundle's timestamp is when the export started; observer is this
// gateway's MSP ID. A trail without events is a Bundle without entry.
type fhirTrail struct {
	observer string
	at       time.Time
	n        int
}

func (f *fhirTrail) begin(w io.Writer) error {
	head, err := json.Marshal(struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Timestamp    string `json:"timestamp"`
	}{"Bundle", "collection", f.at.Format(time.RFC3339Nano)})
	if err != nil {
		return err
	}
	// The object stays open for the entries.
	_, err = w.Write(head[:len(head)-1])
	return err
}

func (f *fhirTrail) event(w io.Writer, ev domain.AccessEvent) error {
	b, err := json.Marshal(struct {
		Resource fhirAuditEvent `json:"resource"`
	}{fhirEvent(ev, f.observer)})
	if err != nil {
		return fmt.Errorf("encode audit event: %w", err)
	}
	sep := ","
	if f.n == 0 {
		sep = `,"entry":[`
	}
	f.n++
	if _, err := io.WriteString(w, sep); err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func (f *fhirTrail) flush() error { return nil }

func (f *fhirTrail) end(w io.Writer) error {
	tail := "}"
	if f.n > 0 {
		tail = "]}"
	}
	_, err := io.WriteString(w, tail)
	return err
}

// Code systems and identifier systems of the FHIR export. The HL7 and DICOM
// ones are those FHIR R4 binds AuditEvent to; the urn:medprov ones name
// medprov's own identifiers and code lists (docs/chaincode-api.md).
const (
	fhirDICOM             = "http://dicom.nema.org/resources/ontology/DCM"
	fhirActReason         = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
	fhirEntityType        = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
	fhirObjectRole        = "http://terminology.hl7.org/CodeSystem/object-role"
	fhirSourceType        = "http://terminology.hl7.org/CodeSystem/security-source-type"
	medprovRole           = "urn:medprov:role"
	medprovAlert          = "urn:medprov:alert"
	medprovCertSHA256     = "urn:medprov:cert-sha256"
	medprovMSPID          = "urn:medprov:msp-id"
	medprovRecordID       = "urn:medprov:record-id"
	medprovPseudonym      = "urn:medprov:patient-pseudonym"
	medprovConsentURNBase = "urn:medprov:consent:"
)

// FHIR R4 data types, as far as the export uses them. Empty values are
// omitted, as FHIR JSON requires.
type (
	fhirCoding struct {
		System  string `json:"system,omitempty"`
		Code    string `json:"code,omitempty"`
		Display string `json:"display,omitempty"`
	}
	fhirCodeableConcept struct {
		Coding []fhirCoding `json:"coding,omitempty"`
		Text   string       `json:"text,omitempty"`
	}
	fhirIdentifier struct {
		System   string         `json:"system,omitempty"`
		Value    string         `json:"value,omitempty"`
		Assigner *fhirReference `json:"assigner,omitempty"`
	}
	fhirReference struct {
		Identifier *fhirIdentifier `json:"identifier,omitempty"`
		Display    string          `json:"display,omitempty"`
	}
	fhirAgent struct {
		Role      []fhirCodeableConcept `json:"role,omitempty"`
		Who       *fhirReference        `json:"who,omitempty"`
		Requestor bool                  `json:"requestor"`
		Policy    []string              `json:"policy,omitempty"`
	}
	fhirSource struct {
		Site     string        `json:"site,omitempty"`
		Observer fhirReference `json:"observer"`
		Type     []fhirCoding  `json:"type,omitempty"`
	}
	fhirDetail struct {
		Type        string `json:"type"`
		ValueString string `json:"valueString"`
	}
	fhirEntity struct {
		What   *fhirReference `json:"what,omitempty"`
		Type   *fhirCoding    `json:"type,omitempty"`
		Role   *fhirCoding    `json:"role,omitempty"`
		Detail []fhirDetail   `json:"detail,omitempty"`
	}
	fhirAuditEvent struct {
		ResourceType   string                `json:"resourceType"`
		ID             string                `json:"id,omitempty"`
		Type           fhirCoding            `json:"type"`
		Subtype        []fhirCoding          `json:"subtype,omitempty"`
		Action         string                `json:"action"`
		Recorded       string                `json:"recorded"`
		Outcome        string                `json:"outcome"`
		OutcomeDesc    string                `json:"outcomeDesc,omitempty"`
		PurposeOfEvent []fhirCodeableConcept `json:"purposeOfEvent,omitempty"`
		Agent          []fhirAgent           `json:"agent"`
		Source         fhirSource            `json:"source"`
		Entity         []fhirEntity          `json:"entity,omitempty"`
	}
)

// fhirEvent maps an access event to a FHIR R4 AuditEvent:
//
//   - id: the transaction ID (64 hex digits, a valid FHIR id);
//   - type: DICOM 110110 "Patient Record" (an access to a patient's
//     record, granted or not);
//   - subtype: for EMERGENCY, v3-ActReason BTG "break the glass"; then one
//     coding per alert, system urn:medprov:alert, code as on the ledger;
//   - action: R (read), for RequestAccess and LogAccess alike;
//   - recorded: the transaction time, RFC 3339 with its fraction;
//   - outcome: 0 (success) for GRANTED and EMERGENCY, 4 (minor failure)
//     for DENIED; outcomeDesc: the decision and its basis or denial
//     reason as ledger codes ("DENIED NO_CONSENT", "GRANTED CONSENT c-1");
//   - purposeOfEvent: the HL7 v3 PurposeOfUse code (system v3-ActReason);
//   - agent: one, the requester, requestor true: who.identifier is the
//     certificate fingerprint (system urn:medprov:cert-sha256) assigned
//     by the requester's organisation (assigner.identifier: system
//     urn:medprov:msp-id, the MSP ID); role: the medprov role (system
//     urn:medprov:role); policy: urn:medprov:consent:<consent ID> for a
//     consent basis;
//   - source: observer the exporting gateway's organisation (system
//     urn:medprov:msp-id), type 4 "Application Server";
//   - entity: the record (what.identifier system urn:medprov:record-id;
//     type 2 System Object, role 4 Domain Resource; detail version,
//     custodian, and when present justificationCode, justificationHash,
//     careRelationship) and the patient (what.identifier system
//     urn:medprov:patient-pseudonym; type 1 Person, role 1 Patient).
func fhirEvent(ev domain.AccessEvent, observer string) fhirAuditEvent {
	out := fhirAuditEvent{
		ResourceType: "AuditEvent",
		ID:           ev.TxID,
		Type:         fhirCoding{System: fhirDICOM, Code: "110110", Display: "Patient Record"},
		Action:       "R",
		Recorded:     ev.At.UTC().Format(time.RFC3339Nano),
		Outcome:      "4",
		Source: fhirSource{
			Site:     "medprov",
			Observer: fhirReference{Identifier: &fhirIdentifier{System: medprovMSPID, Value: observer}},
			Type:     []fhirCoding{{System: fhirSourceType, Code: "4", Display: "Application Server"}},
		},
	}
	if ev.Decision == domain.DecisionGranted || ev.Decision == domain.DecisionEmergency {
		out.Outcome = "0"
	}
	if ev.Decision == domain.DecisionEmergency {
		out.Subtype = append(out.Subtype, fhirCoding{System: fhirActReason, Code: "BTG", Display: "break the glass"})
	}
	for _, a := range ev.Alerts {
		out.Subtype = append(out.Subtype, fhirCoding{System: medprovAlert, Code: string(a)})
	}
	desc := []string{string(ev.Decision)}
	agent := fhirAgent{
		Who: &fhirReference{Identifier: &fhirIdentifier{
			System:   medprovCertSHA256,
			Value:    ev.Requester.CertFingerprint,
			Assigner: &fhirReference{Identifier: &fhirIdentifier{System: medprovMSPID, Value: ev.Requester.MSPID}, Display: ev.Requester.MSPID},
		}},
		Requestor: true,
	}
	if ev.Requester.Role != "" {
		agent.Role = []fhirCodeableConcept{{Coding: []fhirCoding{{System: medprovRole, Code: string(ev.Requester.Role)}}}}
	}
	record := fhirEntity{
		What:   &fhirReference{Identifier: &fhirIdentifier{System: medprovRecordID, Value: ev.RecordID}},
		Type:   &fhirCoding{System: fhirEntityType, Code: "2", Display: "System Object"},
		Role:   &fhirCoding{System: fhirObjectRole, Code: "4", Display: "Domain Resource"},
		Detail: []fhirDetail{{Type: "version", ValueString: strconv.Itoa(ev.Version)}},
	}
	if ev.Custodian != "" {
		record.Detail = append(record.Detail, fhirDetail{Type: "custodian", ValueString: ev.Custodian})
	}
	if b := ev.Basis; b != nil {
		desc = append(desc, string(b.Type))
		if b.ConsentID != "" {
			desc = append(desc, b.ConsentID)
			agent.Policy = []string{medprovConsentURNBase + b.ConsentID}
		}
		if b.JustificationCode != "" {
			desc = append(desc, string(b.JustificationCode))
			record.Detail = append(record.Detail, fhirDetail{Type: "justificationCode", ValueString: string(b.JustificationCode)})
		}
		if b.JustificationHash != "" {
			record.Detail = append(record.Detail, fhirDetail{Type: "justificationHash", ValueString: b.JustificationHash})
		}
	}
	if ev.DenialReason != "" {
		desc = append(desc, string(ev.DenialReason))
	}
	if ev.CareRelationship != nil {
		record.Detail = append(record.Detail, fhirDetail{Type: "careRelationship", ValueString: strconv.FormatBool(*ev.CareRelationship)})
	}
	out.OutcomeDesc = strings.Join(desc, " ")
	if ev.Purpose != "" {
		out.PurposeOfEvent = []fhirCodeableConcept{{Coding: []fhirCoding{{System: fhirActReason, Code: string(ev.Purpose)}}}}
	}
	out.Agent = []fhirAgent{agent}
	out.Entity = []fhirEntity{record}
	if ev.Patient != "" {
		out.Entity = append(out.Entity, fhirEntity{
			What: &fhirReference{Identifier: &fhirIdentifier{System: medprovPseudonym, Value: ev.Patient}},
			Type: &fhirCoding{System: fhirEntityType, Code: "1", Display: "Person"},
			Role: &fhirCoding{System: fhirObjectRole, Code: "1", Display: "Patient"},
		})
	}
	return out
}
