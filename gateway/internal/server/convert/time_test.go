package convert_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/medprov/medprov/gateway/internal/server/convert"
)

func TestTimesRoundTripThroughTimestamps(t *testing.T) {
	tests := map[string]struct {
		in time.Time
	}{
		"a time with nanoseconds keeps them":      {in: time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)},
		"a time in another zone comes back UTC":   {in: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600))},
		"the first second of year 1 is kept":      {in: time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC)},
		"the last nanosecond of 9999 is kept":     {in: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		"the Unix epoch is a time, not unset":     {in: time.Unix(0, 0)},
		"a time before the Unix epoch is kept":    {in: time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC)},
		"a time with a monotonic reading is kept": {in: time.Now()},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ts := convert.Timestamp(tc.in)
			if ts == nil {
				t.Fatal("Timestamp is nil")
			}
			got, err := convert.TimeFromProto("t", ts)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tc.in) || got.Location() != time.UTC {
				t.Errorf("round trip gives %v; want %v in UTC", got, tc.in)
			}
		})
	}
}

func TestTimestampLeavesZeroAndUnrepresentableTimesUnset(t *testing.T) {
	tests := map[string]time.Time{
		"the zero time":        {},
		"a time after 9999":    time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		"a time before year 1": time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC),
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if ts := convert.Timestamp(in); ts != nil {
				t.Errorf("Timestamp = %v; want nil", ts)
			}
		})
	}
}

func TestTimeFromProto(t *testing.T) {
	tests := map[string]struct {
		in      *timestamppb.Timestamp
		want    time.Time
		wantErr bool
	}{
		"an unset timestamp is the zero time": {in: nil, want: time.Time{}},
		"a valid timestamp is its time":       {in: &timestamppb.Timestamp{Seconds: 1767225600, Nanos: 5}, want: time.Date(2026, 1, 1, 0, 0, 0, 5, time.UTC)},
		"nanos of a full second are refused":  {in: &timestamppb.Timestamp{Seconds: 1, Nanos: 1_000_000_000}, wantErr: true},
		"negative nanos are refused":          {in: &timestamppb.Timestamp{Seconds: 1, Nanos: -1}, wantErr: true},
		"a time after 9999 is refused":        {in: &timestamppb.Timestamp{Seconds: 253402300800}, wantErr: true},
		"a time before year 1 is refused":     {in: &timestamppb.Timestamp{Seconds: -62135596801}, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := convert.TimeFromProto("filter.start_time", tc.in)
			if tc.wantErr {
				wantFieldError(t, err, "filter.start_time")
				if !got.IsZero() {
					t.Errorf("time %v with the error; want zero", got)
				}
				return
			}
			if err != nil || !got.Equal(tc.want) {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestLedgerTimeFromProto(t *testing.T) {
	tests := map[string]struct {
		in      *timestamppb.Timestamp
		want    string
		wantErr bool
	}{
		"an unset timestamp is not given":    {in: nil, want: ""},
		"whole seconds are written in UTC":   {in: timestamppb.New(time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)), want: "2026-01-02T15:04:05Z"},
		"year 1 is written with four digits": {in: timestamppb.New(time.Date(1, 2, 3, 4, 5, 6, 0, time.UTC)), want: "0001-02-03T04:05:06Z"},
		"the last second of 9999 is written": {in: timestamppb.New(time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)), want: "9999-12-31T23:59:59Z"},
		"a fraction of a second is refused":  {in: &timestamppb.Timestamp{Seconds: 1767225600, Nanos: 1}, wantErr: true},
		"a time after 9999 is refused":       {in: &timestamppb.Timestamp{Seconds: 253402300800}, wantErr: true},
		"nanos outside a second are refused": {in: &timestamppb.Timestamp{Seconds: 1767225600, Nanos: -1}, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := convert.LedgerTimeFromProto("filter.end_time", tc.in)
			if tc.wantErr {
				wantFieldError(t, err, "filter.end_time")
				if got != "" {
					t.Errorf("got %q with the error; want empty", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
