package convert_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/gateway/internal/server/convert"
)

// Bits of FuzzConsentGrantFromProto's unset argument: which optional
// messages the fuzzed grant leaves unset.
const (
	unsetGrantee = 1 << iota
	unsetScope
	unsetNotBefore
	unsetNotAfter
)

// FuzzConsentGrantFromProto builds a proto grant from fuzzed fields: lists
// as comma-separated strings, purposes one signed byte each, any enum
// number, any timestamp. The conversion must never panic; a failure must
// be a *FieldError on a field of the grant; a success must convert the
// same way twice and survive the trip back through ConsentGrant and the
// wire with the same canonical encoding.
func FuzzConsentGrantFromProto(f *testing.F) {
	f.Add("consent-0001", testPatient, "HospitalBMSP", int32(1), false, "rec-0001,rec-0002", "11506-3", []byte{1, 3}, int32(4),
		int64(1767225600), int32(0), int64(1798761600), int32(0), uint64(1), uint8(0))
	f.Add("consent-0002", testPatient, "Org3MSP", int32(0), true, "", "", []byte{7}, int32(6),
		int64(-62135596800), int32(0), int64(253402300799), int32(0), uint64(1<<64-1), uint8(0))
	f.Add("", "", "", int32(99), false, ",,", ",", []byte{0, 0x80, 0xff}, int32(-1),
		int64(0), int32(1), int64(1<<40), int32(-1), uint64(0), uint8(unsetGrantee|unsetScope|unsetNotBefore|unsetNotAfter))
	f.Fuzz(func(t *testing.T, consentID, patient, msp string, role int32, all bool, recordIDs, docTypes string,
		purposes []byte, maxConf int32, nbSec int64, nbNanos int32, naSec int64, naNanos int32, seq uint64, unset uint8,
	) {
		p := &gatewayv1.ConsentGrant{
			ConsentId:          consentID,
			Patient:            patient,
			Grantee:            &gatewayv1.Grantee{MspId: msp, Role: gatewayv1.Role(role)},
			Scope:              &gatewayv1.ConsentScope{All: all, RecordIds: split(recordIDs), DocTypes: split(docTypes)},
			MaxConfidentiality: gatewayv1.Confidentiality(maxConf),
			NotBefore:          &timestamppb.Timestamp{Seconds: nbSec, Nanos: nbNanos},
			NotAfter:           &timestamppb.Timestamp{Seconds: naSec, Nanos: naNanos},
			Sequence:           seq,
		}
		for _, b := range purposes {
			p.Purposes = append(p.Purposes, gatewayv1.PurposeOfUse(int8(b)))
		}
		if unset&unsetGrantee != 0 {
			p.Grantee = nil
		}
		if unset&unsetScope != 0 {
			p.Scope = nil
		}
		if unset&unsetNotBefore != 0 {
			p.NotBefore = nil
		}
		if unset&unsetNotAfter != 0 {
			p.NotAfter = nil
		}

		g, err := convert.ConsentGrantFromProto("grant", p)
		if err != nil {
			var fe *convert.FieldError
			if !errors.As(err, &fe) || !strings.HasPrefix(fe.Field, "grant.") {
				t.Fatalf("error %v (%T); want a *FieldError on a field of grant", err, err)
			}
			return
		}
		again, err := convert.ConsentGrantFromProto("grant", p)
		if err != nil || !reflect.DeepEqual(again, g) || !bytes.Equal(again.CanonicalBytes(), g.CanonicalBytes()) {
			t.Fatalf("the second conversion differs: %v", err)
		}
		back, err := convert.ConsentGrantFromProto("grant", convert.ConsentGrant(g))
		if err != nil {
			t.Fatalf("a converted grant does not convert back: %v", err)
		}
		if !bytes.Equal(back.CanonicalBytes(), g.CanonicalBytes()) {
			t.Fatalf("the round trip through ConsentGrant changes the canonical encoding:\n%x\n%x", back.CanonicalBytes(), g.CanonicalBytes())
		}
		// Through the wire. Invalid UTF-8 in a string field never arrives
		// (the gRPC codec refuses it), so such inputs stop here.
		wire, err := proto.Marshal(p)
		if err != nil {
			return
		}
		var q gatewayv1.ConsentGrant
		if err := proto.Unmarshal(wire, &q); err != nil {
			t.Fatalf("unmarshal what was marshalled: %v", err)
		}
		received, err := convert.ConsentGrantFromProto("grant", &q)
		if err != nil || !bytes.Equal(received.CanonicalBytes(), g.CanonicalBytes()) {
			t.Fatalf("the grant converts otherwise after the wire: %v", err)
		}
		// What the chaincode signs is the normalised grant: it must not
		// panic on whatever converts, and the grant after the round trip
		// must normalise to the same bytes.
		n, _, _, nerr := g.Normalize()
		m, _, _, merr := back.Normalize()
		if (nerr == nil) != (merr == nil) {
			t.Fatalf("Normalize: %v before the round trip, %v after", nerr, merr)
		}
		if nerr == nil && !bytes.Equal(n.CanonicalBytes(), m.CanonicalBytes()) {
			t.Fatal("the normalised encoding changes through the round trip")
		}
	})
}

// split reads a fuzzed list: comma-separated, empty for none.
func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
