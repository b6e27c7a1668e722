package server_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/internal/devca"
	"github.com/medprov/medprov/internal/devnet"
)

// axFetch calls FetchForAccessTicket on conn and reads the whole stream:
// the header and the content, or the call's error.
func axFetch(t *testing.T, conn *grpc.ClientConn, txID string) (*gatewayv1.TicketHeader, []byte, int, error) {
	t.Helper()
	s, err := gatewayv1.NewExchangeServiceClient(conn).FetchForAccessTicket(t.Context(), &gatewayv1.FetchForAccessTicketRequest{AccessTxId: txID})
	if err != nil {
		return nil, nil, 0, err
	}
	var hdr *gatewayv1.TicketHeader
	var content bytes.Buffer
	chunks := 0
	for {
		m, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return hdr, content.Bytes(), chunks, nil
		}
		if err != nil {
			return nil, nil, 0, err
		}
		switch {
		case m.GetHeader() != nil && hdr == nil && chunks == 0:
			hdr = m.GetHeader()
		case m.GetHeader() == nil && hdr != nil:
			if len(m.GetChunk()) == 0 || len(m.GetChunk()) > 64<<10 {
				t.Errorf("chunk of %d bytes, want 1 byte to 64 KiB", len(m.GetChunk()))
			}
			content.Write(m.GetChunk())
			chunks++
		default:
			t.Fatalf("message %d out of order", chunks)
		}
	}
}

// TestFetchForAccessTicket is the custodian's side: hospital A releases a
// record only to the certificate that requested it, once, after checking
// the ticket on the ledger.
func TestFetchForAccessTicket(t *testing.T) {
	t.Parallel()
	e := axStart(t)
	a, b := devnet.HospitalA, devnet.HospitalB
	p := e.patient(a)
	e.consent(a, p, b, 1)
	doc := document(47, 200<<10)
	added := e.addRecord(a, p, doc)
	recordID := added.GetEvidence().GetRecordId()
	unconsented := e.addRecord(a, e.patient(a), document(48, 10)).GetEvidence().GetRecordId()
	ticket := e.request(b, "clinician", treat(recordID), gatewayv1.Decision_DECISION_GRANTED).GetTxId()
	denied := e.request(b, "clinician", treat(unconsented), gatewayv1.Decision_DECISION_DENIED).GetTxId()
	requester := e.userConn(a, b, "clinician")

	refusals := map[string]struct {
		conn  *grpc.ClientConn
		txID  string
		code  codes.Code
		field string
	}{
		"an empty ticket is refused": {
			conn: requester, code: codes.InvalidArgument, field: "access_tx_id"},
		"an upper-case ticket is refused": {
			conn: requester, txID: strings.ToUpper(ticket), code: codes.InvalidArgument, field: "access_tx_id"},
		"an unknown ticket is not found": {
			conn: requester, txID: strings.Repeat("7", 64), code: codes.NotFound},
		"a transaction that is no access event is not found": {
			conn: requester, txID: added.GetEvidence().GetTxId(), code: codes.NotFound},
		"a denied request presented by its requester is refused": {
			conn: requester, txID: denied, code: codes.PermissionDenied},
		"another certificate of the requesting organisation is refused": {
			conn: e.userConn(a, b, "officer"), txID: ticket, code: codes.PermissionDenied},
		"a certificate of the requesting organisation that is in no wallet is refused": {
			conn: e.dialWithStranger(a, b), txID: ticket, code: codes.PermissionDenied},
		"a third organisation's certificate is refused": {
			conn: e.userConn(a, devnet.HealthAuthority, "clinician"), txID: ticket, code: codes.PermissionDenied},
		"the custodian's own user is refused": {
			conn: e.conn(a, "clinician"), txID: ticket, code: codes.PermissionDenied},
	}
	for name, tc := range refusals {
		t.Run(name, func(t *testing.T) {
			hdr, content, _, err := axFetch(t, tc.conn, tc.txID)
			wantStatus(t, err, tc.code, tc.field)
			if hdr != nil || len(content) > 0 {
				t.Errorf("a refusal sent a header or content")
			}
		})
	}

	t.Run("the requester's certificate is served once, with the ledger's evidence and the salt", func(t *testing.T) {
		hdr, content, chunks, err := axFetch(t, requester, ticket)
		if err != nil {
			t.Fatalf("FetchForAccessTicket: %v", err)
		}
		if !proto.Equal(hdr.GetEvidence(), added.GetEvidence()) {
			t.Errorf("evidence %v, want %v", hdr.GetEvidence(), added.GetEvidence())
		}
		if !bytes.Equal(hdr.GetSalt(), added.GetReceipt().GetSalt()) || hdr.GetSize() != uint64(len(doc)) {
			t.Errorf("header salt or size %d differ from the record's (%d)", hdr.GetSize(), len(doc))
		}
		if !bytes.Equal(content, doc) || chunks != 4 {
			t.Errorf("content of %d bytes in %d chunks, want the record's %d bytes in 4", len(content), chunks, len(doc))
		}
		sum := sha256.Sum256(content)
		if domain.Commitment(hdr.GetSalt(), sum) != added.GetEvidence().GetCommitment() {
			t.Errorf("the content does not match the anchored commitment")
		}
		_, _, _, err = axFetch(t, requester, ticket)
		wantStatus(t, err, codes.FailedPrecondition, "")
	})
}

// dialWithStranger connects to gateway msp with a certificate that
// organisation userMSP's CA issued and that no wallet holds.
func (e *axEnv) dialWithStranger(msp, userMSP string) *grpc.ClientConn {
	e.t.Helper()
	// devnet keeps each organisation's development CA under network/orgs.
	ca, err := devca.LoadOrg(filepath.Join(e.f.c.Dir, "network", "orgs", userMSP))
	if err != nil {
		e.t.Fatal(err)
	}
	id, err := ca.Issue(devca.IdentityRequest{Name: "stranger", NodeOU: devca.NodeOUClient,
		Role: devca.RoleClinician, Clearance: devca.ClearanceN})
	if err != nil {
		e.t.Fatal(err)
	}
	return e.dialWith(msp, id.CertPEM, id.KeyPEM)
}

// fakeCustodian is an ExchangeService that answers every ticket with
// serve, for a custodian that misbehaves.
type fakeCustodian struct {
	gatewayv1.UnimplementedExchangeServiceServer
	mu    sync.Mutex
	serve func(gatewayv1.ExchangeService_FetchForAccessTicketServer) error
}

func (f *fakeCustodian) set(serve func(gatewayv1.ExchangeService_FetchForAccessTicketServer) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.serve = serve
}

func (f *fakeCustodian) FetchForAccessTicket(_ *gatewayv1.FetchForAccessTicketRequest, s gatewayv1.ExchangeService_FetchForAccessTicketServer) error {
	f.mu.Lock()
	serve := f.serve
	f.mu.Unlock()
	return serve(s)
}

// startFake serves f on a loopback port with the TLS certificate of msp's
// gateway, and returns its address.
func (e *axEnv) startFake(msp string, f *fakeCustodian) string {
	e.t.Helper()
	dir := filepath.Join(e.f.c.Org(msp).Dir, "server", "tls")
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"))
	if err != nil {
		e.t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS13,
		Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAnyClientCert})))
	gatewayv1.RegisterExchangeServiceServer(srv, f)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	e.t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// publish sets msp's directory entry to addr, with its gateway's TLS CA,
// as its admin.
func (e *axEnv) publish(msp, addr string) {
	e.t.Helper()
	caPEM, err := os.ReadFile(e.f.c.Org(msp).TLSCAFile)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.f.admin(e.t, msp, "admin").SetDirectoryEntry(e.ctx,
		&gatewayv1.SetDirectoryEntryRequest{Endpoint: addr, TlsCaCertPem: string(caPEM)}); err != nil {
		e.t.Fatalf("SetDirectoryEntry: %v", err)
	}
}

func sendHeader(s gatewayv1.ExchangeService_FetchForAccessTicketServer, h *gatewayv1.TicketHeader) error {
	return s.Send(&gatewayv1.FetchForAccessTicketResponse{Part: &gatewayv1.FetchForAccessTicketResponse_Header{Header: h}})
}

func sendChunk(s gatewayv1.ExchangeService_FetchForAccessTicketServer, b []byte) error {
	return s.Send(&gatewayv1.FetchForAccessTicketResponse{Part: &gatewayv1.FetchForAccessTicketResponse_Chunk{Chunk: b}})
}

// TestFetchRecordFromTamperingCustodian puts a custodian that sends other
// bytes or other evidence than the ledger's in the directory: the
// requester keeps nothing, and answers DATA_LOSS (or UNAVAILABLE for a
// custodian that breaks the protocol or fails).
func TestFetchRecordFromTamperingCustodian(t *testing.T) {
	t.Parallel()
	e := axStart(t)
	a, b := devnet.HospitalA, devnet.HospitalB
	p := e.patient(a)
	e.consent(a, p, b, 1)
	doc := document(49, 100<<10)
	added := e.addRecord(a, p, doc)
	other := e.addRecord(a, p, document(50, 10))
	ticket := e.request(b, "clinician", treat(added.GetEvidence().GetRecordId()), gatewayv1.Decision_DECISION_GRANTED).GetTxId()

	honest := &gatewayv1.TicketHeader{Evidence: added.GetEvidence(), Salt: added.GetReceipt().GetSalt(), Size: uint64(len(doc))}
	altered := bytes.Clone(doc)
	altered[len(altered)/2] ^= 1
	fakeSalt := bytes.Repeat([]byte{7}, domain.SaltSize)
	selfConsistent := proto.Clone(honest).(*gatewayv1.TicketHeader)
	selfConsistent.Salt = fakeSalt
	selfConsistent.Evidence.Commitment = domain.Commitment(fakeSalt, sha256.Sum256(altered))
	otherRecord := proto.Clone(honest).(*gatewayv1.TicketHeader)
	otherRecord.Evidence = other.GetEvidence()

	serveWith := func(h *gatewayv1.TicketHeader, content []byte) func(gatewayv1.ExchangeService_FetchForAccessTicketServer) error {
		return func(s gatewayv1.ExchangeService_FetchForAccessTicketServer) error {
			if err := sendHeader(s, h); err != nil {
				return err
			}
			for c := range slices.Chunk(content, 64<<10) {
				if err := sendChunk(s, c); err != nil {
					return err
				}
			}
			return nil
		}
	}
	tests := map[string]struct {
		serve func(gatewayv1.ExchangeService_FetchForAccessTicketServer) error
		code  codes.Code
		msg   string // a part of the message that names the cause
	}{
		"altered content of the announced size is data loss": {
			serve: serveWith(honest, altered), code: codes.DataLoss, msg: "content does not match the commitment"},
		"content shorter than announced is data loss": {
			serve: serveWith(honest, doc[:len(doc)-10]), code: codes.DataLoss, msg: "size differs"},
		"content longer than announced is data loss": {
			serve: serveWith(honest, append(bytes.Clone(doc), 'x')), code: codes.DataLoss, msg: "size differs"},
		"a salt and commitment of the custodian's own making are data loss": {
			serve: serveWith(selfConsistent, altered), code: codes.DataLoss, msg: "evidence does not match the ledger"},
		"the evidence of another record is data loss": {
			serve: serveWith(otherRecord, doc[:10]), code: codes.DataLoss, msg: "evidence does not match the ledger"},
		"a stream that starts with content is unavailable": {
			serve: func(s gatewayv1.ExchangeService_FetchForAccessTicketServer) error { return sendChunk(s, doc[:10]) },
			code:  codes.Unavailable, msg: "protocol"},
		"a custodian failing internally is unavailable": {
			serve: func(gatewayv1.ExchangeService_FetchForAccessTicketServer) error {
				return status.Error(codes.Internal, "synthetic failure")
			},
			code: codes.Unavailable},
		"a custodian failing after the header is unavailable": {
			serve: func(s gatewayv1.ExchangeService_FetchForAccessTicketServer) error {
				if err := sendHeader(s, honest); err != nil {
					return err
				}
				if err := sendChunk(s, doc[:1000]); err != nil {
					return err
				}
				return status.Error(codes.Internal, "synthetic failure")
			},
			code: codes.Unavailable},
		"a custodian's refusal keeps its code": {
			serve: func(gatewayv1.ExchangeService_FetchForAccessTicketServer) error {
				return status.Error(codes.PermissionDenied, "not for you")
			},
			code: codes.PermissionDenied},
	}
	fake := &fakeCustodian{}
	e.publish(a, e.startFake(a, fake))
	i := 0
	for name, tc := range tests {
		i++
		copyID := "tampered-" + string(rune('a'+i))
		t.Run(name, func(t *testing.T) {
			fake.set(tc.serve)
			_, err := e.access(b, "clinician").FetchRecord(e.ctx, &gatewayv1.FetchRecordRequest{AccessTxId: ticket, CopyRecordId: copyID})
			wantStatus(t, err, tc.code, "")
			if msg := status.Convert(err).Message(); !strings.Contains(msg, tc.msg) || strings.Contains(msg, "synthetic") {
				t.Errorf("message %q: want it to name %q and not to repeat the custodian's internal detail", msg, tc.msg)
			}
			e.notStored(b, copyID)
		})
	}

	t.Run("the honest custodian back in the directory serves the same ticket", func(t *testing.T) {
		e.publish(a, e.f.c.Org(a).Addrs.GRPC)
		res, err := e.access(b, "clinician").FetchRecord(e.ctx, &gatewayv1.FetchRecordRequest{AccessTxId: ticket, CopyRecordId: "honest-copy"})
		if err != nil {
			t.Fatalf("FetchRecord: %v", err)
		}
		got, _, err := e.download(b, "clinician", "honest-copy")
		if err != nil || !bytes.Equal(got, doc) || res.GetSize() != uint64(len(doc)) {
			t.Errorf("copy: %d bytes, %v; want the %d bytes of the source", len(got), err, len(doc))
		}
	})

	t.Run("a custodian with no reachable gateway is unavailable", func(t *testing.T) {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := lis.Addr().String()
		_ = lis.Close()
		e.publish(a, addr)
		ticket := e.request(b, "clinician", treat(added.GetEvidence().GetRecordId()), gatewayv1.Decision_DECISION_GRANTED).GetTxId()
		_, err = e.access(b, "clinician").FetchRecord(e.ctx, &gatewayv1.FetchRecordRequest{AccessTxId: ticket, CopyRecordId: "unreachable-copy"})
		wantStatus(t, err, codes.Unavailable, "")
		e.notStored(b, "unreachable-copy")
	})
}
