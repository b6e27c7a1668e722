package convert

import (
	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
)

// DirectoryEntry returns an organisation's directory entry, as the API
// shows it.
func DirectoryEntry(o domain.OrgEndpoint) *gatewayv1.DirectoryEntry {
	return &gatewayv1.DirectoryEntry{
		MspId:        o.MSPID,
		Endpoint:     o.Endpoint,
		TlsCaCertPem: o.TLSCACertPEM,
		UpdatedAt:    Timestamp(o.UpdatedAt),
		TxId:         o.TxID,
	}
}
