package server

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/internal/ledger"
	"github.com/medprov/medprov/gateway/internal/server/convert"
)

// auditService implements AuditService: it reads the access trail on the
// ledger as the caller, so the chaincode's rules decide who sees what
// (auditors every event on the channel; records officers and admins the
// events about their organisation's records; everyone else
// PERMISSION_DENIED). The gateway checks the form of each request and
// never adds a policy of its own.
type auditService struct {
	gatewayv1.UnimplementedAuditServiceServer
	s *Server
}

// AccessTrail returns one page of the access events a filter selects.
// Errors: INVALID_ARGUMENT (a field of filter, page_size, page_token),
// NOT_FOUND (a record a non-auditor's organisation does not hold),
// PERMISSION_DENIED (role).
func (a *auditService) AccessTrail(ctx context.Context, req *gatewayv1.AccessTrailRequest) (*gatewayv1.AccessTrailResponse, error) {
	id, err := user(ctx)
	if err != nil {
		return nil, err
	}
	q, _, err := a.s.trailQuery(req.GetFilter())
	if err != nil {
		return nil, err
	}
	if err := checkPage(req.GetPageSize(), req.GetPageToken()); err != nil {
		return nil, err
	}
	q.PageSize, q.Bookmark = int(req.GetPageSize()), req.GetPageToken()
	page, err := a.s.accessHistory(ctx, id.Ledger(), q)
	if err != nil {
		return nil, err
	}
	return &gatewayv1.AccessTrailResponse{Events: protoList(page.Items, convert.AccessEvent), NextPageToken: page.Bookmark}, nil
}

// Alerts returns one page of the access events that carry an alert.
// Errors: INVALID_ARGUMENT (a time, the window, page_size, page_token),
// PERMISSION_DENIED (role).
func (a *auditService) Alerts(ctx context.Context, req *gatewayv1.AlertsRequest) (*gatewayv1.AlertsResponse, error) {
	id, err := user(ctx)
	if err != nil {
		return nil, err
	}
	w, err := a.s.checkWindow("start_time", "end_time", req.GetStartTime(), req.GetEndTime(), true)
	if err != nil {
		return nil, err
	}
	if err := checkPage(req.GetPageSize(), req.GetPageToken()); err != nil {
		return nil, err
	}
	q := domain.AlertQuery{From: w.from, To: w.to, PageSize: int(req.GetPageSize()), Bookmark: req.GetPageToken()}
	page, err := evaluateQuery[domain.AccessEvent](ctx, a.s.d.Ledger, id.Ledger(), "alerts", windowArgField("start_time", "end_time"), domain.TxAlerts, q)
	if err != nil {
		return nil, err
	}
	return &gatewayv1.AlertsResponse{Events: protoList(page.Items, convert.AccessEvent), NextPageToken: page.Bookmark}, nil
}

// trailQuery checks a TrailFilter and returns it as the chaincode's
// AuditQuery (without page size and bookmark) and its resolved window.
// AccessHistory supports exactly these combinations: at most one of
// record_id, patient and requester_msp_id, each with an optional window;
// without one of them, the window is at most 366 days (default: the 30
// days before end_time). An unset filter selects the default window.
// Errors: INVALID_ARGUMENT naming the field.
func (s *Server) trailQuery(f *gatewayv1.TrailFilter) (domain.AuditQuery, trailWindow, error) {
	q := domain.AuditQuery{RecordID: f.GetRecordId(), Patient: f.GetPatient(), RequesterMSP: f.GetRequesterMspId()}
	n := 0
	if q.RecordID != "" {
		n++
		if err := argStatus(domain.CheckID("filter.record_id", q.RecordID)); err != nil {
			return q, trailWindow{}, err
		}
	}
	if q.Patient != "" {
		n++
		if err := argStatus(domain.CheckPseudonym("filter.patient", q.Patient)); err != nil {
			return q, trailWindow{}, err
		}
	}
	if q.RequesterMSP != "" {
		n++
		if err := argStatus(domain.CheckMSPID("filter.requester_msp_id", q.RequesterMSP)); err != nil {
			return q, trailWindow{}, err
		}
	}
	if n > 1 {
		return q, trailWindow{}, status.Error(codes.InvalidArgument, "filter: want at most one of record_id, patient and requester_msp_id")
	}
	w, err := s.checkWindow("filter.start_time", "filter.end_time", f.GetStartTime(), f.GetEndTime(), n == 0)
	if err != nil {
		return q, trailWindow{}, err
	}
	q.From, q.To = w.from, w.to
	return q, w, nil
}

// accessHistory evaluates one page of AccessHistory as identity id, with
// the chaincode's argument errors renamed to the request's fields.
func (s *Server) accessHistory(ctx context.Context, id ledger.Identity, q domain.AuditQuery) (domain.Page[domain.AccessEvent], error) {
	return evaluateQuery[domain.AccessEvent](ctx, s.d.Ledger, id, "access history", trailArgField, domain.TxAccessHistory, q)
}

// trailArgField names the fields of the chaincode's AuditQuery as those of
// AccessTrailRequest and ExportTrailRequest.
func trailArgField(name string) string {
	switch name {
	case "query":
		return "filter"
	case "query.recordId":
		return "filter.record_id"
	case "query.patient":
		return "filter.patient"
	case "query.requesterMsp":
		return "filter.requester_msp_id"
	case "query.from":
		return "filter.start_time"
	case "query.to":
		return "filter.end_time"
	}
	return windowArgField("start_time", "end_time")(name)
}

// windowArgField names the fields of the chaincode's AuditQuery and
// AlertQuery for a request with top-level start and end fields.
func windowArgField(start, end string) func(string) string {
	return func(name string) string {
		switch name {
		case "query.from":
			return start
		case "query.to":
			return end
		case "query.pageSize":
			return "page_size"
		case "query.bookmark":
			return "page_token"
		}
		return snakeCase(name)
	}
}

// trailWindow is a checked time window: from and to as the chaincode takes
// them ("" when not given), and the bounds they resolve to, with to
// defaulting to the current second plus one (as the chaincode's default)
// and from to the 30 days before to (bounded) or the zero time.
type trailWindow struct {
	from, to     string
	fromT, toT   time.Time
	start, until bool // whether from and to were given
}

// checkWindow checks a window given by the timestamps of the fields named
// startField and endField: each in whole seconds, end after start, and, for
// a bounded query (one without a narrowing filter, or Alerts), at most
// domain.MaxAuditWindow long. Errors: INVALID_ARGUMENT naming the field.
func (s *Server) checkWindow(startField, endField string, start, end *timestamppb.Timestamp, bounded bool) (trailWindow, error) {
	var w trailWindow
	var err error
	if w.from, err = convert.LedgerTimeFromProto(startField, start); err != nil {
		return w, err
	}
	if w.to, err = convert.LedgerTimeFromProto(endField, end); err != nil {
		return w, err
	}
	w.start, w.until = start != nil, end != nil
	if w.until {
		w.toT = end.AsTime()
	} else {
		w.toT = s.d.Now().UTC().Truncate(time.Second).Add(time.Second)
	}
	switch {
	case w.start:
		w.fromT = start.AsTime()
	case bounded:
		w.fromT = w.toT.Add(-domain.DefaultAuditWindow)
	}
	if w.start && !w.toT.After(w.fromT) {
		if w.until {
			return w, status.Errorf(codes.InvalidArgument, "%s: want a time after %s", endField, startField)
		}
		return w, status.Errorf(codes.InvalidArgument, "%s: want a time in the past when %s is unset (it defaults to now)", startField, endField)
	}
	if bounded && w.toT.Sub(w.fromT) > domain.MaxAuditWindow {
		return w, status.Errorf(codes.InvalidArgument, "%s: want a window of at most 366 days; narrow it, or page through several windows", startField)
	}
	return w, nil
}
