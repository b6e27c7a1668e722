package server

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/internal/anchor"
	"github.com/medprov/medprov/gateway/internal/exchange"
	"github.com/medprov/medprov/gateway/internal/ledger"
	"github.com/medprov/medprov/gateway/internal/server/convert"
	"github.com/medprov/medprov/gateway/internal/store"
	"github.com/medprov/medprov/gateway/internal/wallet"
)

// Names of the chaincode events of access decisions
// (chaincode/contract/signatures.go): RequestAccess emits AccessDecided,
// LogAccess AccessLogged.
const (
	eventAccessDecided = "AccessDecided"
	eventAccessLogged  = "AccessLogged"
)

// accessEventScan bounds the look-up of an access event among the
// chaincode events of its block. The events of committed blocks are
// replayed at once; the bound only matters for a transaction that emitted
// no event in the newest block, which is then no access event.
const accessEventScan = 5 * time.Second

// errSourceMismatch: the evidence the custodian sent for the copy does not
// agree with the ledger (another record or version, a commitment that is
// not the anchored one, or a malformed field). Nothing is stored.
var errSourceMismatch = errors.New("copy: the custodian's evidence does not match the ledger; nothing was stored")

// accessService implements AccessService: the requesting side of the
// cross-institution access flow (RequestAccess, FetchRecord) and the
// logging of reads by the custodian's own staff (LogAccess). Every ledger
// call is made as the calling user.
type accessService struct {
	gatewayv1.UnimplementedAccessServiceServer
	s *Server
}

// RequestAccess submits RequestAccess as the caller and answers the
// committed decision, DENIED included: a denial is an access event on the
// ledger, not an error. Errors: INVALID_ARGUMENT naming the field, and the
// chaincode's (NOT_FOUND, FAILED_PRECONDITION for the caller's own record,
// PERMISSION_DENIED for a role that may not ask).
func (a *accessService) RequestAccess(ctx context.Context, req *gatewayv1.RequestAccessRequest) (*gatewayv1.RequestAccessResponse, error) {
	id, err := user(ctx)
	if err != nil {
		return nil, err
	}
	ar, err := accessRequestFromProto(req)
	if err != nil {
		return nil, err
	}
	c, ev, err := a.submitAccess(ctx, id, "request access to record "+ar.RecordID, domain.TxRequestAccess, ar)
	if err != nil {
		return nil, err
	}
	return &gatewayv1.RequestAccessResponse{Event: convert.AccessEvent(ev), BlockNumber: c.Block}, nil
}

// LogAccess submits LogAccess as the caller and answers the committed
// event. Errors: INVALID_ARGUMENT naming the field, and the chaincode's
// (NOT_FOUND, FAILED_PRECONDITION for an erased record, PERMISSION_DENIED
// for a role that may not read).
func (a *accessService) LogAccess(ctx context.Context, req *gatewayv1.LogAccessRequest) (*gatewayv1.LogAccessResponse, error) {
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
	purpose, err := convert.PurposeOfUseFromProto("purpose", req.GetPurpose())
	if err != nil {
		return nil, err
	}
	care := req.GetCareRelationship()
	lr := domain.LogAccessRequest{RecordID: req.GetRecordId(), Version: version, Purpose: purpose, CareRelationship: &care}
	if err := lr.Validate(); err != nil {
		return nil, argStatus(err)
	}
	_, ev, err := a.submitAccess(ctx, id, "log access to record "+lr.RecordID, domain.TxLogAccess, lr)
	if err != nil {
		return nil, err
	}
	return &gatewayv1.LogAccessResponse{Event: convert.AccessEvent(ev)}, nil
}

// submitAccess submits tx (RequestAccess or LogAccess) with req as the
// caller and decodes the committed access event; what names the call in
// errors.
func (a *accessService) submitAccess(ctx context.Context, id *wallet.Identity, what, tx string, req any) (*ledger.Committed, domain.AccessEvent, error) {
	c, err := a.s.submitJSON(ctx, id.Ledger(), what, tx, req)
	if err != nil {
		return nil, domain.AccessEvent{}, err
	}
	ev, err := committedAccessEvent(c)
	if err != nil {
		return nil, domain.AccessEvent{}, fmt.Errorf("%s: %w", what, err)
	}
	return c, ev, nil
}

// FetchRecord completes a granted access: it reads the access event from
// the ledger, fetches the record version from the custodian's gateway
// with the caller's certificate, checks the custodian's evidence against
// the ledger, and stores and anchors the copy (derived_from set) while it
// verifies the content against the anchored commitment. Nothing is stored
// unless the content verifies.
//
// What the requester can read on the ledger is limited by the chaincode:
// GetAccessEvent and GetRecordVersion answer only the custodian (and
// auditors). So the access event comes from its AccessDecided chaincode
// event (record, version, custodian, requesting organisation, decision),
// and the source evidence is confirmed with VerifyRecord, which every role
// may call: the commitment the custodian sends must be the anchored one
// (match), and the custodian, status, anchoring transaction and time are
// the ledger's. The patient, document type and confidentiality of the
// source are the custodian's statement in its header: the ledger shows
// them to the custodian only.
//
// Errors: INVALID_ARGUMENT naming the field; NOT_FOUND (no access event
// of the caller's organisation with that transaction ID);
// FAILED_PRECONDITION (a denied request, a read logged by the caller's own
// organisation, or the custodian's refusal: used or expired ticket, erased
// record); PERMISSION_DENIED (a role that may not store copies, checked
// before any network call; the custodian's refusal of another certificate
// than the one that requested); ALREADY_EXISTS (copy_record_id taken,
// checked before any network call); UNAVAILABLE (the custodian's gateway
// has no usable directory entry, cannot be reached or misbehaves);
// DEADLINE_EXCEEDED (the exchange timeout); DATA_LOSS (the content or the
// custodian's evidence does not match the ledger; nothing is kept).
func (a *accessService) FetchRecord(ctx context.Context, req *gatewayv1.FetchRecordRequest) (*gatewayv1.FetchRecordResponse, error) {
	id, err := user(ctx)
	if err != nil {
		return nil, err
	}
	txID := req.GetAccessTxId()
	if err := domain.CheckTxID("access_tx_id", txID); err != nil {
		return nil, argStatus(err)
	}
	copyID := req.GetCopyRecordId()
	if copyID != "" {
		if err := domain.CheckID("copy_record_id", copyID); err != nil {
			return nil, argStatus(err)
		}
	}
	// AnchorRecord is for clinicians and records officers: refuse the
	// others before the custodian uses the ticket up.
	if id.Role != domain.RoleClinician && id.Role != domain.RoleRecordsOfficer {
		return nil, status.Error(codes.PermissionDenied, "caller: only clinicians and records officers may store a copy")
	}
	ev, err := a.accessTicket(ctx, id.MSPID, txID)
	if err != nil {
		return nil, err
	}
	if copyID == "" {
		if copyID, err = newRecordID(rand.Reader); err != nil {
			return nil, err
		}
	} else if err := a.copyIDFree(ctx, id.Ledger(), copyID); err != nil {
		return nil, err
	}

	fctx, cancel := context.WithTimeout(ctx, a.s.d.ExchangeTimeout)
	defer cancel()
	t, err := a.s.d.Exchange.Fetch(fctx, id.TLSCertificate(), ev.Custodian, txID)
	if err != nil {
		return nil, custodianError(ev.Custodian, err)
	}
	defer func() { _ = t.Close() }()
	hdr := t.Header()
	src, err := a.confirmSource(fctx, id.Ledger(), ev, hdr.GetEvidence())
	if err != nil {
		return nil, err
	}

	content := &copyTransfer{r: t}
	verified := exchange.NewVerifyingReader(content, hdr.GetSalt(), src.evidence.GetCommitment(), hdr.GetSize())
	anchored, err := a.s.d.Anchorer.Add(fctx, id.Ledger(), anchor.AddRequest{
		RecordID:        copyID,
		Patient:         src.patient,
		DocType:         src.docType,
		Confidentiality: src.confidentiality,
		DerivedFrom:     &domain.DerivedFrom{Custodian: ev.Custodian, RecordID: ev.RecordID, Version: ev.Version},
	}, verified)
	a.s.d.Metrics.anchored("copy", err)
	if err != nil {
		if terr := content.err; terr != nil && !errors.Is(err, exchange.ErrCommitmentMismatch) && !errors.Is(err, exchange.ErrSizeMismatch) {
			// The custodian's stream failed while the content came in.
			return nil, custodianError(ev.Custodian, terr)
		}
		if errors.Is(err, exchange.ErrCommitmentMismatch) || errors.Is(err, exchange.ErrSizeMismatch) {
			a.s.log(ctx).Warn("copy refused: the content does not verify",
				slog.String("custodian", ev.Custodian), slog.String("access_tx_id", txID),
				slog.String("record_id", ev.RecordID), slog.Int("version", ev.Version))
		}
		return nil, fmt.Errorf("store the copy %s of record %s version %d of %s: %w", copyID, ev.RecordID, ev.Version, ev.Custodian, err)
	}
	a.s.d.Metrics.bytes.WithLabelValues("in").Add(float64(hdr.GetSize()))

	cp, rc, err := a.s.anchoredEvidence(ctx, id, anchored)
	if err != nil {
		return nil, err
	}
	a.s.log(ctx).Info("copy stored", slog.String("custodian", ev.Custodian), slog.String("access_tx_id", txID),
		slog.String("record_id", ev.RecordID), slog.Int("version", ev.Version), slog.String("copy_record_id", anchored.RecordID),
		slog.String("tx_id", anchored.TxID), slog.Uint64("size", hdr.GetSize()))
	return &gatewayv1.FetchRecordResponse{Source: src.evidence, Copy: cp, Receipt: rc, Size: hdr.GetSize()}, nil
}

// accessTicket is what the ledger shows every member about an access
// event: the payload of its AccessDecided (or AccessLogged) chaincode
// event.
type accessTicket struct {
	TxID      string          `json:"txId"`
	RecordID  string          `json:"recordId"`
	Version   int             `json:"version"`
	Custodian string          `json:"custodian"`
	Requester string          `json:"requester"`
	Decision  domain.Decision `json:"decision"`
}

// accessTicket reads the access event of transaction txID from the
// ledger and checks that it is a GRANTED or EMERGENCY decision that
// organisation msp asked for about another organisation's record. The
// requester's organisation cannot read the event itself (GetAccessEvent
// answers the custodian and auditors only), so it is found among the
// chaincode events of the transaction's block. The ticket's certificate
// binding is not visible there: the custodian checks it.
func (a *accessService) accessTicket(ctx context.Context, msp, txID string) (accessTicket, error) {
	notFound := status.Error(codes.NotFound, "access_tx_id: no access event of the caller's organisation with this transaction ID")
	st, err := a.s.d.Ledger.Status(ctx, txID)
	if errors.Is(err, ledger.ErrTxNotFound) {
		return accessTicket{}, notFound
	}
	if err != nil {
		return accessTicket{}, fmt.Errorf("look up access transaction %s: %w", txID, err)
	}
	if !st.Valid() {
		return accessTicket{}, notFound
	}
	sctx, cancel := context.WithTimeout(ctx, accessEventScan)
	defer cancel()
	events, err := a.s.d.Ledger.Events(sctx, ledger.Checkpoint{Block: st.Block})
	if err != nil {
		return accessTicket{}, fmt.Errorf("read the events of block %d: %w", st.Block, err)
	}
	for e := range events {
		if e.Block > st.Block {
			break
		}
		if e.TxID != txID {
			continue
		}
		if e.Name != eventAccessDecided && e.Name != eventAccessLogged {
			return accessTicket{}, notFound
		}
		var t accessTicket
		if err := json.Unmarshal(e.Payload, &t); err != nil {
			return accessTicket{}, fmt.Errorf("decode the %s event of transaction %s: %w", e.Name, txID, err)
		}
		if err := t.check(txID); err != nil {
			return accessTicket{}, fmt.Errorf("the %s event of transaction %s: %w", e.Name, txID, err)
		}
		switch {
		case t.Requester != msp:
			return accessTicket{}, notFound
		case e.Name == eventAccessLogged || t.Custodian == msp:
			return accessTicket{}, status.Error(codes.FailedPrecondition, "access_tx_id: a read logged by this organisation's own staff is not an access ticket: read the record with RecordService.GetRecord")
		case t.Decision == domain.DecisionDenied:
			return accessTicket{}, status.Error(codes.FailedPrecondition, "access_tx_id: the access was denied: there is nothing to fetch")
		case t.Decision != domain.DecisionGranted && t.Decision != domain.DecisionEmergency:
			return accessTicket{}, fmt.Errorf("the %s event of transaction %s has an unknown decision", e.Name, txID)
		}
		return t, nil
	}
	if err := ctx.Err(); err != nil {
		return accessTicket{}, err
	}
	return accessTicket{}, notFound
}

// check validates an event payload read from the ledger.
func (t accessTicket) check(txID string) error {
	switch {
	case t.TxID != txID:
		return errors.New("it names another transaction")
	case domain.CheckID("recordId", t.RecordID) != nil,
		t.Version < 1 || t.Version > maxRecordVersion,
		domain.CheckMSPID("custodian", t.Custodian) != nil,
		domain.CheckMSPID("requester", t.Requester) != nil:
		return errors.New("it is malformed")
	}
	return nil
}

// copyIDFree checks, before any network call, that no record has the ID
// copyID: neither in this gateway's store nor on the ledger (VerifyRecord
// of version 1 answers every member for a record within its clearance).
func (a *accessService) copyIDFree(ctx context.Context, id ledger.Identity, copyID string) error {
	taken := status.Error(codes.AlreadyExists, "copy_record_id: a record with this ID exists already")
	if _, err := a.s.d.Store.Get(copyID, 1); err == nil {
		return taken
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("look up copy_record_id in the store: %w", err)
	}
	_, err := a.s.d.Ledger.Evaluate(ctx, id, domain.TxVerifyRecord, copyID, "1", strings.Repeat("0", 64))
	switch {
	case err == nil:
		return taken
	case errors.Is(err, domain.ErrNotFound):
		return nil
	default:
		return fmt.Errorf("look up copy_record_id on the ledger: %w", err)
	}
}

// copySource is the evidence of the version being copied, confirmed by the
// ledger, and the fields of it that only the custodian states.
type copySource struct {
	evidence        *gatewayv1.RecordEvidence
	patient         string
	docType         string
	confidentiality domain.Confidentiality
}

// confirmSource checks the custodian's evidence against the access event
// and the ledger (VerifyRecord as the caller). A disagreement is
// errSourceMismatch; an erased record is FAILED_PRECONDITION.
func (a *accessService) confirmSource(ctx context.Context, id ledger.Identity, t accessTicket, ev *gatewayv1.RecordEvidence) (copySource, error) {
	mismatch := func(what string) error { return fmt.Errorf("%w: %s", errSourceMismatch, what) }
	switch {
	case ev.GetRecordId() != t.RecordID || int64(ev.GetVersion()) != int64(t.Version):
		return copySource{}, mismatch("another record version than the access event's")
	case ev.GetCustodian() != t.Custodian:
		return copySource{}, mismatch("another custodian than the access event's")
	case domain.CheckPseudonym("patient", ev.GetPatient()) != nil:
		return copySource{}, mismatch("a malformed patient pseudonym")
	case domain.CheckDocType("doc_type", ev.GetDocType()) != nil:
		return copySource{}, mismatch("a malformed document type")
	case domain.CheckHash32("commitment", ev.GetCommitment()) != nil:
		return copySource{}, mismatch("a malformed commitment")
	}
	conf, err := convert.ConfidentialityFromProto("confidentiality", ev.GetConfidentiality())
	if err != nil {
		return copySource{}, mismatch("a malformed confidentiality")
	}
	out, err := a.s.d.Ledger.Evaluate(ctx, id, domain.TxVerifyRecord, t.RecordID, strconv.Itoa(t.Version), ev.GetCommitment())
	if err != nil {
		return copySource{}, fmt.Errorf("verify record %s version %d on the ledger: %w", t.RecordID, t.Version, err)
	}
	var v domain.Verification
	if err := json.Unmarshal(out, &v); err != nil {
		return copySource{}, fmt.Errorf("verify record %s version %d on the ledger: decode: %w", t.RecordID, t.Version, err)
	}
	switch {
	case v.RecordID != t.RecordID || v.Version != t.Version:
		return copySource{}, fmt.Errorf("verify record %s version %d: the ledger answered about another version", t.RecordID, t.Version)
	case !v.Match:
		return copySource{}, mismatch("a commitment that is not the anchored one")
	case v.Custodian != t.Custodian:
		return copySource{}, mismatch("a record of another custodian")
	case v.Status == domain.StatusErased:
		return copySource{}, status.Error(codes.FailedPrecondition, "record: erased at the custodian")
	case v.TxID != ev.GetTxId():
		return copySource{}, mismatch("another anchoring transaction than the ledger's")
	case v.AnchoredAt == nil || !ev.GetAnchoredAt().IsValid() || !v.AnchoredAt.Equal(ev.GetAnchoredAt().AsTime()):
		return copySource{}, mismatch("another anchoring time than the ledger's")
	}
	confirmed := proto.Clone(ev).(*gatewayv1.RecordEvidence)
	confirmed.Status = convert.RecordStatus(v.Status)
	return copySource{evidence: confirmed, patient: ev.GetPatient(), docType: ev.GetDocType(), confidentiality: conf}, nil
}

// copyTransfer passes the custodian's content through and remembers the
// stream's own failure, so that FetchRecord can tell it from a failure of
// the store or the ledger.
type copyTransfer struct {
	r   io.Reader
	err error
}

func (t *copyTransfer) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF && !errors.Is(err, exchange.ErrSizeMismatch) {
		t.err = err
	}
	return n, err
}

// custodianError maps a failure to obtain the record from custodian msp's
// gateway to a status: the custodian's refusals keep their code and
// message (NOT_FOUND, PERMISSION_DENIED, FAILED_PRECONDITION, ...); a
// missing or unusable directory entry, an unreachable or failing
// custodian, or one that breaks the protocol is UNAVAILABLE; an oversized
// record FAILED_PRECONDITION; the caller's deadline stays
// DEADLINE_EXCEEDED.
func custodianError(msp string, err error) error {
	var le *ledger.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, exchange.ErrTooLarge):
		return status.Errorf(codes.FailedPrecondition, "custodian %s: the record is larger than this gateway accepts from other gateways", msp)
	case errors.Is(err, exchange.ErrProtocol):
		return status.Errorf(codes.Unavailable, "custodian %s: its gateway broke the transfer protocol", msp)
	case errors.Is(err, exchange.ErrBadEndpoint):
		return status.Errorf(codes.Unavailable, "custodian %s: its directory entry is not usable", msp)
	case errors.As(err, &le):
		// The only ledger call of a fetch is the directory look-up.
		if le.Code() == codes.NotFound {
			return status.Errorf(codes.Unavailable, "custodian %s: it has no directory entry", msp)
		}
		return err
	}
	var se interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &se) {
		return err
	}
	st := se.GRPCStatus()
	msg := st.Message()
	if len(msg) > 200 {
		msg = msg[:200]
	}
	switch st.Code() {
	case codes.NotFound, codes.PermissionDenied, codes.FailedPrecondition, codes.InvalidArgument,
		codes.ResourceExhausted, codes.DeadlineExceeded, codes.Canceled:
		return status.Errorf(st.Code(), "custodian %s: %s", msp, msg)
	case codes.Unavailable:
		return status.Errorf(codes.Unavailable, "custodian %s: unreachable: %s", msp, msg)
	default:
		return status.Errorf(codes.Unavailable, "custodian %s: its gateway failed (%s)", msp, st.Code())
	}
}

// accessRequestFromProto validates a RequestAccess request; errors are
// INVALID_ARGUMENT naming the proto field.
func accessRequestFromProto(req *gatewayv1.RequestAccessRequest) (domain.AccessRequest, error) {
	if err := domain.CheckID("record_id", req.GetRecordId()); err != nil {
		return domain.AccessRequest{}, argStatus(err)
	}
	purpose, err := convert.PurposeOfUseFromProto("purpose", req.GetPurpose())
	if err != nil {
		return domain.AccessRequest{}, err
	}
	code, err := convert.OptionalJustificationCodeFromProto("justification_code", req.GetJustificationCode())
	if err != nil {
		return domain.AccessRequest{}, err
	}
	if code != "" && purpose != domain.PurposeEmergencyTreatment {
		return domain.AccessRequest{}, status.Error(codes.InvalidArgument, "justification_code: want it only with purpose ETREAT")
	}
	hash := req.GetJustificationHash()
	if hash != "" {
		if code == "" {
			return domain.AccessRequest{}, status.Error(codes.InvalidArgument, "justification_hash: want it only with a justification_code")
		}
		if err := domain.CheckHash32("justification_hash", hash); err != nil {
			return domain.AccessRequest{}, argStatus(err)
		}
	}
	ar := domain.AccessRequest{RecordID: req.GetRecordId(), Purpose: purpose, JustificationCode: code, JustificationHash: hash}
	if err := ar.Validate(); err != nil {
		return domain.AccessRequest{}, argStatus(err)
	}
	return ar, nil
}

// committedAccessEvent decodes the access event a committed RequestAccess
// or LogAccess returned.
func committedAccessEvent(c *ledger.Committed) (domain.AccessEvent, error) {
	if c.Payload == nil {
		return domain.AccessEvent{}, fmt.Errorf("transaction %s committed, but the ledger did not return its access event", c.TxID)
	}
	var ev domain.AccessEvent
	if err := json.Unmarshal(c.Payload, &ev); err != nil {
		return domain.AccessEvent{}, fmt.Errorf("decode the access event of transaction %s: %w", c.TxID, err)
	}
	if ev.Kind != domain.KindAccessEvent || ev.TxID != c.TxID {
		return domain.AccessEvent{}, fmt.Errorf("transaction %s returned a document that is not its access event", c.TxID)
	}
	return ev, nil
}
