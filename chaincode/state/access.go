package state

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/medprov/medprov/chaincode/ledger"
)

// AccessEvent returns a committed access event, or ledger.ErrNotFound.
func (s *Store) AccessEvent(txID string) (ledger.AccessEvent, error) {
	k, err := s.key(objAccess, txID)
	if err != nil {
		return ledger.AccessEvent{}, err
	}
	var ev ledger.AccessEvent
	err = s.read(k, ledger.KindAccessEvent, "access event "+txID, &ev)
	return ev, err
}

// PutAccessEvent writes an access event and its index entries: by record;
// by patient, by requester and by day, each once for every custodian ("*",
// read by auditors) and once under the record's custodian (read by the
// custodian); and, for events with alerts, by day in the alert index.
func (s *Store) PutAccessEvent(ev ledger.AccessEvent) error {
	ev.Kind, ev.SchemaVersion = ledger.KindAccessEvent, ledger.SchemaVersion
	k, err := s.key(objAccess, ev.TxID)
	if err != nil {
		return err
	}
	if err := s.write(k, ev); err != nil {
		return err
	}
	for _, attrs := range accessIndexKeys(ev) {
		if err := s.mark(objAccessIndex, attrs...); err != nil {
			return err
		}
	}
	return nil
}

func accessIndexKeys(ev ledger.AccessEvent) [][]string {
	ts, day := keyTime(ev.At), dayOf(ev.At)
	keys := [][]string{{dimRecord, scopeAll, ev.RecordID, ts, ev.TxID}}
	for _, scope := range []string{scopeAll, ev.Custodian} {
		keys = append(keys,
			[]string{dimPatient, scope, ev.Patient, ts, ev.TxID},
			[]string{dimRequester, scope, ev.Requester.MSPID, ts, ev.TxID},
			[]string{dimDay, scope, day, ts, ev.TxID},
		)
		if len(ev.Alerts) > 0 {
			keys = append(keys, []string{dimAlert, scope, day, ts, ev.TxID})
		}
	}
	return keys
}

// FirstRecordAccess returns the earliest access event of record recordID
// that match accepts. It reads the record's index entries (every event
// about the record, of any requester and version) in time order and loads
// each event, stopping at the first match or after limit entries: at most
// one range read of limit+1 index keys and limit event reads. found reports
// a match; truncated reports that limit entries were read without one and
// more remain. It is a plain range query, so it may run in a transaction
// that writes; the keys it reads join the read set.
func (s *Store) FirstRecordAccess(recordID string, limit int, match func(ledger.AccessEvent) bool) (ev ledger.AccessEvent, found, truncated bool, err error) {
	it, err := s.stub.GetStateByPartialCompositeKey(objAccessIndex, []string{dimRecord, scopeAll, recordID})
	if err != nil {
		return ledger.AccessEvent{}, false, false, ledger.Internal("range query", err)
	}
	defer it.Close()
	for read := 0; it.HasNext(); read++ {
		if read == limit {
			return ledger.AccessEvent{}, false, true, nil
		}
		kv, err := it.Next()
		if err != nil {
			return ledger.AccessEvent{}, false, false, ledger.Internal("range query", err)
		}
		_, attrs, err := s.stub.SplitCompositeKey(kv.Key)
		if err != nil {
			return ledger.AccessEvent{}, false, false, ledger.Internal("split key", err)
		}
		if len(attrs) != 5 {
			return ledger.AccessEvent{}, false, false, ledger.Internal("access index key", fmt.Errorf("%d attributes, want 5", len(attrs)))
		}
		e, err := s.AccessEvent(attrs[4])
		if isNotFound(err) {
			return ledger.AccessEvent{}, false, false, ledger.Internal("access index", fmt.Errorf("an entry of record %s names no stored event", recordID))
		}
		if err != nil {
			return ledger.AccessEvent{}, false, false, err
		}
		if match(e) {
			return e, true, false, nil
		}
	}
	return ledger.AccessEvent{}, false, false, nil
}

// denialCounter counts one organisation's denials in one hour.
type denialCounter struct {
	document
	Count int `json:"count"`
}

// CountDenial adds one to the requester's denial count for the hour of at
// and returns the new count.
func (s *Store) CountDenial(requesterMSP string, at time.Time) (int, error) {
	k, err := s.key(objDenials, requesterMSP, at.UTC().Format("2006-01-02T15"))
	if err != nil {
		return 0, err
	}
	c := denialCounter{document: document{Kind: ledger.KindDenialCounter, SchemaVersion: ledger.SchemaVersion}}
	if err := s.read(k, ledger.KindDenialCounter, "denial counter", &c); err != nil && !isNotFound(err) {
		return 0, err
	}
	c.Count++
	return c.Count, s.write(k, c)
}

func isNotFound(err error) bool {
	e, ok := err.(*ledger.Error)
	return ok && e.Code == ledger.CodeNotFound
}

// AccessScope says whose events a query may see: every custodian's (for
// auditors) or one custodian's.
type AccessScope struct {
	Custodian string // empty for every custodian
}

func (sc AccessScope) attr() string {
	if sc.Custodian == "" {
		return scopeAll
	}
	return sc.Custodian
}

// AccessByRecord returns one page of a record's access events in time order.
// The caller has checked that the scope may see the record.
func (s *Store) AccessByRecord(recordID string, w ledger.AuditWindow, size int32, bookmark string) (ledger.Page[ledger.AccessEvent], error) {
	return s.accessRun("record", []string{dimRecord, scopeAll, recordID}, w, size, bookmark)
}

// AccessByPatient returns one page of a patient's access events.
func (s *Store) AccessByPatient(scope AccessScope, patient string, w ledger.AuditWindow, size int32, bookmark string) (ledger.Page[ledger.AccessEvent], error) {
	return s.accessRun("patient", []string{dimPatient, scope.attr(), patient}, w, size, bookmark)
}

// AccessByRequester returns one page of the access events of one requesting
// organisation.
func (s *Store) AccessByRequester(scope AccessScope, requesterMSP string, w ledger.AuditWindow, size int32, bookmark string) (ledger.Page[ledger.AccessEvent], error) {
	return s.accessRun("requester", []string{dimRequester, scope.attr(), requesterMSP}, w, size, bookmark)
}

// AccessByTime returns one page of all access events in a window.
func (s *Store) AccessByTime(scope AccessScope, w ledger.AuditWindow, size int32, bookmark string) (ledger.Page[ledger.AccessEvent], error) {
	return s.accessDays("time", dimDay, scope, w, size, bookmark)
}

// Alerts returns one page of the events with alerts in a window.
func (s *Store) Alerts(scope AccessScope, w ledger.AuditWindow, size int32, bookmark string) (ledger.Page[ledger.AccessEvent], error) {
	return s.accessDays("alerts", dimAlert, scope, w, size, bookmark)
}

// accessRun pages through one index prefix in time order, skipping entries
// before the window and stopping at its end.
func (s *Store) accessRun(tag string, prefix []string, w ledger.AuditWindow, size int32, bookmark string) (ledger.Page[ledger.AccessEvent], error) {
	inner, err := decodeBookmark("query.bookmark", tag, bookmark)
	if err != nil {
		return ledger.Page[ledger.AccessEvent]{}, err
	}
	events, next, err := s.collect(prefix, w, size, inner)
	if err != nil {
		return ledger.Page[ledger.AccessEvent]{}, err
	}
	return ledger.Page[ledger.AccessEvent]{Items: events, Bookmark: encodeBookmark(tag, next)}, nil
}

// accessDays pages through a day-bucketed index, one day's prefix after
// another, from the window's first day to its last. The bookmark holds the
// window, the current day and the shim bookmark within it: a query that gave
// no window keeps the one its first page resolved, so the default window
// does not slide between pages.
func (s *Store) accessDays(tag, dim string, scope AccessScope, w ledger.AuditWindow, size int32, bookmark string) (ledger.Page[ledger.AccessEvent], error) {
	cursor, err := decodeBookmark("query.bookmark", tag, bookmark)
	if err != nil {
		return ledger.Page[ledger.AccessEvent]{}, err
	}
	var day, inner string
	if cursor != "" {
		if w, day, inner, err = resumeDays(cursor, w); err != nil {
			return ledger.Page[ledger.AccessEvent]{}, err
		}
	}
	first, last := dayOf(w.From), dayOf(w.To.Add(-time.Nanosecond))
	if day == "" {
		day = first
	}
	if day < first || day > last {
		return ledger.Page[ledger.AccessEvent]{}, ledger.InvalidArgument("query.bookmark", "want a bookmark returned by a previous page of the same query")
	}
	mark := func(day, inner string) string {
		return encodeBookmark(tag, fmt.Sprintf("%d|%d|%s|%s", w.From.UnixNano(), w.To.UnixNano(), day, inner))
	}
	var out []ledger.AccessEvent
	for {
		events, next, err := s.collect([]string{dim, scope.attr(), day}, w, size-int32(len(out)), inner)
		if err != nil {
			return ledger.Page[ledger.AccessEvent]{}, err
		}
		out = append(out, events...)
		if next != "" {
			return ledger.Page[ledger.AccessEvent]{Items: out, Bookmark: mark(day, next)}, nil
		}
		if day == last {
			return ledger.Page[ledger.AccessEvent]{Items: out, Bookmark: ""}, nil
		}
		day, inner = nextDay(day), ""
		if int32(len(out)) == size {
			return ledger.Page[ledger.AccessEvent]{Items: out, Bookmark: mark(day, "")}, nil
		}
	}
}

// resumeDays reads a day-index cursor: "fromNanos|toNanos|day|inner". A
// query without its own window takes the cursor's; one with a window must
// give the same one.
func resumeDays(cursor string, w ledger.AuditWindow) (ledger.AuditWindow, string, string, error) {
	bad := ledger.InvalidArgument("query.bookmark", "want a bookmark returned by a previous page of the same query")
	parts := strings.SplitN(cursor, "|", 4)
	if len(parts) != 4 {
		return w, "", "", bad
	}
	from, err1 := strconv.ParseInt(parts[0], 10, 64)
	to, err2 := strconv.ParseInt(parts[1], 10, 64)
	if _, err3 := time.Parse("2006-01-02", parts[2]); err1 != nil || err2 != nil || err3 != nil {
		return w, "", "", bad
	}
	saved := ledger.AuditWindow{From: time.Unix(0, from).UTC(), To: time.Unix(0, to).UTC()}
	if !saved.To.After(saved.From) || saved.To.Sub(saved.From) > ledger.MaxAuditWindow {
		return w, "", "", bad
	}
	if !w.Bounded {
		return saved, parts[2], parts[3], nil
	}
	if !saved.From.Equal(w.From) || !saved.To.Equal(w.To) {
		return w, "", "", ledger.InvalidArgument("query.bookmark", "want the same from and to as the query that returned the bookmark")
	}
	return w, parts[2], parts[3], nil
}

func nextDay(day string) string {
	t, _ := time.Parse("2006-01-02", day)
	return t.AddDate(0, 0, 1).Format("2006-01-02")
}

// collect reads up to size events under one index prefix (attributes:
// dimension, scope, value; then time and txID), from a shim bookmark, keeping
// those inside the window. It returns the shim bookmark to continue from,
// empty when the prefix or the window is exhausted.
func (s *Store) collect(prefix []string, w ledger.AuditWindow, size int32, inner string) ([]ledger.AccessEvent, string, error) {
	from, to := keyTime(w.From), keyTime(w.To)
	var out []ledger.AccessEvent
	for int32(len(out)) < size {
		sc, err := s.page("query.bookmark", objAccessIndex, prefix, size-int32(len(out)), inner)
		if err != nil {
			return nil, "", err
		}
		for _, a := range sc.attrs {
			ts, txID := a[3], a[4]
			if ts < from {
				continue
			}
			if ts >= to {
				return out, "", nil
			}
			ev, err := s.AccessEvent(txID)
			if err != nil {
				return nil, "", err
			}
			out = append(out, ev)
		}
		if sc.bookmark == "" {
			return out, "", nil
		}
		inner = sc.bookmark
	}
	return out, inner, nil
}
