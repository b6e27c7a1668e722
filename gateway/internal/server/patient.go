package server

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/internal/server/convert"
	"github.com/medprov/medprov/internal/patientproof"
)

// patientService implements PatientService: a patient, who is not a Fabric
// member, proves possession of the registered key by signing a challenge,
// and the gateway answers with its own organisation's view of the ledger,
// read as its service identity (a records officer with clearance V).
//
// Any enrolled caller of this gateway may carry a patient's requests (a
// patient portal's service account, a clinician helping the patient): the
// proof authorises the answer, and the answer holds only evidence and
// access events, never content. Because the answer is read as the service
// identity, a proof must not serve whoever happens to see it: each
// challenge is bound to the certificate fingerprint of the caller that
// asked for it, and a proof carried by any other caller is refused as a
// proof with an unknown challenge (UNAUTHENTICATED). The carrier that asked
// may use it for every page until it expires. GetChallenge is bounded and
// rate-limited per caller by patientproof.Challenges (RESOURCE_EXHAUSTED),
// so one caller cannot lock a patient or other callers out. Registration
// status is revealed exactly as GetPatient, which every member may call,
// reveals it.
type patientService struct {
	gatewayv1.UnimplementedPatientServiceServer
	s *Server
}

// maxChallengeIDLength bounds proof.challenge_id; issued IDs are
// 2*patientproof.IDBytes hex digits.
const maxChallengeIDLength = 64

// GetChallenge issues a fresh challenge for a registered patient, bound to
// the calling certificate: only this caller can carry the patient's answer.
// Errors: PERMISSION_DENIED (caller not enrolled), INVALID_ARGUMENT
// (patient), NOT_FOUND (not registered), RESOURCE_EXHAUSTED (the caller
// asks too fast, or has too many outstanding challenges, overall or for
// this patient, or the gateway has).
func (p *patientService) GetChallenge(ctx context.Context, req *gatewayv1.GetChallengeRequest) (*gatewayv1.GetChallengeResponse, error) {
	holder, err := carrier(ctx)
	if err != nil {
		return nil, err
	}
	if err := argStatus(domain.CheckPseudonym("patient", req.GetPatient())); err != nil {
		return nil, err
	}
	if _, err := p.s.readPatient(ctx, p.s.d.Service.Ledger(), req.GetPatient()); err != nil {
		return nil, fmt.Errorf("get challenge: %w", err)
	}
	ch, err := p.s.d.Challenges.Issue(req.GetPatient(), holder)
	if err != nil {
		return nil, fmt.Errorf("issue challenge: %w", err)
	}
	return &gatewayv1.GetChallengeResponse{
		ChallengeId: ch.ID,
		Challenge:   ch.Challenge,
		MspId:       ch.MSPID,
		ExpireTime:  timestamppb.New(ch.ExpireTime),
	}, nil
}

// ListMyRecords lists the evidence of the proven patient's records held by
// this organisation, each as its latest version. Errors: PERMISSION_DENIED
// (caller not enrolled), INVALID_ARGUMENT (proof, page_size, page_token),
// UNAUTHENTICATED (the proof, or a caller other than the one that asked
// for its challenge).
func (p *patientService) ListMyRecords(ctx context.Context, req *gatewayv1.ListMyRecordsRequest) (*gatewayv1.ListMyRecordsResponse, error) {
	holder, err := carrier(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkProof(req.GetProof()); err != nil {
		return nil, err
	}
	if err := checkPage(req.GetPageSize(), req.GetPageToken()); err != nil {
		return nil, err
	}
	if err := p.authenticate(ctx, req.GetProof(), holder); err != nil {
		return nil, err
	}
	page, err := evaluatePage[domain.Record](ctx, p.s.d.Ledger, p.s.d.Service.Ledger(), "list patient records", listArgField,
		domain.TxListPatientRecords, req.GetProof().GetPatient(), pageSizeArg(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &gatewayv1.ListMyRecordsResponse{Records: protoList(page.Items, convert.RecordEvidence), NextPageToken: page.Bookmark}, nil
}

// ListMyAccessEvents lists the access events about the proven patient's
// records held by this organisation, in time order. Errors:
// PERMISSION_DENIED (caller not enrolled), INVALID_ARGUMENT (proof, a
// time, end before start, page_size, page_token), UNAUTHENTICATED (the
// proof, or a caller other than the one that asked for its challenge).
func (p *patientService) ListMyAccessEvents(ctx context.Context, req *gatewayv1.ListMyAccessEventsRequest) (*gatewayv1.ListMyAccessEventsResponse, error) {
	holder, err := carrier(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkProof(req.GetProof()); err != nil {
		return nil, err
	}
	w, err := p.s.checkWindow("start_time", "end_time", req.GetStartTime(), req.GetEndTime(), false)
	if err != nil {
		return nil, err
	}
	if err := checkPage(req.GetPageSize(), req.GetPageToken()); err != nil {
		return nil, err
	}
	if err := p.authenticate(ctx, req.GetProof(), holder); err != nil {
		return nil, err
	}
	q := domain.AuditQuery{
		Patient:  req.GetProof().GetPatient(),
		From:     w.from,
		To:       w.to,
		PageSize: int(req.GetPageSize()),
		Bookmark: req.GetPageToken(),
	}
	page, err := evaluateQuery[domain.AccessEvent](ctx, p.s.d.Ledger, p.s.d.Service.Ledger(), "list access events",
		windowArgField("start_time", "end_time"), domain.TxAccessHistory, q)
	if err != nil {
		return nil, err
	}
	return &gatewayv1.ListMyAccessEventsResponse{Events: protoList(page.Items, convert.AccessEvent), NextPageToken: page.Bookmark}, nil
}

// carrier returns the certificate fingerprint of the enrolled caller that
// carries a patient's request, the holder challenges are bound to (the
// same whether the caller comes over gRPC or through the REST front end),
// or PERMISSION_DENIED as user returns it.
func carrier(ctx context.Context) (string, error) {
	if _, err := user(ctx); err != nil {
		return "", err
	}
	c, _ := callerFrom(ctx) // user found it
	return c.Fingerprint, nil
}

// checkProof checks the form of a proof: INVALID_ARGUMENT naming the field
// for a missing proof, a malformed pseudonym, a missing or overlong
// challenge ID, or a signature that is empty or above
// patientproof.MaxSignatureBytes.
func checkProof(proof *gatewayv1.PatientProof) error {
	if proof == nil {
		return status.Error(codes.InvalidArgument, "proof: want the patient's proof of key possession")
	}
	if err := argStatus(domain.CheckPseudonym("proof.patient", proof.GetPatient())); err != nil {
		return err
	}
	if id := proof.GetChallengeId(); id == "" || len(id) > maxChallengeIDLength {
		return status.Error(codes.InvalidArgument, "proof.challenge_id: want the challenge_id GetChallenge returned")
	}
	if n := len(proof.GetSignature()); n == 0 || n > patientproof.MaxSignatureBytes {
		return status.Errorf(codes.InvalidArgument, "proof.signature: want a signature of 1 to %d bytes", patientproof.MaxSignatureBytes)
	}
	return nil
}

// authenticate checks a well-formed proof, carried by holder, against the
// patient's current key on the ledger, read as the service identity.
// Errors: UNAUTHENTICATED (unregistered patient; unknown, expired or
// another patient's challenge; a challenge another caller asked for, which
// patientproof reports as ErrWrongHolder and mapStatus as an unknown
// challenge, with the same message; a signature that does not verify), or
// the ledger's.
func (p *patientService) authenticate(ctx context.Context, proof *gatewayv1.PatientProof, holder string) error {
	pt, err := p.s.readPatient(ctx, p.s.d.Service.Ledger(), proof.GetPatient())
	if errors.Is(err, domain.ErrNotFound) {
		return status.Error(codes.Unauthenticated, "proof: the patient is not registered")
	}
	if err != nil {
		return fmt.Errorf("read patient key: %w", err)
	}
	key, err := domain.ParsePatientKey("patient key", pt.PublicKey)
	if err != nil {
		return fmt.Errorf("parse the stored patient key: %w", err)
	}
	err = p.s.d.Challenges.Check(key, proof.GetPatient(), proof.GetChallengeId(), holder, proof.GetSignature())
	if errors.Is(err, patientproof.ErrWrongHolder) {
		// A replayed proof: worth an operator's attention. The access log
		// line of this call names the caller; the challenge ID and the
		// pseudonym are not logged.
		p.s.log(ctx).Warn("patient proof carried by another caller than the one that asked for its challenge")
	}
	return err
}
