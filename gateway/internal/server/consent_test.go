package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/internal/devnet"
)

// patient reads a patient's current state as HospitalA's clinician.
func (f *fixture) patient(t *testing.T, pseudonym string) *gatewayv1.Patient {
	t.Helper()
	resp, err := f.consents(t, devnet.HospitalA, "clinician").GetPatient(t.Context(), &gatewayv1.GetPatientRequest{Patient: pseudonym})
	if err != nil {
		t.Fatalf("GetPatient: %v", err)
	}
	return resp.GetPatient()
}

// cpaSignRevocation signs a revocation as `medprov consent sign-revocation`
// does.
func cpaSignRevocation(t *testing.T, p *devnet.Patient, consentID string, sequence uint64) []byte {
	t.Helper()
	r := domain.ConsentRevocation{ConsentID: consentID, Patient: p.Pseudonym, Sequence: sequence}
	return decodeSig(t, p.Sign(r.CanonicalBytes()))
}

// cpaListConsents returns every consent of a listing, page by page.
func cpaListConsents(t *testing.T, cl gatewayv1.ConsentServiceClient, req *gatewayv1.ListConsentsRequest) []*gatewayv1.Consent {
	t.Helper()
	return allPages(t, "ListConsents", func(token string) ([]*gatewayv1.Consent, string, error) {
		r := proto.Clone(req).(*gatewayv1.ListConsentsRequest)
		r.PageToken = token
		resp, err := cl.ListConsents(t.Context(), r)
		return resp.GetConsents(), resp.GetNextPageToken(), err
	})
}

// cpaConsentIDs returns the consents' IDs, in order.
func cpaConsentIDs(cs []*gatewayv1.Consent) []string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.GetGrant().GetConsentId()
	}
	return ids
}

func TestConsentLifecycle(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	p := f.register(t, devnet.HospitalA)
	carrier := f.consents(t, devnet.HospitalA, "clinician")

	// The patient signs a grant whose lists the client sends unsorted and
	// with duplicates: the signature covers the normalised grant.
	g := newGrant(p, "c-life-1", devnet.HospitalB, 1)
	g.Scope = &gatewayv1.ConsentScope{RecordIds: []string{"rec-b", "rec-a", "rec-b"}, DocTypes: []string{"Observation", "11506-3"}}
	g.Purposes = []gatewayv1.PurposeOfUse{gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT, gatewayv1.PurposeOfUse_PURPOSE_OF_USE_CAREMGT}
	sig := signGrant(t, p, g)
	granted, err := carrier.GrantConsent(ctx, &gatewayv1.GrantConsentRequest{Grant: g, Signature: sig})
	if err != nil {
		t.Fatalf("GrantConsent: %v", err)
	}
	c := granted.GetConsent()
	if c.GetStatus() != gatewayv1.ConsentStatus_CONSENT_STATUS_ACTIVE || c.GetSubmittedBy() != devnet.HospitalA ||
		len(c.GetGrantTxId()) != 64 || c.GetGrantedAt() == nil || string(c.GetSignature()) != string(sig) {
		t.Fatalf("GrantConsent returned %v; want an active consent submitted by %s with the signature", c, devnet.HospitalA)
	}
	if got := c.GetGrant().GetScope().GetRecordIds(); strings.Join(got, ",") != "rec-a,rec-b" {
		t.Errorf("stored record IDs %v; want the normalised list rec-a,rec-b", got)
	}
	if got := c.GetGrant().GetPurposes(); len(got) != 2 || got[0] != gatewayv1.PurposeOfUse_PURPOSE_OF_USE_CAREMGT {
		t.Errorf("stored purposes %v; want CAREMGT, TREAT (sorted)", got)
	}
	if got := f.patient(t, p.Pseudonym).GetSequence(); got != 1 {
		t.Errorf("patient sequence %d after the grant; want 1", got)
	}

	// Who sees it: the grantee, the submitter, auditors; not a third
	// organisation.
	for _, who := range []struct{ msp, user string }{
		{devnet.HospitalB, "clinician"}, {devnet.HospitalA, "researcher"}, {devnet.HealthAuthority, "auditor"},
	} {
		got, err := f.consents(t, who.msp, who.user).GetConsent(ctx, &gatewayv1.GetConsentRequest{ConsentId: "c-life-1"})
		if err != nil {
			t.Fatalf("GetConsent as %s %s: %v", who.msp, who.user, err)
		}
		if !proto.Equal(got.GetConsent(), c) {
			t.Errorf("GetConsent as %s %s = %v; want %v", who.msp, who.user, got.GetConsent(), c)
		}
	}
	_, err = f.consents(t, devnet.HealthAuthority, "clinician").GetConsent(ctx, &gatewayv1.GetConsentRequest{ConsentId: "c-life-1"})
	wantStatus(t, err, codes.NotFound, "")

	// A second grant, then the listings.
	f.grant(t, devnet.HospitalA, p, newGrant(p, "c-life-2", devnet.HealthAuthority, 2))
	byPatient := &gatewayv1.ListConsentsRequest{Filter: &gatewayv1.ListConsentsRequest_Patient{Patient: p.Pseudonym}, PageSize: 1}
	if got := cpaConsentIDs(cpaListConsents(t, carrier, byPatient)); strings.Join(got, ",") != "c-life-1,c-life-2" {
		t.Errorf("ListConsents by patient at the submitter, one a page = %v; want c-life-1,c-life-2", got)
	}
	if got := cpaConsentIDs(cpaListConsents(t, f.consents(t, devnet.HospitalB, "clinician"), byPatient)); strings.Join(got, ",") != "c-life-1" {
		t.Errorf("ListConsents by patient at the grantee = %v; want only c-life-1", got)
	}
	byGrantee := &gatewayv1.ListConsentsRequest{Filter: &gatewayv1.ListConsentsRequest_GranteeMspId{GranteeMspId: devnet.HospitalB}}
	if got := cpaConsentIDs(cpaListConsents(t, f.consents(t, devnet.HospitalB, "researcher"), byGrantee)); strings.Join(got, ",") != "c-life-1" {
		t.Errorf("ListConsents by grantee at the grantee = %v; want c-life-1", got)
	}
	if got := cpaConsentIDs(cpaListConsents(t, f.consents(t, devnet.HealthAuthority, "auditor"), byGrantee)); strings.Join(got, ",") != "c-life-1" {
		t.Errorf("ListConsents by grantee as an auditor = %v; want c-life-1", got)
	}
	_, err = carrier.ListConsents(ctx, byGrantee)
	wantStatus(t, err, codes.PermissionDenied, "")
	first, err := carrier.ListConsents(ctx, byPatient)
	if err != nil || first.GetNextPageToken() == "" {
		t.Fatalf("ListConsents one a page: %v, %v; want a next page token", first, err)
	}
	foreign := proto.Clone(byGrantee).(*gatewayv1.ListConsentsRequest)
	foreign.PageToken = first.GetNextPageToken()
	_, err = f.consents(t, devnet.HealthAuthority, "auditor").ListConsents(ctx, foreign)
	wantStatus(t, err, codes.InvalidArgument, "page_token")

	// Revocation, carried by the submitter: the full consent comes back.
	revoked, err := carrier.RevokeConsent(ctx, &gatewayv1.RevokeConsentRequest{
		ConsentId: "c-life-1", Patient: p.Pseudonym, Sequence: 3, Signature: cpaSignRevocation(t, p, "c-life-1", 3),
	})
	if err != nil {
		t.Fatalf("RevokeConsent: %v", err)
	}
	rc := revoked.GetConsent()
	if rc.GetStatus() != gatewayv1.ConsentStatus_CONSENT_STATUS_REVOKED || rc.GetRevokeTxId() == "" || rc.GetRevokedAt() == nil ||
		len(rc.GetRevokeSignature()) == 0 || rc.GetGrantTxId() != c.GetGrantTxId() {
		t.Fatalf("RevokeConsent returned %v; want the revoked consent", rc)
	}
	got, err := f.consents(t, devnet.HospitalB, "clinician").GetConsent(ctx, &gatewayv1.GetConsentRequest{ConsentId: "c-life-1"})
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got.GetConsent(), rc) {
		t.Errorf("GetConsent after revocation = %v; want %v", got.GetConsent(), rc)
	}

	// Revocation carried by an organisation that may not read the consent
	// (HospitalB carries c-life-2, granted to the health authority and
	// submitted by HospitalA): only the identifiers and the status.
	reduced, err := f.consents(t, devnet.HospitalB, "officer").RevokeConsent(ctx, &gatewayv1.RevokeConsentRequest{
		ConsentId: "c-life-2", Patient: p.Pseudonym, Sequence: 4, Signature: cpaSignRevocation(t, p, "c-life-2", 4),
	})
	if err != nil {
		t.Fatalf("RevokeConsent by a third organisation: %v", err)
	}
	want := &gatewayv1.Consent{
		Grant:  &gatewayv1.ConsentGrant{ConsentId: "c-life-2", Patient: p.Pseudonym, Grantee: &gatewayv1.Grantee{MspId: devnet.HealthAuthority}},
		Status: gatewayv1.ConsentStatus_CONSENT_STATUS_REVOKED,
	}
	if !proto.Equal(reduced.GetConsent(), want) {
		t.Errorf("RevokeConsent by a third organisation = %v; want only %v", reduced.GetConsent(), want)
	}

	// Revoking again is refused, and changes nothing.
	_, err = carrier.RevokeConsent(ctx, &gatewayv1.RevokeConsentRequest{
		ConsentId: "c-life-1", Patient: p.Pseudonym, Sequence: 5, Signature: cpaSignRevocation(t, p, "c-life-1", 5),
	})
	wantStatus(t, err, codes.FailedPrecondition, "")
	if got := f.patient(t, p.Pseudonym).GetSequence(); got != 4 {
		t.Errorf("patient sequence %d; want 4", got)
	}
}

func TestRotatePatientKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	p := f.register(t, devnet.HospitalB)
	next, err := devnet.NewPatient()
	if err != nil {
		t.Fatal(err)
	}
	cl := f.consents(t, devnet.HospitalA, "officer")
	newKey := publicKeyDER(t, next)

	// Signed by the new key instead of the current one: refused.
	_, err = cl.RotatePatientKey(ctx, &gatewayv1.RotatePatientKeyRequest{
		Patient: p.Pseudonym, NewPublicKey: newKey, Sequence: 1, Signature: signRotation(t, next, p.Pseudonym, newKey, 1),
	})
	wantStatus(t, err, codes.PermissionDenied, "")

	resp, err := cl.RotatePatientKey(ctx, &gatewayv1.RotatePatientKeyRequest{
		Patient: p.Pseudonym, NewPublicKey: newKey, Sequence: 1, Signature: signRotation(t, p, p.Pseudonym, newKey, 1),
	})
	if err != nil {
		t.Fatalf("RotatePatientKey: %v", err)
	}
	if got := resp.GetPatient(); got.GetPseudonym() != p.Pseudonym || got.GetKeyVersion() != 2 || got.GetSequence() != 1 ||
		string(got.GetPublicKey()) != string(newKey) || got.GetKeyAlgorithm() != gatewayv1.KeyAlgorithm_KEY_ALGORITHM_ED25519 {
		t.Fatalf("RotatePatientKey returned %v; want key version 2, sequence 1 and the new key", got)
	}

	// The old key no longer signs; the new one does.
	g := newGrant(p, "c-rot-1", devnet.HospitalA, 2)
	_, err = cl.GrantConsent(ctx, &gatewayv1.GrantConsentRequest{Grant: g, Signature: signGrant(t, p, g)})
	wantStatus(t, err, codes.PermissionDenied, "")
	if _, err := cl.GrantConsent(ctx, &gatewayv1.GrantConsentRequest{Grant: g, Signature: signGrant(t, next, g)}); err != nil {
		t.Fatalf("GrantConsent signed with the new key: %v", err)
	}

	// Rotating to the current key is ALREADY_EXISTS.
	_, err = cl.RotatePatientKey(ctx, &gatewayv1.RotatePatientKeyRequest{
		Patient: p.Pseudonym, NewPublicKey: newKey, Sequence: 3, Signature: signRotation(t, next, p.Pseudonym, newKey, 3),
	})
	wantStatus(t, err, codes.AlreadyExists, "")
	if got := f.patient(t, p.Pseudonym); got.GetSequence() != 2 || got.GetKeyVersion() != 2 {
		t.Errorf("patient after the refused rotation: %v; want sequence 2, key version 2", got)
	}
}

func TestConsentServiceRefusesBadInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	p := f.register(t, devnet.HospitalA)
	other, err := devnet.NewPatient() // never registered
	if err != nil {
		t.Fatal(err)
	}
	f.grant(t, devnet.HospitalA, p, newGrant(p, "c-bad-1", devnet.HospitalB, 1))
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384DER, err := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	newKey := publicKeyDER(t, other)
	// next is a valid next grant (sequence 2); each case spoils one thing.
	next := func(change func(g *gatewayv1.ConsentGrant)) *gatewayv1.GrantConsentRequest {
		g := newGrant(p, "c-bad-2", devnet.HospitalB, 2)
		sig := signGrant(t, p, g)
		change(g)
		return &gatewayv1.GrantConsentRequest{Grant: g, Signature: sig}
	}
	signedNext := func(change func(g *gatewayv1.ConsentGrant)) *gatewayv1.GrantConsentRequest {
		g := newGrant(p, "c-bad-2", devnet.HospitalB, 2)
		change(g)
		return &gatewayv1.GrantConsentRequest{Grant: g, Signature: signGrant(t, p, g)}
	}
	tests := map[string]struct {
		user     string // HospitalA user; empty: clinician
		stranger bool   // call with a certificate outside the wallet
		call     func(cl gatewayv1.ConsentServiceClient) error
		code     codes.Code
		field    string
	}{
		"an empty public key is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.RegisterPatient(ctx, &gatewayv1.RegisterPatientRequest{})
				return err
			},
			code: codes.InvalidArgument, field: "public_key",
		},
		"a public key that is not PKIX DER is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.RegisterPatient(ctx, &gatewayv1.RegisterPatientRequest{PublicKey: []byte("not a key")})
				return err
			},
			code: codes.InvalidArgument, field: "public_key",
		},
		"a P-384 key is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.RegisterPatient(ctx, &gatewayv1.RegisterPatientRequest{PublicKey: p384DER})
				return err
			},
			code: codes.InvalidArgument, field: "public_key",
		},
		"a registered key is ALREADY_EXISTS": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.RegisterPatient(ctx, &gatewayv1.RegisterPatientRequest{PublicKey: publicKeyDER(t, p)})
				return err
			},
			code: codes.AlreadyExists,
		},
		"a researcher may not register a patient": {
			user: "researcher",
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.RegisterPatient(ctx, &gatewayv1.RegisterPatientRequest{PublicKey: newKey})
				return err
			},
			code: codes.PermissionDenied,
		},
		"an auditor may not register a patient": {
			user: "auditor",
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.RegisterPatient(ctx, &gatewayv1.RegisterPatientRequest{PublicKey: newKey})
				return err
			},
			code: codes.PermissionDenied,
		},
		"a caller outside the wallet may not register a patient": {
			stranger: true,
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.RegisterPatient(ctx, &gatewayv1.RegisterPatientRequest{PublicKey: newKey})
				return err
			},
			code: codes.PermissionDenied,
		},
		"a malformed pseudonym is refused by GetPatient": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.GetPatient(ctx, &gatewayv1.GetPatientRequest{Patient: "pt-XYZ"})
				return err
			},
			code: codes.InvalidArgument, field: "patient",
		},
		"an unregistered patient is NOT_FOUND": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.GetPatient(ctx, &gatewayv1.GetPatientRequest{Patient: other.Pseudonym})
				return err
			},
			code: codes.NotFound,
		},
		"a rotation with a malformed pseudonym is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.RotatePatientKey(ctx, &gatewayv1.RotatePatientKeyRequest{Patient: "patient-1", NewPublicKey: newKey, Sequence: 2, Signature: []byte{1}})
				return err
			},
			code: codes.InvalidArgument, field: "patient",
		},
		"a rotation to a key that is not PKIX is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.RotatePatientKey(ctx, &gatewayv1.RotatePatientKeyRequest{Patient: p.Pseudonym, NewPublicKey: []byte{0x30, 0x00}, Sequence: 2, Signature: []byte{1}})
				return err
			},
			code: codes.InvalidArgument, field: "new_public_key",
		},
		"a rotation with sequence 0 is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.RotatePatientKey(ctx, &gatewayv1.RotatePatientKeyRequest{Patient: p.Pseudonym, NewPublicKey: newKey, Signature: signRotation(t, p, p.Pseudonym, newKey, 0)})
				return err
			},
			code: codes.InvalidArgument, field: "sequence",
		},
		"a rotation without a signature is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.RotatePatientKey(ctx, &gatewayv1.RotatePatientKeyRequest{Patient: p.Pseudonym, NewPublicKey: newKey, Sequence: 2})
				return err
			},
			code: codes.InvalidArgument, field: "signature",
		},
		"a rotation with an oversized signature is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.RotatePatientKey(ctx, &gatewayv1.RotatePatientKeyRequest{Patient: p.Pseudonym, NewPublicKey: newKey, Sequence: 2, Signature: make([]byte, 151)})
				return err
			},
			code: codes.InvalidArgument, field: "signature",
		},
		"a rotation with a wrong sequence is FAILED_PRECONDITION": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.RotatePatientKey(ctx, &gatewayv1.RotatePatientKeyRequest{Patient: p.Pseudonym, NewPublicKey: newKey, Sequence: 5, Signature: signRotation(t, p, p.Pseudonym, newKey, 5)})
				return err
			},
			code: codes.FailedPrecondition,
		},
		"a rotation of an unregistered patient is NOT_FOUND": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.RotatePatientKey(ctx, &gatewayv1.RotatePatientKeyRequest{Patient: other.Pseudonym, NewPublicKey: publicKeyDER(t, p), Sequence: 1, Signature: signRotation(t, other, other.Pseudonym, publicKeyDER(t, p), 1)})
				return err
			},
			code: codes.NotFound,
		},
		"a grant without a grant is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.GrantConsent(ctx, &gatewayv1.GrantConsentRequest{Signature: []byte{1}})
				return err
			},
			code: codes.InvalidArgument, field: "grant",
		},
		"a grant with an unspecified purpose is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.GrantConsent(ctx, next(func(g *gatewayv1.ConsentGrant) {
					g.Purposes = append(g.Purposes, gatewayv1.PurposeOfUse_PURPOSE_OF_USE_UNSPECIFIED)
				}))
				return err
			},
			code: codes.InvalidArgument, field: "grant.purposes[1]",
		},
		"a grant with an unknown purpose number is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.GrantConsent(ctx, next(func(g *gatewayv1.ConsentGrant) { g.Purposes = []gatewayv1.PurposeOfUse{99} }))
				return err
			},
			code: codes.InvalidArgument, field: "grant.purposes[0]",
		},
		"a grant without purposes is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.GrantConsent(ctx, next(func(g *gatewayv1.ConsentGrant) { g.Purposes = nil }))
				return err
			},
			code: codes.InvalidArgument, field: "grant.purposes",
		},
		"a grant without a ceiling is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.GrantConsent(ctx, next(func(g *gatewayv1.ConsentGrant) { g.MaxConfidentiality = 0 }))
				return err
			},
			code: codes.InvalidArgument, field: "grant.max_confidentiality",
		},
		"a grant without not_before is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.GrantConsent(ctx, next(func(g *gatewayv1.ConsentGrant) { g.NotBefore = nil }))
				return err
			},
			code: codes.InvalidArgument, field: "grant.not_before",
		},
		"a grant with a fraction of a second is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.GrantConsent(ctx, next(func(g *gatewayv1.ConsentGrant) { g.NotAfter.Nanos = 5 }))
				return err
			},
			code: codes.InvalidArgument, field: "grant.not_after",
		},
		"a grant that ends before it starts is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.GrantConsent(ctx, next(func(g *gatewayv1.ConsentGrant) { g.NotAfter = g.NotBefore }))
				return err
			},
			code: codes.InvalidArgument, field: "grant.not_after",
		},
		"a grant with a malformed consent ID is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.GrantConsent(ctx, next(func(g *gatewayv1.ConsentGrant) { g.ConsentId = "x" }))
				return err
			},
			code: codes.InvalidArgument, field: "grant.consent_id",
		},
		"a grant with a bad document type is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.GrantConsent(ctx, next(func(g *gatewayv1.ConsentGrant) {
					g.Scope = &gatewayv1.ConsentScope{DocTypes: []string{"Observation", "11506-4"}}
				}))
				return err
			},
			code: codes.InvalidArgument, field: "grant.scope.doc_types[1]",
		},
		"a grant with all and a list is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.GrantConsent(ctx, next(func(g *gatewayv1.ConsentGrant) { g.Scope.RecordIds = []string{"rec-1"} }))
				return err
			},
			code: codes.InvalidArgument, field: "grant.scope",
		},
		"a grant to auditors is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.GrantConsent(ctx, next(func(g *gatewayv1.ConsentGrant) { g.Grantee.Role = gatewayv1.Role_ROLE_AUDITOR }))
				return err
			},
			code: codes.InvalidArgument, field: "grant.grantee.role",
		},
		"a grant with a malformed grantee is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.GrantConsent(ctx, next(func(g *gatewayv1.ConsentGrant) { g.Grantee.MspId = "-bad" }))
				return err
			},
			code: codes.InvalidArgument, field: "grant.grantee.msp_id",
		},
		"a grant with sequence 0 is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.GrantConsent(ctx, next(func(g *gatewayv1.ConsentGrant) { g.Sequence = 0 }))
				return err
			},
			code: codes.InvalidArgument, field: "grant.sequence",
		},
		"a grant without a signature is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				req := next(func(*gatewayv1.ConsentGrant) {})
				req.Signature = nil
				_, err := cl.GrantConsent(ctx, req)
				return err
			},
			code: codes.InvalidArgument, field: "signature",
		},
		"a grant changed after signing is PERMISSION_DENIED": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.GrantConsent(ctx, next(func(g *gatewayv1.ConsentGrant) {
					g.MaxConfidentiality = gatewayv1.Confidentiality_CONFIDENTIALITY_V
				}))
				return err
			},
			code: codes.PermissionDenied,
		},
		"a grant with a used sequence is FAILED_PRECONDITION": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.GrantConsent(ctx, signedNext(func(g *gatewayv1.ConsentGrant) { g.Sequence = 1 }))
				return err
			},
			code: codes.FailedPrecondition,
		},
		"a grant with a taken consent ID is ALREADY_EXISTS": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.GrantConsent(ctx, signedNext(func(g *gatewayv1.ConsentGrant) { g.ConsentId = "c-bad-1" }))
				return err
			},
			code: codes.AlreadyExists,
		},
		"a grant of an unregistered patient is NOT_FOUND": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				g := newGrant(other, "c-bad-3", devnet.HospitalB, 1)
				_, err := cl.GrantConsent(ctx, &gatewayv1.GrantConsentRequest{Grant: g, Signature: signGrant(t, other, g)})
				return err
			},
			code: codes.NotFound,
		},
		"a researcher may not carry a grant": {
			user: "researcher",
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.GrantConsent(ctx, signedNext(func(*gatewayv1.ConsentGrant) {}))
				return err
			},
			code: codes.PermissionDenied,
		},
		"a revocation with a malformed consent ID is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.RevokeConsent(ctx, &gatewayv1.RevokeConsentRequest{ConsentId: "c", Patient: p.Pseudonym, Sequence: 2, Signature: []byte{1}})
				return err
			},
			code: codes.InvalidArgument, field: "consent_id",
		},
		"a revocation with a malformed pseudonym is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.RevokeConsent(ctx, &gatewayv1.RevokeConsentRequest{ConsentId: "c-bad-1", Patient: "pt-1", Sequence: 2, Signature: []byte{1}})
				return err
			},
			code: codes.InvalidArgument, field: "patient",
		},
		"a revocation with sequence 0 is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.RevokeConsent(ctx, &gatewayv1.RevokeConsentRequest{ConsentId: "c-bad-1", Patient: p.Pseudonym, Signature: []byte{1}})
				return err
			},
			code: codes.InvalidArgument, field: "sequence",
		},
		"a revocation without a signature is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.RevokeConsent(ctx, &gatewayv1.RevokeConsentRequest{ConsentId: "c-bad-1", Patient: p.Pseudonym, Sequence: 2})
				return err
			},
			code: codes.InvalidArgument, field: "signature",
		},
		"a revocation signed by another key is PERMISSION_DENIED": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.RevokeConsent(ctx, &gatewayv1.RevokeConsentRequest{ConsentId: "c-bad-1", Patient: p.Pseudonym, Sequence: 2, Signature: cpaSignRevocation(t, other, "c-bad-1", 2)})
				return err
			},
			code: codes.PermissionDenied,
		},
		"a revocation of an unknown consent is NOT_FOUND": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.RevokeConsent(ctx, &gatewayv1.RevokeConsentRequest{ConsentId: "c-none", Patient: p.Pseudonym, Sequence: 2, Signature: cpaSignRevocation(t, p, "c-none", 2)})
				return err
			},
			code: codes.NotFound,
		},
		"a malformed consent ID is refused by GetConsent": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.GetConsent(ctx, &gatewayv1.GetConsentRequest{ConsentId: strings.Repeat("c", 65)})
				return err
			},
			code: codes.InvalidArgument, field: "consent_id",
		},
		"an unknown consent is NOT_FOUND": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.GetConsent(ctx, &gatewayv1.GetConsentRequest{ConsentId: "c-none"})
				return err
			},
			code: codes.NotFound,
		},
		"a listing without a filter is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.ListConsents(ctx, &gatewayv1.ListConsentsRequest{})
				return err
			},
			code: codes.InvalidArgument, field: "filter",
		},
		"a listing by a malformed pseudonym is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.ListConsents(ctx, &gatewayv1.ListConsentsRequest{Filter: &gatewayv1.ListConsentsRequest_Patient{Patient: "x"}})
				return err
			},
			code: codes.InvalidArgument, field: "patient",
		},
		"a listing by a malformed MSP ID is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.ListConsents(ctx, &gatewayv1.ListConsentsRequest{Filter: &gatewayv1.ListConsentsRequest_GranteeMspId{GranteeMspId: "a b"}})
				return err
			},
			code: codes.InvalidArgument, field: "grantee_msp_id",
		},
		"a negative page size is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.ListConsents(ctx, &gatewayv1.ListConsentsRequest{Filter: &gatewayv1.ListConsentsRequest_Patient{Patient: p.Pseudonym}, PageSize: -1})
				return err
			},
			code: codes.InvalidArgument, field: "page_size",
		},
		"a page size above 1000 is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.ListConsents(ctx, &gatewayv1.ListConsentsRequest{Filter: &gatewayv1.ListConsentsRequest_Patient{Patient: p.Pseudonym}, PageSize: 1001})
				return err
			},
			code: codes.InvalidArgument, field: "page_size",
		},
		"a made-up page token is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.ListConsents(ctx, &gatewayv1.ListConsentsRequest{Filter: &gatewayv1.ListConsentsRequest_Patient{Patient: p.Pseudonym}, PageToken: "not-a-bookmark"})
				return err
			},
			code: codes.InvalidArgument, field: "page_token",
		},
		"an oversized page token is refused": {
			call: func(cl gatewayv1.ConsentServiceClient) error {
				_, err := cl.ListConsents(ctx, &gatewayv1.ListConsentsRequest{Filter: &gatewayv1.ListConsentsRequest_Patient{Patient: p.Pseudonym}, PageToken: strings.Repeat("A", 1025)})
				return err
			},
			code: codes.InvalidArgument, field: "page_token",
		},
	}
	cl := f.consents(t, devnet.HospitalA, "clinician")
	before := cpaListConsents(t, cl, &gatewayv1.ListConsentsRequest{Filter: &gatewayv1.ListConsentsRequest_Patient{Patient: p.Pseudonym}})
	beforePatient := f.patient(t, p.Pseudonym)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			user := tc.user
			switch {
			case tc.stranger:
				user = ""
			case user == "":
				user = "clinician"
			}
			wantStatus(t, tc.call(f.consents(t, devnet.HospitalA, user)), tc.code, tc.field)
		})
	}
	after := cpaListConsents(t, cl, &gatewayv1.ListConsentsRequest{Filter: &gatewayv1.ListConsentsRequest_Patient{Patient: p.Pseudonym}})
	if len(after) != len(before) || !proto.Equal(after[0], before[0]) {
		t.Errorf("consents changed: %v, was %v", after, before)
	}
	if got := f.patient(t, p.Pseudonym); !proto.Equal(got, beforePatient) {
		t.Errorf("patient changed: %v, was %v", got, beforePatient)
	}
	if _, err := f.consents(t, devnet.HospitalA, "clinician").GetPatient(ctx, &gatewayv1.GetPatientRequest{Patient: other.Pseudonym}); status.Code(err) != codes.NotFound {
		t.Errorf("the unregistered patient: %v; want NOT_FOUND (nothing registered)", err)
	}
}
