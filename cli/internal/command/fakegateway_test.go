package command

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/internal/devca"
	"github.com/medprov/medprov/internal/patientproof"
)

// The fake gateway's fixed answers.
const (
	fakeMSP         = "HospitalAMSP"
	fakeRemoteMSP   = "HospitalBMSP"
	fakeFingerprint = "abababababababababababababababababababababababababababababababab"
	fakeChallengeID = "0123456789abcdef0123456789abcdef"
	fakePageSize    = 2
	// refuseMarker at the start of uploaded content makes the fake refuse
	// it, as a gateway refuses content above its limit.
	refuseMarker = "REFUSE"
)

var fakeNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// fakeTxID is the n-th transaction ID the fake hands out.
func fakeTxID(n int) string {
	sum := sha256.Sum256([]byte("tx-" + strconv.Itoa(n)))
	return hex.EncodeToString(sum[:])
}

// fakeVersion is one stored record version.
type fakeVersion struct {
	ev      *gatewayv1.RecordEvidence
	rc      *gatewayv1.Receipt
	content []byte
}

// fakeUpload is what one AddRecord or AmendRecord call received.
type fakeUpload struct {
	meta    proto.Message
	content []byte
	chunks  []int // chunk sizes
}

// fakeGateway is an in-memory gateway: it records every request, answers
// consistently (what was added can be read back, signatures are checked
// with the registered keys) and can be told to fail.
type fakeGateway struct {
	mu        sync.Mutex
	calls     []string
	requests  map[string][]proto.Message
	uploads   []fakeUpload
	peerCerts [][]byte
	// failWith makes the named method fail before its handler runs.
	failWith map[string]error
	// delay makes every call wait this long (or until cancelled).
	delay time.Duration
	// breakAfter makes GetRecord and ExportTrail fail after sending this
	// many content bytes; 0 never.
	breakAfter int
	// decision is the answer of RequestAccess.
	decision gatewayv1.Decision
	// export is the content ExportTrail streams.
	export []byte

	tx       int
	records  map[string][]*fakeVersion
	patients map[string]*gatewayv1.Patient
}

func newFakeGateway() *fakeGateway {
	return &fakeGateway{
		requests: map[string][]proto.Message{},
		failWith: map[string]error{},
		decision: gatewayv1.Decision_DECISION_GRANTED,
		records:  map[string][]*fakeVersion{},
		patients: map[string]*gatewayv1.Patient{},
		export:   []byte("txId,at,recordId,decision\n" + strings.Repeat("synthetic-row,2026-03-04T05:06:07Z,r-0001,GRANTED\n", 3000)),
	}
}

func (f *fakeGateway) nextTx() string {
	f.tx++
	return fakeTxID(f.tx)
}

// got returns the requests a method received, in order.
func (f *fakeGateway) got(method string) []proto.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]proto.Message(nil), f.requests[method]...)
}

// callCount returns how many calls the fake received.
func (f *fakeGateway) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *fakeGateway) note(method string, req proto.Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests[method] = append(f.requests[method], proto.Clone(req))
}

// intercept records the call and its client certificate, then applies
// failWith and delay.
func (f *fakeGateway) intercept(ctx context.Context, fullMethod string) error {
	method := fullMethod[strings.LastIndexByte(fullMethod, '/')+1:]
	f.mu.Lock()
	f.calls = append(f.calls, method)
	if p, ok := peer.FromContext(ctx); ok {
		if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(ti.State.PeerCertificates) > 0 {
			f.peerCerts = append(f.peerCerts, ti.State.PeerCertificates[0].Raw)
		}
	}
	err, delay := f.failWith[method], f.delay
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
	return err
}

func (f *fakeGateway) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := f.intercept(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	f.note(info.FullMethod[strings.LastIndexByte(info.FullMethod, '/')+1:], req.(proto.Message))
	return h(ctx, req)
}

func (f *fakeGateway) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if err := f.intercept(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	return h(srv, ss)
}

// fakeEnv is a running fake gateway with real mTLS, and a user identity
// that it accepts.
type fakeEnv struct {
	fake     *fakeGateway
	addr     string
	identity string // the user's identity folder
	tlsCA    string // PEM file of the CA of the gateway's TLS certificate
	userCert *x509.Certificate
	org      *devca.Org
}

// startFake starts a fake gateway on 127.0.0.1 with a TLS certificate from
// a development organisation, accepting client certificates from its
// signing CA, and writes a clinician identity of that organisation.
func startFake(t *testing.T) *fakeEnv {
	t.Helper()
	org, err := devca.NewOrg(fakeMSP, "hospital-a.medprov.test")
	if err != nil {
		t.Fatal(err)
	}
	server, err := org.Issue(devca.IdentityRequest{Name: "gateway", NodeOU: devca.NodeOUPeer, IPs: []net.IP{net.ParseIP("127.0.0.1")}})
	if err != nil {
		t.Fatal(err)
	}
	user, err := org.Issue(devca.IdentityRequest{Name: "alice", NodeOU: devca.NodeOUClient, Role: devca.RoleClinician, Clearance: devca.ClearanceN})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	identity := filepath.Join(dir, "alice")
	if err := org.WriteIdentity(identity, user); err != nil {
		t.Fatal(err)
	}
	tlsCA := filepath.Join(dir, "tlsca.pem")
	writeFile(t, tlsCA, org.TLSCACertPEM())

	pair, err := tls.X509KeyPair(server.TLSCertPEM, server.TLSKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	clients := x509.NewCertPool()
	clients.AppendCertsFromPEM(org.CACertPEM())
	creds := credentials.NewTLS(&tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{pair},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    clients,
	})
	fake := newFakeGateway()
	srv := grpc.NewServer(grpc.Creds(creds),
		grpc.UnaryInterceptor(fake.unary), grpc.StreamInterceptor(fake.stream),
		grpc.MaxRecvMsgSize(8<<20))
	gatewayv1.RegisterRecordServiceServer(srv, &fakeRecords{f: fake})
	gatewayv1.RegisterAccessServiceServer(srv, &fakeAccess{f: fake})
	gatewayv1.RegisterConsentServiceServer(srv, &fakeConsents{f: fake})
	gatewayv1.RegisterPatientServiceServer(srv, &fakePatients{f: fake})
	gatewayv1.RegisterAuditServiceServer(srv, &fakeAudit{f: fake})
	gatewayv1.RegisterAdminServiceServer(srv, &fakeAdmin{f: fake})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return &fakeEnv{fake: fake, addr: lis.Addr().String(), identity: identity, tlsCA: tlsCA, userCert: user.Cert, org: org}
}

// env returns the connection settings as environment variables.
func (e *fakeEnv) env() map[string]string {
	return map[string]string{envGateway: e.addr, envIdentity: e.identity, envTLSCA: e.tlsCA}
}

// fakeStore is the part of the fake that holds records.

func (f *fakeGateway) commit(recordID string, version uint32, patient, docType string, conf gatewayv1.Confidentiality, content []byte) *fakeVersion {
	salt := sha256.Sum256([]byte("salt-" + recordID + "-" + strconv.Itoa(int(version))))
	commitment := ledger.Commitment(salt[:], sha256.Sum256(content))
	tx := f.nextTx()
	ev := &gatewayv1.RecordEvidence{
		RecordId: recordID, Version: version, Patient: patient, Custodian: fakeMSP,
		Author:  &gatewayv1.Author{Role: gatewayv1.Role_ROLE_CLINICIAN, CertFingerprint: fakeFingerprint},
		DocType: docType, Confidentiality: conf, Commitment: commitment,
		AnchoredAt: timestamppb.New(fakeNow), TxId: tx, Status: gatewayv1.RecordStatus_RECORD_STATUS_ACTIVE,
	}
	rc := &gatewayv1.Receipt{
		RecordId: recordID, Version: version, Custodian: fakeMSP, Salt: salt[:], Commitment: commitment,
		TxId: tx, BlockNumber: uint64(10 + f.tx), AnchoredAt: timestamppb.New(fakeNow),
	}
	v := &fakeVersion{ev: ev, rc: rc, content: content}
	f.records[recordID] = append(f.records[recordID], v)
	return v
}

// find returns a stored version; 0 is the latest.
func (f *fakeGateway) find(recordID string, version uint32) (*fakeVersion, error) {
	vs := f.records[recordID]
	if len(vs) == 0 {
		return nil, status.Errorf(codes.NotFound, "record %s", recordID)
	}
	if version == 0 {
		return vs[len(vs)-1], nil
	}
	if int(version) > len(vs) {
		return nil, status.Errorf(codes.NotFound, "record %s version %d", recordID, version)
	}
	return vs[version-1], nil
}

// receiveUpload reads an upload: metadata first, then chunks.
func receiveUpload[Req any, Resp any](stream grpc.ClientStreamingServer[Req, Resp], meta func(*Req) proto.Message, chunk func(*Req) []byte) (fakeUpload, error) {
	first, err := stream.Recv()
	if err != nil {
		return fakeUpload{}, err
	}
	m := meta(first)
	if m == nil {
		return fakeUpload{}, status.Error(codes.InvalidArgument, "metadata: missing or not first")
	}
	up := fakeUpload{meta: proto.Clone(m)}
	var buf bytes.Buffer
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fakeUpload{}, err
		}
		if meta(msg) != nil {
			return fakeUpload{}, status.Error(codes.InvalidArgument, "metadata: sent twice")
		}
		c := chunk(msg)
		if len(c) == 0 || len(c) > 4<<20 {
			return fakeUpload{}, status.Error(codes.InvalidArgument, "chunk: want 1 byte to 4 MiB")
		}
		up.chunks = append(up.chunks, len(c))
		buf.Write(c)
	}
	up.content = buf.Bytes()
	return up, nil
}

func checkUpload(up fakeUpload, sum []byte) error {
	if len(up.content) == 0 {
		return status.Error(codes.InvalidArgument, "content: empty")
	}
	if bytes.HasPrefix(up.content, []byte(refuseMarker)) {
		return status.Error(codes.InvalidArgument, "content: above the configured limit")
	}
	if len(sum) > 0 {
		got := sha256.Sum256(up.content)
		if !bytes.Equal(sum, got[:]) {
			return status.Error(codes.InvalidArgument, "content_sha256: the content hashes otherwise")
		}
	}
	return nil
}

type fakeRecords struct {
	gatewayv1.UnimplementedRecordServiceServer
	f *fakeGateway
}

func (s *fakeRecords) AddRecord(stream grpc.ClientStreamingServer[gatewayv1.AddRecordRequest, gatewayv1.AddRecordResponse]) error {
	up, err := receiveUpload(stream,
		func(r *gatewayv1.AddRecordRequest) proto.Message {
			if m := r.GetMetadata(); m != nil {
				return m
			}
			return nil
		},
		(*gatewayv1.AddRecordRequest).GetChunk)
	if err != nil {
		return err
	}
	f := s.f
	f.mu.Lock()
	defer f.mu.Unlock()
	f.uploads = append(f.uploads, up)
	meta := up.meta.(*gatewayv1.RecordMetadata)
	f.requests["AddRecord"] = append(f.requests["AddRecord"], meta)
	if err := checkUpload(up, meta.GetContentSha256()); err != nil {
		return err
	}
	if err := ledger.CheckPseudonym("patient", meta.GetPatient()); err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	if _, ok := f.records[meta.GetRecordId()]; ok {
		return status.Errorf(codes.AlreadyExists, "record %s", meta.GetRecordId())
	}
	v := f.commit(meta.GetRecordId(), 1, meta.GetPatient(), meta.GetDocType(), meta.GetConfidentiality(), up.content)
	return stream.SendAndClose(&gatewayv1.AddRecordResponse{Evidence: v.ev, Receipt: v.rc, Size: uint64(len(up.content))})
}

func (s *fakeRecords) AmendRecord(stream grpc.ClientStreamingServer[gatewayv1.AmendRecordRequest, gatewayv1.AmendRecordResponse]) error {
	up, err := receiveUpload(stream,
		func(r *gatewayv1.AmendRecordRequest) proto.Message {
			if m := r.GetMetadata(); m != nil {
				return m
			}
			return nil
		},
		(*gatewayv1.AmendRecordRequest).GetChunk)
	if err != nil {
		return err
	}
	f := s.f
	f.mu.Lock()
	defer f.mu.Unlock()
	f.uploads = append(f.uploads, up)
	meta := up.meta.(*gatewayv1.AmendmentMetadata)
	f.requests["AmendRecord"] = append(f.requests["AmendRecord"], meta)
	if err := checkUpload(up, meta.GetContentSha256()); err != nil {
		return err
	}
	prev, err := f.find(meta.GetRecordId(), 0)
	if err != nil {
		return err
	}
	docType, conf := prev.ev.GetDocType(), prev.ev.GetConfidentiality()
	if meta.GetDocType() != "" {
		docType = meta.GetDocType()
	}
	if meta.GetConfidentiality() != 0 {
		conf = meta.GetConfidentiality()
	}
	prev.ev.Status = gatewayv1.RecordStatus_RECORD_STATUS_SUPERSEDED
	v := f.commit(meta.GetRecordId(), prev.ev.GetVersion()+1, prev.ev.GetPatient(), docType, conf, up.content)
	v.ev.PreviousVersion = prev.ev.GetVersion()
	v.ev.AmendmentReason = meta.GetReason()
	return stream.SendAndClose(&gatewayv1.AmendRecordResponse{Evidence: v.ev, Receipt: v.rc, Size: uint64(len(up.content))})
}

func (s *fakeRecords) GetRecord(req *gatewayv1.GetRecordRequest, stream grpc.ServerStreamingServer[gatewayv1.GetRecordResponse]) error {
	f := s.f
	f.note("GetRecord", req)
	f.mu.Lock()
	v, err := f.find(req.GetRecordId(), req.GetVersion())
	if err == nil && v.ev.GetStatus() == gatewayv1.RecordStatus_RECORD_STATUS_ERASED {
		err = status.Errorf(codes.FailedPrecondition, "record %s is erased", req.GetRecordId())
	}
	var tx string
	if err == nil {
		tx = f.nextTx()
	}
	breakAfter := f.breakAfter
	f.mu.Unlock()
	if err != nil {
		return err
	}
	if err := stream.Send(&gatewayv1.GetRecordResponse{Part: &gatewayv1.GetRecordResponse_Header{Header: &gatewayv1.RecordHeader{
		Evidence: v.ev, Receipt: v.rc, Size: uint64(len(v.content)), AccessTxId: tx,
	}}}); err != nil {
		return err
	}
	return sendChunks(v.content, breakAfter, func(b []byte) error {
		return stream.Send(&gatewayv1.GetRecordResponse{Part: &gatewayv1.GetRecordResponse_Chunk{Chunk: b}})
	})
}

// sendChunks sends content in 1 MiB chunks; with breakAfter > 0 it fails
// once that many bytes are sent.
func sendChunks(content []byte, breakAfter int, send func([]byte) error) error {
	const size = 1 << 20
	sent := 0
	for off := 0; off < len(content); off += size {
		if breakAfter > 0 && sent >= breakAfter {
			return status.Error(codes.Internal, "store: reading the content failed")
		}
		end := min(off+size, len(content))
		if err := send(content[off:end]); err != nil {
			return err
		}
		sent += end - off
	}
	if breakAfter > 0 && sent >= breakAfter {
		return status.Error(codes.Internal, "store: reading the content failed")
	}
	return nil
}

func (s *fakeRecords) EraseRecord(_ context.Context, req *gatewayv1.EraseRecordRequest) (*gatewayv1.EraseRecordResponse, error) {
	f := s.f
	f.mu.Lock()
	defer f.mu.Unlock()
	latest, err := f.find(req.GetRecordId(), 0)
	if err != nil {
		return nil, err
	}
	tx := f.nextTx()
	for _, v := range f.records[req.GetRecordId()] {
		v.ev.Status = gatewayv1.RecordStatus_RECORD_STATUS_ERASED
		v.ev.Erasure = &gatewayv1.Erasure{Reason: req.GetReason(), ErasedAt: timestamppb.New(fakeNow), TxId: tx}
		v.rc.Salt = nil
	}
	return &gatewayv1.EraseRecordResponse{Evidence: latest.ev}, nil
}

func (s *fakeRecords) RecordHistory(_ context.Context, req *gatewayv1.RecordHistoryRequest) (*gatewayv1.RecordHistoryResponse, error) {
	f := s.f
	f.mu.Lock()
	defer f.mu.Unlock()
	vs := f.records[req.GetRecordId()]
	if len(vs) == 0 {
		return nil, status.Errorf(codes.NotFound, "record %s", req.GetRecordId())
	}
	var evs []*gatewayv1.RecordEvidence
	for _, v := range vs {
		evs = append(evs, v.ev)
	}
	page, next, err := paginate(evs, req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &gatewayv1.RecordHistoryResponse{Versions: page, NextPageToken: next}, nil
}

func (s *fakeRecords) GetReceipt(_ context.Context, req *gatewayv1.GetReceiptRequest) (*gatewayv1.GetReceiptResponse, error) {
	f := s.f
	f.mu.Lock()
	defer f.mu.Unlock()
	v, err := f.find(req.GetRecordId(), req.GetVersion())
	if err != nil {
		return nil, err
	}
	if v.ev.GetStatus() == gatewayv1.RecordStatus_RECORD_STATUS_ERASED {
		return nil, status.Errorf(codes.FailedPrecondition, "record %s is erased: its salt no longer exists", req.GetRecordId())
	}
	return &gatewayv1.GetReceiptResponse{Receipt: v.rc, StoredAt: timestamppb.New(fakeNow)}, nil
}

// paginate returns the page of items at token ("" is the first) and the
// next token, fakePageSize items a page.
func paginate[T any](items []T, token string) ([]T, string, error) {
	off := 0
	if token != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(token, "page-"))
		if err != nil || !strings.HasPrefix(token, "page-") || n < 0 || n > len(items) {
			return nil, "", status.Error(codes.InvalidArgument, "page_token: not from this query")
		}
		off = n
	}
	end := min(off+fakePageSize, len(items))
	next := ""
	if end < len(items) {
		next = "page-" + strconv.Itoa(end)
	}
	return items[off:end], next, nil
}

// fakeEvent is the n-th canned access event.
func fakeEvent(n int, decision gatewayv1.Decision) *gatewayv1.AccessEvent {
	e := &gatewayv1.AccessEvent{
		TxId: fakeTxID(1000 + n), At: timestamppb.New(fakeNow.Add(time.Duration(n) * time.Minute)),
		RecordId: "r-0001", Version: 1, Custodian: fakeMSP, Patient: "pt-" + strings.Repeat("0a", 20),
		Requester: &gatewayv1.Requester{MspId: fakeRemoteMSP, Role: gatewayv1.Role_ROLE_CLINICIAN, CertFingerprint: fakeFingerprint},
		Purpose:   gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT, Decision: decision,
	}
	switch decision {
	case gatewayv1.Decision_DECISION_GRANTED:
		e.Basis = &gatewayv1.AccessBasis{Type: gatewayv1.BasisType_BASIS_TYPE_CONSENT, ConsentId: "c-2026-001"}
	case gatewayv1.Decision_DECISION_DENIED:
		e.DenialReason = gatewayv1.DenialReason_DENIAL_REASON_NO_CONSENT
	case gatewayv1.Decision_DECISION_EMERGENCY:
		e.Purpose = gatewayv1.PurposeOfUse_PURPOSE_OF_USE_ETREAT
		e.Basis = &gatewayv1.AccessBasis{Type: gatewayv1.BasisType_BASIS_TYPE_BREAK_THE_GLASS, JustificationCode: gatewayv1.JustificationCode_JUSTIFICATION_CODE_LIFE_THREATENING}
		e.Alerts = []gatewayv1.Alert{gatewayv1.Alert_ALERT_EMERGENCY_ACCESS}
	}
	return e
}

// fakeTrail is the canned access trail.
func fakeTrail() []*gatewayv1.AccessEvent {
	return []*gatewayv1.AccessEvent{
		fakeEvent(1, gatewayv1.Decision_DECISION_GRANTED),
		fakeEvent(2, gatewayv1.Decision_DECISION_DENIED),
		fakeEvent(3, gatewayv1.Decision_DECISION_EMERGENCY),
	}
}

type fakeAccess struct {
	gatewayv1.UnimplementedAccessServiceServer
	f *fakeGateway
}

func (s *fakeAccess) RequestAccess(_ context.Context, req *gatewayv1.RequestAccessRequest) (*gatewayv1.RequestAccessResponse, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	e := fakeEvent(10, s.f.decision)
	e.RecordId, e.Custodian, e.Purpose = req.GetRecordId(), fakeRemoteMSP, req.GetPurpose()
	e.Requester.MspId = fakeMSP
	if s.f.decision == gatewayv1.Decision_DECISION_DENIED {
		e.Patient = ""
	}
	if e.GetBasis().GetType() == gatewayv1.BasisType_BASIS_TYPE_BREAK_THE_GLASS {
		e.Basis.JustificationCode, e.Basis.JustificationHash = req.GetJustificationCode(), req.GetJustificationHash()
	}
	return &gatewayv1.RequestAccessResponse{Event: e, BlockNumber: 42}, nil
}

func (s *fakeAccess) FetchRecord(_ context.Context, req *gatewayv1.FetchRecordRequest) (*gatewayv1.FetchRecordResponse, error) {
	f := s.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if req.GetAccessTxId() != fakeTxID(1010) {
		return nil, status.Error(codes.NotFound, "no such access event of the caller")
	}
	src := &gatewayv1.RecordEvidence{
		RecordId: "r-remote-0001", Version: 3, Patient: "pt-" + strings.Repeat("0a", 20), Custodian: fakeRemoteMSP,
		Author:  &gatewayv1.Author{Role: gatewayv1.Role_ROLE_CLINICIAN, CertFingerprint: fakeFingerprint},
		DocType: "11502-2", Confidentiality: gatewayv1.Confidentiality_CONFIDENTIALITY_N,
		Commitment: strings.Repeat("cd", 32), AnchoredAt: timestamppb.New(fakeNow), TxId: fakeTxID(500),
		Status: gatewayv1.RecordStatus_RECORD_STATUS_ACTIVE, PreviousVersion: 2,
		AmendmentReason: gatewayv1.AmendmentReason_AMENDMENT_REASON_ADDENDUM,
	}
	id := req.GetCopyRecordId()
	if id == "" {
		id = "r-copy-0001"
	}
	content := []byte("synthetic lab result for a synthetic patient\n")
	v := f.commit(id, 1, src.GetPatient(), src.GetDocType(), src.GetConfidentiality(), content)
	v.ev.DerivedFrom = &gatewayv1.DerivedFrom{Custodian: src.GetCustodian(), RecordId: src.GetRecordId(), Version: src.GetVersion()}
	return &gatewayv1.FetchRecordResponse{Source: src, Copy: v.ev, Receipt: v.rc, Size: uint64(len(content))}, nil
}

func (s *fakeAccess) LogAccess(_ context.Context, req *gatewayv1.LogAccessRequest) (*gatewayv1.LogAccessResponse, error) {
	e := fakeEvent(20, gatewayv1.Decision_DECISION_GRANTED)
	e.RecordId, e.Version, e.Purpose, e.CareRelationship = req.GetRecordId(), max(req.GetVersion(), 1), req.GetPurpose(), req.GetCareRelationship()
	e.Requester.MspId = fakeMSP
	e.Basis = &gatewayv1.AccessBasis{Type: gatewayv1.BasisType_BASIS_TYPE_CUSTODIAN_STAFF}
	if !req.GetCareRelationship() {
		e.Alerts = []gatewayv1.Alert{gatewayv1.Alert_ALERT_OUTSIDE_CARE_RELATIONSHIP}
	}
	return &gatewayv1.LogAccessResponse{Event: e}, nil
}

type fakeConsents struct {
	gatewayv1.UnimplementedConsentServiceServer
	f *fakeGateway
}

func (s *fakeConsents) RegisterPatient(_ context.Context, req *gatewayv1.RegisterPatientRequest) (*gatewayv1.RegisterPatientResponse, error) {
	key, err := ledger.ParsePatientKey("public_key", base64.StdEncoding.EncodeToString(req.GetPublicKey()))
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if _, ok := s.f.patients[key.Pseudonym()]; ok {
		return nil, status.Error(codes.AlreadyExists, "patient already registered")
	}
	alg := keyAlgorithmCodes.values[0]
	if key.Algorithm == ledger.AlgECDSAP256 {
		alg = gatewayv1.KeyAlgorithm_KEY_ALGORITHM_ECDSA_P256
	}
	p := &gatewayv1.Patient{
		Pseudonym: key.Pseudonym(), PublicKey: req.GetPublicKey(), KeyAlgorithm: alg, KeyVersion: 1,
		RegisteredBy: fakeMSP, RegisteredAt: timestamppb.New(fakeNow), UpdatedAt: timestamppb.New(fakeNow),
	}
	s.f.patients[p.GetPseudonym()] = p
	return &gatewayv1.RegisterPatientResponse{Patient: p}, nil
}

// verify checks a patient's signature over msg with the registered key
// and the sequence, as the ledger does. It holds f.mu.
func (f *fakeGateway) verify(patient string, seq uint64, msg, sig []byte) (*gatewayv1.Patient, error) {
	p, ok := f.patients[patient]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "patient %s", patient)
	}
	key, err := ledger.ParsePatientKey("key", base64.StdEncoding.EncodeToString(p.GetPublicKey()))
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if err := key.Verify("signature", msg, base64.StdEncoding.EncodeToString(sig)); err != nil {
		return nil, status.Error(codes.PermissionDenied, "signature: does not verify with the patient's key")
	}
	if seq != p.GetSequence()+1 {
		return nil, status.Errorf(codes.FailedPrecondition, "sequence: want %d", p.GetSequence()+1)
	}
	p.Sequence = seq
	return p, nil
}

func (s *fakeConsents) RotatePatientKey(_ context.Context, req *gatewayv1.RotatePatientKeyRequest) (*gatewayv1.RotatePatientKeyResponse, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	rot := ledger.KeyRotation{Patient: req.GetPatient(), NewPublicKey: base64.StdEncoding.EncodeToString(req.GetNewPublicKey()), Sequence: req.GetSequence()}
	p, err := s.f.verify(req.GetPatient(), req.GetSequence(), rot.CanonicalBytes(), req.GetSignature())
	if err != nil {
		return nil, err
	}
	p.PublicKey, p.KeyVersion = req.GetNewPublicKey(), p.GetKeyVersion()+1
	return &gatewayv1.RotatePatientKeyResponse{Patient: p}, nil
}

// fromProtoGrant converts the API's grant back to the ledger's, as a
// gateway must before it checks the signature.
func fromProtoGrant(g *gatewayv1.ConsentGrant) ledger.ConsentGrant {
	out := ledger.ConsentGrant{
		ConsentID: g.GetConsentId(), Patient: g.GetPatient(),
		Grantee:            ledger.Grantee{MSPID: g.GetGrantee().GetMspId(), Role: ledger.Role(roleCodes.name(g.GetGrantee().GetRole()))},
		Scope:              ledger.Scope{All: g.GetScope().GetAll(), RecordIDs: g.GetScope().GetRecordIds(), DocTypes: g.GetScope().GetDocTypes()},
		MaxConfidentiality: ledger.Confidentiality(confidentialityCodes.name(g.GetMaxConfidentiality())),
		NotBefore:          g.GetNotBefore().AsTime().UTC().Format(ledger.TimeLayout),
		NotAfter:           g.GetNotAfter().AsTime().UTC().Format(ledger.TimeLayout),
		Sequence:           g.GetSequence(),
	}
	for _, p := range g.GetPurposes() {
		out.Purposes = append(out.Purposes, ledger.Purpose(purposeCodes.name(p)))
	}
	return out
}

func (s *fakeConsents) GrantConsent(_ context.Context, req *gatewayv1.GrantConsentRequest) (*gatewayv1.GrantConsentResponse, error) {
	grant, _, _, err := fromProtoGrant(req.GetGrant()).Normalize()
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if _, err := s.f.verify(grant.Patient, grant.Sequence, grant.CanonicalBytes(), req.GetSignature()); err != nil {
		return nil, err
	}
	return &gatewayv1.GrantConsentResponse{Consent: &gatewayv1.Consent{
		Grant: req.GetGrant(), Signature: req.GetSignature(), Status: gatewayv1.ConsentStatus_CONSENT_STATUS_ACTIVE,
		SubmittedBy: fakeMSP, GrantedAt: timestamppb.New(fakeNow), GrantTxId: s.f.nextTx(),
	}}, nil
}

func (s *fakeConsents) RevokeConsent(_ context.Context, req *gatewayv1.RevokeConsentRequest) (*gatewayv1.RevokeConsentResponse, error) {
	rev := ledger.ConsentRevocation{ConsentID: req.GetConsentId(), Patient: req.GetPatient(), Sequence: req.GetSequence()}
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if _, err := s.f.verify(req.GetPatient(), req.GetSequence(), rev.CanonicalBytes(), req.GetSignature()); err != nil {
		return nil, err
	}
	return &gatewayv1.RevokeConsentResponse{Consent: &gatewayv1.Consent{
		Grant:  &gatewayv1.ConsentGrant{ConsentId: req.GetConsentId(), Patient: req.GetPatient(), Grantee: &gatewayv1.Grantee{MspId: fakeRemoteMSP}},
		Status: gatewayv1.ConsentStatus_CONSENT_STATUS_REVOKED, RevokedAt: timestamppb.New(fakeNow), RevokeTxId: s.f.nextTx(),
	}}, nil
}

// fakeConsentList is the canned list of consents.
func fakeConsentList() []*gatewayv1.Consent {
	var out []*gatewayv1.Consent
	for i := 1; i <= 3; i++ {
		out = append(out, &gatewayv1.Consent{
			Grant: &gatewayv1.ConsentGrant{
				ConsentId: fmt.Sprintf("c-2026-%03d", i), Patient: "pt-" + strings.Repeat("0a", 20),
				Grantee:            &gatewayv1.Grantee{MspId: fakeRemoteMSP, Role: gatewayv1.Role_ROLE_CLINICIAN},
				Scope:              &gatewayv1.ConsentScope{DocTypes: []string{"11502-2", "18842-5"}},
				Purposes:           []gatewayv1.PurposeOfUse{gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT, gatewayv1.PurposeOfUse_PURPOSE_OF_USE_CAREMGT},
				MaxConfidentiality: gatewayv1.Confidentiality_CONFIDENTIALITY_N,
				NotBefore:          timestamppb.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
				NotAfter:           timestamppb.New(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)),
				Sequence:           uint64(i),
			},
			Status: gatewayv1.ConsentStatus_CONSENT_STATUS_ACTIVE, SubmittedBy: fakeMSP,
			GrantedAt: timestamppb.New(fakeNow), GrantTxId: fakeTxID(2000 + i),
		})
	}
	out[2].Status = gatewayv1.ConsentStatus_CONSENT_STATUS_REVOKED
	out[2].GetGrant().Scope = &gatewayv1.ConsentScope{All: true}
	return out
}

func (s *fakeConsents) ListConsents(_ context.Context, req *gatewayv1.ListConsentsRequest) (*gatewayv1.ListConsentsResponse, error) {
	if req.GetFilter() == nil {
		return nil, status.Error(codes.InvalidArgument, "filter: want patient or grantee_msp_id")
	}
	page, next, err := paginate(fakeConsentList(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &gatewayv1.ListConsentsResponse{Consents: page, NextPageToken: next}, nil
}

type fakePatients struct {
	gatewayv1.UnimplementedPatientServiceServer
	f *fakeGateway
}

// fakeChallenge is the challenge the fake always issues.
var fakeChallenge = bytes.Repeat([]byte{7}, patientproof.ChallengeBytes)

func (s *fakePatients) GetChallenge(_ context.Context, req *gatewayv1.GetChallengeRequest) (*gatewayv1.GetChallengeResponse, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if _, ok := s.f.patients[req.GetPatient()]; !ok {
		return nil, status.Error(codes.NotFound, "patient not registered")
	}
	return &gatewayv1.GetChallengeResponse{ChallengeId: fakeChallengeID, Challenge: fakeChallenge, MspId: fakeMSP, ExpireTime: timestamppb.New(fakeNow.Add(time.Minute))}, nil
}

// check verifies a patient proof with patientproof, as the gateway does.
func (s *fakePatients) check(proof *gatewayv1.PatientProof) error {
	s.f.mu.Lock()
	p, ok := s.f.patients[proof.GetPatient()]
	s.f.mu.Unlock()
	if !ok || proof.GetChallengeId() != fakeChallengeID {
		return status.Error(codes.Unauthenticated, "proof: unknown challenge")
	}
	key, err := ledger.ParsePatientKey("key", base64.StdEncoding.EncodeToString(p.GetPublicKey()))
	if err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	if err := patientproof.Verify(key, fakeMSP, proof.GetPatient(), proof.GetChallengeId(), fakeChallenge, proof.GetSignature()); err != nil {
		return status.Error(codes.Unauthenticated, "proof: the signature does not verify")
	}
	return nil
}

func (s *fakePatients) ListMyRecords(_ context.Context, req *gatewayv1.ListMyRecordsRequest) (*gatewayv1.ListMyRecordsResponse, error) {
	if err := s.check(req.GetProof()); err != nil {
		return nil, err
	}
	s.f.mu.Lock()
	var mine []*gatewayv1.RecordEvidence
	for _, vs := range s.f.records {
		if latest := vs[len(vs)-1]; latest.ev.GetPatient() == req.GetProof().GetPatient() {
			mine = append(mine, latest.ev)
		}
	}
	s.f.mu.Unlock()
	sortEvidence(mine)
	page, next, err := paginate(mine, req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &gatewayv1.ListMyRecordsResponse{Records: page, NextPageToken: next}, nil
}

func sortEvidence(evs []*gatewayv1.RecordEvidence) {
	for i := 1; i < len(evs); i++ {
		for j := i; j > 0 && evs[j].GetRecordId() < evs[j-1].GetRecordId(); j-- {
			evs[j], evs[j-1] = evs[j-1], evs[j]
		}
	}
}

func (s *fakePatients) ListMyAccessEvents(_ context.Context, req *gatewayv1.ListMyAccessEventsRequest) (*gatewayv1.ListMyAccessEventsResponse, error) {
	if err := s.check(req.GetProof()); err != nil {
		return nil, err
	}
	page, next, err := paginate(fakeTrail(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &gatewayv1.ListMyAccessEventsResponse{Events: page, NextPageToken: next}, nil
}

type fakeAudit struct {
	gatewayv1.UnimplementedAuditServiceServer
	f *fakeGateway
}

func (s *fakeAudit) AccessTrail(_ context.Context, req *gatewayv1.AccessTrailRequest) (*gatewayv1.AccessTrailResponse, error) {
	page, next, err := paginate(fakeTrail(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &gatewayv1.AccessTrailResponse{Events: page, NextPageToken: next}, nil
}

func (s *fakeAudit) Alerts(_ context.Context, req *gatewayv1.AlertsRequest) (*gatewayv1.AlertsResponse, error) {
	return &gatewayv1.AlertsResponse{Events: fakeTrail()[2:]}, nil
}

func (s *fakeAudit) ExportTrail(req *gatewayv1.ExportTrailRequest, stream grpc.ServerStreamingServer[gatewayv1.ExportTrailResponse]) error {
	s.f.note("ExportTrail", req)
	s.f.mu.Lock()
	content, breakAfter := s.f.export, s.f.breakAfter
	s.f.mu.Unlock()
	return sendChunks(content, breakAfter, func(b []byte) error {
		return stream.Send(&gatewayv1.ExportTrailResponse{Chunk: b})
	})
}

type fakeAdmin struct {
	gatewayv1.UnimplementedAdminServiceServer
	f *fakeGateway
}

func (s *fakeAdmin) Status(context.Context, *gatewayv1.StatusRequest) (*gatewayv1.StatusResponse, error) {
	return &gatewayv1.StatusResponse{
		Version: "v0.1.0-test", MspId: fakeMSP, LedgerBackend: "embedded", Channel: "medprov",
		BlockHeight: 128, RecordsAnchored: 42, RecordsPending: 1, KekId: "kek-0002", StartTime: timestamppb.New(fakeNow),
	}, nil
}

func (s *fakeAdmin) RotateKeys(context.Context, *gatewayv1.RotateKeysRequest) (*gatewayv1.RotateKeysResponse, error) {
	return &gatewayv1.RotateKeysResponse{PreviousKekId: "kek-0002", KekId: "kek-0003", Rewrapped: 42}, nil
}

func (s *fakeAdmin) SetDirectoryEntry(_ context.Context, req *gatewayv1.SetDirectoryEntryRequest) (*gatewayv1.SetDirectoryEntryResponse, error) {
	if err := ledger.CheckEndpoint("endpoint", req.GetEndpoint()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	return &gatewayv1.SetDirectoryEntryResponse{Entry: &gatewayv1.DirectoryEntry{
		MspId: fakeMSP, Endpoint: req.GetEndpoint(), TlsCaCertPem: req.GetTlsCaCertPem(),
		UpdatedAt: timestamppb.New(fakeNow), TxId: s.f.nextTx(),
	}}, nil
}

func (s *fakeAdmin) GetDirectoryEntry(_ context.Context, req *gatewayv1.GetDirectoryEntryRequest) (*gatewayv1.GetDirectoryEntryResponse, error) {
	if req.GetMspId() != fakeRemoteMSP {
		return nil, status.Errorf(codes.NotFound, "no directory entry for %s", req.GetMspId())
	}
	return &gatewayv1.GetDirectoryEntryResponse{Entry: &gatewayv1.DirectoryEntry{
		MspId: fakeRemoteMSP, Endpoint: "gateway.hospital-b.medprov.test:7444",
		UpdatedAt: timestamppb.New(fakeNow), TxId: fakeTxID(3000),
	}}, nil
}

// seed stores a record version of testPatient, as if it had been added.
func (f *fakeGateway) seed(recordID string, version uint32, content []byte) *fakeVersion {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.commit(recordID, version, testPatient, "11502-2", gatewayv1.Confidentiality_CONFIDENTIALITY_N, content)
}

// set changes the fake's behaviour under its lock.
func (f *fakeGateway) set(fn func(f *fakeGateway)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// received returns the uploads so far.
func (f *fakeGateway) received() []fakeUpload {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeUpload(nil), f.uploads...)
}

// clientCerts returns the DER of the client certificates seen so far.
func (f *fakeGateway) clientCerts() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.peerCerts...)
}

// clientCertsPEM returns the client certificates seen so far as PEM.
func (f *fakeGateway) clientCertsPEM() [][]byte {
	var out [][]byte
	for _, der := range f.clientCerts() {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	}
	return out
}
