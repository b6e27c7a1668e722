package server_test

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/internal/devnet"
	"github.com/medprov/medprov/internal/patientproof"
)

// challenge asks msp's gateway, as user, for a challenge for patient.
func (f *fixture) challenge(t *testing.T, msp, user, patient string) *gatewayv1.GetChallengeResponse {
	t.Helper()
	ch, err := f.patients(t, msp, user).GetChallenge(t.Context(), &gatewayv1.GetChallengeRequest{Patient: patient})
	if err != nil {
		t.Fatalf("GetChallenge at %s: %v", msp, err)
	}
	return ch
}

// cpaProof answers a challenge for patient with signer's key, as a
// patient's device does.
func cpaProof(t *testing.T, signer *devnet.Patient, patient string, ch *gatewayv1.GetChallengeResponse) *gatewayv1.PatientProof {
	t.Helper()
	msg := patientproof.Encode(ch.GetMspId(), patient, ch.GetChallengeId(), ch.GetChallenge())
	return &gatewayv1.PatientProof{Patient: patient, ChallengeId: ch.GetChallengeId(), Signature: decodeSig(t, signer.Sign(msg))}
}

// cpaMyRecords lists every record of a proven patient, page by page.
func cpaMyRecords(t *testing.T, cl gatewayv1.PatientServiceClient, proof *gatewayv1.PatientProof, pageSize int32) []string {
	t.Helper()
	records := allPages(t, "ListMyRecords", func(token string) ([]*gatewayv1.RecordEvidence, string, error) {
		resp, err := cl.ListMyRecords(t.Context(), &gatewayv1.ListMyRecordsRequest{Proof: proof, PageSize: pageSize, PageToken: token})
		return resp.GetRecords(), resp.GetNextPageToken(), err
	})
	var ids []string
	for _, r := range records {
		ids = append(ids, r.GetRecordId())
	}
	return ids
}

func TestPatientSelfService(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	p := f.register(t, devnet.HospitalA)
	q := f.register(t, devnet.HospitalA)
	f.addRecord(t, devnet.HospitalA, "clinician", "rec-self-1", p.Pseudonym, gatewayv1.Confidentiality_CONFIDENTIALITY_N)
	f.addRecord(t, devnet.HospitalA, "officer", "rec-self-2", p.Pseudonym, gatewayv1.Confidentiality_CONFIDENTIALITY_V)
	f.addRecord(t, devnet.HospitalA, "clinician", "rec-self-q", q.Pseudonym, gatewayv1.Confidentiality_CONFIDENTIALITY_N)
	f.addRecord(t, devnet.HospitalB, "clinician", "rec-self-b", p.Pseudonym, gatewayv1.Confidentiality_CONFIDENTIALITY_N)
	denied := f.request(t, devnet.HospitalB, "researcher", &gatewayv1.RequestAccessRequest{
		RecordId: "rec-self-1", Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_HRESCH,
	}, gatewayv1.Decision_DECISION_DENIED)
	logged, err := f.access(t, devnet.HospitalB, "clinician").LogAccess(ctx, &gatewayv1.LogAccessRequest{
		RecordId: "rec-self-b", Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT, CareRelationship: true,
	})
	if err != nil {
		t.Fatalf("LogAccess: %v", err)
	}

	// Any enrolled caller may carry a patient's requests; the proof
	// authorises the answer, and serves every page for the caller that
	// asked for its challenge.
	ch := f.challenge(t, devnet.HospitalA, "clinician", p.Pseudonym)
	if ch.GetMspId() != devnet.HospitalA || len(ch.GetChallenge()) != patientproof.ChallengeBytes || ch.GetChallengeId() == "" ||
		!ch.GetExpireTime().AsTime().After(time.Now()) {
		t.Fatalf("GetChallenge = %v; want a fresh challenge of %s", ch, devnet.HospitalA)
	}
	proof := cpaProof(t, p, p.Pseudonym, ch)
	if got := cpaMyRecords(t, f.patients(t, devnet.HospitalA, "clinician"), proof, 1); strings.Join(got, ",") != "rec-self-1,rec-self-2" {
		t.Errorf("ListMyRecords carried by the clinician, one a page = %v; want rec-self-1,rec-self-2 (this organisation's, every confidentiality)", got)
	}
	// Any other enrolled caller who sees the proof gets nothing from it,
	// and is told the same as for a challenge that does not exist.
	unknown := proto.Clone(proof).(*gatewayv1.PatientProof)
	unknown.ChallengeId = strings.Repeat("0", 32)
	_, err = f.patients(t, devnet.HospitalA, "clinician").ListMyRecords(ctx, &gatewayv1.ListMyRecordsRequest{Proof: unknown})
	wantStatus(t, err, codes.Unauthenticated, "proof")
	unknownMsg := status.Convert(err).Message()
	for _, user := range []string{"researcher", "auditor", "admin"} {
		cl := f.patients(t, devnet.HospitalA, user)
		_, err := cl.ListMyRecords(ctx, &gatewayv1.ListMyRecordsRequest{Proof: proof})
		wantStatus(t, err, codes.Unauthenticated, "proof")
		if msg := status.Convert(err).Message(); msg != unknownMsg {
			t.Errorf("ListMyRecords carried by %s: message %q; want the unknown challenge's %q", user, msg, unknownMsg)
		}
		_, err = cl.ListMyAccessEvents(ctx, &gatewayv1.ListMyAccessEventsRequest{Proof: proof})
		wantStatus(t, err, codes.Unauthenticated, "proof")
	}
	// The refusals neither spent the proof nor rebound it.
	if got := cpaMyRecords(t, f.patients(t, devnet.HospitalA, "clinician"), proof, 1); strings.Join(got, ",") != "rec-self-1,rec-self-2" {
		t.Errorf("ListMyRecords carried by the clinician after the replays = %v; want rec-self-1,rec-self-2", got)
	}
	events, err := f.patients(t, devnet.HospitalA, "clinician").ListMyAccessEvents(ctx, &gatewayv1.ListMyAccessEventsRequest{Proof: proof})
	if err != nil {
		t.Fatalf("ListMyAccessEvents: %v", err)
	}
	if len(events.GetEvents()) != 1 || events.GetEvents()[0].GetTxId() != denied.GetTxId() ||
		events.GetEvents()[0].GetPatient() != p.Pseudonym || events.GetEvents()[0].GetDecision() != gatewayv1.Decision_DECISION_DENIED {
		t.Fatalf("ListMyAccessEvents = %v; want the one denial about rec-self-1, with the patient", events.GetEvents())
	}
	// A window that ends before the access leaves it out.
	past := timestamppb.New(time.Now().Add(-time.Hour).Truncate(time.Second))
	events, err = f.patients(t, devnet.HospitalA, "clinician").ListMyAccessEvents(ctx, &gatewayv1.ListMyAccessEventsRequest{Proof: proof, EndTime: past})
	if err != nil || len(events.GetEvents()) != 0 {
		t.Fatalf("ListMyAccessEvents until an hour ago = %v, %v; want no event", events.GetEvents(), err)
	}

	// The other organisation answers with its own view.
	chB := f.challenge(t, devnet.HospitalB, "clinician", p.Pseudonym)
	proofB := cpaProof(t, p, p.Pseudonym, chB)
	if got := cpaMyRecords(t, f.patients(t, devnet.HospitalB, "clinician"), proofB, 0); strings.Join(got, ",") != "rec-self-b" {
		t.Errorf("ListMyRecords at HospitalB = %v; want rec-self-b", got)
	}
	eventsB, err := f.patients(t, devnet.HospitalB, "clinician").ListMyAccessEvents(ctx, &gatewayv1.ListMyAccessEventsRequest{Proof: proofB})
	if err != nil {
		t.Fatal(err)
	}
	if len(eventsB.GetEvents()) != 1 || eventsB.GetEvents()[0].GetTxId() != logged.GetEvent().GetTxId() {
		t.Errorf("ListMyAccessEvents at HospitalB = %v; want only the logged read of rec-self-b", eventsB.GetEvents())
	}

	// Proofs that must fail.
	chQ := f.challenge(t, devnet.HospitalA, "clinician", q.Pseudonym)
	unknownID := make([]byte, 16)
	if _, err := rand.Read(unknownID); err != nil {
		t.Fatal(err)
	}
	forged := proto.Clone(ch).(*gatewayv1.GetChallengeResponse)
	forged.ChallengeId = hex.EncodeToString(unknownID)
	otherGateway := proto.Clone(ch).(*gatewayv1.GetChallengeResponse)
	otherGateway.MspId = devnet.HospitalB
	unregistered, err := devnet.NewPatient()
	if err != nil {
		t.Fatal(err)
	}
	refused := map[string]*gatewayv1.PatientProof{
		"a signature by another patient's key":           cpaProof(t, q, p.Pseudonym, ch),
		"a signature over another gateway's encoding":    cpaProof(t, p, p.Pseudonym, otherGateway),
		"an unknown challenge":                           cpaProof(t, p, p.Pseudonym, forged),
		"another patient's challenge":                    cpaProof(t, p, p.Pseudonym, chQ),
		"the other patient's own proof for that patient": cpaProof(t, q, p.Pseudonym, chQ),
		"a challenge issued by another gateway":          proofB,
		"a proof for an unregistered patient":            cpaProof(t, unregistered, unregistered.Pseudonym, ch),
		"a signature that is right but for a bit flip": func() *gatewayv1.PatientProof {
			pr := cpaProof(t, p, p.Pseudonym, ch)
			pr.Signature[3] ^= 1
			return pr
		}(),
	}
	cl := f.patients(t, devnet.HospitalA, "clinician")
	for name, pr := range refused {
		t.Run(name+" is UNAUTHENTICATED", func(t *testing.T) {
			_, err := cl.ListMyRecords(ctx, &gatewayv1.ListMyRecordsRequest{Proof: pr})
			wantStatus(t, err, codes.Unauthenticated, "proof")
			_, err = cl.ListMyAccessEvents(ctx, &gatewayv1.ListMyAccessEventsRequest{Proof: pr})
			wantStatus(t, err, codes.Unauthenticated, "proof")
		})
	}

	// After a key rotation only the new key proves possession, with the
	// same challenge.
	next, err := devnet.NewPatient()
	if err != nil {
		t.Fatal(err)
	}
	newKey := publicKeyDER(t, next)
	if _, err := f.consents(t, devnet.HospitalA, "clinician").RotatePatientKey(ctx, &gatewayv1.RotatePatientKeyRequest{
		Patient: p.Pseudonym, NewPublicKey: newKey, Sequence: 1, Signature: signRotation(t, p, p.Pseudonym, newKey, 1),
	}); err != nil {
		t.Fatalf("RotatePatientKey: %v", err)
	}
	_, err = cl.ListMyRecords(ctx, &gatewayv1.ListMyRecordsRequest{Proof: proof})
	wantStatus(t, err, codes.Unauthenticated, "proof")
	if got := cpaMyRecords(t, cl, cpaProof(t, next, p.Pseudonym, ch), 0); strings.Join(got, ",") != "rec-self-1,rec-self-2" {
		t.Errorf("ListMyRecords with the new key = %v; want rec-self-1,rec-self-2", got)
	}
}

func TestPatientServiceRefusesBadInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	p := f.register(t, devnet.HospitalA)
	unregistered, err := devnet.NewPatient()
	if err != nil {
		t.Fatal(err)
	}
	ch := f.challenge(t, devnet.HospitalA, "clinician", p.Pseudonym)
	proof := cpaProof(t, p, p.Pseudonym, ch)
	with := func(change func(pr *gatewayv1.PatientProof)) *gatewayv1.PatientProof {
		pr := proto.Clone(proof).(*gatewayv1.PatientProof)
		change(pr)
		return pr
	}
	now := time.Now().Truncate(time.Second)
	tests := map[string]struct {
		stranger bool
		call     func(cl gatewayv1.PatientServiceClient) error
		code     codes.Code
		field    string
	}{
		"a challenge for a malformed pseudonym is refused": {
			call: func(cl gatewayv1.PatientServiceClient) error {
				_, err := cl.GetChallenge(ctx, &gatewayv1.GetChallengeRequest{Patient: "pt-0"})
				return err
			},
			code: codes.InvalidArgument, field: "patient",
		},
		"a challenge for an unregistered patient is NOT_FOUND": {
			call: func(cl gatewayv1.PatientServiceClient) error {
				_, err := cl.GetChallenge(ctx, &gatewayv1.GetChallengeRequest{Patient: unregistered.Pseudonym})
				return err
			},
			code: codes.NotFound,
		},
		"a caller outside the wallet gets no challenge": {
			stranger: true,
			call: func(cl gatewayv1.PatientServiceClient) error {
				_, err := cl.GetChallenge(ctx, &gatewayv1.GetChallengeRequest{Patient: p.Pseudonym})
				return err
			},
			code: codes.PermissionDenied,
		},
		"a caller outside the wallet may not carry a proof": {
			stranger: true,
			call: func(cl gatewayv1.PatientServiceClient) error {
				_, err := cl.ListMyRecords(ctx, &gatewayv1.ListMyRecordsRequest{Proof: proof})
				return err
			},
			code: codes.PermissionDenied,
		},
		"a listing without a proof is refused": {
			call: func(cl gatewayv1.PatientServiceClient) error {
				_, err := cl.ListMyRecords(ctx, &gatewayv1.ListMyRecordsRequest{})
				return err
			},
			code: codes.InvalidArgument, field: "proof",
		},
		"a proof with a malformed pseudonym is refused": {
			call: func(cl gatewayv1.PatientServiceClient) error {
				_, err := cl.ListMyRecords(ctx, &gatewayv1.ListMyRecordsRequest{Proof: with(func(pr *gatewayv1.PatientProof) { pr.Patient = "PT-1" })})
				return err
			},
			code: codes.InvalidArgument, field: "proof.patient",
		},
		"a proof without a challenge ID is refused": {
			call: func(cl gatewayv1.PatientServiceClient) error {
				_, err := cl.ListMyAccessEvents(ctx, &gatewayv1.ListMyAccessEventsRequest{Proof: with(func(pr *gatewayv1.PatientProof) { pr.ChallengeId = "" })})
				return err
			},
			code: codes.InvalidArgument, field: "proof.challenge_id",
		},
		"a proof with an overlong challenge ID is refused": {
			call: func(cl gatewayv1.PatientServiceClient) error {
				_, err := cl.ListMyRecords(ctx, &gatewayv1.ListMyRecordsRequest{Proof: with(func(pr *gatewayv1.PatientProof) { pr.ChallengeId = strings.Repeat("a", 65) })})
				return err
			},
			code: codes.InvalidArgument, field: "proof.challenge_id",
		},
		"a proof without a signature is refused": {
			call: func(cl gatewayv1.PatientServiceClient) error {
				_, err := cl.ListMyRecords(ctx, &gatewayv1.ListMyRecordsRequest{Proof: with(func(pr *gatewayv1.PatientProof) { pr.Signature = nil })})
				return err
			},
			code: codes.InvalidArgument, field: "proof.signature",
		},
		"a proof with an oversized signature is refused": {
			call: func(cl gatewayv1.PatientServiceClient) error {
				_, err := cl.ListMyAccessEvents(ctx, &gatewayv1.ListMyAccessEventsRequest{Proof: with(func(pr *gatewayv1.PatientProof) { pr.Signature = make([]byte, 151) })})
				return err
			},
			code: codes.InvalidArgument, field: "proof.signature",
		},
		"a negative page size is refused": {
			call: func(cl gatewayv1.PatientServiceClient) error {
				_, err := cl.ListMyRecords(ctx, &gatewayv1.ListMyRecordsRequest{Proof: proof, PageSize: -5})
				return err
			},
			code: codes.InvalidArgument, field: "page_size",
		},
		"a page size above 1000 is refused": {
			call: func(cl gatewayv1.PatientServiceClient) error {
				_, err := cl.ListMyAccessEvents(ctx, &gatewayv1.ListMyAccessEventsRequest{Proof: proof, PageSize: 1001})
				return err
			},
			code: codes.InvalidArgument, field: "page_size",
		},
		"a made-up page token for records is refused": {
			call: func(cl gatewayv1.PatientServiceClient) error {
				_, err := cl.ListMyRecords(ctx, &gatewayv1.ListMyRecordsRequest{Proof: proof, PageToken: "bm"})
				return err
			},
			code: codes.InvalidArgument, field: "page_token",
		},
		"a made-up page token for events is refused": {
			call: func(cl gatewayv1.PatientServiceClient) error {
				_, err := cl.ListMyAccessEvents(ctx, &gatewayv1.ListMyAccessEventsRequest{Proof: proof, PageToken: "bm"})
				return err
			},
			code: codes.InvalidArgument, field: "page_token",
		},
		"an end before the start is refused": {
			call: func(cl gatewayv1.PatientServiceClient) error {
				_, err := cl.ListMyAccessEvents(ctx, &gatewayv1.ListMyAccessEventsRequest{Proof: proof,
					StartTime: timestamppb.New(now), EndTime: timestamppb.New(now.Add(-time.Second))})
				return err
			},
			code: codes.InvalidArgument, field: "end_time",
		},
		"an end equal to the start is refused": {
			call: func(cl gatewayv1.PatientServiceClient) error {
				_, err := cl.ListMyAccessEvents(ctx, &gatewayv1.ListMyAccessEventsRequest{Proof: proof,
					StartTime: timestamppb.New(now), EndTime: timestamppb.New(now)})
				return err
			},
			code: codes.InvalidArgument, field: "end_time",
		},
		"a start in the future without an end is refused": {
			call: func(cl gatewayv1.PatientServiceClient) error {
				_, err := cl.ListMyAccessEvents(ctx, &gatewayv1.ListMyAccessEventsRequest{Proof: proof, StartTime: timestamppb.New(now.Add(time.Hour))})
				return err
			},
			code: codes.InvalidArgument, field: "start_time",
		},
		"a start with a fraction of a second is refused": {
			call: func(cl gatewayv1.PatientServiceClient) error {
				_, err := cl.ListMyAccessEvents(ctx, &gatewayv1.ListMyAccessEventsRequest{Proof: proof, StartTime: &timestamppb.Timestamp{Seconds: now.Unix() - 60, Nanos: 1}})
				return err
			},
			code: codes.InvalidArgument, field: "start_time",
		},
		"an end out of range is refused": {
			call: func(cl gatewayv1.PatientServiceClient) error {
				_, err := cl.ListMyAccessEvents(ctx, &gatewayv1.ListMyAccessEventsRequest{Proof: proof, EndTime: &timestamppb.Timestamp{Seconds: 1 << 62}})
				return err
			},
			code: codes.InvalidArgument, field: "end_time",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			user := "clinician"
			if tc.stranger {
				user = ""
			}
			wantStatus(t, tc.call(f.patients(t, devnet.HospitalA, user)), tc.code, tc.field)
		})
	}
	// The proof still works: nothing above spent or changed it.
	if got := cpaMyRecords(t, f.patients(t, devnet.HospitalA, "clinician"), proof, 0); len(got) != 0 {
		t.Errorf("ListMyRecords = %v; want no record", got)
	}
}

func TestPatientChallengesAreBoundedPerCaller(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := f.register(t, devnet.HospitalA)
	// An enrolled caller asks for the patient's challenges until refused.
	cl := f.patients(t, devnet.HospitalA, "clinician")
	var first *gatewayv1.GetChallengeResponse
	for i := range patientproof.DefaultMaxPerPatient {
		ch, err := cl.GetChallenge(t.Context(), &gatewayv1.GetChallengeRequest{Patient: p.Pseudonym})
		if err != nil {
			t.Fatalf("challenge %d: %v", i+1, err)
		}
		if first == nil {
			first = ch
		}
	}
	_, err := cl.GetChallenge(t.Context(), &gatewayv1.GetChallengeRequest{Patient: p.Pseudonym})
	wantStatus(t, err, codes.ResourceExhausted, "")
	// The refusal evicts nothing: the first challenge still answers.
	if _, err := cl.ListMyRecords(t.Context(), &gatewayv1.ListMyRecordsRequest{Proof: cpaProof(t, p, p.Pseudonym, first)}); err != nil {
		t.Fatalf("ListMyRecords with the first challenge: %v", err)
	}
	// The bound is the caller's own: another caller, the patient's own
	// portal say, still gets a challenge for the same patient, and its
	// proof works for it.
	other := f.patients(t, devnet.HospitalA, "researcher")
	ch, err := other.GetChallenge(t.Context(), &gatewayv1.GetChallengeRequest{Patient: p.Pseudonym})
	if err != nil {
		t.Fatalf("another caller's challenge for the same patient: %v", err)
	}
	if _, err := other.ListMyRecords(t.Context(), &gatewayv1.ListMyRecordsRequest{Proof: cpaProof(t, p, p.Pseudonym, ch)}); err != nil {
		t.Fatalf("ListMyRecords carried by the other caller: %v", err)
	}
}

func TestPatientChallengesAreRateLimitedPerCaller(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// Many patients, so that only the caller's rate can refuse (the
	// per-caller bound of outstanding challenges is higher).
	var patients []*devnet.Patient
	for range patientproof.DefaultIssueBurst + 3 {
		patients = append(patients, f.register(t, devnet.HospitalA))
	}
	cl := f.patients(t, devnet.HospitalA, "auditor")
	start := time.Now()
	allowed := 0
	for _, p := range patients {
		_, err := cl.GetChallenge(t.Context(), &gatewayv1.GetChallengeRequest{Patient: p.Pseudonym})
		if err != nil {
			wantStatus(t, err, codes.ResourceExhausted, "")
			break
		}
		allowed++
	}
	// A burst at once, then one per interval: a slow run may earn a few
	// more, never more than that.
	most := patientproof.DefaultIssueBurst + int(time.Since(start)/patientproof.DefaultIssueEvery)
	if allowed < patientproof.DefaultIssueBurst || allowed > most {
		t.Fatalf("%d challenges before a refusal; want the burst of %d and at most %d", allowed, patientproof.DefaultIssueBurst, most)
	}
	// Another caller is not slowed down.
	if _, err := f.patients(t, devnet.HospitalA, "clinician").GetChallenge(t.Context(), &gatewayv1.GetChallengeRequest{Patient: patients[0].Pseudonym}); err != nil {
		t.Fatalf("another caller's challenge: %v", err)
	}
}
