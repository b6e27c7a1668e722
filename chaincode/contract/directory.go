package contract

import "github.com/medprov/medprov/chaincode/ledger"

// SetOrgEndpoint sets the caller's organisation's directory entry: its
// gateway's host:port and the PEM CA certificate that signs the gateway's
// TLS certificate. Admins only; the organisation is the signer's MSP ID.
// request is a JSON ledger.EndpointRequest. Returns the ledger.OrgEndpoint.
// Errors: INVALID_ARGUMENT, PERMISSION_DENIED. Event: OrgEndpointSet.
func (c *Contract) SetOrgEndpoint(ctx *Context, request string) (string, error) {
	req, err := decodeRequest[ledger.EndpointRequest](ctx, ledger.TxSetOrgEndpoint, "request", request)
	if err != nil {
		return "", err
	}
	e := ledger.OrgEndpoint{
		Kind: ledger.KindOrgEndpoint, SchemaVersion: ledger.SchemaVersion,
		MSPID: ctx.caller.MSPID, Endpoint: req.Endpoint, TLSCACertPEM: req.TLSCACertPEM,
		UpdatedAt: ctx.now, TxID: ctx.txID(),
	}
	st := ctx.store()
	if err := st.PutOrgEndpoint(e); err != nil {
		return "", err
	}
	if err := st.Emit(ledger.EventOrgEndpointSet, struct {
		MSPID    string `json:"mspId"`
		Endpoint string `json:"endpoint"`
	}{e.MSPID, e.Endpoint}); err != nil {
		return "", err
	}
	return output(e)
}

// GetOrgEndpoint returns an organisation's directory entry. Any member may
// read it. Errors: INVALID_ARGUMENT, PERMISSION_DENIED, NOT_FOUND.
func (c *Contract) GetOrgEndpoint(ctx *Context, mspID string) (string, error) {
	if err := ctx.authorize(ledger.TxGetOrgEndpoint); err != nil {
		return "", err
	}
	if err := ledger.CheckMSPID("mspId", mspID); err != nil {
		return "", err
	}
	e, err := ctx.store().OrgEndpoint(mspID)
	if err != nil {
		return "", err
	}
	return output(e)
}
