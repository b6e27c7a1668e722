package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/devup"
	"github.com/medprov/medprov/internal/devnet"
)

// The setup every service's tests share: a development consortium with
// real gateways over mTLS, synthetic patients registered through them,
// records uploaded and read, consent grants signed as `medprov consent
// sign` signs them, and the checks of a refusal's status. Helpers that only
// one service's tests use stay in that service's test file.

// fixture is a development consortium (devup) running for one test
// function, with one cached connection per organisation and user.
type fixture struct {
	c     *devup.Consortium
	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
}

// newFixture starts a consortium in a fresh directory; it stops when the
// test ends.
func newFixture(t *testing.T, opts ...devup.Option) *fixture {
	t.Helper()
	return startFixture(t, t.TempDir(), opts...)
}

// startFixture starts, or restarts, the consortium in dir; it stops when
// the test ends, or at close.
func startFixture(t *testing.T, dir string, opts ...devup.Option) *fixture {
	t.Helper()
	c, err := devup.Start(t.Context(), dir, opts...)
	if err != nil {
		t.Fatalf("devup.Start: %v", err)
	}
	f := &fixture{c: c, conns: map[string]*grpc.ClientConn{}}
	t.Cleanup(func() { f.close(t) })
	return f
}

// close closes the connections and stops the consortium; closing again
// does nothing.
func (f *fixture) close(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	for _, conn := range f.conns {
		_ = conn.Close()
	}
	f.conns = map[string]*grpc.ClientConn{}
	f.mu.Unlock()
	if err := f.c.Close(); err != nil {
		t.Errorf("close consortium: %v", err)
	}
}

// conn returns a connection to msp's gateway as its wallet user, or with
// a certificate outside the wallet for user "".
func (f *fixture) conn(t *testing.T, msp, user string) *grpc.ClientConn {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	key := msp + "/" + user
	if c, ok := f.conns[key]; ok {
		return c
	}
	var c *grpc.ClientConn
	var err error
	if user == "" {
		c, err = f.c.Stranger(t.Context(), msp)
	} else {
		c, err = f.c.Dial(t.Context(), msp, user)
	}
	if err != nil {
		t.Fatalf("dial %s as %q: %v", msp, user, err)
	}
	f.conns[key] = c
	return c
}

// records, verification, consents, patients, audit, access and admin
// return clients of msp's gateway as user ("" for a certificate outside
// the wallet).
func (f *fixture) records(t *testing.T, msp, user string) gatewayv1.RecordServiceClient {
	return gatewayv1.NewRecordServiceClient(f.conn(t, msp, user))
}

func (f *fixture) verification(t *testing.T, msp, user string) gatewayv1.VerificationServiceClient {
	return gatewayv1.NewVerificationServiceClient(f.conn(t, msp, user))
}

func (f *fixture) consents(t *testing.T, msp, user string) gatewayv1.ConsentServiceClient {
	return gatewayv1.NewConsentServiceClient(f.conn(t, msp, user))
}

func (f *fixture) patients(t *testing.T, msp, user string) gatewayv1.PatientServiceClient {
	return gatewayv1.NewPatientServiceClient(f.conn(t, msp, user))
}

func (f *fixture) audit(t *testing.T, msp, user string) gatewayv1.AuditServiceClient {
	return gatewayv1.NewAuditServiceClient(f.conn(t, msp, user))
}

func (f *fixture) access(t *testing.T, msp, user string) gatewayv1.AccessServiceClient {
	return gatewayv1.NewAccessServiceClient(f.conn(t, msp, user))
}

func (f *fixture) admin(t *testing.T, msp, user string) gatewayv1.AdminServiceClient {
	return gatewayv1.NewAdminServiceClient(f.conn(t, msp, user))
}

// register makes a synthetic patient and registers it through msp's
// clinician.
func (f *fixture) register(t *testing.T, msp string) *devnet.Patient {
	t.Helper()
	p, err := devnet.NewPatient()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.consents(t, msp, "clinician").RegisterPatient(t.Context(), &gatewayv1.RegisterPatientRequest{PublicKey: publicKeyDER(t, p)})
	if err != nil {
		t.Fatalf("RegisterPatient: %v", err)
	}
	if got := resp.GetPatient(); got.GetPseudonym() != p.Pseudonym || got.GetKeyVersion() != 1 || got.GetSequence() != 0 || got.GetRegisteredBy() != msp {
		t.Fatalf("RegisterPatient returned %v; want pseudonym %s, key version 1, sequence 0, registered by %s", got, p.Pseudonym, msp)
	}
	return p
}

// addRecord uploads a small synthetic record to msp's gateway as user and
// returns its evidence.
func (f *fixture) addRecord(t *testing.T, msp, user, recordID, patient string, conf gatewayv1.Confidentiality) *gatewayv1.RecordEvidence {
	t.Helper()
	md := &gatewayv1.RecordMetadata{RecordId: recordID, Patient: patient, DocType: "Observation", Confidentiality: conf}
	return addRecord(t, f.records(t, msp, user), md, []byte("synthetic test document "+recordID)).GetEvidence()
}

// request asks for access as msp's user and checks the committed
// decision.
func (f *fixture) request(t *testing.T, msp, user string, req *gatewayv1.RequestAccessRequest, want gatewayv1.Decision) *gatewayv1.AccessEvent {
	t.Helper()
	res, err := f.access(t, msp, user).RequestAccess(t.Context(), req)
	if err != nil {
		t.Fatalf("RequestAccess %s as %s %s: %v", req.GetRecordId(), msp, user, err)
	}
	if got := res.GetEvent().GetDecision(); got != want {
		t.Fatalf("RequestAccess %s as %s %s: decision %s, want %s", req.GetRecordId(), msp, user, got, want)
	}
	if res.GetBlockNumber() == 0 {
		t.Errorf("RequestAccess %s as %s %s: no block number", req.GetRecordId(), msp, user)
	}
	return res.GetEvent()
}

// treat is a RequestAccess request for treatment.
func treat(recordID string) *gatewayv1.RequestAccessRequest {
	return &gatewayv1.RequestAccessRequest{RecordId: recordID, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT}
}

// publicKeyDER returns the DER of a patient's public key, as
// RegisterPatient and RotatePatientKey take it.
func publicKeyDER(t *testing.T, p *devnet.Patient) []byte {
	t.Helper()
	der, err := base64.StdEncoding.DecodeString(p.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// document returns n bytes of a synthetic document, the same for the same
// seed.
func document(seed uint64, n int) []byte {
	r := rand.New(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 'd', 'o', 'c'}))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// recordMetadata is valid metadata for a normal-confidentiality record.
func recordMetadata(recordID, patient string) *gatewayv1.RecordMetadata {
	return &gatewayv1.RecordMetadata{RecordId: recordID, Patient: patient, DocType: "11506-3", Confidentiality: gatewayv1.Confidentiality_CONFIDENTIALITY_N}
}

// sendAdd sends msgs on a new AddRecord stream and returns the outcome.
func sendAdd(ctx context.Context, client gatewayv1.RecordServiceClient, msgs ...*gatewayv1.AddRecordRequest) (*gatewayv1.AddRecordResponse, error) {
	stream, err := client.AddRecord(ctx)
	if err != nil {
		return nil, err
	}
	return sendAll(stream, msgs)
}

// sendAll sends msgs on a client stream, stopping early when the server
// ends the call, and returns the call's outcome.
func sendAll[Req, Resp any](stream grpc.ClientStreamingClient[Req, Resp], msgs []*Req) (*Resp, error) {
	for _, m := range msgs {
		if err := stream.Send(m); err != nil {
			// The server ended the call; its status comes with CloseAndRecv.
			break
		}
	}
	return stream.CloseAndRecv()
}

// metadataMsg and chunkMsg build AddRecord messages.
func metadataMsg(md *gatewayv1.RecordMetadata) *gatewayv1.AddRecordRequest {
	return &gatewayv1.AddRecordRequest{Part: &gatewayv1.AddRecordRequest_Metadata{Metadata: md}}
}

func chunkMsg(b []byte) *gatewayv1.AddRecordRequest {
	return &gatewayv1.AddRecordRequest{Part: &gatewayv1.AddRecordRequest_Chunk{Chunk: b}}
}

// chunkMsgs splits content into chunk messages of size n.
func chunkMsgs(content []byte, n int) []*gatewayv1.AddRecordRequest {
	var out []*gatewayv1.AddRecordRequest
	for c := range slices.Chunk(content, n) {
		out = append(out, chunkMsg(c))
	}
	return out
}

// addRecord uploads content as a new record and fails the test on an error.
func addRecord(t *testing.T, client gatewayv1.RecordServiceClient, md *gatewayv1.RecordMetadata, content []byte) *gatewayv1.AddRecordResponse {
	t.Helper()
	resp, err := sendAdd(context.Background(), client, append([]*gatewayv1.AddRecordRequest{metadataMsg(md)}, chunkMsgs(content, 1<<20)...)...)
	if err != nil {
		t.Fatalf("AddRecord: %v", err)
	}
	return resp
}

// readRequest is a GetRecord request for treatment, within a care
// relationship (version 0: the latest).
func readRequest(recordID string, version uint32) *gatewayv1.GetRecordRequest {
	return &gatewayv1.GetRecordRequest{RecordId: recordID, Version: version, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT, CareRelationship: true}
}

// getRecord downloads a record version: the header, the content, and the
// largest chunk seen.
func getRecord(ctx context.Context, client gatewayv1.RecordServiceClient, req *gatewayv1.GetRecordRequest) (*gatewayv1.RecordHeader, []byte, int, error) {
	stream, err := client.GetRecord(ctx, req)
	if err != nil {
		return nil, nil, 0, err
	}
	first, err := stream.Recv()
	if err != nil {
		return nil, nil, 0, err
	}
	header := first.GetHeader()
	if header == nil {
		return nil, nil, 0, errors.New("first message is not a header")
	}
	var content bytes.Buffer
	largest := 0
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return header, content.Bytes(), largest, nil
		}
		if err != nil {
			return nil, nil, 0, err
		}
		if m.GetHeader() != nil {
			return nil, nil, 0, errors.New("a second header")
		}
		largest = max(largest, len(m.GetChunk()))
		content.Write(m.GetChunk())
	}
}

// newGrant makes a grant of p's that a test then changes: all records, to
// grantee's clinicians, for TREAT, up to N, valid from an hour ago for a
// year.
func newGrant(p *devnet.Patient, consentID, grantee string, sequence uint64) *gatewayv1.ConsentGrant {
	now := time.Now().UTC().Truncate(time.Second)
	return &gatewayv1.ConsentGrant{
		ConsentId:          consentID,
		Patient:            p.Pseudonym,
		Grantee:            &gatewayv1.Grantee{MspId: grantee, Role: gatewayv1.Role_ROLE_CLINICIAN},
		Scope:              &gatewayv1.ConsentScope{All: true},
		Purposes:           []gatewayv1.PurposeOfUse{gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT},
		MaxConfidentiality: gatewayv1.Confidentiality_CONFIDENTIALITY_N,
		NotBefore:          timestamppb.New(now.Add(-time.Hour)),
		NotAfter:           timestamppb.New(now.Add(365 * 24 * time.Hour)),
		Sequence:           sequence,
	}
}

// signGrant signs a proto grant the way `medprov consent sign` does: the
// grant written with the ledger's code strings, normalised
// (domain.ConsentGrant.Normalize) and its canonical encoding signed with
// the patient's key. It maps the proto by hand, independently of the
// gateway's conversions.
func signGrant(t *testing.T, p *devnet.Patient, g *gatewayv1.ConsentGrant) []byte {
	t.Helper()
	code := func(name, prefix string) string { return strings.TrimPrefix(name, prefix) }
	dg := domain.ConsentGrant{
		ConsentID: g.GetConsentId(),
		Patient:   g.GetPatient(),
		Grantee:   domain.Grantee{MSPID: g.GetGrantee().GetMspId()},
		Scope: domain.Scope{
			All:       g.GetScope().GetAll(),
			RecordIDs: g.GetScope().GetRecordIds(),
			DocTypes:  g.GetScope().GetDocTypes(),
		},
		MaxConfidentiality: domain.Confidentiality(code(g.GetMaxConfidentiality().String(), "CONFIDENTIALITY_")),
		NotBefore:          g.GetNotBefore().AsTime().Format(domain.TimeLayout),
		NotAfter:           g.GetNotAfter().AsTime().Format(domain.TimeLayout),
		Sequence:           g.GetSequence(),
	}
	if r := g.GetGrantee().GetRole(); r != gatewayv1.Role_ROLE_UNSPECIFIED {
		dg.Grantee.Role = domain.Role(strings.ReplaceAll(strings.ToLower(code(r.String(), "ROLE_")), "_", "-"))
	}
	for _, pu := range g.GetPurposes() {
		dg.Purposes = append(dg.Purposes, domain.Purpose(code(pu.String(), "PURPOSE_OF_USE_")))
	}
	norm, _, _, err := dg.Normalize()
	if err != nil {
		t.Fatalf("normalise grant: %v", err)
	}
	return decodeSig(t, p.Sign(norm.CanonicalBytes()))
}

// grant has patient p sign g and msp's clinician carry it to the ledger.
func (f *fixture) grant(t *testing.T, msp string, p *devnet.Patient, g *gatewayv1.ConsentGrant) {
	t.Helper()
	if _, err := f.consents(t, msp, "clinician").GrantConsent(t.Context(), &gatewayv1.GrantConsentRequest{Grant: g, Signature: signGrant(t, p, g)}); err != nil {
		t.Fatalf("GrantConsent %s: %v", g.GetConsentId(), err)
	}
}

// signRotation signs, with signer's key, the rotation of patient's key to
// newKey.
func signRotation(t *testing.T, signer *devnet.Patient, patient string, newKey []byte, sequence uint64) []byte {
	t.Helper()
	r := domain.KeyRotation{Patient: patient, NewPublicKey: base64.StdEncoding.EncodeToString(newKey), Sequence: sequence}
	return decodeSig(t, signer.Sign(r.CanonicalBytes()))
}

// decodeSig decodes a base64 signature, as devnet.Patient.Sign returns it.
func decodeSig(t *testing.T, b64 string) []byte {
	t.Helper()
	sig, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// allPages calls page with the token of each next page, from the first
// (""), until a page has no next token, and returns every item in order;
// what names the call when it fails.
func allPages[T any](t *testing.T, what string, page func(token string) (items []T, next string, err error)) []T {
	t.Helper()
	var out []T
	token := ""
	for {
		items, next, err := page(token)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		out = append(out, items...)
		if next == "" {
			return out
		}
		token = next
	}
}

// listTrail lists every access event a filter selects, pageSize a page.
func listTrail(t *testing.T, cl gatewayv1.AuditServiceClient, filter *gatewayv1.TrailFilter, pageSize int32) []*gatewayv1.AccessEvent {
	t.Helper()
	return allPages(t, "AccessTrail", func(token string) ([]*gatewayv1.AccessEvent, string, error) {
		resp, err := cl.AccessTrail(t.Context(), &gatewayv1.AccessTrailRequest{Filter: filter, PageSize: pageSize, PageToken: token})
		return resp.GetEvents(), resp.GetNextPageToken(), err
	})
}

// wantStatus fails unless err has code and, when field is not empty, a
// message that starts with field and a colon.
func wantStatus(t *testing.T, err error, code codes.Code, field string) {
	t.Helper()
	s, _ := status.FromError(err)
	if s.Code() != code {
		t.Fatalf("got %v; want code %v", err, code)
	}
	if field != "" && !strings.HasPrefix(s.Message(), field+":") {
		t.Fatalf("got message %q; want it to name %s", s.Message(), field)
	}
}

// wantCode fails unless err has code and, when part is not empty, a
// message that contains part.
func wantCode(t *testing.T, err error, code codes.Code, part string) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("error = %v, want code %v", err, code)
	}
	if part != "" && !strings.Contains(status.Convert(err).Message(), part) {
		t.Fatalf("error message = %q, want it to contain %q", status.Convert(err).Message(), part)
	}
}
