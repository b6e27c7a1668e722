package convert

import (
	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
)

// AccessEvent returns a committed access decision, as the API shows it.
// The basis is set for GRANTED and EMERGENCY, the denial reason for
// DENIED, exactly as in the domain event; an absent care relationship
// (RequestAccess events) is false. Unknown codes become UNSPECIFIED and
// are kept in the alerts list, so that the count of alerts never shrinks.
func AccessEvent(e domain.AccessEvent) *gatewayv1.AccessEvent {
	out := &gatewayv1.AccessEvent{
		TxId:      e.TxID,
		At:        Timestamp(e.At),
		RecordId:  e.RecordID,
		Version:   u32(e.Version),
		Custodian: e.Custodian,
		Patient:   e.Patient,
		Requester: &gatewayv1.Requester{
			MspId:           e.Requester.MSPID,
			Role:            Role(e.Requester.Role),
			CertFingerprint: e.Requester.CertFingerprint,
		},
		Purpose:          PurposeOfUse(e.Purpose),
		Decision:         Decision(e.Decision),
		Basis:            accessBasis(e.Basis),
		DenialReason:     DenialReason(e.DenialReason),
		CareRelationship: e.CareRelationship != nil && *e.CareRelationship,
	}
	if len(e.Alerts) > 0 {
		out.Alerts = make([]gatewayv1.Alert, len(e.Alerts))
		for i, a := range e.Alerts {
			out.Alerts[i] = Alert(a)
		}
	}
	return out
}

func accessBasis(b *domain.Basis) *gatewayv1.AccessBasis {
	if b == nil {
		return nil
	}
	return &gatewayv1.AccessBasis{
		Type:              BasisType(b.Type),
		ConsentId:         b.ConsentID,
		JustificationCode: JustificationCode(b.JustificationCode),
		JustificationHash: b.JustificationHash,
	}
}
