package convert

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	domain "github.com/medprov/medprov/chaincode/ledger"
)

// wantTimestamp is what a timestamp field must hold.
const wantTimestamp = "a timestamp from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z"

// wantLedgerTime is what a timestamp in whole seconds must hold.
const wantLedgerTime = "a timestamp in whole seconds (nanos 0) from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z"

// Timestamp returns t as a timestamp. The zero time, and a time outside the
// range a timestamp can hold (years 1 to 9999, never a transaction time),
// give nil: the field is unset.
func Timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	ts := timestamppb.New(t)
	if ts.CheckValid() != nil {
		return nil
	}
	return ts
}

// timestampPtr is Timestamp of *t, or nil.
func timestampPtr(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return Timestamp(*t)
}

// ledgerTimestamp parses a time written in domain.TimeLayout (a signed
// validity window); anything else gives nil. Unlike Timestamp, it keeps
// 0001-01-01T00:00:00Z, the zero time.Time: a patient may sign it, and the
// signed string must survive the round trip.
func ledgerTimestamp(s string) *timestamppb.Timestamp {
	t, err := time.Parse(domain.TimeLayout, s)
	if err != nil || t.Format(domain.TimeLayout) != s {
		return nil
	}
	ts := timestamppb.New(t)
	if ts.CheckValid() != nil {
		return nil
	}
	return ts
}

// TimeFromProto returns ts as a time in UTC. An unset timestamp (nil) is
// the zero time, as is 0001-01-01T00:00:00Z, the zero time.Time; a
// timestamp out of range or with nanos outside 0 to 999999999 is a
// *FieldError naming field.
func TimeFromProto(field string, ts *timestamppb.Timestamp) (time.Time, error) {
	if ts == nil {
		return time.Time{}, nil
	}
	if ts.CheckValid() != nil {
		return time.Time{}, fieldErr(field, wantTimestamp)
	}
	return ts.AsTime(), nil
}

// LedgerTimeFromProto returns ts written in domain.TimeLayout
// ("2006-01-02T15:04:05Z"), the only time format of ledger arguments and
// signed documents. An unset timestamp (nil) is the empty string, which
// the ledger reads as "not given"; a timestamp out of range or with
// nonzero nanos is a *FieldError naming field: a fraction of a second is
// refused, never truncated, since the string may be signed.
func LedgerTimeFromProto(field string, ts *timestamppb.Timestamp) (string, error) {
	if ts == nil {
		return "", nil
	}
	if ts.CheckValid() != nil || ts.GetNanos() != 0 {
		return "", fieldErr(field, wantLedgerTime)
	}
	return ts.AsTime().Format(domain.TimeLayout), nil
}
