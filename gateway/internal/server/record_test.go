package server_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/internal/devca"
	"github.com/medprov/medprov/internal/devnet"
	"github.com/medprov/medprov/internal/receipt"
)

// The helpers only the record, verification and admin tests use are
// prefixed "rec" so that they cannot clash with the other services' tests
// in this package; the shared ones are in helpers_test.go.

// recAmend uploads new content for a record.
func recAmend(ctx context.Context, client gatewayv1.RecordServiceClient, md *gatewayv1.AmendmentMetadata, content []byte) (*gatewayv1.AmendRecordResponse, error) {
	stream, err := client.AmendRecord(ctx)
	if err != nil {
		return nil, err
	}
	msgs := []*gatewayv1.AmendRecordRequest{{Part: &gatewayv1.AmendRecordRequest_Metadata{Metadata: md}}}
	for c := range slices.Chunk(content, 1<<20) {
		msgs = append(msgs, &gatewayv1.AmendRecordRequest{Part: &gatewayv1.AmendRecordRequest_Chunk{Chunk: c}})
	}
	return sendAll(stream, msgs)
}

var recTxID = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestAddRecordAndGetRecordRoundTripFiveMebibytes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	patient := f.register(t, devnet.HospitalA).Pseudonym
	client := f.records(t, devnet.HospitalA, "clinician")

	content := document(1, 5<<20)
	sum := sha256.Sum256(content)
	md := recordMetadata("", patient)
	md.ContentSha256 = sum[:]
	added := addRecord(t, client, md, content)

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

	header, got, largest, err := getRecord(ctx, client, readRequest(ev.GetRecordId(), 0))
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
	header1, got1, _, err := getRecord(ctx, client, readRequest(ev.GetRecordId(), 1))
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
	f := newFixture(t)
	ctx := context.Background()
	patient := f.register(t, devnet.HospitalA).Pseudonym
	doc := document(2, 1000)
	sum := sha256.Sum256(doc)
	otherSum := sha256.Sum256([]byte("another synthetic document"))
	unregistered := "pt-" + strings.Repeat("ab", 20)

	meta := func(id string, change func(md *gatewayv1.RecordMetadata)) *gatewayv1.AddRecordRequest {
		md := recordMetadata(id, patient)
		if change != nil {
			change(md)
		}
		return metadataMsg(md)
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
			id: "bad-first", msgs: []*gatewayv1.AddRecordRequest{chunkMsg(doc), meta("bad-first", nil)},
			code: codes.InvalidArgument, want: "metadata: must be the first message",
		},
		"a second metadata message is refused": {
			id: "bad-second-meta", msgs: []*gatewayv1.AddRecordRequest{meta("bad-second-meta", nil), chunkMsg(doc), meta("bad-second-meta", nil)},
			code: codes.InvalidArgument, want: "metadata: exactly once",
		},
		"a malformed record ID is refused": {
			msgs: []*gatewayv1.AddRecordRequest{meta("no spaces allowed", nil), chunkMsg(doc)},
			code: codes.InvalidArgument, want: "metadata.record_id",
		},
		"a malformed patient pseudonym is refused": {
			id: "bad-patient", msgs: []*gatewayv1.AddRecordRequest{meta("bad-patient", func(md *gatewayv1.RecordMetadata) { md.Patient = "patient-1" }), chunkMsg(doc)},
			code: codes.InvalidArgument, want: "metadata.patient",
		},
		"an unregistered patient is not found": {
			id: "bad-unregistered", msgs: []*gatewayv1.AddRecordRequest{meta("bad-unregistered", func(md *gatewayv1.RecordMetadata) { md.Patient = unregistered }), chunkMsg(doc)},
			code: codes.NotFound,
		},
		"a LOINC code with a wrong check digit is refused": {
			id: "bad-doctype", msgs: []*gatewayv1.AddRecordRequest{meta("bad-doctype", func(md *gatewayv1.RecordMetadata) { md.DocType = "11506-4" }), chunkMsg(doc)},
			code: codes.InvalidArgument, want: "metadata.doc_type",
		},
		"an unspecified confidentiality is refused": {
			id: "bad-conf", msgs: []*gatewayv1.AddRecordRequest{meta("bad-conf", func(md *gatewayv1.RecordMetadata) { md.Confidentiality = 0 }), chunkMsg(doc)},
			code: codes.InvalidArgument, want: "metadata.confidentiality",
		},
		"an unknown confidentiality number is refused": {
			id: "bad-conf-number", msgs: []*gatewayv1.AddRecordRequest{meta("bad-conf-number", func(md *gatewayv1.RecordMetadata) { md.Confidentiality = 42 }), chunkMsg(doc)},
			code: codes.InvalidArgument, want: "metadata.confidentiality",
		},
		"a client's derived_from is refused": {
			id: "bad-derived", msgs: []*gatewayv1.AddRecordRequest{meta("bad-derived", func(md *gatewayv1.RecordMetadata) {
				md.DerivedFrom = &gatewayv1.DerivedFrom{Custodian: devnet.HospitalB, RecordId: "src-1", Version: 1}
			}), chunkMsg(doc)},
			code: codes.InvalidArgument, want: "metadata.derived_from",
		},
		"a content_sha256 that is not 32 bytes is refused": {
			id: "bad-sum-length", msgs: []*gatewayv1.AddRecordRequest{meta("bad-sum-length", func(md *gatewayv1.RecordMetadata) { md.ContentSha256 = sum[:31] }), chunkMsg(doc)},
			code: codes.InvalidArgument, want: "metadata.content_sha256",
		},
		"content that does not hash to content_sha256 is refused": {
			id: "bad-sum", msgs: []*gatewayv1.AddRecordRequest{meta("bad-sum", func(md *gatewayv1.RecordMetadata) { md.ContentSha256 = otherSum[:] }), chunkMsg(doc)},
			code: codes.InvalidArgument, want: "metadata.content_sha256",
		},
		"empty content is refused": {
			id: "bad-empty", msgs: []*gatewayv1.AddRecordRequest{meta("bad-empty", nil)},
			code: codes.InvalidArgument, want: "chunk",
		},
		"an empty chunk is refused": {
			id: "bad-empty-chunk", msgs: []*gatewayv1.AddRecordRequest{meta("bad-empty-chunk", nil), chunkMsg(doc), chunkMsg(nil)},
			code: codes.InvalidArgument, want: "chunk",
		},
		"a confidentiality above the caller's clearance is refused": {
			user: "clinician-l", id: "bad-clearance", msgs: []*gatewayv1.AddRecordRequest{meta("bad-clearance", nil), chunkMsg(doc)},
			code: codes.PermissionDenied, want: "clearance",
		},
		"a researcher may not add records": {
			user: "researcher", id: "bad-role", msgs: []*gatewayv1.AddRecordRequest{meta("bad-role", nil), chunkMsg(doc)},
			code: codes.PermissionDenied,
		},
		"an auditor may not add records": {
			user: "auditor", id: "bad-auditor", msgs: []*gatewayv1.AddRecordRequest{meta("bad-auditor", nil), chunkMsg(doc)},
			code: codes.PermissionDenied,
		},
	}
	officer := f.records(t, devnet.HospitalA, "officer")
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			user := cmp.Or(tc.user, "clinician")
			_, err := sendAdd(ctx, f.records(t, devnet.HospitalA, user), tc.msgs...)
			wantCode(t, err, tc.code, tc.want)
			if tc.id == "" {
				return
			}
			// Nothing on the ledger, nothing in the store: the ID is free
			// for a valid upload.
			_, err = officer.GetReceipt(ctx, &gatewayv1.GetReceiptRequest{RecordId: tc.id})
			wantCode(t, err, codes.NotFound, "")
			addRecord(t, officer, recordMetadata(tc.id, patient), doc)
		})
	}

	t.Run("a chunk above 4 MiB is refused and nothing is stored", func(t *testing.T) {
		_, err := sendAdd(ctx, officer, metadataMsg(recordMetadata("bad-big-chunk", patient)), chunkMsg(make([]byte, 4<<20+1)))
		if code := status.Code(err); code != codes.InvalidArgument && code != codes.ResourceExhausted {
			t.Fatalf("error = %v, want INVALID_ARGUMENT or RESOURCE_EXHAUSTED", err)
		}
		addRecord(t, officer, recordMetadata("bad-big-chunk", patient), doc)
	})

	t.Run("a record ID already taken is refused and the first record is unchanged", func(t *testing.T) {
		first := addRecord(t, officer, recordMetadata("taken-1", patient), doc)
		_, err := sendAdd(ctx, officer, metadataMsg(recordMetadata("taken-1", patient)), chunkMsg([]byte("another synthetic document")))
		wantCode(t, err, codes.AlreadyExists, "")
		_, got, _, err := getRecord(ctx, officer, readRequest("taken-1", 0))
		if err != nil || !bytes.Equal(got, doc) {
			t.Fatalf("GetRecord after a refused duplicate: %v, content equal %v", err, bytes.Equal(got, doc))
		}
		gr, err := officer.GetReceipt(ctx, &gatewayv1.GetReceiptRequest{RecordId: "taken-1"})
		if err != nil || !proto.Equal(gr.GetReceipt(), first.GetReceipt()) {
			t.Fatalf("GetReceipt after a refused duplicate: %v", err)
		}
	})

	t.Run("a caller outside the wallet is refused", func(t *testing.T) {
		_, err := sendAdd(ctx, f.records(t, devnet.HospitalA, ""), metadataMsg(recordMetadata("bad-stranger", patient)), chunkMsg(doc))
		wantCode(t, err, codes.PermissionDenied, "")
		_, err = officer.GetReceipt(ctx, &gatewayv1.GetReceiptRequest{RecordId: "bad-stranger"})
		wantCode(t, err, codes.NotFound, "")
	})
}

func TestGetRecordHidesAndRefuses(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	patient := f.register(t, devnet.HospitalA).Pseudonym
	officer := f.records(t, devnet.HospitalA, "officer")
	doc := document(3, 2000)

	restricted := recordMetadata("restricted-1", patient)
	restricted.Confidentiality = gatewayv1.Confidentiality_CONFIDENTIALITY_R
	addRecord(t, officer, restricted, doc)
	addRecord(t, officer, recordMetadata("normal-1", patient), doc)

	_, _, _, err := getRecord(ctx, f.records(t, devnet.HospitalA, "clinician-l"), readRequest("no-such-record", 0))
	wantCode(t, err, codes.NotFound, "")
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
			msp: devnet.HospitalA, user: "clinician-l", req: readRequest("restricted-1", 0), code: codes.NotFound, asMissing: true,
		},
		"a record above the caller's clearance is not found by version either": {
			msp: devnet.HospitalA, user: "clinician", req: readRequest("restricted-1", 1), code: codes.NotFound, asMissing: true,
		},
		"another organisation's record is not found": {
			msp: devnet.HospitalB, user: "clinician", req: readRequest("normal-1", 0), code: codes.NotFound, asMissing: true,
		},
		"a version that does not exist is not found": {
			msp: devnet.HospitalA, user: "clinician", req: readRequest("normal-1", 2), code: codes.NotFound,
		},
		"a researcher may not read records": {
			msp: devnet.HospitalA, user: "researcher", req: readRequest("normal-1", 0), code: codes.PermissionDenied,
		},
		"an admin may not read records": {
			msp: devnet.HospitalA, user: "admin", req: readRequest("normal-1", 0), code: codes.PermissionDenied,
		},
		"a malformed record ID is refused": {
			msp: devnet.HospitalA, user: "clinician", req: readRequest("x", 0), code: codes.InvalidArgument, want: "record_id",
		},
		"a version above the ledger's range is refused": {
			msp: devnet.HospitalA, user: "clinician", req: readRequest("normal-1", 1_000_001), code: codes.InvalidArgument, want: "version",
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
			_, _, _, err := getRecord(ctx, f.records(t, tc.msp, tc.user), tc.req)
			wantCode(t, err, tc.code, tc.want)
			if tc.asMissing {
				got := strings.ReplaceAll(status.Convert(err).Message(), tc.req.GetRecordId(), "ID")
				if got != missing {
					t.Errorf("message %q differs from a missing record's %q", got, missing)
				}
			}
		})
	}

	t.Run("the records officer reads the restricted record", func(t *testing.T) {
		_, got, _, err := getRecord(ctx, officer, readRequest("restricted-1", 0))
		if err != nil || !bytes.Equal(got, doc) {
			t.Fatalf("GetRecord: %v, content equal %v", err, bytes.Equal(got, doc))
		}
	})
}

func TestAmendRecordAndRecordHistory(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	patient := f.register(t, devnet.HospitalA).Pseudonym
	client := f.records(t, devnet.HospitalA, "clinician")
	v1 := document(4, 3000)
	v2 := document(5, 70_000)
	v3 := document(6, 10)
	addRecord(t, client, recordMetadata("amended-1", patient), v1)

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
		header, got, _, err := getRecord(ctx, client, readRequest("amended-1", version))
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
			user := cmp.Or(tc.user, "clinician")
			_, err := f.records(t, devnet.HospitalA, user).RecordHistory(ctx, tc.req)
			wantCode(t, err, tc.code, tc.want)
		})
	}

	otherDoc := document(7, 500)
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
			msp, user := cmp.Or(tc.msp, devnet.HospitalA), cmp.Or(tc.user, "clinician")
			_, err := recAmend(ctx, f.records(t, msp, user), tc.md, tc.content)
			wantCode(t, err, tc.code, tc.want)
			if n := len(history(t)); n != 3 {
				t.Fatalf("after a refused amendment the history holds %d versions, want 3", n)
			}
			_, got, _, err := getRecord(ctx, client, readRequest("amended-1", 0))
			if err != nil || !bytes.Equal(got, v3) {
				t.Fatalf("after a refused amendment the latest content changed: %v", err)
			}
		})
	}
}

func TestEraseRecord(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	patient := f.register(t, devnet.HospitalA).Pseudonym
	officer := f.records(t, devnet.HospitalA, "officer")
	clinician := f.records(t, devnet.HospitalA, "clinician")
	doc := document(8, 4000)
	added := addRecord(t, clinician, recordMetadata("erase-1", patient), doc)
	if _, err := recAmend(ctx, clinician, &gatewayv1.AmendmentMetadata{RecordId: "erase-1", Reason: gatewayv1.AmendmentReason_AMENDMENT_REASON_ADDENDUM}, document(9, 10)); err != nil {
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
			msp, user := cmp.Or(tc.msp, devnet.HospitalA), cmp.Or(tc.user, "officer")
			_, err := f.records(t, msp, user).EraseRecord(ctx, tc.req)
			wantCode(t, err, tc.code, tc.want)
			if _, got, _, err := getRecord(ctx, clinician, readRequest("erase-1", 1)); err != nil || !bytes.Equal(got, doc) {
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
		_, _, _, err := getRecord(ctx, clinician, readRequest("erase-1", version))
		wantCode(t, err, codes.FailedPrecondition, "")
		_, err = clinician.GetReceipt(ctx, &gatewayv1.GetReceiptRequest{RecordId: "erase-1", Version: version})
		wantCode(t, err, codes.FailedPrecondition, "erased")
	}
	_, err = officer.EraseRecord(ctx, &gatewayv1.EraseRecordRequest{RecordId: "erase-1", Reason: gatewayv1.ErasureReason_ERASURE_REASON_LEGAL_ORDER})
	wantCode(t, err, codes.FailedPrecondition, "")

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
	f := startFixture(t, dir)
	patient := f.register(t, devnet.HospitalA).Pseudonym
	addRecord(t, f.records(t, devnet.HospitalA, "clinician"), recordMetadata("interrupted-1", patient), document(10, 100))
	f.close(t)

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
	// The gateways' event followers would shred the record on its
	// RecordErased event at restart (gateway/internal/follow). Without
	// their checkpoints they start after it, as a gateway whose checkpoint
	// was lost would: the retried EraseRecord is what finishes here.
	removed := 0
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "event-checkpoint.json" {
			removed++
			err = os.Remove(path)
		}
		return err
	})
	if err != nil || removed != 3 {
		t.Fatalf("removed %d event checkpoints (%v), want the 3 gateways'", removed, err)
	}

	f = startFixture(t, dir)
	officer := f.records(t, devnet.HospitalA, "officer")
	clinician := f.records(t, devnet.HospitalA, "clinician")
	// The ledger refuses reads already, before the store is shredded.
	_, _, _, err = getRecord(ctx, clinician, readRequest("interrupted-1", 0))
	wantCode(t, err, codes.FailedPrecondition, "")
	_, err = clinician.GetReceipt(ctx, &gatewayv1.GetReceiptRequest{RecordId: "interrupted-1"})
	wantCode(t, err, codes.FailedPrecondition, "")

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
	wantCode(t, err, codes.FailedPrecondition, "")
	// A clinician still may not erase, even to finish a shredding.
	_, err = clinician.EraseRecord(ctx, &gatewayv1.EraseRecordRequest{RecordId: "interrupted-1", Reason: gatewayv1.ErasureReason_ERASURE_REASON_PATIENT_REQUEST})
	wantCode(t, err, codes.PermissionDenied, "")
}

func TestGetReceiptRefusesBadInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	patient := f.register(t, devnet.HospitalA).Pseudonym
	addRecord(t, f.records(t, devnet.HospitalA, "clinician"), recordMetadata("receipt-1", patient), document(11, 100))

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
			msp, user := cmp.Or(tc.msp, devnet.HospitalA), cmp.Or(tc.user, "clinician")
			resp, err := f.records(t, msp, user).GetReceipt(ctx, tc.req)
			wantCode(t, err, tc.code, tc.want)
			if resp != nil {
				t.Errorf("a refused GetReceipt answered %v", resp)
			}
		})
	}
}
