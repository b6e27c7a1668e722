package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/internal/ledger"
	"github.com/medprov/medprov/gateway/internal/server/convert"
)

// consentService implements ConsentService: it registers patients and
// carries their signed statements (consent grants, revocations, key
// rotations) to the ledger as the caller. The patient's signature is the
// authority and the chaincode verifies it; the gateway checks only that
// each request is well formed, so that a malformed one fails with the
// proto field's name before anything is sent.
type consentService struct {
	gatewayv1.UnimplementedConsentServiceServer
	s *Server
}

// RegisterPatient registers a patient's public key as the caller. Errors:
// INVALID_ARGUMENT (public_key), ALREADY_EXISTS, PERMISSION_DENIED (role).
func (c *consentService) RegisterPatient(ctx context.Context, req *gatewayv1.RegisterPatientRequest) (*gatewayv1.RegisterPatientResponse, error) {
	id, err := user(ctx)
	if err != nil {
		return nil, err
	}
	key, err := convert.PublicKeyFromProto("public_key", req.GetPublicKey())
	if err != nil {
		return nil, err
	}
	done, err := c.s.d.Ledger.Submit(ctx, id.Ledger(), domain.TxRegisterPatient, key)
	if err != nil {
		return nil, fmt.Errorf("register patient: %w", err)
	}
	var p domain.Patient
	if len(done.Payload) == 0 {
		// The commit was recovered by a lookup that could not read the
		// result back: read the patient instead.
		pk, perr := domain.ParsePatientKey("public_key", key)
		if perr != nil {
			return nil, fmt.Errorf("register patient: %w", perr)
		}
		p, err = c.s.readPatient(ctx, id.Ledger(), pk.Pseudonym())
	} else {
		p, err = decodeDocument[domain.Patient](done.Payload, domain.KindPatient)
	}
	if err != nil {
		return nil, fmt.Errorf("register patient: %w", err)
	}
	return &gatewayv1.RegisterPatientResponse{Patient: convert.Patient(p)}, nil
}

// GetPatient returns a registered patient, read as the caller. Errors:
// INVALID_ARGUMENT (patient), NOT_FOUND.
func (c *consentService) GetPatient(ctx context.Context, req *gatewayv1.GetPatientRequest) (*gatewayv1.GetPatientResponse, error) {
	id, err := user(ctx)
	if err != nil {
		return nil, err
	}
	if err := argStatus(domain.CheckPseudonym("patient", req.GetPatient())); err != nil {
		return nil, err
	}
	p, err := c.s.readPatient(ctx, id.Ledger(), req.GetPatient())
	if err != nil {
		return nil, fmt.Errorf("get patient: %w", err)
	}
	return &gatewayv1.GetPatientResponse{Patient: convert.Patient(p)}, nil
}

// RotatePatientKey submits a patient's signed key rotation as the caller.
// The new key travels as the standard base64 of its DER, which is what the
// rotation encoding signs. Errors: INVALID_ARGUMENT (a field), NOT_FOUND
// (patient), PERMISSION_DENIED (signature or role), FAILED_PRECONDITION
// (sequence), ALREADY_EXISTS (the current key).
func (c *consentService) RotatePatientKey(ctx context.Context, req *gatewayv1.RotatePatientKeyRequest) (*gatewayv1.RotatePatientKeyResponse, error) {
	id, err := user(ctx)
	if err != nil {
		return nil, err
	}
	if err := argStatus(domain.CheckPseudonym("patient", req.GetPatient())); err != nil {
		return nil, err
	}
	key, err := convert.PublicKeyFromProto("new_public_key", req.GetNewPublicKey())
	if err != nil {
		return nil, err
	}
	if err := checkSequence(req.GetSequence()); err != nil {
		return nil, err
	}
	sig, err := convert.SignatureFromProto("signature", req.GetSignature())
	if err != nil {
		return nil, err
	}
	rotation := domain.KeyRotation{Patient: req.GetPatient(), NewPublicKey: key, Sequence: req.GetSequence()}
	done, err := c.s.submitJSON(ctx, id.Ledger(), "rotate patient key", domain.TxRotatePatientKey, rotation, sig)
	if err != nil {
		return nil, err
	}
	var p domain.Patient
	if len(done.Payload) == 0 {
		// Recovered commit without its result: read the patient.
		p, err = c.s.readPatient(ctx, id.Ledger(), req.GetPatient())
	} else {
		p, err = decodeDocument[domain.Patient](done.Payload, domain.KindPatient)
	}
	if err != nil {
		return nil, fmt.Errorf("rotate patient key: %w", err)
	}
	return &gatewayv1.RotatePatientKeyResponse{Patient: convert.Patient(p)}, nil
}

// GrantConsent submits a patient's signed consent grant as the caller.
// The proto grant converts to the domain grant field for field
// (convert.ConsentGrantFromProto), so its canonical encoding is the one
// the patient signed; the gateway normalises it as the chaincode does, to
// name a bad field in the proto's terms, and the chaincode checks the
// signature. Errors: INVALID_ARGUMENT (a field of grant, signature),
// NOT_FOUND (patient), PERMISSION_DENIED (signature or role),
// FAILED_PRECONDITION (sequence), ALREADY_EXISTS (consent ID).
func (c *consentService) GrantConsent(ctx context.Context, req *gatewayv1.GrantConsentRequest) (*gatewayv1.GrantConsentResponse, error) {
	id, err := user(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetGrant() == nil {
		return nil, status.Error(codes.InvalidArgument, "grant: want the consent grant the patient signed")
	}
	g, err := convert.ConsentGrantFromProto("grant", req.GetGrant())
	if err != nil {
		return nil, err
	}
	g, _, _, err = g.Normalize()
	if err != nil {
		return nil, renameArg(err, grantField)
	}
	sig, err := convert.SignatureFromProto("signature", req.GetSignature())
	if err != nil {
		return nil, err
	}
	done, err := c.s.submitJSON(ctx, id.Ledger(), "grant consent", domain.TxGrantConsent, g, sig)
	if err != nil {
		return nil, err
	}
	var cs domain.Consent
	if len(done.Payload) == 0 {
		// Recovered commit without its result: read the consent, which
		// the submitting organisation may always see.
		cs, err = c.s.readConsent(ctx, id.Ledger(), g.ConsentID)
	} else {
		cs, err = decodeDocument[domain.Consent](done.Payload, domain.KindConsent)
	}
	if err != nil {
		return nil, fmt.Errorf("grant consent: %w", err)
	}
	return &gatewayv1.GrantConsentResponse{Consent: convert.Consent(cs)}, nil
}

// grantField names a field of the domain's grant validation
// ("consent.scope.docTypes[1]") as the request's proto field
// ("grant.scope.doc_types[1]").
func grantField(name string) string {
	if rest, ok := strings.CutPrefix(name, "consent"); ok {
		return "grant" + snakeCase(rest)
	}
	return snakeCase(name)
}

// consentSummary is the reduced result of RevokeConsent for a carrier that
// may not read the consent (the chaincode's consent event payload).
type consentSummary struct {
	ConsentID string `json:"consentId"`
	Patient   string `json:"patient"`
	Grantee   string `json:"grantee"`
	Status    string `json:"status"`
}

// RevokeConsent submits a patient's signed revocation as the caller. To a
// caller whose organisation may not read the consent, only consent_id,
// patient, grantee and status are returned. Errors: INVALID_ARGUMENT (a
// field), NOT_FOUND (patient or consent), PERMISSION_DENIED (signature or
// role), FAILED_PRECONDITION (sequence, already revoked).
func (c *consentService) RevokeConsent(ctx context.Context, req *gatewayv1.RevokeConsentRequest) (*gatewayv1.RevokeConsentResponse, error) {
	id, err := user(ctx)
	if err != nil {
		return nil, err
	}
	if err := argStatus(domain.CheckID("consent_id", req.GetConsentId())); err != nil {
		return nil, err
	}
	if err := argStatus(domain.CheckPseudonym("patient", req.GetPatient())); err != nil {
		return nil, err
	}
	if err := checkSequence(req.GetSequence()); err != nil {
		return nil, err
	}
	sig, err := convert.SignatureFromProto("signature", req.GetSignature())
	if err != nil {
		return nil, err
	}
	revocation := domain.ConsentRevocation{ConsentID: req.GetConsentId(), Patient: req.GetPatient(), Sequence: req.GetSequence()}
	done, err := c.s.submitJSON(ctx, id.Ledger(), "revoke consent", domain.TxRevokeConsent, revocation, sig)
	if err != nil {
		return nil, err
	}
	if len(done.Payload) == 0 {
		// The commit was recovered by a lookup that could not read the
		// result back: read the consent if the caller may, else answer
		// with what the request names (the grantee stays unset: the
		// caller may not read it).
		cs, err := c.s.readConsent(ctx, id.Ledger(), req.GetConsentId())
		switch {
		case err == nil:
			return &gatewayv1.RevokeConsentResponse{Consent: convert.Consent(cs)}, nil
		case errors.Is(err, domain.ErrNotFound):
			return &gatewayv1.RevokeConsentResponse{Consent: &gatewayv1.Consent{
				Grant:  &gatewayv1.ConsentGrant{ConsentId: req.GetConsentId(), Patient: req.GetPatient()},
				Status: gatewayv1.ConsentStatus_CONSENT_STATUS_REVOKED,
			}}, nil
		default:
			return nil, fmt.Errorf("revoke consent: %w", err)
		}
	}
	var kind struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal(done.Payload, &kind); err != nil {
		return nil, fmt.Errorf("revoke consent: decode result: %w", err)
	}
	if kind.Kind == domain.KindConsent {
		cs, err := decodeDocument[domain.Consent](done.Payload, domain.KindConsent)
		if err != nil {
			return nil, fmt.Errorf("revoke consent: %w", err)
		}
		return &gatewayv1.RevokeConsentResponse{Consent: convert.Consent(cs)}, nil
	}
	sum, err := decodeLedger[consentSummary](done.Payload)
	if err != nil {
		return nil, fmt.Errorf("revoke consent: %w", err)
	}
	return &gatewayv1.RevokeConsentResponse{Consent: &gatewayv1.Consent{
		Grant: &gatewayv1.ConsentGrant{
			ConsentId: sum.ConsentID,
			Patient:   sum.Patient,
			Grantee:   &gatewayv1.Grantee{MspId: sum.Grantee},
		},
		Status: convert.ConsentStatus(sum.Status),
	}}, nil
}

// GetConsent returns a consent the caller may see. Errors:
// INVALID_ARGUMENT (consent_id), NOT_FOUND (missing or not visible).
func (c *consentService) GetConsent(ctx context.Context, req *gatewayv1.GetConsentRequest) (*gatewayv1.GetConsentResponse, error) {
	id, err := user(ctx)
	if err != nil {
		return nil, err
	}
	if err := argStatus(domain.CheckID("consent_id", req.GetConsentId())); err != nil {
		return nil, err
	}
	cs, err := c.s.readConsent(ctx, id.Ledger(), req.GetConsentId())
	if err != nil {
		return nil, fmt.Errorf("get consent: %w", err)
	}
	return &gatewayv1.GetConsentResponse{Consent: convert.Consent(cs)}, nil
}

// ListConsents lists a page of consents by patient or by grantee, as the
// caller sees them. Errors: INVALID_ARGUMENT (no filter, a bad filter,
// page_size or page_token), PERMISSION_DENIED (another grantee, for a
// non-auditor).
func (c *consentService) ListConsents(ctx context.Context, req *gatewayv1.ListConsentsRequest) (*gatewayv1.ListConsentsResponse, error) {
	id, err := user(ctx)
	if err != nil {
		return nil, err
	}
	var tx, key string
	switch f := req.GetFilter().(type) {
	case *gatewayv1.ListConsentsRequest_Patient:
		if err := argStatus(domain.CheckPseudonym("patient", f.Patient)); err != nil {
			return nil, err
		}
		tx, key = domain.TxListConsentsByPatient, f.Patient
	case *gatewayv1.ListConsentsRequest_GranteeMspId:
		if err := argStatus(domain.CheckMSPID("grantee_msp_id", f.GranteeMspId)); err != nil {
			return nil, err
		}
		tx, key = domain.TxListConsentsByGrantee, f.GranteeMspId
	default:
		return nil, status.Error(codes.InvalidArgument, "filter: want exactly one of patient and grantee_msp_id")
	}
	if err := checkPage(req.GetPageSize(), req.GetPageToken()); err != nil {
		return nil, err
	}
	page, err := evaluatePage[domain.Consent](ctx, c.s.d.Ledger, id.Ledger(), "list consents", listArgField,
		tx, key, pageSizeArg(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &gatewayv1.ListConsentsResponse{Consents: protoList(page.Items, convert.Consent), NextPageToken: page.Bookmark}, nil
}

// readPatient reads a registered patient as identity id. Errors: the ledger's
// (NOT_FOUND for an unknown patient).
func (s *Server) readPatient(ctx context.Context, id ledger.Identity, pseudonym string) (domain.Patient, error) {
	payload, err := s.d.Ledger.Evaluate(ctx, id, domain.TxGetPatient, pseudonym)
	if err != nil {
		return domain.Patient{}, err
	}
	return decodeDocument[domain.Patient](payload, domain.KindPatient)
}

// readConsent reads a consent as identity id. Errors: the ledger's (NOT_FOUND
// for a consent that is missing or that id may not see).
func (s *Server) readConsent(ctx context.Context, id ledger.Identity, consentID string) (domain.Consent, error) {
	payload, err := s.d.Ledger.Evaluate(ctx, id, domain.TxGetConsent, consentID)
	if err != nil {
		return domain.Consent{}, err
	}
	return decodeDocument[domain.Consent](payload, domain.KindConsent)
}
