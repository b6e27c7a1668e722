package ledger

import "time"

// AuditQuery is the argument of AccessHistory. At most one of RecordID,
// Patient and RequesterMSP narrows the trail; From and To bound it by
// transaction time (From inclusive, To exclusive). Without a narrowing field
// the query walks the time index day by day, so the window is required to
// be at most MaxAuditWindow and defaults to the 30 days before the
// transaction time.
type AuditQuery struct {
	RecordID     string `json:"recordId,omitempty"`
	Patient      string `json:"patient,omitempty"`
	RequesterMSP string `json:"requesterMsp,omitempty"`
	From         string `json:"from,omitempty"`
	To           string `json:"to,omitempty"`
	PageSize     int    `json:"pageSize,omitempty"`
	Bookmark     string `json:"bookmark,omitempty"`
}

// MaxAuditWindow bounds a time-only audit query or an alerts query.
const MaxAuditWindow = 366 * 24 * time.Hour

// DefaultAuditWindow is used when a time-only query gives no From.
const DefaultAuditWindow = 30 * 24 * time.Hour

// AuditWindow is a validated query window.
type AuditWindow struct {
	From, To time.Time
	Bounded  bool // true when the caller gave From or To
}

// Validate checks the query and resolves its window against now, the
// transaction time.
func (q AuditQuery) Validate(now time.Time) (AuditWindow, error) {
	n := 0
	if q.RecordID != "" {
		n++
		if err := CheckID("query.recordId", q.RecordID); err != nil {
			return AuditWindow{}, err
		}
	}
	if q.Patient != "" {
		n++
		if err := CheckPseudonym("query.patient", q.Patient); err != nil {
			return AuditWindow{}, err
		}
	}
	if q.RequesterMSP != "" {
		n++
		if err := CheckMSPID("query.requesterMsp", q.RequesterMSP); err != nil {
			return AuditWindow{}, err
		}
	}
	if n > 1 {
		return AuditWindow{}, InvalidArgument("query", "want at most one of recordId, patient and requesterMsp")
	}
	w, err := parseWindow("query", q.From, q.To, now, n == 0)
	if err != nil {
		return AuditWindow{}, err
	}
	if q.PageSize < 0 || q.PageSize > MaxPageSize {
		return AuditWindow{}, InvalidArgument("query.pageSize", "want a page size from 1 to %d, or 0 for %d", MaxPageSize, DefaultPageSize)
	}
	return w, CheckBookmark("query.bookmark", q.Bookmark)
}

// AlertQuery is the argument of Alerts: a time window (default the 30 days
// before the transaction time, at most MaxAuditWindow) and a page.
type AlertQuery struct {
	From     string `json:"from,omitempty"`
	To       string `json:"to,omitempty"`
	PageSize int    `json:"pageSize,omitempty"`
	Bookmark string `json:"bookmark,omitempty"`
}

// Validate checks the query and resolves its window against now.
func (q AlertQuery) Validate(now time.Time) (AuditWindow, error) {
	w, err := parseWindow("query", q.From, q.To, now, true)
	if err != nil {
		return AuditWindow{}, err
	}
	if q.PageSize < 0 || q.PageSize > MaxPageSize {
		return AuditWindow{}, InvalidArgument("query.pageSize", "want a page size from 1 to %d, or 0 for %d", MaxPageSize, DefaultPageSize)
	}
	return w, CheckBookmark("query.bookmark", q.Bookmark)
}

// PageSizeOrDefault returns n, or DefaultPageSize when n is 0.
func PageSizeOrDefault(n int) int32 {
	if n == 0 {
		return DefaultPageSize
	}
	return int32(n)
}

func parseWindow(arg, from, to string, now time.Time, bounded bool) (AuditWindow, error) {
	w := AuditWindow{Bounded: from != "" || to != ""}
	var err error
	if to == "" {
		// One second past now, so that an event of this very second is in.
		w.To = now.Truncate(time.Second).Add(time.Second)
	} else if w.To, err = ParseTime(arg+".to", to); err != nil {
		return w, err
	}
	switch {
	case from != "":
		if w.From, err = ParseTime(arg+".from", from); err != nil {
			return w, err
		}
	case bounded:
		w.From = w.To.Add(-DefaultAuditWindow)
	}
	if !w.To.After(w.From) {
		return w, InvalidArgument(arg+".to", "want a time after from")
	}
	if bounded && w.To.Sub(w.From) > MaxAuditWindow {
		return w, InvalidArgument(arg+".from", "want a window of at most 366 days; narrow it or page through several windows")
	}
	return w, nil
}

// Page is one page of a list: the items and the bookmark of the next page,
// empty on the last one.
type Page[T any] struct {
	Items    []T    `json:"items"`
	Bookmark string `json:"bookmark"`
}
