package ledger

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	gatewaypb "github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// fakeGateway is a peer's Gateway service whose answers a test scripts.
// The transactions it "commits" go into one block per Submit.
type fakeGateway struct {
	gatewaypb.UnimplementedGatewayServer

	mu sync.Mutex
	// endorseErrs are returned by the next Endorse calls, in order.
	endorseErrs []error
	endorses    int
	// submitErr is returned by Submit (after ordering the transaction when
	// orderAnyway is set).
	submitErr   error
	orderAnyway bool
	submits     int
	// statusCode overrides the commit status reported.
	statusCode peer.TxValidationCode
	// blocks holds each ordered envelope in a block of its own, from 1.
	blocks []*common.Envelope
}

// marshal encodes m; the messages the fake builds always encode.
func marshal(m proto.Message) []byte {
	b, _ := proto.Marshal(m)
	return b
}

// envelope returns an endorsed transaction envelope for txID with result.
func envelope(txID string, result []byte) *common.Envelope {
	action := marshal(&peer.ChaincodeActionPayload{Action: &peer.ChaincodeEndorsedAction{
		ProposalResponsePayload: marshal(&peer.ProposalResponsePayload{
			Extension: marshal(&peer.ChaincodeAction{Response: &peer.Response{Status: 200, Payload: result}}),
		}),
	}})
	return &common.Envelope{Payload: marshal(&common.Payload{
		Header: &common.Header{ChannelHeader: marshal(&common.ChannelHeader{
			Type: int32(common.HeaderType_ENDORSER_TRANSACTION), ChannelId: "medprov", TxId: txID,
		})},
		Data: marshal(&peer.Transaction{Actions: []*peer.TransactionAction{{Payload: action}}}),
	})}
}

// counts returns how often Endorse and Submit were called.
func (g *fakeGateway) counts() (endorses, submits int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.endorses, g.submits
}

func (g *fakeGateway) run(t *testing.T) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	gatewaypb.RegisterGatewayServer(srv, g)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

func (g *fakeGateway) Endorse(_ context.Context, req *gatewaypb.EndorseRequest) (*gatewaypb.EndorseResponse, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.endorses++
	if len(g.endorseErrs) > 0 {
		err := g.endorseErrs[0]
		g.endorseErrs = g.endorseErrs[1:]
		return nil, err
	}
	return &gatewaypb.EndorseResponse{PreparedTransaction: envelope(req.GetTransactionId(), []byte(`{"ok":true}`))}, nil
}

func (g *fakeGateway) Submit(_ context.Context, req *gatewaypb.SubmitRequest) (*gatewaypb.SubmitResponse, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.submits++
	if g.submitErr == nil || g.orderAnyway {
		g.blocks = append(g.blocks, req.GetPreparedTransaction())
	}
	if g.submitErr != nil {
		return nil, g.submitErr
	}
	return &gatewaypb.SubmitResponse{}, nil
}

// find returns the first block holding txID (blocks count from 1).
func (g *fakeGateway) find(txID string) (uint64, *common.Envelope) {
	for i, env := range g.blocks {
		if id, err := envelopeTxID(marshal(env)); err == nil && id == txID {
			return uint64(i + 1), env
		}
	}
	return 0, nil
}

func (g *fakeGateway) CommitStatus(_ context.Context, req *gatewaypb.SignedCommitStatusRequest) (*gatewaypb.CommitStatusResponse, error) {
	var r gatewaypb.CommitStatusRequest
	if err := proto.Unmarshal(req.GetRequest(), &r); err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	n, _ := g.find(r.GetTransactionId())
	if n == 0 {
		return nil, status.Error(codes.DeadlineExceeded, "not committed")
	}
	return &gatewaypb.CommitStatusResponse{Result: g.statusCode, BlockNumber: n}, nil
}

// Evaluate answers qscc's GetBlockByTxID from the blocks.
func (g *fakeGateway) Evaluate(_ context.Context, req *gatewaypb.EvaluateRequest) (*gatewaypb.EvaluateResponse, error) {
	var prop peer.Proposal
	if err := proto.Unmarshal(req.GetProposedTransaction().GetProposalBytes(), &prop); err != nil {
		return nil, err
	}
	var payload peer.ChaincodeProposalPayload
	if err := proto.Unmarshal(prop.GetPayload(), &payload); err != nil {
		return nil, err
	}
	var spec peer.ChaincodeInvocationSpec
	if err := proto.Unmarshal(payload.GetInput(), &spec); err != nil {
		return nil, err
	}
	args := spec.GetChaincodeSpec().GetInput().GetArgs()
	if spec.GetChaincodeSpec().GetChaincodeId().GetName() != qscc || len(args) != 3 || string(args[0]) != "GetBlockByTxID" {
		return nil, status.Error(codes.Unimplemented, "the fake answers only qscc GetBlockByTxID")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	n, env := g.find(string(args[2]))
	if n == 0 {
		st, _ := status.New(codes.Aborted, "failed to evaluate transaction, see attached details for more info").WithDetails(
			&gatewaypb.ErrorDetail{Message: "Failed to get block for txID x, error no such transaction ID [x] in index"})
		return nil, st.Err()
	}
	block := &common.Block{
		Header:   &common.BlockHeader{Number: n},
		Data:     &common.BlockData{Data: [][]byte{marshal(env)}},
		Metadata: &common.BlockMetadata{Metadata: [][]byte{{}, {}, {byte(peer.TxValidationCode_VALID)}}},
	}
	b, err := proto.Marshal(block)
	if err != nil {
		return nil, err
	}
	return &gatewaypb.EvaluateResponse{Result: &peer.Response{Status: 200, Payload: b}}, nil
}

// fakeIdentity returns a synthetic self-signed client identity.
func fakeIdentity(t *testing.T) Identity {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "synthetic"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return Identity{MSPID: "HospitalAMSP", CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), Signer: k}
}

// newFakeFabric returns a Fabric ledger on g that records its sleeps.
func newFakeFabric(t *testing.T, g *fakeGateway) (*Fabric, *[]time.Duration) {
	t.Helper()
	var sleeps []time.Duration
	f, err := NewFabric(g.run(t), "medprov", "medprov", fakeIdentity(t),
		WithFabricTimeouts(time.Second, time.Second, time.Second, time.Second),
		WithFabricEndorseRetries(3, 10*time.Millisecond, func(ctx context.Context, d time.Duration) error {
			sleeps = append(sleeps, d)
			return ctx.Err()
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, &sleeps
}

func disagreement() error {
	st, _ := status.New(codes.Aborted, "failed to collect enough transaction endorsements, see attached details for more info").WithDetails(
		&gatewaypb.ErrorDetail{MspId: "HospitalBMSP", Message: "NOT_FOUND: record rec-1"})
	return st.Err()
}

func TestFabricEndorsesAgainWhilePeersDisagree(t *testing.T) {
	g := &fakeGateway{endorseErrs: []error{disagreement(), disagreement()}}
	f, sleeps := newFakeFabric(t, g)
	tx, err := f.Prepare(context.Background(), fakeIdentity(t), "RegisterPatient", "key")
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	if n, _ := g.counts(); n != 3 || len(*sleeps) != 2 || (*sleeps)[0] != 10*time.Millisecond || (*sleeps)[1] != 20*time.Millisecond {
		t.Errorf("%d endorsements with sleeps %v, want 3 with 10ms, 20ms", n, *sleeps)
	}
	c, err := f.Commit(context.Background(), tx)
	if err != nil || c.TxID != tx.ID() || c.Block != 1 || string(c.Payload) != `{"ok":true}` {
		t.Errorf("Commit = %+v, %v; want block 1 with the endorsed result", c, err)
	}
}

func TestFabricPeersThatKeepDisagreeingAreNotAChaincodeError(t *testing.T) {
	g := &fakeGateway{endorseErrs: []error{disagreement(), disagreement(), disagreement(), disagreement()}}
	f, _ := newFakeFabric(t, g)
	_, err := f.Prepare(context.Background(), fakeIdentity(t), "RequestAccess", "{}")
	if n, _ := g.counts(); status.Code(err) != codes.Internal || n != 4 {
		t.Errorf("Prepare after %d endorsements: %v, want Internal after 4 (a lagging peer's NOT_FOUND is not the answer)", n, err)
	}
}

func TestFabricEndorsesAgainAfterTransientFailures(t *testing.T) {
	tests := map[string]struct {
		errs      []error
		wantCode  codes.Code // OK: Prepare succeeds
		endorses  int
		sleepsLen int
	}{
		"an unreachable peer, then an answer": {
			errs:     []error{status.Error(codes.Unavailable, "no combination of peers can be derived which satisfy the endorsement policy")},
			wantCode: codes.OK, endorses: 2, sleepsLen: 1,
		},
		"an endorsement timeout, then an answer": {
			errs:     []error{status.Error(codes.DeadlineExceeded, "endorse timeout")},
			wantCode: codes.OK, endorses: 2, sleepsLen: 1,
		},
		"unreachable on every attempt: Unavailable after the retries": {
			errs: []error{
				status.Error(codes.Unavailable, "down"), status.Error(codes.Unavailable, "down"),
				status.Error(codes.Unavailable, "down"), status.Error(codes.Unavailable, "down"),
			},
			wantCode: codes.Unavailable, endorses: 4, sleepsLen: 3,
		},
		"a chaincode error is not retried": {
			errs:     []error{status.Error(codes.Unknown, "PERMISSION_DENIED: role researcher may not call RegisterPatient")},
			wantCode: codes.PermissionDenied, endorses: 1, sleepsLen: 0,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g := &fakeGateway{endorseErrs: tc.errs}
			f, sleeps := newFakeFabric(t, g)
			_, err := f.Prepare(context.Background(), fakeIdentity(t), "RegisterPatient", "key")
			n, _ := g.counts()
			if status.Code(err) != tc.wantCode || n != tc.endorses || len(*sleeps) != tc.sleepsLen {
				t.Errorf("Prepare: %v after %d endorsements and sleeps %v; want code %v after %d with %d sleeps",
					err, n, *sleeps, tc.wantCode, tc.endorses, tc.sleepsLen)
			}
		})
	}
}

func TestFabricDoesNotEndorseAgainAfterTheCallersDeadline(t *testing.T) {
	g := &fakeGateway{endorseErrs: []error{status.Error(codes.Unavailable, "down")}}
	f, sleeps := newFakeFabric(t, g)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.Prepare(ctx, fakeIdentity(t), "RegisterPatient", "key")
	if n, _ := g.counts(); status.Code(err) != codes.Canceled || n != 0 || len(*sleeps) != 0 {
		t.Errorf("Prepare with an ended context: %v after %d endorsements, want Canceled and none", err, n)
	}
}

func TestFabricResendsOnlyWhatTheLedgerDoesNotHold(t *testing.T) {
	tests := map[string]struct {
		orderAnyway bool // the failed Submit reached the orderers after all
		submits     int  // Submit calls over both commits
	}{
		"a send that was ordered after all is found, not sent again": {orderAnyway: true, submits: 1},
		"a send that was lost is sent again":                         {orderAnyway: false, submits: 2},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g := &fakeGateway{submitErr: status.Error(codes.Unavailable, "no orderers could successfully process transaction"), orderAnyway: tc.orderAnyway}
			f, _ := newFakeFabric(t, g)
			tx, err := f.Prepare(context.Background(), fakeIdentity(t), "RegisterPatient", "key")
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.Commit(context.Background(), tx)
			if !errors.Is(err, ErrCommitStatusUnknown) {
				t.Fatalf("first Commit: %v, want ErrCommitStatusUnknown", err)
			}
			g.mu.Lock()
			g.submitErr = nil
			g.mu.Unlock()
			c, err := f.Commit(context.Background(), tx)
			if err != nil || c.TxID != tx.ID() || c.Block != 1 {
				t.Fatalf("second Commit = %+v, %v; want the transaction in block 1", c, err)
			}
			if _, n := g.counts(); n != tc.submits {
				t.Errorf("Submit called %d times, want %d", n, tc.submits)
			}
		})
	}
}

func TestFabricDuplicateReturnsTheOriginalsOutcome(t *testing.T) {
	g := &fakeGateway{statusCode: peer.TxValidationCode_DUPLICATE_TXID}
	f, _ := newFakeFabric(t, g)
	tx, err := f.Prepare(context.Background(), fakeIdentity(t), "RegisterPatient", "key")
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.Commit(context.Background(), tx)
	if err != nil || c.Block != 1 || string(c.Payload) != `{"ok":true}` {
		t.Errorf("Commit of a duplicate = %+v, %v; want the original (VALID in block 1)", c, err)
	}
	g.mu.Lock()
	g.statusCode = peer.TxValidationCode_MVCC_READ_CONFLICT
	g.mu.Unlock()
	tx2, err := f.Prepare(context.Background(), fakeIdentity(t), "RegisterPatient", "key2")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Commit(context.Background(), tx2)
	if !errors.Is(err, ErrConflict) || status.Code(err) != codes.Aborted {
		t.Errorf("Commit of an MVCC conflict: %v, want ErrConflict (Aborted)", err)
	}
}
