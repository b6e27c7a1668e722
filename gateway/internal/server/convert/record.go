package convert

import (
	"math"
	"strconv"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
)

// RecordEvidence returns the evidence of one record version, as the API
// shows it. Unknown codes become UNSPECIFIED, zero times unset timestamps,
// and a version outside 0 to 2^32-1 (never on the ledger) 0.
func RecordEvidence(r domain.Record) *gatewayv1.RecordEvidence {
	return &gatewayv1.RecordEvidence{
		RecordId:        r.RecordID,
		Version:         u32(r.Version),
		Patient:         r.Patient,
		Custodian:       r.Custodian,
		Author:          &gatewayv1.Author{Role: Role(r.Author.Role), CertFingerprint: r.Author.CertFingerprint},
		DocType:         r.DocType,
		Confidentiality: Confidentiality(r.Confidentiality),
		Commitment:      r.Commitment,
		AnchoredAt:      Timestamp(r.AnchoredAt),
		TxId:            r.TxID,
		Status:          RecordStatus(r.Status),
		PreviousVersion: u32(r.PreviousVersion),
		AmendmentReason: AmendmentReason(r.AmendmentReason),
		DerivedFrom:     DerivedFrom(r.DerivedFrom),
		Erasure:         erasure(r.Erasure),
	}
}

// DerivedFrom returns the source of a verified copy; nil (not a copy) gives
// nil.
func DerivedFrom(d *domain.DerivedFrom) *gatewayv1.DerivedFrom {
	if d == nil {
		return nil
	}
	return &gatewayv1.DerivedFrom{Custodian: d.Custodian, RecordId: d.RecordID, Version: u32(d.Version)}
}

// DerivedFromFromProto returns the source of a verified copy named at
// path; nil (not a copy) gives nil and no error. The MSP ID, record ID and
// version range are the ledger's to check (AnchorRequest.Validate); a
// version too large for an int is a *FieldError at path.version.
func DerivedFromFromProto(path string, d *gatewayv1.DerivedFrom) (*domain.DerivedFrom, error) {
	if d == nil {
		return nil, nil
	}
	v, err := intFromU32(join(path, "version"), d.GetVersion())
	if err != nil {
		return nil, err
	}
	return &domain.DerivedFrom{Custodian: d.GetCustodian(), RecordID: d.GetRecordId(), Version: v}, nil
}

func erasure(e *domain.Erasure) *gatewayv1.Erasure {
	if e == nil {
		return nil
	}
	return &gatewayv1.Erasure{Reason: ErasureReason(e.Reason), ErasedAt: Timestamp(e.ErasedAt), TxId: e.TxID}
}

// u32 narrows a domain count (version, key version) to the API's width;
// a value that does not fit, never on the ledger, gives 0.
func u32(n int) uint32 {
	if n < 0 || uint64(n) > math.MaxUint32 {
		return 0
	}
	return uint32(n)
}

// intFromU32 widens an API count to the domain's int, refusing a value an
// int cannot hold (only where int is 32 bits).
func intFromU32(field string, n uint32) (int, error) {
	if uint64(n) > math.MaxInt {
		return 0, fieldErr(field, "a number from 0 to "+strconv.Itoa(math.MaxInt))
	}
	return int(n), nil
}
