package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/devup"
	"github.com/medprov/medprov/internal/devca"
	"github.com/medprov/medprov/internal/devnet"
	"github.com/medprov/medprov/internal/receipt"
)

// The helpers of the record, verification and admin tests are prefixed
// "rec" so that they cannot clash with the other services' tests in this
// package.

// recConsortium starts a development consortium for one test function.
func recConsortium(t *testing.T) *devup.Consortium {
	t.Helper()
	c, err := devup.Start(context.Background(), t.TempDir())
	if err != nil {
		t.Fatalf("devup.Start: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close consortium: %v", err)
		}
	})
	return c
}

// recConn dials msp's gateway as user.
func recConn(t *testing.T, c *devup.Consortium, msp, user string) *grpc.ClientConn {
	t.Helper()
	conn, err := c.Dial(context.Background(), msp, user)
	if err != nil {
		t.Fatalf("dial %s as %s: %v", msp, user, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// recRecords is a RecordService client of msp's gateway as user.
func recRecords(t *testing.T, c *devup.Consortium, msp, user string) gatewayv1.RecordServiceClient {
	t.Helper()
	return gatewayv1.NewRecordServiceClient(recConn(t, c, msp, user))
}

// recPatient registers a new synthetic patient through msp's gateway and
// returns the pseudonym.
func recPatient(t *testing.T, c *devup.Consortium, msp string) string {
	t.Helper()
	p, err := devnet.NewPatient()
	if err != nil {
		t.Fatalf("NewPatient: %v", err)
	}
	der, err := base64.StdEncoding.DecodeString(p.PublicKey)
	if err != nil {
		t.Fatalf("decode patient key: %v", err)
	}
	resp, err := gatewayv1.NewConsentServiceClient(recConn(t, c, msp, "clinician")).
		RegisterPatient(context.Background(), &gatewayv1.RegisterPatientRequest{PublicKey: der})
	if err != nil {
		t.Fatalf("RegisterPatient: %v", err)
	}
	return resp.GetPatient().GetPseudonym()
}

// recDocument returns n bytes of a synthetic document, the same for the
// same seed.
func recDocument(seed uint64, n int) []byte {
	r := rand.New(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 'd', 'o', 'c'}))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// recSend sends msgs on a new AddRecord stream and returns the outcome.
func recSend(ctx context.Context, client gatewayv1.RecordServiceClient, msgs ...*gatewayv1.AddRecordRequest) (*gatewayv1.AddRecordResponse, error) {
	stream, err := client.AddRecord(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		if err := stream.Send(m); err != nil {
			// The server ended the call; its status comes with CloseAndRecv.
			break
		}
	}
	return stream.CloseAndRecv()
}

// recMeta and recChunk build AddRecord messages.
func recMeta(md *gatewayv1.RecordMetadata) *gatewayv1.AddRecordRequest {
	return &gatewayv1.AddRecordRequest{Part: &gatewayv1.AddRecordRequest_Metadata{Metadata: md}}
}

func recChunk(b []byte) *gatewayv1.AddRecordRequest {
	return &gatewayv1.AddRecordRequest{Part: &gatewayv1.AddRecordRequest_Chunk{Chunk: b}}
}

// recChunks splits content into chunks of size n.
func recChunks(content []byte, n int) []*gatewayv1.AddRecordRequest {
	var out []*gatewayv1.AddRecordRequest
	for len(content) > 0 {
		k := min(n, len(content))
		out = append(out, recChunk(content[:k]))
		content = content[k:]
	}
	return out
}

// recAdd uploads content as a new record and fails the test on an error.
func recAdd(t *testing.T, client gatewayv1.RecordServiceClient, md *gatewayv1.RecordMetadata, content []byte) *gatewayv1.AddRecordResponse {
	t.Helper()
	resp, err := recSend(context.Background(), client, append([]*gatewayv1.AddRecordRequest{recMeta(md)}, recChunks(content, 1<<20)...)...)
	if err != nil {
		t.Fatalf("AddRecord: %v", err)
	}
	return resp
}

// recAmend uploads new content for a record.
func recAmend(ctx context.Context, client gatewayv1.RecordServiceClient, md *gatewayv1.AmendmentMetadata, content []byte) (*gatewayv1.AmendRecordResponse, error) {
	stream, err := client.AmendRecord(ctx)
	if err != nil {
		return nil, err
	}
	msgs := []*gatewayv1.AmendRecordRequest{{Part: &gatewayv1.AmendRecordRequest_Metadata{Metadata: md}}}
	for len(content) > 0 {
		k := min(1<<20, len(content))
		msgs = append(msgs, &gatewayv1.AmendRecordRequest{Part: &gatewayv1.AmendRecordRequest_Chunk{Chunk: content[:k]}})
		content = content[k:]
	}
	for _, m := range msgs {
		if err := stream.Send(m); err != nil {
			break
		}
	}
	return stream.CloseAndRecv()
}

// recGet downloads a record version: the header, the content, and the
// largest chunk seen.
func recGet(ctx context.Context, client gatewayv1.RecordServiceClient, req *gatewayv1.GetRecordRequest) (*gatewayv1.RecordHeader, []byte, int, error) {
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

// recTreat is a GetRecord request for treatment, within a care
// relationship.
func recTreat(recordID string, version uint32) *gatewayv1.GetRecordRequest {
	return &gatewayv1.GetRecordRequest{RecordId: recordID, Version: version, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT, CareRelationship: true}
}

// recCode fails the test unless err has the wanted code and, if want is
// not empty, a message containing it.
func recCode(t *testing.T, err error, code codes.Code, want string) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("error = %v, want code %v", err, code)
	}
	if want != "" && !strings.Contains(status.Convert(err).Message(), want) {
		t.Fatalf("error message = %q, want it to contain %q", status.Convert(err).Message(), want)
	}
}

// recMetadata is valid metadata for a normal-confidentiality record.
func recMetadata(recordID, patient string) *gatewayv1.RecordMetadata {
	return &gatewayv1.RecordMetadata{RecordId: recordID, Patient: patient, DocType: "11506-3", Confidentiality: gatewayv1.Confidentiality_CONFIDENTIALITY_N}
}

var recTxID = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestAddRecordAndGetRecordRoundTripFiveMebibytes(t *testing.T) {
	t.Parallel()
	c := recConsortium(t)
	ctx := context.Background()
	patient := recPatient(t, c, devnet.HospitalA)
	client := recRecords(t, c, devnet.HospitalA, "clinician")

	content := recDocument(1, 5<<20)
	sum := sha256.Sum256(content)
	md := recMetadata("", patient)
	md.ContentSha256 = sum[:]
	added := recAdd(t, client, md, content)

	ev := added.GetEvidence()
	if !regexp.MustCompile(`^r-[0-9a-f]{24}$`).MatchString(ev.GetRecordId()) {
		t.Errorf("generated record ID %q, want r- and 24 hex digits", ev.GetRecordId())
	}
	if ev.GetVersion() != 1 || ev.GetStatus() != gatewayv1.RecordStatus_RECORD_STATUS_ACTIVE ||
		ev.GetCustodian() != devnet.HospitalA || ev.GetPatient() != patient || ev.GetDocType() != "11506-3" ||
		ev.GetConfidentiality() != gatewayv1.Confidentiality_CONFIDENTIALITY_N || ev.GetAuthor().GetRole() != gatewayv1.Role_ROLE_CLINICIAN ||
		!recTxID.MatchString(ev.GetTxId()) || ev.GetAnchoredAt() == nil {
		t.Errorf("evidence = %v", ev)
	}
	if added.GetSize() != uint64(len(content)) {
		t.Errorf("size = %d, want %d", added.GetSize(), len(content))
	}
	rc := added.GetReceipt()
	if rc.GetRecordId() != ev.GetRecordId() || rc.GetVersion() != 1 || rc.GetCustodian() != devnet.HospitalA ||
		rc.GetCommitment() != ev.GetCommitment() || rc.GetTxId() != ev.GetTxId() || rc.GetBlockNumber() == 0 ||
		len(rc.GetSalt()) != 32 || !rc.GetAnchoredAt().AsTime().Equal(ev.GetAnchoredAt().AsTime()) {
		t.Errorf("receipt = %v, evidence = %v", rc, ev)
	}
	res, err := (receipt.Receipt{RecordID: rc.GetRecordId(), Version: 1, Custodian: rc.GetCustodian(), Salt: rc.GetSalt(),
		Commitment: rc.GetCommitment(), TxID: rc.GetTxId(), BlockNumber: rc.GetBlockNumber(), AnchoredAt: rc.GetAnchoredAt().AsTime()}).Check(bytes.NewReader(content))
	if err != nil || !res.Match {
		t.Errorf("the content does not check against its receipt: %v, %v", res.Match, err)
	}

	header, got, largest, err := recGet(ctx, client, recTreat(ev.GetRecordId(), 0))
	if err != nil {
		t.Fatalf("GetRecord: %v", err)
	}
	if !bytes.Equal(got, content) {
		t.Fatalf("downloaded %d bytes that differ from the %d uploaded", len(got), len(content))
	}
	if largest > 64<<10 {
		t.Errorf("largest chunk %d bytes, want at most 64 KiB", largest)
	}
	if !proto.Equal(header.GetEvidence(), ev) || !proto.Equal(header.GetReceipt(), rc) || header.GetSize() != uint64(len(content)) || !recTxID.MatchString(header.GetAccessTxId()) {
		t.Errorf("header = %v", header)
	}

	// Version 1 named explicitly is the same version, logged again.
	header1, got1, _, err := recGet(ctx, client, recTreat(ev.GetRecordId(), 1))
	if err != nil || !bytes.Equal(got1, content) || header1.GetAccessTxId() == header.GetAccessTxId() {
		t.Errorf("GetRecord version 1: %v, equal %v, access tx %s after %s", err, bytes.Equal(got1, content), header1.GetAccessTxId(), header.GetAccessTxId())
	}

	// GetReceipt gives the same receipt.
	gr, err := client.GetReceipt(ctx, &gatewayv1.GetReceiptRequest{RecordId: ev.GetRecordId()})
	if err != nil {
		t.Fatalf("GetReceipt: %v", err)
	}
	if !proto.Equal(gr.GetReceipt(), rc) || gr.GetStoredAt() == nil {
		t.Errorf("GetReceipt = %v, want receipt %v", gr, rc)
	}
}

func TestAddRecordRefusesBadInputAndStoresNothing(t *testing.T) {
	t.Parallel()
	c := recConsortium(t)
	ctx := context.Background()
	patient := recPatient(t, c, devnet.HospitalA)
	doc := recDocument(2, 1000)
	sum := sha256.Sum256(doc)
	otherSum := sha256.Sum256([]byte("another synthetic document"))
	unregistered := "pt-" + strings.Repeat("ab", 20)

	meta := func(id string, change func(md *gatewayv1.RecordMetadata)) *gatewayv1.AddRecordRequest {
		md := recMetadata(id, patient)
		if change != nil {
			change(md)
		}
		return recMeta(md)
	}
	tests := map[string]struct {
		user string
		// id is the record ID the upload uses, checked unused afterwards;
		// empty when the case breaks the ID itself.
		id   string
		msgs []*gatewayv1.AddRecordRequest
		code codes.Code
		want string
	}{
		"a stream without any message is refused": {
			msgs: nil, code: codes.InvalidArgument, want: "metadata: must be the first message",
		},
		"content before the metadata is refused": {
			id: "bad-first", msgs: []*gatewayv1.AddRecordRequest{recChunk(doc), meta("bad-first", nil)},
			code: codes.InvalidArgument, want: "metadata: must be the first message",
		},
		"a second metadata message is refused": {
			id: "bad-second-meta", msgs: []*gatewayv1.AddRecordRequest{meta("bad-second-meta", nil), recChunk(doc), meta("bad-second-meta", nil)},
			code: codes.InvalidArgument, want: "metadata: exactly once",
		},
		"a malformed record ID is refused": {
			msgs: []*gatewayv1.AddRecordRequest{meta("no spaces allowed", nil), recChunk(doc)},
			code: codes.InvalidArgument, want: "metadata.record_id",
		},
		"a malformed patient pseudonym is refused": {
			id: "bad-patient", msgs: []*gatewayv1.AddRecordRequest{meta("bad-patient", func(md *gatewayv1.RecordMetadata) { md.Patient = "patient-1" }), recChunk(doc)},
			code: codes.InvalidArgument, want: "metadata.patient",
		},
		"an unregistered patient is not found": {
			id: "bad-unregistered", msgs: []*gatewayv1.AddRecordRequest{meta("bad-unregistered", func(md *gatewayv1.RecordMetadata) { md.Patient = unregistered }), recChunk(doc)},
			code: codes.NotFound,
		},
		"a LOINC code with a wrong check digit is refused": {
			id: "bad-doctype", msgs: []*gatewayv1.AddRecordRequest{meta("bad-doctype", func(md *gatewayv1.RecordMetadata) { md.DocType = "11506-4" }), recChunk(doc)},
			code: codes.InvalidArgument, want: "metadata.doc_type",
		},
		"an unspecified confidentiality is refused": {
			id: "bad-conf", msgs: []*gatewayv1.AddRecordRequest{meta("bad-conf", func(md *gatewayv1.RecordMetadata) { md.Confidentiality = 0 }), recChunk(doc)},
			code: codes.InvalidArgument, want: "metadata.confidentiality",
		},
		"an unknown confidentiality number is refused": {
			id: "bad-conf-number", msgs: []*gatewayv1.AddRecordRequest{meta("bad-conf-number", func(md *gatewayv1.RecordMetadata) { md.Confidentiality = 42 }), recChunk(doc)},
			code: codes.InvalidArgument, want: "metadata.confidentiality",
		},
		"a client's derived_from is refused": {
			id: "bad-derived", msgs: []*gatewayv1.AddRecordRequest{meta("bad-derived", func(md *gatewayv1.RecordMetadata) {
				md.DerivedFrom = &gatewayv1.DerivedFrom{Custodian: devnet.HospitalB, RecordId: "src-1", Version: 1}
			}), recChunk(doc)},
			code: codes.InvalidArgument, want: "metadata.derived_from",
		},
		"a content_sha256 that is not 32 bytes is refused": {
			id: "bad-sum-length", msgs: []*gatewayv1.AddRecordRequest{meta("bad-sum-length", func(md *gatewayv1.RecordMetadata) { md.ContentSha256 = sum[:31] }), recChunk(doc)},
			code: codes.InvalidArgument, want: "metadata.content_sha256",
		},
		"content that does not hash to content_sha256 is refused": {
			id: "bad-sum", msgs: []*gatewayv1.AddRecordRequest{meta("bad-sum", func(md *gatewayv1.RecordMetadata) { md.ContentSha256 = otherSum[:] }), recChunk(doc)},
			code: codes.InvalidArgument, want: "metadata.content_sha256",
		},
		"empty content is refused": {
			id: "bad-empty", msgs: []*gatewayv1.AddRecordRequest{meta("bad-empty", nil)},
			code: codes.InvalidArgument, want: "chunk",
		},
		"an empty chunk is refused": {
			id: "bad-empty-chunk", msgs: []*gatewayv1.AddRecordRequest{meta("bad-empty-chunk", nil), recChunk(doc), recChunk(nil)},
			code: codes.InvalidArgument, want: "chunk",
		},
		"a confidentiality above the caller's clearance is refused": {
			user: "clinician-l", id: "bad-clearance", msgs: []*gatewayv1.AddRecordRequest{meta("bad-clearance", nil), recChunk(doc)},
			code: codes.PermissionDenied, want: "clearance",
		},
		"a researcher may not add records": {
			user: "researcher", id: "bad-role", msgs: []*gatewayv1.AddRecordRequest{meta("bad-role", nil), recChunk(doc)},
			code: codes.PermissionDenied,
		},
		"an auditor may not add records": {
			user: "auditor", id: "bad-auditor", msgs: []*gatewayv1.AddRecordRequest{meta("bad-auditor", nil), recChunk(doc)},
			code: codes.PermissionDenied,
		},
	}
	officer := recRecords(t, c, devnet.HospitalA, "officer")
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			user := tc.user
			if user == "" {
				user = "clinician"
			}
			_, err := recSend(ctx, recRecords(t, c, devnet.HospitalA, user), tc.msgs...)
			recCode(t, err, tc.code, tc.want)
			if tc.id == "" {
				return
			}
			// Nothing on the ledger, nothing in the store: the ID is free
			// for a valid upload.
			_, err = officer.GetReceipt(ctx, &gatewayv1.GetReceiptRequest{RecordId: tc.id})
			recCode(t, err, codes.NotFound, "")
			recAdd(t, officer, recMetadata(tc.id, patient), doc)
		})
	}

	t.Run("a chunk above 4 MiB is refused and nothing is stored", func(t *testing.T) {
		_, err := recSend(ctx, officer, recMeta(recMetadata("bad-big-chunk", patient)), recChunk(make([]byte, 4<<20+1)))
		if code := status.Code(err); code != codes.InvalidArgument && code != codes.ResourceExhausted {
			t.Fatalf("error = %v, want INVALID_ARGUMENT or RESOURCE_EXHAUSTED", err)
		}
		recAdd(t, officer, recMetadata("bad-big-chunk", patient), doc)
	})

	t.Run("a record ID already taken is refused and the first record is unchanged", func(t *testing.T) {
		first := recAdd(t, officer, recMetadata("taken-1", patient), doc)
		_, err := recSend(ctx, officer, recMeta(recMetadata("taken-1", patient)), recChunk([]byte("another synthetic document")))
		recCode(t, err, codes.AlreadyExists, "")
		_, got, _, err := recGet(ctx, officer, recTreat("taken-1", 0))
		if err != nil || !bytes.Equal(got, doc) {
			t.Fatalf("GetRecord after a refused duplicate: %v, content equal %v", err, bytes.Equal(got, doc))
		}
		gr, err := officer.GetReceipt(ctx, &gatewayv1.GetReceiptRequest{RecordId: "taken-1"})
		if err != nil || !proto.Equal(gr.GetReceipt(), first.GetReceipt()) {
			t.Fatalf("GetReceipt after a refused duplicate: %v", err)
		}
	})

	t.Run("a caller outside the wallet is refused", func(t *testing.T) {
		conn, err := c.Stranger(ctx, devnet.HospitalA)
		if err != nil {
			t.Fatalf("Stranger: %v", err)
		}
		defer conn.Close()
		_, err = recSend(ctx, gatewayv1.NewRecordServiceClient(conn), recMeta(recMetadata("bad-stranger", patient)), recChunk(doc))
		recCode(t, err, codes.PermissionDenied, "")
		_, err = officer.GetReceipt(ctx, &gatewayv1.GetReceiptRequest{RecordId: "bad-stranger"})
		recCode(t, err, codes.NotFound, "")
	})
}

func TestGetRecordHidesAndRefuses(t *testing.T) {
	t.Parallel()
	c := recConsortium(t)
	ctx := context.Background()
	patient := recPatient(t, c, devnet.HospitalA)
	officer := recRecords(t, c, devnet.HospitalA, "officer")
	doc := recDocument(3, 2000)

	restricted := recMetadata("restricted-1", patient)
	restricted.Confidentiality = gatewayv1.Confidentiality_CONFIDENTIALITY_R
	recAdd(t, officer, restricted, doc)
	recAdd(t, officer, recMetadata("normal-1", patient), doc)

	_, _, _, err := recGet(ctx, recRecords(t, c, devnet.HospitalA, "clinician-l"), recTreat("no-such-record", 0))
	recCode(t, err, codes.NotFound, "")
	missing := strings.ReplaceAll(status.Convert(err).Message(), "no-such-record", "ID")

	tests := map[string]struct {
		msp, user string
		req       *gatewayv1.GetRecordRequest
		code      codes.Code
		want      string
		// asMissing: the error must read exactly as a missing record's.
		asMissing bool
	}{
		"a record above the caller's clearance is not found": {
			msp: devnet.HospitalA, user: "clinician-l", req: recTreat("restricted-1", 0), code: codes.NotFound, asMissing: true,
		},
		"a record above the caller's clearance is not found by version either": {
			msp: devnet.HospitalA, user: "clinician", req: recTreat("restricted-1", 1), code: codes.NotFound, asMissing: true,
		},
		"another organisation's record is not found": {
			msp: devnet.HospitalB, user: "clinician", req: recTreat("normal-1", 0), code: codes.NotFound, asMissing: true,
		},
		"a version that does not exist is not found": {
			msp: devnet.HospitalA, user: "clinician", req: recTreat("normal-1", 2), code: codes.NotFound,
		},
		"a researcher may not read records": {
			msp: devnet.HospitalA, user: "researcher", req: recTreat("normal-1", 0), code: codes.PermissionDenied,
		},
		"an admin may not read records": {
			msp: devnet.HospitalA, user: "admin", req: recTreat("normal-1", 0), code: codes.PermissionDenied,
		},
		"a malformed record ID is refused": {
			msp: devnet.HospitalA, user: "clinician", req: recTreat("x", 0), code: codes.InvalidArgument, want: "record_id",
		},
		"a version above the ledger's range is refused": {
			msp: devnet.HospitalA, user: "clinician", req: recTreat("normal-1", 1_000_001), code: codes.InvalidArgument, want: "version",
		},
		"an unspecified purpose is refused": {
			msp: devnet.HospitalA, user: "clinician", req: &gatewayv1.GetRecordRequest{RecordId: "normal-1"}, code: codes.InvalidArgument, want: "purpose",
		},
		"an unknown purpose number is refused": {
			msp: devnet.HospitalA, user: "clinician", req: &gatewayv1.GetRecordRequest{RecordId: "normal-1", Purpose: 99}, code: codes.InvalidArgument, want: "purpose",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, _, _, err := recGet(ctx, recRecords(t, c, tc.msp, tc.user), tc.req)
			recCode(t, err, tc.code, tc.want)
			if tc.asMissing {
				got := strings.ReplaceAll(status.Convert(err).Message(), tc.req.GetRecordId(), "ID")
				if got != missing {
					t.Errorf("message %q differs from a missing record's %q", got, missing)
				}
			}
		})
	}

	t.Run("the records officer reads the restricted record", func(t *testing.T) {
		_, got, _, err := recGet(ctx, officer, recTreat("restricted-1", 0))
		if err != nil || !bytes.Equal(got, doc) {
			t.Fatalf("GetRecord: %v, content equal %v", err, bytes.Equal(got, doc))
		}
	})
}

func TestAmendRecordAndRecordHistory(t *testing.T) {
	t.Parallel()
	c := recConsortium(t)
	ctx := context.Background()
	patient := recPatient(t, c, devnet.HospitalA)
	client := recRecords(t, c, devnet.HospitalA, "clinician")
	v1 := recDocument(4, 3000)
	v2 := recDocument(5, 70_000)
	v3 := recDocument(6, 10)
	recAdd(t, client, recMetadata("amended-1", patient), v1)

	sum2 := sha256.Sum256(v2)
	amended, err := recAmend(ctx, client, &gatewayv1.AmendmentMetadata{RecordId: "amended-1", Reason: gatewayv1.AmendmentReason_AMENDMENT_REASON_CORRECTION, ContentSha256: sum2[:]}, v2)
	if err != nil {
		t.Fatalf("AmendRecord: %v", err)
	}
	ev := amended.GetEvidence()
	if ev.GetVersion() != 2 || ev.GetPreviousVersion() != 1 || ev.GetAmendmentReason() != gatewayv1.AmendmentReason_AMENDMENT_REASON_CORRECTION ||
		ev.GetDocType() != "11506-3" || ev.GetStatus() != gatewayv1.RecordStatus_RECORD_STATUS_ACTIVE || amended.GetSize() != uint64(len(v2)) ||
		amended.GetReceipt().GetVersion() != 2 || amended.GetReceipt().GetTxId() != ev.GetTxId() {
		t.Errorf("AmendRecord = %v", amended)
	}
	if _, err := recAmend(ctx, client, &gatewayv1.AmendmentMetadata{RecordId: "amended-1", Reason: gatewayv1.AmendmentReason_AMENDMENT_REASON_ADDENDUM,
		DocType: "Observation", Confidentiality: gatewayv1.Confidentiality_CONFIDENTIALITY_M}, v3); err != nil {
		t.Fatalf("AmendRecord to version 3: %v", err)
	}

	for version, want := range map[uint32][]byte{0: v3, 1: v1, 2: v2, 3: v3} {
		header, got, _, err := recGet(ctx, client, recTreat("amended-1", version))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("GetRecord version %d: %v, content equal %v", version, err, bytes.Equal(got, want))
		}
		wantStatus := gatewayv1.RecordStatus_RECORD_STATUS_SUPERSEDED
		if version == 0 || version == 3 {
			wantStatus = gatewayv1.RecordStatus_RECORD_STATUS_ACTIVE
		}
		if header.GetEvidence().GetStatus() != wantStatus {
			t.Errorf("version %d has status %v, want %v", version, header.GetEvidence().GetStatus(), wantStatus)
		}
	}

	history := func(t *testing.T) []*gatewayv1.RecordEvidence {
		t.Helper()
		var all []*gatewayv1.RecordEvidence
		token := ""
		for range 10 {
			page, err := client.RecordHistory(ctx, &gatewayv1.RecordHistoryRequest{RecordId: "amended-1", PageSize: 2, PageToken: token})
			if err != nil {
				t.Fatalf("RecordHistory: %v", err)
			}
			if len(page.GetVersions()) > 2 {
				t.Fatalf("a page of size 2 holds %d versions", len(page.GetVersions()))
			}
			all = append(all, page.GetVersions()...)
			if token = page.GetNextPageToken(); token == "" {
				return all
			}
		}
		t.Fatal("RecordHistory did not end")
		return nil
	}
	t.Run("the history lists every version, oldest first, in pages", func(t *testing.T) {
		all := history(t)
		if len(all) != 3 {
			t.Fatalf("history holds %d versions, want 3", len(all))
		}
		for i, ev := range all {
			if ev.GetVersion() != uint32(i+1) {
				t.Errorf("history[%d] is version %d", i, ev.GetVersion())
			}
		}
		if all[2].GetDocType() != "Observation" || all[2].GetConfidentiality() != gatewayv1.Confidentiality_CONFIDENTIALITY_M {
			t.Errorf("version 3 = %v", all[2])
		}
	})

	t.Run("the default page holds every version", func(t *testing.T) {
		page, err := client.RecordHistory(ctx, &gatewayv1.RecordHistoryRequest{RecordId: "amended-1"})
		if err != nil || len(page.GetVersions()) != 3 || page.GetNextPageToken() != "" {
			t.Fatalf("RecordHistory = %v, %v", page, err)
		}
	})

	historyTests := map[string]struct {
		user string
		req  *gatewayv1.RecordHistoryRequest
		code codes.Code
		want string
	}{
		"a negative page size is refused":            {req: &gatewayv1.RecordHistoryRequest{RecordId: "amended-1", PageSize: -1}, code: codes.InvalidArgument, want: "page_size"},
		"a page size above 1000 is refused":          {req: &gatewayv1.RecordHistoryRequest{RecordId: "amended-1", PageSize: 1001}, code: codes.InvalidArgument, want: "page_size"},
		"a page token from nowhere is refused":       {req: &gatewayv1.RecordHistoryRequest{RecordId: "amended-1", PageToken: "bm-not-issued"}, code: codes.InvalidArgument, want: "page_token"},
		"a malformed record ID is refused":           {req: &gatewayv1.RecordHistoryRequest{RecordId: "-bad"}, code: codes.InvalidArgument, want: "record_id"},
		"an unknown record is not found":             {req: &gatewayv1.RecordHistoryRequest{RecordId: "unknown-1"}, code: codes.NotFound},
		"an auditor may not read a record's history": {user: "auditor", req: &gatewayv1.RecordHistoryRequest{RecordId: "amended-1"}, code: codes.PermissionDenied},
	}
	for name, tc := range historyTests {
		t.Run(name, func(t *testing.T) {
			user := tc.user
			if user == "" {
				user = "clinician"
			}
			_, err := recRecords(t, c, devnet.HospitalA, user).RecordHistory(ctx, tc.req)
			recCode(t, err, tc.code, tc.want)
		})
	}

	otherDoc := recDocument(7, 500)
	otherSum := sha256.Sum256([]byte("not the content"))
	amendTests := map[string]struct {
		msp, user string
		md        *gatewayv1.AmendmentMetadata
		content   []byte
		code      codes.Code
		want      string
	}{
		"an unspecified reason is refused": {
			md: &gatewayv1.AmendmentMetadata{RecordId: "amended-1"}, content: otherDoc, code: codes.InvalidArgument, want: "metadata.reason",
		},
		"a malformed document type is refused": {
			md: &gatewayv1.AmendmentMetadata{RecordId: "amended-1", Reason: gatewayv1.AmendmentReason_AMENDMENT_REASON_ADDENDUM, DocType: "Letter"}, content: otherDoc,
			code: codes.InvalidArgument, want: "metadata.doc_type",
		},
		"an unknown confidentiality number is refused": {
			md: &gatewayv1.AmendmentMetadata{RecordId: "amended-1", Reason: gatewayv1.AmendmentReason_AMENDMENT_REASON_ADDENDUM, Confidentiality: 9}, content: otherDoc,
			code: codes.InvalidArgument, want: "metadata.confidentiality",
		},
		"content that does not hash to content_sha256 is refused": {
			md: &gatewayv1.AmendmentMetadata{RecordId: "amended-1", Reason: gatewayv1.AmendmentReason_AMENDMENT_REASON_ADDENDUM, ContentSha256: otherSum[:]}, content: otherDoc,
			code: codes.InvalidArgument, want: "metadata.content_sha256",
		},
		"empty content is refused": {
			md: &gatewayv1.AmendmentMetadata{RecordId: "amended-1", Reason: gatewayv1.AmendmentReason_AMENDMENT_REASON_ADDENDUM}, content: nil,
			code: codes.InvalidArgument, want: "chunk",
		},
		"an unknown record is not found": {
			md: &gatewayv1.AmendmentMetadata{RecordId: "unknown-1", Reason: gatewayv1.AmendmentReason_AMENDMENT_REASON_ADDENDUM}, content: otherDoc, code: codes.NotFound,
		},
		"a record above the caller's clearance is not found": {
			user: "clinician-l", md: &gatewayv1.AmendmentMetadata{RecordId: "amended-1", Reason: gatewayv1.AmendmentReason_AMENDMENT_REASON_ADDENDUM, Confidentiality: gatewayv1.Confidentiality_CONFIDENTIALITY_L},
			content: otherDoc, code: codes.NotFound,
		},
		"a new confidentiality above the caller's clearance is refused": {
			md:      &gatewayv1.AmendmentMetadata{RecordId: "amended-1", Reason: gatewayv1.AmendmentReason_AMENDMENT_REASON_ADDENDUM, Confidentiality: gatewayv1.Confidentiality_CONFIDENTIALITY_V},
			content: otherDoc, code: codes.PermissionDenied,
		},
		"another organisation's record is not found": {
			msp: devnet.HospitalB, md: &gatewayv1.AmendmentMetadata{RecordId: "amended-1", Reason: gatewayv1.AmendmentReason_AMENDMENT_REASON_ADDENDUM},
			content: otherDoc, code: codes.NotFound,
		},
	}
	for name, tc := range amendTests {
		t.Run(name, func(t *testing.T) {
			msp, user := tc.msp, tc.user
			if msp == "" {
				msp = devnet.HospitalA
			}
			if user == "" {
				user = "clinician"
			}
			_, err := recAmend(ctx, recRecords(t, c, msp, user), tc.md, tc.content)
			recCode(t, err, tc.code, tc.want)
			if n := len(history(t)); n != 3 {
				t.Fatalf("after a refused amendment the history holds %d versions, want 3", n)
			}
			_, got, _, err := recGet(ctx, client, recTreat("amended-1", 0))
			if err != nil || !bytes.Equal(got, v3) {
				t.Fatalf("after a refused amendment the latest content changed: %v", err)
			}
		})
	}
}

func TestEraseRecord(t *testing.T) {
	t.Parallel()
	c := recConsortium(t)
	ctx := context.Background()
	patient := recPatient(t, c, devnet.HospitalA)
	officer := recRecords(t, c, devnet.HospitalA, "officer")
	clinician := recRecords(t, c, devnet.HospitalA, "clinician")
	doc := recDocument(8, 4000)
	added := recAdd(t, clinician, recMetadata("erase-1", patient), doc)
	if _, err := recAmend(ctx, clinician, &gatewayv1.AmendmentMetadata{RecordId: "erase-1", Reason: gatewayv1.AmendmentReason_AMENDMENT_REASON_ADDENDUM}, recDocument(9, 10)); err != nil {
		t.Fatalf("AmendRecord: %v", err)
	}

	refused := map[string]struct {
		msp, user string
		req       *gatewayv1.EraseRecordRequest
		code      codes.Code
		want      string
	}{
		"a clinician may not erase": {
			user: "clinician", req: &gatewayv1.EraseRecordRequest{RecordId: "erase-1", Reason: gatewayv1.ErasureReason_ERASURE_REASON_PATIENT_REQUEST}, code: codes.PermissionDenied,
		},
		"an unspecified reason is refused": {
			req: &gatewayv1.EraseRecordRequest{RecordId: "erase-1"}, code: codes.InvalidArgument, want: "reason",
		},
		"a malformed record ID is refused": {
			req: &gatewayv1.EraseRecordRequest{RecordId: "", Reason: gatewayv1.ErasureReason_ERASURE_REASON_PATIENT_REQUEST}, code: codes.InvalidArgument, want: "record_id",
		},
		"an unknown record is not found": {
			req: &gatewayv1.EraseRecordRequest{RecordId: "unknown-1", Reason: gatewayv1.ErasureReason_ERASURE_REASON_PATIENT_REQUEST}, code: codes.NotFound,
		},
		"another organisation's records officer does not find the record": {
			msp: devnet.HospitalB, req: &gatewayv1.EraseRecordRequest{RecordId: "erase-1", Reason: gatewayv1.ErasureReason_ERASURE_REASON_PATIENT_REQUEST}, code: codes.NotFound,
		},
	}
	for name, tc := range refused {
		t.Run(name, func(t *testing.T) {
			msp, user := tc.msp, tc.user
			if msp == "" {
				msp = devnet.HospitalA
			}
			if user == "" {
				user = "officer"
			}
			_, err := recRecords(t, c, msp, user).EraseRecord(ctx, tc.req)
			recCode(t, err, tc.code, tc.want)
			if _, got, _, err := recGet(ctx, clinician, recTreat("erase-1", 1)); err != nil || !bytes.Equal(got, doc) {
				t.Fatalf("after a refused erasure the record cannot be read: %v", err)
			}
		})
	}

	erased, err := officer.EraseRecord(ctx, &gatewayv1.EraseRecordRequest{RecordId: "erase-1", Reason: gatewayv1.ErasureReason_ERASURE_REASON_PATIENT_REQUEST})
	if err != nil {
		t.Fatalf("EraseRecord: %v", err)
	}
	ev := erased.GetEvidence()
	if ev.GetVersion() != 2 || ev.GetStatus() != gatewayv1.RecordStatus_RECORD_STATUS_ERASED ||
		ev.GetErasure().GetReason() != gatewayv1.ErasureReason_ERASURE_REASON_PATIENT_REQUEST || !recTxID.MatchString(ev.GetErasure().GetTxId()) {
		t.Errorf("erased evidence = %v", ev)
	}

	for _, version := range []uint32{0, 1, 2} {
		_, _, _, err := recGet(ctx, clinician, recTreat("erase-1", version))
		recCode(t, err, codes.FailedPrecondition, "")
		_, err = clinician.GetReceipt(ctx, &gatewayv1.GetReceiptRequest{RecordId: "erase-1", Version: version})
		recCode(t, err, codes.FailedPrecondition, "erased")
	}
	_, err = officer.EraseRecord(ctx, &gatewayv1.EraseRecordRequest{RecordId: "erase-1", Reason: gatewayv1.ErasureReason_ERASURE_REASON_LEGAL_ORDER})
	recCode(t, err, codes.FailedPrecondition, "")

	page, err := clinician.RecordHistory(ctx, &gatewayv1.RecordHistoryRequest{RecordId: "erase-1"})
	if err != nil || len(page.GetVersions()) != 2 {
		t.Fatalf("RecordHistory after erasure = %v, %v", page, err)
	}
	for _, v := range page.GetVersions() {
		if v.GetStatus() != gatewayv1.RecordStatus_RECORD_STATUS_ERASED || v.GetCommitment() == "" {
			t.Errorf("after erasure version %d = %v", v.GetVersion(), v)
		}
	}
	if page.GetVersions()[0].GetCommitment() != added.GetEvidence().GetCommitment() {
		t.Errorf("erasure changed the commitment of version 1")
	}
}

func TestEraseRecordFinishesAnInterruptedErasure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	c, err := devup.Start(ctx, dir)
	if err != nil {
		t.Fatalf("devup.Start: %v", err)
	}
	patient := recPatient(t, c, devnet.HospitalA)
	doc := recDocument(10, 100)
	conn, err := c.Dial(ctx, devnet.HospitalA, "clinician")
	if err != nil {
		t.Fatal(err)
	}
	recAdd(t, gatewayv1.NewRecordServiceClient(conn), recMetadata("interrupted-1", patient), doc)
	conn.Close()
	if err := c.Close(); err != nil {
		t.Fatalf("close consortium: %v", err)
	}

	// The ledger erases the record, as an EraseRecord whose store erasure
	// never ran would have left it: submitted directly, by another records
	// officer of the custodian.
	n, err := devnet.Start(filepath.Join(dir, "network"))
	if err != nil {
		t.Fatalf("devnet.Start: %v", err)
	}
	other, err := n.User(devnet.HospitalA, "other-officer", devca.RoleRecordsOfficer, devca.ClearanceV)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Submit(ctx, domain.TxEraseRecord, `{"recordId":"interrupted-1","reason":"PATIENT-REQUEST"}`); err != nil {
		t.Fatalf("EraseRecord on the ledger: %v", err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	c = recRestart(t, dir)
	officer := recRecords(t, c, devnet.HospitalA, "officer")
	clinician := recRecords(t, c, devnet.HospitalA, "clinician")
	// The ledger refuses reads already, before the store is shredded.
	_, _, _, err = recGet(ctx, clinician, recTreat("interrupted-1", 0))
	recCode(t, err, codes.FailedPrecondition, "")
	_, err = clinician.GetReceipt(ctx, &gatewayv1.GetReceiptRequest{RecordId: "interrupted-1"})
	recCode(t, err, codes.FailedPrecondition, "")

	// The retried EraseRecord shreds the store and succeeds ...
	erased, err := officer.EraseRecord(ctx, &gatewayv1.EraseRecordRequest{RecordId: "interrupted-1", Reason: gatewayv1.ErasureReason_ERASURE_REASON_PATIENT_REQUEST})
	if err != nil {
		t.Fatalf("EraseRecord after an interrupted erasure: %v", err)
	}
	if erased.GetEvidence().GetStatus() != gatewayv1.RecordStatus_RECORD_STATUS_ERASED {
		t.Errorf("evidence = %v", erased.GetEvidence())
	}
	// ... once: the store is shredded now, so the next one is refused.
	_, err = officer.EraseRecord(ctx, &gatewayv1.EraseRecordRequest{RecordId: "interrupted-1", Reason: gatewayv1.ErasureReason_ERASURE_REASON_PATIENT_REQUEST})
	recCode(t, err, codes.FailedPrecondition, "")
	// A clinician still may not erase, even to finish a shredding.
	_, err = clinician.EraseRecord(ctx, &gatewayv1.EraseRecordRequest{RecordId: "interrupted-1", Reason: gatewayv1.ErasureReason_ERASURE_REASON_PATIENT_REQUEST})
	recCode(t, err, codes.PermissionDenied, "")
}

// recRestart reopens the consortium in dir for the rest of the test.
func recRestart(t *testing.T, dir string) *devup.Consortium {
	t.Helper()
	c, err := devup.Start(context.Background(), dir)
	if err != nil {
		t.Fatalf("devup.Start again: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close consortium: %v", err)
		}
	})
	return c
}

func TestGetReceiptRefusesBadInput(t *testing.T) {
	t.Parallel()
	c := recConsortium(t)
	ctx := context.Background()
	patient := recPatient(t, c, devnet.HospitalA)
	recAdd(t, recRecords(t, c, devnet.HospitalA, "clinician"), recMetadata("receipt-1", patient), recDocument(11, 100))

	tests := map[string]struct {
		msp, user string
		req       *gatewayv1.GetReceiptRequest
		code      codes.Code
		want      string
	}{
		"a malformed record ID is refused":                   {req: &gatewayv1.GetReceiptRequest{RecordId: "a"}, code: codes.InvalidArgument, want: "record_id"},
		"a version above the ledger's range is refused":      {req: &gatewayv1.GetReceiptRequest{RecordId: "receipt-1", Version: 2_000_000}, code: codes.InvalidArgument, want: "version"},
		"a version that does not exist is not found":         {req: &gatewayv1.GetReceiptRequest{RecordId: "receipt-1", Version: 2}, code: codes.NotFound},
		"a record above the caller's clearance is not found": {user: "clinician-l", req: &gatewayv1.GetReceiptRequest{RecordId: "receipt-1"}, code: codes.NotFound},
		"another organisation's record is not found":         {msp: devnet.HospitalB, req: &gatewayv1.GetReceiptRequest{RecordId: "receipt-1"}, code: codes.NotFound},
		"a researcher may not have a receipt":                {user: "researcher", req: &gatewayv1.GetReceiptRequest{RecordId: "receipt-1"}, code: codes.PermissionDenied},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			msp, user := tc.msp, tc.user
			if msp == "" {
				msp = devnet.HospitalA
			}
			if user == "" {
				user = "clinician"
			}
			resp, err := recRecords(t, c, msp, user).GetReceipt(ctx, tc.req)
			recCode(t, err, tc.code, tc.want)
			if resp != nil {
				t.Errorf("a refused GetReceipt answered %v", resp)
			}
		})
	}
}
