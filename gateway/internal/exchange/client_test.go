package exchange

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/internal/devca"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

const (
	custodianMSP = "HospitalAMSP"
	requesterMSP = "HospitalBMSP"
	ticket       = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

// stream is the server side of one FetchForAccessTicket call.
type stream = grpc.ServerStreamingServer[gatewayv1.FetchForAccessTicketResponse]

// fakeExchange is a custodian's ExchangeService whose behaviour a test
// sets; it records the fingerprint of each caller's certificate.
type fakeExchange struct {
	gatewayv1.UnimplementedExchangeServiceServer
	serve func(req *gatewayv1.FetchForAccessTicketRequest, s stream) error

	mu      sync.Mutex
	callers []string
	tickets []string
}

func (f *fakeExchange) FetchForAccessTicket(req *gatewayv1.FetchForAccessTicketRequest, s stream) error {
	p, ok := peer.FromContext(s.Context())
	if !ok {
		return status.Error(codes.Internal, "no peer")
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.PeerCertificates) == 0 {
		return status.Error(codes.Unauthenticated, "no client certificate")
	}
	f.mu.Lock()
	f.callers = append(f.callers, Fingerprint(info.State.PeerCertificates[0].Raw))
	f.tickets = append(f.tickets, req.GetAccessTxId())
	f.mu.Unlock()
	return f.serve(req, s)
}

func (f *fakeExchange) calls() (callers, tickets []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.callers...), append([]string(nil), f.tickets...)
}

// exchangeEnv is hospital A's gateway (a fake custodian on loopback with
// mTLS) and a clinician of hospital B with a client.
type exchangeEnv struct {
	orgA, orgB *devca.Org
	fake       *fakeExchange
	addr       string
	user       *devca.Identity
	cert       tls.Certificate // the clinician's signing certificate and key
}

func newExchangeEnv(t *testing.T) *exchangeEnv {
	t.Helper()
	return newExchangeEnvFor(t, nil)
}

// newExchangeEnvFor is newExchangeEnv with the custodian's TLS
// certificate issued for dnsNames (nil: localhost and 127.0.0.1).
func newExchangeEnvFor(t *testing.T, dnsNames []string) *exchangeEnv {
	t.Helper()
	e := &exchangeEnv{orgA: newDevOrg(t, custodianMSP, "hospital-a.example"), orgB: newDevOrg(t, requesterMSP, "hospital-b.example")}
	gw, err := e.orgA.Issue(devca.IdentityRequest{Name: "gateway", NodeOU: devca.NodeOUPeer, DNSNames: dnsNames})
	if err != nil {
		t.Fatal(err)
	}
	serverCert, err := tls.X509KeyPair(gw.TLSCertPEM, gw.TLSKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	// The custodian accepts the signing certificates of hospital B's CA
	// as client certificates.
	clientCAs := x509.NewCertPool()
	clientCAs.AppendCertsFromPEM(e.orgB.CACertPEM())
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{serverCert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    clientCAs,
	})))
	e.fake = &fakeExchange{}
	gatewayv1.RegisterExchangeServiceServer(srv, e.fake)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = l.Addr().String()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)

	e.user, err = e.orgB.Issue(devca.IdentityRequest{Name: "clinician", NodeOU: devca.NodeOUClient,
		Role: devca.RoleClinician, Clearance: devca.ClearanceN})
	if err != nil {
		t.Fatal(err)
	}
	e.cert = tls.Certificate{Certificate: [][]byte{e.user.Cert.Raw}, PrivateKey: e.user.Key}
	return e
}

func newDevOrg(t testing.TB, msp, domainName string) *devca.Org {
	t.Helper()
	o, err := devca.NewOrg(msp, domainName)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// directory is a Directory that knows hospital A at e.addr with TLS CA
// caPEM.
func (e *exchangeEnv) directory(caPEM []byte) Directory {
	return func(_ context.Context, msp string) (Endpoint, error) {
		if msp != custodianMSP {
			return Endpoint{}, status.Errorf(codes.NotFound, "no directory entry for %s", msp)
		}
		return Endpoint{MSPID: custodianMSP, Address: e.addr, TLSCACertPEM: caPEM}, nil
	}
}

func (e *exchangeEnv) client(t *testing.T, opts ...ClientOption) *Client {
	t.Helper()
	c, err := NewClient(e.directory(e.orgA.TLSCACertPEM()), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// record is a synthetic record version as a custodian would send it.
type record struct {
	content []byte
	salt    []byte
	header  *gatewayv1.TicketHeader
}

func newRecord(size int) record {
	content := synthetic(size, 42)
	salt := testSalt(0x5a)
	return record{content: content, salt: salt, header: &gatewayv1.TicketHeader{
		Evidence: &gatewayv1.RecordEvidence{RecordId: "rec-synthetic-1", Version: 1, Custodian: custodianMSP,
			Commitment: commitmentOf(salt, content)},
		Salt: salt,
		Size: uint64(size),
	}}
}

func headerMsg(h *gatewayv1.TicketHeader) *gatewayv1.FetchForAccessTicketResponse {
	return &gatewayv1.FetchForAccessTicketResponse{Part: &gatewayv1.FetchForAccessTicketResponse_Header{Header: h}}
}

func chunkMsg(b []byte) *gatewayv1.FetchForAccessTicketResponse {
	return &gatewayv1.FetchForAccessTicketResponse{Part: &gatewayv1.FetchForAccessTicketResponse_Chunk{Chunk: b}}
}

// sendChunks sends content in chunks of at most n bytes.
func sendChunks(s stream, content []byte, n int) error {
	for len(content) > 0 {
		k := min(n, len(content))
		if err := s.Send(chunkMsg(content[:k])); err != nil {
			return err
		}
		content = content[k:]
	}
	return nil
}

// sends returns a serve function that sends the header of rec (changed by
// editHeader, if set) and then content in 1 MiB chunks.
func sends(rec record, editHeader func(*gatewayv1.TicketHeader), content []byte) func(*gatewayv1.FetchForAccessTicketRequest, stream) error {
	return func(_ *gatewayv1.FetchForAccessTicketRequest, s stream) error {
		h := rec.header
		if editHeader != nil {
			h = &gatewayv1.TicketHeader{Evidence: rec.header.Evidence, Salt: rec.header.Salt, Size: rec.header.Size}
			editHeader(h)
		}
		if err := s.Send(headerMsg(h)); err != nil {
			return err
		}
		return sendChunks(s, content, 1<<20)
	}
}

func TestFetchStreamsAVerifiedRecord(t *testing.T) {
	e := newExchangeEnv(t)
	rec := newRecord(3 << 20)
	e.fake.serve = sends(rec, nil, rec.content)
	var logs bytes.Buffer
	c := e.client(t, WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))

	tr, err := c.Fetch(context.Background(), e.cert, custodianMSP, ticket)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	h := tr.Header()
	if h.GetSize() != uint64(len(rec.content)) || !bytes.Equal(h.GetSalt(), rec.salt) ||
		h.GetEvidence().GetCommitment() != rec.header.Evidence.Commitment {
		t.Fatalf("header = size %d, evidence %v; want the record's", h.GetSize(), h.GetEvidence())
	}
	got, err := io.ReadAll(NewVerifyingReader(tr, h.GetSalt(), rec.header.Evidence.Commitment, h.GetSize()))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, rec.content) {
		t.Fatalf("received %d bytes that differ from the record's %d", len(got), len(rec.content))
	}
	if err := tr.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if err := tr.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}

	// The custodian saw the clinician's signing certificate, to which it
	// binds the ticket, and the ticket.
	callers, tickets := e.fake.calls()
	if want := Fingerprint(e.user.Cert.Raw); len(callers) != 1 || callers[0] != want {
		t.Errorf("custodian saw client certificates %v, want [%s]", callers, want)
	}
	if len(tickets) != 1 || tickets[0] != ticket {
		t.Errorf("custodian saw tickets %v, want [%s]", tickets, ticket)
	}
	// The log names the transfer, never the salt.
	out := logs.String()
	if !strings.Contains(out, "rec-synthetic-1") || !strings.Contains(out, ticket) {
		t.Errorf("log lacks the record and ticket: %s", out)
	}
	for _, secret := range []string{fmt.Sprintf("%x", rec.salt), "WlpaWlpa"} { // hex and base64 of the salt
		if strings.Contains(out, secret) {
			t.Errorf("log holds the salt: %s", out)
		}
	}
}

func TestFetchRefusesBrokenStreams(t *testing.T) {
	rec := newRecord(64 << 10)
	tampered := bytes.Clone(rec.content)
	tampered[1000] ^= 0x01

	tests := map[string]struct {
		serve    func(*gatewayv1.FetchForAccessTicketRequest, stream) error
		opts     []ClientOption
		fetchErr error // the error of Fetch, or nil
		readErr  error // the error reading through the verifying reader
		code     codes.Code
	}{
		"a chunk before the header is a protocol error": {
			serve: func(_ *gatewayv1.FetchForAccessTicketRequest, s stream) error {
				return sendChunks(s, rec.content, 1<<20)
			},
			fetchErr: ErrProtocol,
		},
		"a stream without any message is a protocol error": {
			serve:    func(*gatewayv1.FetchForAccessTicketRequest, stream) error { return nil },
			fetchErr: ErrProtocol,
		},
		"a header without evidence is a protocol error": {
			serve:    sends(rec, func(h *gatewayv1.TicketHeader) { h.Evidence = nil }, rec.content),
			fetchErr: ErrProtocol,
		},
		"a header with a short salt is a protocol error": {
			serve:    sends(rec, func(h *gatewayv1.TicketHeader) { h.Salt = h.Salt[:16] }, rec.content),
			fetchErr: ErrProtocol,
		},
		"a header of another custodian's record is a protocol error": {
			serve: sends(rec, func(h *gatewayv1.TicketHeader) {
				ev := proto.CloneOf(h.Evidence)
				ev.Custodian = requesterMSP
				h.Evidence = ev
			}, rec.content),
			fetchErr: ErrProtocol,
		},
		"a record above the size limit is refused": {
			serve:    sends(rec, nil, rec.content),
			opts:     []ClientOption{WithMaxRecordSize(int64(len(rec.content)) - 1)},
			fetchErr: ErrTooLarge,
		},
		"a second header is a protocol error": {
			serve: func(_ *gatewayv1.FetchForAccessTicketRequest, s stream) error {
				if err := s.Send(headerMsg(rec.header)); err != nil {
					return err
				}
				if err := s.Send(chunkMsg(rec.content[:10])); err != nil {
					return err
				}
				return s.Send(headerMsg(rec.header))
			},
			readErr: ErrProtocol,
		},
		"an empty message is a protocol error": {
			serve: func(_ *gatewayv1.FetchForAccessTicketRequest, s stream) error {
				if err := s.Send(headerMsg(rec.header)); err != nil {
					return err
				}
				return s.Send(&gatewayv1.FetchForAccessTicketResponse{})
			},
			readErr: ErrProtocol,
		},
		"a short stream is a size mismatch": {
			serve:   sends(rec, nil, rec.content[:len(rec.content)-1]),
			readErr: ErrSizeMismatch,
		},
		"a long stream is a size mismatch": {
			serve:   sends(rec, nil, append(bytes.Clone(rec.content), 'x')),
			readErr: ErrSizeMismatch,
		},
		"a tampered byte fails the commitment": {
			serve:   sends(rec, nil, tampered),
			readErr: ErrCommitmentMismatch,
		},
		"a header whose size understates the content is a size mismatch": {
			serve:   sends(rec, func(h *gatewayv1.TicketHeader) { h.Size-- }, rec.content),
			readErr: ErrSizeMismatch,
		},
		"a chunk above 4 MiB is refused": {
			serve: func(_ *gatewayv1.FetchForAccessTicketRequest, s stream) error {
				h := &gatewayv1.TicketHeader{Evidence: rec.header.Evidence, Salt: rec.salt, Size: 5 << 20}
				if err := s.Send(headerMsg(h)); err != nil {
					return err
				}
				return s.Send(chunkMsg(make([]byte, 5<<20)))
			},
			code: codes.ResourceExhausted,
		},
		"an error in the middle of the stream keeps its code": {
			serve: func(_ *gatewayv1.FetchForAccessTicketRequest, s stream) error {
				if err := s.Send(headerMsg(rec.header)); err != nil {
					return err
				}
				if err := s.Send(chunkMsg(rec.content[:100])); err != nil {
					return err
				}
				return status.Error(codes.FailedPrecondition, "the record was erased")
			},
			code: codes.FailedPrecondition,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := newExchangeEnv(t)
			e.fake.serve = tc.serve
			c := e.client(t, tc.opts...)
			tr, err := c.Fetch(context.Background(), e.cert, custodianMSP, ticket)
			if tc.fetchErr != nil {
				if !errors.Is(err, tc.fetchErr) {
					t.Fatalf("Fetch = %v, want %v", err, tc.fetchErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Fetch = %v", err)
			}
			defer tr.Close()
			// The verifying reader uses the ledger's commitment, which the
			// test knows.
			_, err = io.ReadAll(NewVerifyingReader(tr, tr.Header().GetSalt(), rec.header.Evidence.Commitment, tr.Header().GetSize()))
			switch {
			case tc.readErr != nil && !errors.Is(err, tc.readErr):
				t.Fatalf("reading = %v, want %v", err, tc.readErr)
			case tc.code != codes.OK && status.Code(err) != tc.code:
				t.Fatalf("reading = %v (code %v), want code %v", err, status.Code(err), tc.code)
			}
		})
	}
}

func TestFetchPassesTheCustodiansCodesThrough(t *testing.T) {
	tests := map[string]struct {
		refusal error
		code    codes.Code
	}{
		"a ticket issued to someone else is PermissionDenied":    {refuse(ErrWrongRequester), codes.PermissionDenied},
		"a plain PermissionDenied status stays PermissionDenied": {status.Error(codes.PermissionDenied, "no"), codes.PermissionDenied},
		"an unknown ticket is NotFound":                          {refuse(ErrUnknownTicket), codes.NotFound},
		"a used ticket is FailedPrecondition":                    {refuse(ErrUsed), codes.FailedPrecondition},
		"an unavailable ledger is Unavailable":                   {status.Error(codes.Unavailable, "ledger unavailable"), codes.Unavailable},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := newExchangeEnv(t)
			e.fake.serve = func(*gatewayv1.FetchForAccessTicketRequest, stream) error { return tc.refusal }
			tr, err := e.client(t).Fetch(context.Background(), e.cert, custodianMSP, ticket)
			if err == nil {
				_ = tr.Close()
				t.Fatal("Fetch succeeded, want the custodian's refusal")
			}
			if got := status.Code(err); got != tc.code {
				t.Errorf("status.Code = %v, want %v (%v)", got, tc.code, err)
			}
			st, ok := status.FromError(err)
			if !ok || st.Code() != tc.code {
				t.Errorf("status.FromError = %v, %v; want code %v", st, ok, tc.code)
			}
			if !strings.Contains(err.Error(), custodianMSP) {
				t.Errorf("error %q does not name the custodian", err)
			}
		})
	}
}

func TestFetchRefusesACustodianOutsideTheDirectorysCA(t *testing.T) {
	e := newExchangeEnv(t)
	e.fake.serve = sends(newRecord(10), nil, nil)
	// The directory names hospital B's TLS CA, which did not sign the
	// custodian's certificate.
	c, err := NewClient(e.directory(e.orgB.TLSCACertPEM()))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := c.Fetch(context.Background(), e.cert, custodianMSP, ticket)
	if err == nil {
		_ = tr.Close()
		t.Fatal("Fetch succeeded against a certificate of another CA")
	}
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Fetch = %v (code %v), want Unavailable naming the certificate", err, status.Code(err))
	}
	if callers, _ := e.fake.calls(); len(callers) != 0 {
		t.Errorf("the custodian was called %d times", len(callers))
	}
}

func TestFetchRefusesACustodianCertifiedForAnotherName(t *testing.T) {
	// The custodian's certificate names only gateway.hospital-a.example;
	// the directory's address is 127.0.0.1.
	e := newExchangeEnvFor(t, []string{"gateway.hospital-a.example"})
	e.fake.serve = sends(newRecord(10), nil, nil)
	tr, err := e.client(t).Fetch(context.Background(), e.cert, custodianMSP, ticket)
	if err == nil {
		_ = tr.Close()
		t.Fatal("Fetch succeeded against a certificate for another name")
	}
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "certificate for 127.0.0.1") {
		t.Errorf("Fetch = %v (code %v), want Unavailable naming the host mismatch", err, status.Code(err))
	}
	if callers, _ := e.fake.calls(); len(callers) != 0 {
		t.Errorf("the custodian was called %d times", len(callers))
	}
}

func TestFetchTimesOutOnASilentCustodian(t *testing.T) {
	e := newExchangeEnv(t)
	// A listener that accepts connections and never answers the TLS
	// handshake.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	t.Cleanup(func() { _ = l.Close(); conns.Wait() })
	conns.Add(1)
	go func() {
		defer conns.Done()
		var held []net.Conn
		defer func() {
			for _, c := range held {
				_ = c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	e.addr = l.Addr().String()
	c := e.client(t, WithDialTimeout(300*time.Millisecond))
	start := time.Now()
	tr, err := c.Fetch(context.Background(), e.cert, custodianMSP, ticket)
	if err == nil {
		_ = tr.Close()
		t.Fatal("Fetch succeeded against a silent custodian")
	}
	if status.Code(err) != codes.Unavailable {
		t.Errorf("Fetch = %v (code %v), want Unavailable", err, status.Code(err))
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Fetch took %v with a dial timeout of 300ms", d)
	}
}

func TestFetchStopsWithItsContext(t *testing.T) {
	e := newExchangeEnv(t)
	e.fake.serve = func(_ *gatewayv1.FetchForAccessTicketRequest, s stream) error {
		<-s.Context().Done()
		return s.Context().Err()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	tr, err := e.client(t).Fetch(ctx, e.cert, custodianMSP, ticket)
	if err == nil {
		_ = tr.Close()
		t.Fatal("Fetch succeeded, want the context's deadline")
	}
	if status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("Fetch = %v (code %v), want DeadlineExceeded", err, status.Code(err))
	}
}

func TestCloseEndsTheCustodiansStream(t *testing.T) {
	e := newExchangeEnv(t)
	rec := newRecord(1 << 20)
	ended := make(chan struct{})
	e.fake.serve = func(_ *gatewayv1.FetchForAccessTicketRequest, s stream) error {
		defer close(ended)
		if err := s.Send(headerMsg(rec.header)); err != nil {
			return err
		}
		if err := s.Send(chunkMsg(rec.content[:1000])); err != nil {
			return err
		}
		<-s.Context().Done()
		return s.Context().Err()
	}
	tr, err := e.client(t).Fetch(context.Background(), e.cert, custodianMSP, ticket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(tr, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the custodian's stream did not end after Close")
	}
	if _, err := tr.Read(make([]byte, 1)); err == nil {
		t.Error("Read after Close succeeded")
	}
}

func TestFetchChecksItsArguments(t *testing.T) {
	e := newExchangeEnv(t)
	called := false
	dir := func(context.Context, string) (Endpoint, error) {
		called = true
		return Endpoint{}, errors.New("unreachable")
	}
	c, err := NewClient(dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		cert      tls.Certificate
		msp, txID string
		field     string
	}{
		"a malformed custodian is refused": {e.cert, "Hospital A", ticket, "custodianMSP"},
		"a malformed ticket is refused":    {e.cert, custodianMSP, "TICKET", "accessTxID"},
		"an empty ticket is refused":       {e.cert, custodianMSP, "", "accessTxID"},
		"a certificate without key is refused": {
			tls.Certificate{Certificate: e.cert.Certificate}, custodianMSP, ticket, "cert"},
		"no certificate is refused": {tls.Certificate{}, custodianMSP, ticket, "cert"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tr, err := c.Fetch(context.Background(), tc.cert, tc.msp, tc.txID)
			if err == nil {
				_ = tr.Close()
				t.Fatal("Fetch succeeded")
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %q does not name %s", err, tc.field)
			}
			if called {
				t.Error("the directory was consulted")
			}
		})
	}
}

func TestFetchReportsDirectoryErrors(t *testing.T) {
	e := newExchangeEnv(t)
	tests := map[string]struct {
		dir  Directory
		want error
		code codes.Code
	}{
		"an organisation without an entry is NotFound": {
			dir:  e.directory(e.orgA.TLSCACertPEM()),
			code: codes.NotFound,
		},
		"an entry of another organisation is refused": {
			dir: func(context.Context, string) (Endpoint, error) {
				return Endpoint{MSPID: requesterMSP, Address: e.addr, TLSCACertPEM: e.orgA.TLSCACertPEM()}, nil
			},
			want: ErrBadEndpoint,
		},
		"an entry with a malformed address is refused": {
			dir: func(context.Context, string) (Endpoint, error) {
				return Endpoint{MSPID: "HealthAuthorityMSP", Address: "not an address", TLSCACertPEM: e.orgA.TLSCACertPEM()}, nil
			},
			want: ErrBadEndpoint,
		},
		"an entry without a CA is refused": {
			dir: func(context.Context, string) (Endpoint, error) {
				return Endpoint{MSPID: "HealthAuthorityMSP", Address: e.addr}, nil
			},
			want: ErrBadEndpoint,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := NewClient(tc.dir)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := c.Fetch(context.Background(), e.cert, "HealthAuthorityMSP", ticket)
			if err == nil {
				_ = tr.Close()
				t.Fatal("Fetch succeeded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("Fetch = %v, want %v", err, tc.want)
			}
			if tc.code != codes.OK && status.Code(err) != tc.code {
				t.Errorf("Fetch = %v (code %v), want code %v", err, status.Code(err), tc.code)
			}
		})
	}
}

func TestNewClientChecksItsOptions(t *testing.T) {
	dir := func(context.Context, string) (Endpoint, error) { return Endpoint{}, nil }
	tests := map[string]struct {
		dir  Directory
		opts []ClientOption
	}{
		"a nil directory is refused":       {nil, nil},
		"a zero dial timeout is refused":   {dir, []ClientOption{WithDialTimeout(0)}},
		"a negative size limit is refused": {dir, []ClientOption{WithMaxRecordSize(-1)}},
		"a nil logger is refused":          {dir, []ClientOption{WithLogger(nil)}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := NewClient(tc.dir, tc.opts...); err == nil {
				t.Error("NewClient succeeded")
			}
		})
	}
	if _, err := NewClient(dir); err != nil {
		t.Errorf("NewClient with defaults = %v", err)
	}
}

func TestFetchWithAnUntrustedCertificateReachesNoHandler(t *testing.T) {
	e := newExchangeEnv(t)
	e.fake.serve = sends(newRecord(10), nil, nil)
	// A user of an organisation whose CA the custodian does not trust.
	stranger, err := newDevOrg(t, "StrangerMSP", "stranger.example").Issue(devca.IdentityRequest{
		Name: "clinician", NodeOU: devca.NodeOUClient, Role: devca.RoleClinician})
	if err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{stranger.Cert.Raw}, PrivateKey: stranger.Key}
	tr, err := e.client(t).Fetch(context.Background(), cert, custodianMSP, ticket)
	if err == nil {
		_ = tr.Close()
		t.Fatal("Fetch succeeded with an untrusted client certificate")
	}
	if status.Code(err) != codes.Unavailable {
		t.Errorf("Fetch = %v (code %v), want Unavailable", err, status.Code(err))
	}
	if callers, _ := e.fake.calls(); len(callers) != 0 {
		t.Errorf("the custodian's handler was called %d times", len(callers))
	}
}
