package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/internal/anchor"
	"github.com/medprov/medprov/gateway/internal/server/convert"
	"github.com/medprov/medprov/gateway/internal/store"
	"github.com/medprov/medprov/gateway/internal/wallet"
)

// DefaultMaxRecordSize is the largest record content AddRecord and
// AmendRecord accept, and the largest document VerifyDocument reads:
// 4 GiB. Content above it is INVALID_ARGUMENT, detected as soon as the
// limit is passed; nothing is stored.
const DefaultMaxRecordSize int64 = 4 << 30

// maxRecordVersion is the highest record version the chaincode accepts
// (its unexported maxVersion).
const maxRecordVersion = 1_000_000

// generatedIDPrefix starts the record IDs the gateway makes up; 12 random
// bytes in hex follow.
const generatedIDPrefix = "r-"

// recordService implements RecordService. Every ledger call is made as the
// caller, so the chaincode's role, organisation and clearance rules apply;
// the gateway checks the role and clearance itself before it reads an
// upload, only so that a caller the chaincode would refuse anyway does not
// stream gigabytes first.
type recordService struct {
	gatewayv1.UnimplementedRecordServiceServer
	s *Server
}

// AddRecord implements RecordService.AddRecord.
func (r *recordService) AddRecord(stream grpc.ClientStreamingServer[gatewayv1.AddRecordRequest, gatewayv1.AddRecordResponse]) error {
	ctx := stream.Context()
	id, err := user(ctx)
	if err != nil {
		return err
	}
	first, err := recvFirst(stream.Recv, "metadata")
	if err != nil {
		return err
	}
	req, sum, err := r.addRequest(id, first.GetMetadata())
	if err != nil {
		return err
	}
	up := newUpload(stream.Recv, "metadata", DefaultMaxRecordSize)
	ev, rc, err := r.anchorUpload(ctx, id, up, sum, "add", func(content io.Reader) (anchor.Anchored, error) {
		return r.s.d.Anchorer.Add(ctx, id.Ledger(), req, content)
	})
	if err != nil {
		return err
	}
	return stream.SendAndClose(&gatewayv1.AddRecordResponse{Evidence: ev, Receipt: rc, Size: uint64(up.size())})
}

// anchorUpload stores and anchors the content of up with anchorFn
// (Anchorer.Add or Anchorer.Amend, as the caller), checking it against sum
// (the metadata's content_sha256) when one was given, counts the bytes
// received and the operation's result, and returns the anchored version's
// evidence and receipt. The upload's own failure (a clean INVALID_ARGUMENT
// status, or the client's stream ending) takes precedence over anchorFn's
// error, which wraps it.
func (r *recordService) anchorUpload(ctx context.Context, id *wallet.Identity, up *upload, sum []byte, operation string, anchorFn func(content io.Reader) (anchor.Anchored, error)) (*gatewayv1.RecordEvidence, *gatewayv1.Receipt, error) {
	if sum != nil {
		up.expectSHA256("metadata.content_sha256", sum)
	}
	a, err := anchorFn(up)
	r.s.d.Metrics.bytes.WithLabelValues("in").Add(float64(up.size()))
	r.s.d.Metrics.anchored(operation, err)
	if uerr := up.err(); uerr != nil {
		return nil, nil, uerr
	}
	if err != nil {
		return nil, nil, err
	}
	return r.s.anchoredEvidence(ctx, id, a)
}

// addRequest validates AddRecord's metadata and returns the anchoring
// request and the expected content hash (nil if none was given). An empty
// record ID is replaced by a random one.
func (r *recordService) addRequest(id *wallet.Identity, md *gatewayv1.RecordMetadata) (anchor.AddRequest, []byte, error) {
	recordID := md.GetRecordId()
	if recordID == "" {
		generated, err := newRecordID(rand.Reader)
		if err != nil {
			return anchor.AddRequest{}, nil, err
		}
		recordID = generated
	} else if err := domain.CheckID("metadata.record_id", recordID); err != nil {
		return anchor.AddRequest{}, nil, argStatus(err)
	}
	if err := domain.CheckPseudonym("metadata.patient", md.GetPatient()); err != nil {
		return anchor.AddRequest{}, nil, argStatus(err)
	}
	if err := domain.CheckDocType("metadata.doc_type", md.GetDocType()); err != nil {
		return anchor.AddRequest{}, nil, argStatus(err)
	}
	conf, err := convert.ConfidentialityFromProto("metadata.confidentiality", md.GetConfidentiality())
	if err != nil {
		return anchor.AddRequest{}, nil, err
	}
	// Copies of another custodian's record are made only by
	// AccessService.FetchRecord, which verifies the copy against the ledger
	// and sets derived_from itself (the proto comment); a client's own
	// claim that a record is a verified copy is refused.
	if md.GetDerivedFrom() != nil {
		return anchor.AddRequest{}, nil, status.Error(codes.InvalidArgument, "metadata.derived_from: must be unset; verified copies are made by AccessService.FetchRecord")
	}
	sum, err := contentSHA256("metadata.content_sha256", md.GetContentSha256())
	if err != nil {
		return anchor.AddRequest{}, nil, err
	}
	if err := checkWrite(id, domain.TxAnchorRecord, conf); err != nil {
		return anchor.AddRequest{}, nil, err
	}
	return anchor.AddRequest{RecordID: recordID, Patient: md.GetPatient(), DocType: md.GetDocType(), Confidentiality: conf}, sum, nil
}

// GetRecord implements RecordService.GetRecord: it commits a LogAccess
// event for the read first, and sends nothing unless that committed.
func (r *recordService) GetRecord(req *gatewayv1.GetRecordRequest, stream grpc.ServerStreamingServer[gatewayv1.GetRecordResponse]) error {
	ctx := stream.Context()
	id, err := user(ctx)
	if err != nil {
		return err
	}
	if err := domain.CheckID("record_id", req.GetRecordId()); err != nil {
		return argStatus(err)
	}
	version, err := optionalVersion("version", req.GetVersion())
	if err != nil {
		return err
	}
	purpose, err := convert.PurposeOfUseFromProto("purpose", req.GetPurpose())
	if err != nil {
		return err
	}
	// LogAccess also admits the custodian's researchers, who may not read
	// the evidence that the header carries: refuse them before anything
	// is logged.
	if err := checkRole(id, domain.TxGetRecordVersion); err != nil {
		return err
	}

	care := req.GetCareRelationship()
	logged := domain.LogAccessRequest{RecordID: req.GetRecordId(), Version: version, Purpose: purpose, CareRelationship: &care}
	committed, err := r.s.submitJSON(ctx, id.Ledger(), "log access to record "+req.GetRecordId(), domain.TxLogAccess, logged)
	if err != nil {
		return err
	}
	payload := committed.Payload
	if len(payload) == 0 {
		// The commit was recovered by looking the transaction up, and the
		// backend could not read the payload back: read the event.
		if payload, err = r.s.d.Ledger.Evaluate(ctx, id.Ledger(), domain.TxGetAccessEvent, committed.TxID); err != nil {
			return fmt.Errorf("read access event %s: %w", committed.TxID, err)
		}
	}
	var event domain.AccessEvent
	if err := json.Unmarshal(payload, &event); err != nil {
		return fmt.Errorf("decode access event %s: %w", committed.TxID, err)
	}
	if event.RecordID != req.GetRecordId() || event.Version < 1 || (version != 0 && event.Version != version) {
		return fmt.Errorf("access event %s names another record version than requested", committed.TxID)
	}

	rec, err := r.s.readRecordVersion(ctx, id, req.GetRecordId(), event.Version)
	if err != nil {
		return err
	}
	content, entry, err := r.s.d.Store.Open(ctx, req.GetRecordId(), event.Version)
	if err != nil {
		return fmt.Errorf("open record %s version %d: %w", req.GetRecordId(), event.Version, err)
	}
	defer content.Close()
	rc, err := storedReceipt(rec, entry)
	if err != nil {
		return err
	}
	header := &gatewayv1.RecordHeader{Evidence: convert.RecordEvidence(rec), Receipt: rc, Size: uint64(entry.Size), AccessTxId: committed.TxID}
	if err := stream.Send(&gatewayv1.GetRecordResponse{Part: &gatewayv1.GetRecordResponse_Header{Header: header}}); err != nil {
		return fmt.Errorf("send header: %w", err)
	}
	n, err := sendChunks(content, func(c []byte) error {
		return stream.Send(&gatewayv1.GetRecordResponse{Part: &gatewayv1.GetRecordResponse_Chunk{Chunk: c}})
	})
	r.s.d.Metrics.bytes.WithLabelValues("out").Add(float64(n))
	if err != nil {
		return fmt.Errorf("record %s version %d: %w", req.GetRecordId(), event.Version, err)
	}
	if n != entry.Size {
		return fmt.Errorf("record %s version %d: sent %d bytes, the index says %d", req.GetRecordId(), event.Version, n, entry.Size)
	}
	return nil
}

// AmendRecord implements RecordService.AmendRecord.
func (r *recordService) AmendRecord(stream grpc.ClientStreamingServer[gatewayv1.AmendRecordRequest, gatewayv1.AmendRecordResponse]) error {
	ctx := stream.Context()
	id, err := user(ctx)
	if err != nil {
		return err
	}
	first, err := recvFirst(stream.Recv, "metadata")
	if err != nil {
		return err
	}
	req, sum, err := amendRequest(id, first.GetMetadata())
	if err != nil {
		return err
	}
	up := newUpload(stream.Recv, "metadata", DefaultMaxRecordSize)
	ev, rc, err := r.anchorUpload(ctx, id, up, sum, "amend", func(content io.Reader) (anchor.Anchored, error) {
		return r.s.d.Anchorer.Amend(ctx, id.Ledger(), req, content)
	})
	if err != nil {
		return err
	}
	return stream.SendAndClose(&gatewayv1.AmendRecordResponse{Evidence: ev, Receipt: rc, Size: uint64(up.size())})
}

// amendRequest validates AmendRecord's metadata and returns the amendment
// request and the expected content hash (nil if none was given).
func amendRequest(id *wallet.Identity, md *gatewayv1.AmendmentMetadata) (anchor.AmendRequest, []byte, error) {
	if err := domain.CheckID("metadata.record_id", md.GetRecordId()); err != nil {
		return anchor.AmendRequest{}, nil, argStatus(err)
	}
	reason, err := convert.AmendmentReasonFromProto("metadata.reason", md.GetReason())
	if err != nil {
		return anchor.AmendRequest{}, nil, err
	}
	if md.GetDocType() != "" {
		if err := domain.CheckDocType("metadata.doc_type", md.GetDocType()); err != nil {
			return anchor.AmendRequest{}, nil, argStatus(err)
		}
	}
	conf, err := convert.OptionalConfidentialityFromProto("metadata.confidentiality", md.GetConfidentiality())
	if err != nil {
		return anchor.AmendRequest{}, nil, err
	}
	sum, err := contentSHA256("metadata.content_sha256", md.GetContentSha256())
	if err != nil {
		return anchor.AmendRequest{}, nil, err
	}
	if err := checkWrite(id, domain.TxAmendRecord, conf); err != nil {
		return anchor.AmendRequest{}, nil, err
	}
	return anchor.AmendRequest{RecordID: md.GetRecordId(), Reason: reason, DocType: md.GetDocType(), Confidentiality: conf}, sum, nil
}

// EraseRecord implements RecordService.EraseRecord.
//
// Order: the ledger first, then the store. Submitting EraseRecord first
// means that no state can arise in which the ledger says the record is
// active while its keys are already gone (the content would be lost
// without a tombstone that says why). The other crash window, the ledger
// erased and the store not (yet) shredded, is closed by the gateway's
// event follower (package follow), which shreds the record when it sees
// the RecordErased event, and by retrying: EraseRecord is idempotent for
// that case. When the ledger refuses because the record is already erased
// (FAILED_PRECONDITION) and this store still holds a version that is not
// erased, EraseRecord shreds it and succeeds; when the store has nothing
// left to shred, it still runs Store.Erase (which finishes a compaction an
// earlier failure left undone) and returns the FAILED_PRECONDITION. While
// the store is not yet shredded, GetRecord and GetReceipt already refuse
// the record, because the ledger does (LogAccess is FAILED_PRECONDITION,
// and GetReceipt reads the ledger's status).
func (r *recordService) EraseRecord(ctx context.Context, req *gatewayv1.EraseRecordRequest) (*gatewayv1.EraseRecordResponse, error) {
	id, err := user(ctx)
	if err != nil {
		return nil, err
	}
	if err := domain.CheckID("record_id", req.GetRecordId()); err != nil {
		return nil, argStatus(err)
	}
	reason, err := convert.ErasureReasonFromProto("reason", req.GetReason())
	if err != nil {
		return nil, err
	}
	arg, err := json.Marshal(domain.EraseRequest{RecordID: req.GetRecordId(), Reason: reason})
	if err != nil {
		return nil, fmt.Errorf("encode erase request: %w", err)
	}
	committed, err := r.s.d.Ledger.Submit(ctx, id.Ledger(), domain.TxEraseRecord, string(arg))
	if errors.Is(err, domain.ErrFailedPrecondition) {
		return r.finishErasure(ctx, id, req.GetRecordId(), err)
	}
	if err != nil {
		return nil, fmt.Errorf("erase record %s: %w", req.GetRecordId(), err)
	}
	if err := r.shred(ctx, req.GetRecordId()); err != nil {
		return nil, err
	}
	var rec domain.Record
	if len(committed.Payload) == 0 {
		// Recovered by a lookup without the payload: read the evidence.
		if rec, err = r.s.readRecordVersion(ctx, id, req.GetRecordId(), 0); err != nil {
			return nil, fmt.Errorf("record %s is erased, but reading its evidence back failed: %w", req.GetRecordId(), err)
		}
	} else if rec, err = decodeDocument[domain.Record](committed.Payload, domain.KindRecord); err != nil {
		return nil, fmt.Errorf("decode erased record %s: %w", req.GetRecordId(), err)
	}
	return &gatewayv1.EraseRecordResponse{Evidence: convert.RecordEvidence(rec)}, nil
}

// finishErasure handles a ledger that refused EraseRecord as already
// erased (refused): if this store still holds a version that is not
// erased, an earlier EraseRecord stopped between the ledger and the store,
// so it shreds the record and answers with the ledger's evidence;
// otherwise it returns refused.
func (r *recordService) finishErasure(ctx context.Context, id *wallet.Identity, recordID string, refused error) (*gatewayv1.EraseRecordResponse, error) {
	rec, err := r.s.readRecordVersion(ctx, id, recordID, 0)
	if err != nil {
		return nil, err
	}
	if rec.Status != domain.StatusErased {
		// FAILED_PRECONDITION for another reason than erasure.
		return nil, fmt.Errorf("erase record %s: %w", recordID, refused)
	}
	live := false
	for v := 1; v <= rec.Version && !live; v++ {
		e, err := r.s.d.Store.Get(recordID, v)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("erase record %s: %w", recordID, err)
		case e.State != store.StateErased:
			live = true
		}
	}
	if err := r.s.d.Store.Erase(recordID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("erase record %s in the store: %w", recordID, err)
	}
	if !live {
		return nil, fmt.Errorf("erase record %s: %w", recordID, refused)
	}
	r.s.log(ctx).Warn("finished an interrupted erasure: the ledger was erased, the store was not", slog.String("record", recordID))
	return &gatewayv1.EraseRecordResponse{Evidence: convert.RecordEvidence(rec)}, nil
}

// shred crypto-shreds recordID in the store after the ledger erased it. A
// store that never held the record has nothing to shred.
func (r *recordService) shred(ctx context.Context, recordID string) error {
	err := r.s.d.Store.Erase(recordID)
	if errors.Is(err, store.ErrNotFound) {
		r.s.log(ctx).Warn("erased on the ledger a record this store does not hold", slog.String("record", recordID))
		return nil
	}
	if err != nil {
		return fmt.Errorf("record %s is erased on the ledger, but shredding it in the store failed (retry EraseRecord to finish): %w", recordID, err)
	}
	return nil
}

// RecordHistory implements RecordService.RecordHistory.
func (r *recordService) RecordHistory(ctx context.Context, req *gatewayv1.RecordHistoryRequest) (*gatewayv1.RecordHistoryResponse, error) {
	id, err := user(ctx)
	if err != nil {
		return nil, err
	}
	if err := domain.CheckID("record_id", req.GetRecordId()); err != nil {
		return nil, argStatus(err)
	}
	if err := checkPage(req.GetPageSize(), req.GetPageToken()); err != nil {
		return nil, err
	}
	page, err := evaluatePage[domain.Record](ctx, r.s.d.Ledger, id.Ledger(), "record history of "+req.GetRecordId(), listArgField,
		domain.TxRecordHistory, req.GetRecordId(), pageSizeArg(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &gatewayv1.RecordHistoryResponse{Versions: protoList(page.Items, convert.RecordEvidence), NextPageToken: page.Bookmark}, nil
}

// GetReceipt implements RecordService.GetReceipt. The ledger is read first,
// as the caller, so that the chaincode's organisation and clearance rules
// decide who may have the salt.
func (r *recordService) GetReceipt(ctx context.Context, req *gatewayv1.GetReceiptRequest) (*gatewayv1.GetReceiptResponse, error) {
	id, err := user(ctx)
	if err != nil {
		return nil, err
	}
	if err := domain.CheckID("record_id", req.GetRecordId()); err != nil {
		return nil, argStatus(err)
	}
	version, err := optionalVersion("version", req.GetVersion())
	if err != nil {
		return nil, err
	}
	rec, err := r.s.readRecordVersion(ctx, id, req.GetRecordId(), version)
	if err != nil {
		return nil, err
	}
	if rec.Status == domain.StatusErased {
		return nil, fmt.Errorf("receipt of record %s version %d: %w", rec.RecordID, rec.Version, store.ErrErased)
	}
	entry, err := r.s.d.Store.Get(rec.RecordID, rec.Version)
	if err != nil {
		return nil, fmt.Errorf("receipt of record %s version %d: %w", rec.RecordID, rec.Version, err)
	}
	rc, err := storedReceipt(rec, entry)
	if err != nil {
		return nil, err
	}
	return &gatewayv1.GetReceiptResponse{Receipt: rc, StoredAt: convert.Timestamp(entry.Created)}, nil
}

// newRecordID makes a record ID: "r-" and 12 bytes of rnd in hex.
func newRecordID(rnd io.Reader) (string, error) {
	var b [12]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return "", fmt.Errorf("make a record ID: %w", err)
	}
	return generatedIDPrefix + hex.EncodeToString(b[:]), nil
}

// checkRole checks, as the chaincode will, that the caller's role may call
// tx: PERMISSION_DENIED otherwise.
func checkRole(id *wallet.Identity, tx string) error {
	if err := (domain.Caller{MSPID: id.MSPID, Role: id.Role}).Authorize(tx); err != nil {
		var de *domain.Error
		if errors.As(err, &de) && de.Code == domain.CodePermissionDenied {
			return status.Error(codes.PermissionDenied, de.Message)
		}
		return fmt.Errorf("authorize %s: %w", tx, err)
	}
	return nil
}

// checkWrite checks, as the chaincode will, that the caller's role may call
// tx and that conf (if given) is within the caller's clearance (a missing
// clearance attribute is U): PERMISSION_DENIED otherwise.
func checkWrite(id *wallet.Identity, tx string, conf domain.Confidentiality) error {
	if err := checkRole(id, tx); err != nil {
		return err
	}
	clearance := id.Clearance
	if clearance == "" {
		clearance = domain.ConfUnrestricted
	}
	if conf != "" && !clearance.Covers(conf) {
		return status.Error(codes.PermissionDenied, "metadata.confidentiality: above the caller's clearance")
	}
	return nil
}
