package convert_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/internal/server/convert"
)

// Synthetic identifiers: no real patient, record or organisation.
const (
	testPatient     = "pt-0123456789abcdef0123456789abcdef01234567"
	testTxID        = "1111111111111111111111111111111111111111111111111111111111111111"
	testTxID2       = "2222222222222222222222222222222222222222222222222222222222222222"
	testCommitment  = "3333333333333333333333333333333333333333333333333333333333333333"
	testFingerprint = "4444444444444444444444444444444444444444444444444444444444444444"
	testHash        = "5555555555555555555555555555555555555555555555555555555555555555"
)

// at returns a fixed UTC time plus d; the base has a fraction of a second,
// so that a conversion dropping nanoseconds shows.
func at(d time.Duration) time.Time {
	return time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC).Add(d)
}

// wantFieldError fails unless err is a *FieldError on field, seen by
// errors.Is as domain.ErrInvalidArgument, whose message starts with
// "field: want ".
func wantFieldError(t *testing.T, err error, field string) *convert.FieldError {
	t.Helper()
	var fe *convert.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T); want a *convert.FieldError on %s", err, err, field)
	}
	if fe.Field != field {
		t.Errorf("FieldError.Field = %q; want %q (error %q)", fe.Field, field, err)
	}
	if !strings.HasPrefix(err.Error(), field+": want ") {
		t.Errorf("error %q; want it to start with %q", err, field+": want ")
	}
	if !errors.Is(err, domain.ErrInvalidArgument) {
		t.Errorf("errors.Is(%v, domain.ErrInvalidArgument) = false; want true", err)
	}
	return fe
}

// wantAllSet fails for every field of m, recursively, that is not set:
// a scalar at its zero value, an empty list, an UNSPECIFIED enum, an unset
// message. It shows that a conversion of a fully populated domain value
// forgets no field of the API message.
func wantAllSet(t *testing.T, m proto.Message) {
	t.Helper()
	walkUnset(m.ProtoReflect(), string(m.ProtoReflect().Descriptor().Name()), func(path string) {
		t.Errorf("%s is not set", path)
	})
}

func walkUnset(m protoreflect.Message, path string, unset func(string)) {
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		p := path + "." + string(fd.Name())
		if !m.Has(fd) {
			unset(p)
			continue
		}
		switch {
		case fd.IsList():
			l := m.Get(fd).List()
			for j := range l.Len() {
				if fd.Kind() == protoreflect.EnumKind && l.Get(j).Enum() == 0 {
					unset(p)
				}
				if fd.Kind() == protoreflect.MessageKind {
					walkUnset(l.Get(j).Message(), p, unset)
				}
			}
		case fd.Kind() == protoreflect.MessageKind && fd.Message().FullName() != "google.protobuf.Timestamp":
			walkUnset(m.Get(fd).Message(), p, unset)
		}
	}
}

// wantProto fails when got and want differ, showing both.
func wantProto(t *testing.T, got, want proto.Message) {
	t.Helper()
	if !proto.Equal(got, want) {
		t.Errorf("conversion differs\ngot:  %s\nwant: %s", prototext.Format(got), prototext.Format(want))
	}
}
