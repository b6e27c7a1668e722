package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/internal/server/convert"
	"github.com/medprov/medprov/gateway/internal/wallet"
)

// adminService implements AdminService. Status, RotateKeys and
// SetDirectoryEntry are for admins of this gateway's organisation only,
// checked here (the ledger never sees Status or RotateKeys); the chaincode
// checks SetDirectoryEntry again. GetDirectoryEntry is open to every role.
type adminService struct {
	gatewayv1.UnimplementedAdminServiceServer
	s *Server
}

// rotations holds the Servers whose key rotation is running. It is keyed by
// Server, not held in adminService, because a Server registers its
// services on more than one grpc.Server (the network listener and the one
// behind the REST front end).
var rotations sync.Map

// requireAdmin returns the caller if it is an admin, PERMISSION_DENIED
// otherwise.
func requireAdmin(ctx context.Context) (*wallet.Identity, error) {
	id, err := user(ctx)
	if err != nil {
		return nil, err
	}
	if id.Role != domain.RoleAdmin {
		return nil, status.Error(codes.PermissionDenied, "caller: role "+string(id.Role)+" may not call this; allowed: admin")
	}
	return id, nil
}

// Status implements AdminService.Status. The record counts come from one
// read of the store's index (Store.Counts).
func (a *adminService) Status(ctx context.Context, _ *gatewayv1.StatusRequest) (*gatewayv1.StatusResponse, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	counts, err := a.s.d.Store.Counts(ctx)
	if err != nil {
		return nil, fmt.Errorf("status: count record versions: %w", err)
	}
	height, err := a.s.d.Height(ctx)
	if err != nil {
		return nil, fmt.Errorf("status: ledger height: %w", err)
	}
	kek, err := a.s.d.ActiveKEK(ctx)
	if err != nil {
		return nil, fmt.Errorf("status: active key-encryption key: %w", err)
	}
	return &gatewayv1.StatusResponse{
		Version:         a.s.d.Version,
		MspId:           a.s.d.MSPID,
		LedgerBackend:   a.s.d.Backend,
		Channel:         a.s.d.Channel,
		BlockHeight:     height,
		RecordsAnchored: uint64(counts.Anchored),
		RecordsPending:  uint64(counts.Pending),
		KekId:           kek,
		StartTime:       timestamppb.New(a.s.start),
	}, nil
}

// RotateKeys implements AdminService.RotateKeys: a new key-encryption key
// becomes active (Deps.RotateKEK), then every data key is rewrapped under
// it (Store.RewrapAll). A retry after a failure makes another new key
// active and rewraps whatever is not wrapped under it, so it ends in the
// same state: every data key under the active KEK. One rotation runs at a
// time per Server; another call meanwhile is FAILED_PRECONDITION.
func (a *adminService) RotateKeys(ctx context.Context, _ *gatewayv1.RotateKeysRequest) (*gatewayv1.RotateKeysResponse, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	if _, running := rotations.LoadOrStore(a.s, struct{}{}); running {
		return nil, status.Error(codes.FailedPrecondition, "keys: a rotation is already running; retry when it has finished")
	}
	defer rotations.Delete(a.s)

	previous, current, err := a.s.d.RotateKEK(ctx)
	if err != nil {
		return nil, fmt.Errorf("rotate the key-encryption key: %w", err)
	}
	n, err := a.s.d.Store.RewrapAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("rewrap data keys under %s (rotated from %s; retry RotateKeys to finish): %w", current, previous, err)
	}
	return &gatewayv1.RotateKeysResponse{PreviousKekId: previous, KekId: current, Rewrapped: uint64(n)}, nil
}

// SetDirectoryEntry implements AdminService.SetDirectoryEntry.
func (a *adminService) SetDirectoryEntry(ctx context.Context, req *gatewayv1.SetDirectoryEntryRequest) (*gatewayv1.SetDirectoryEntryResponse, error) {
	id, err := requireAdmin(ctx)
	if err != nil {
		return nil, err
	}
	er := domain.EndpointRequest{Endpoint: req.GetEndpoint(), TLSCACertPEM: req.GetTlsCaCertPem()}
	if err := er.Validate(); err != nil {
		return nil, renameArg(err, endpointArgField)
	}
	committed, err := a.s.submitJSON(ctx, id.Ledger(), "set directory entry", domain.TxSetOrgEndpoint, er)
	if err != nil {
		return nil, err
	}
	var entry domain.OrgEndpoint
	if len(committed.Payload) == 0 {
		// Recovered by a lookup without the payload: read the entry.
		if entry, err = readOrgEndpoint(ctx, a, id, id.MSPID); err != nil {
			return nil, fmt.Errorf("directory entry set in transaction %s, but reading it back failed: %w", committed.TxID, err)
		}
	} else if err := json.Unmarshal(committed.Payload, &entry); err != nil {
		return nil, fmt.Errorf("decode directory entry: %w", err)
	}
	return &gatewayv1.SetDirectoryEntryResponse{Entry: convert.DirectoryEntry(entry)}, nil
}

// GetDirectoryEntry implements AdminService.GetDirectoryEntry.
func (a *adminService) GetDirectoryEntry(ctx context.Context, req *gatewayv1.GetDirectoryEntryRequest) (*gatewayv1.GetDirectoryEntryResponse, error) {
	id, err := user(ctx)
	if err != nil {
		return nil, err
	}
	if err := domain.CheckMSPID("msp_id", req.GetMspId()); err != nil {
		return nil, argStatus(err)
	}
	entry, err := readOrgEndpoint(ctx, a, id, req.GetMspId())
	if err != nil {
		return nil, err
	}
	return &gatewayv1.GetDirectoryEntryResponse{Entry: convert.DirectoryEntry(entry)}, nil
}

// readOrgEndpoint evaluates GetOrgEndpoint as the caller.
func readOrgEndpoint(ctx context.Context, a *adminService, id *wallet.Identity, msp string) (domain.OrgEndpoint, error) {
	payload, err := a.s.d.Ledger.Evaluate(ctx, id.Ledger(), domain.TxGetOrgEndpoint, msp)
	if err != nil {
		return domain.OrgEndpoint{}, fmt.Errorf("directory entry of %s: %w", msp, err)
	}
	var entry domain.OrgEndpoint
	if err := json.Unmarshal(payload, &entry); err != nil {
		return domain.OrgEndpoint{}, fmt.Errorf("decode directory entry of %s: %w", msp, err)
	}
	return entry, nil
}

// endpointArgField names the fields of domain.EndpointRequest.Validate
// ("request.endpoint", "request.tlsCaCertPem") as the request's
// ("endpoint", "tls_ca_cert_pem").
func endpointArgField(name string) string {
	return snakeCase(strings.TrimPrefix(name, "request."))
}
