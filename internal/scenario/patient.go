package scenario

import (
	"encoding/base64"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/internal/devnet"
	"github.com/medprov/medprov/internal/patientproof"
)

// The patient's side: a synthetic key pair (internal/devnet), statements
// signed over the chaincode's canonical encodings (chaincode/ledger, as
// `medprov consent sign` builds them) and answers to the gateway's
// challenges (internal/patientproof).

// registerPatient makes a synthetic patient and registers their key at
// msp's gateway as user.
func (e *env) registerPatient(msp, user string) *devnet.Patient {
	e.t.Helper()
	p, err := devnet.NewPatient()
	e.must(err, "new patient")
	der, err := base64.StdEncoding.DecodeString(p.PublicKey)
	e.must(err, "patient key")
	resp, err := e.consents(msp, user).RegisterPatient(e.ctx, &gatewayv1.RegisterPatientRequest{PublicKey: der})
	e.must(err, "RegisterPatient")
	got := resp.GetPatient()
	e.want(got.GetPseudonym() == p.Pseudonym, "RegisterPatient: pseudonym %q, want %q", got.GetPseudonym(), p.Pseudonym)
	e.want(got.GetKeyVersion() == 1 && got.GetSequence() == 0, "RegisterPatient: key_version %d, sequence %d, want 1 and 0", got.GetKeyVersion(), got.GetSequence())
	e.want(got.GetKeyAlgorithm() == gatewayv1.KeyAlgorithm_KEY_ALGORITHM_ED25519, "RegisterPatient: key_algorithm %s, want Ed25519", got.GetKeyAlgorithm())
	e.want(got.GetRegisteredBy() == msp, "RegisterPatient: registered_by %q, want %q", got.GetRegisteredBy(), msp)
	return p
}

// sign signs a canonical encoding with the patient's key and returns the
// raw signature, as the API carries it.
func (e *env) sign(p *devnet.Patient, msg []byte) []byte {
	e.t.Helper()
	sig, err := base64.StdEncoding.DecodeString(p.Sign(msg))
	e.must(err, "patient signature")
	return sig
}

// nextSequence returns the sequence number of the patient's next signed
// statement, as GetPatient at hospital A reports it.
func (e *env) nextSequence(p *devnet.Patient) uint64 {
	e.t.Helper()
	resp, err := e.consents(e.a, UserClinician).GetPatient(e.ctx, &gatewayv1.GetPatientRequest{Patient: p.Pseudonym})
	e.must(err, "GetPatient")
	return resp.GetPatient().GetSequence() + 1
}

// grantSpec is what a patient consents to; grant fills in the rest.
type grantSpec struct {
	grantee   string
	role      gatewayv1.Role
	recordIDs []string
	docTypes  []string
	purposes  []gatewayv1.PurposeOfUse
	ceiling   gatewayv1.Confidentiality
}

// grant has the patient sign a consent valid from an hour ago for a day,
// and carries it to the ledger through msp's gateway as user. It returns
// the stored consent, checked against what the patient signed.
func (e *env) grant(msp, user string, p *devnet.Patient, spec grantSpec) *gatewayv1.Consent {
	e.t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	g := domain.ConsentGrant{
		ConsentID:          e.id("consent"),
		Patient:            p.Pseudonym,
		Grantee:            domain.Grantee{MSPID: spec.grantee, Role: roles[spec.role]},
		Scope:              domain.Scope{RecordIDs: spec.recordIDs, DocTypes: spec.docTypes},
		MaxConfidentiality: domain.Confidentiality(confidentialities[spec.ceiling]),
		NotBefore:          now.Add(-time.Hour).Format(time.RFC3339),
		NotAfter:           now.Add(24 * time.Hour).Format(time.RFC3339),
		Sequence:           e.nextSequence(p),
	}
	for _, pu := range spec.purposes {
		g.Purposes = append(g.Purposes, domain.Purpose(purposes[pu]))
	}
	g, notBefore, notAfter, err := g.Normalize()
	e.must(err, "normalise the consent grant")
	sig := e.sign(p, g.CanonicalBytes())

	pb := &gatewayv1.ConsentGrant{
		ConsentId:          g.ConsentID,
		Patient:            g.Patient,
		Grantee:            &gatewayv1.Grantee{MspId: spec.grantee, Role: spec.role},
		Scope:              &gatewayv1.ConsentScope{RecordIds: g.Scope.RecordIDs, DocTypes: g.Scope.DocTypes},
		MaxConfidentiality: spec.ceiling,
		NotBefore:          timestamppb.New(notBefore),
		NotAfter:           timestamppb.New(notAfter),
		Sequence:           g.Sequence,
	}
	for _, pu := range g.Purposes {
		pb.Purposes = append(pb.Purposes, purposeOf[string(pu)])
	}
	resp, err := e.consents(msp, user).GrantConsent(e.ctx, &gatewayv1.GrantConsentRequest{Grant: pb, Signature: sig})
	e.must(err, "GrantConsent")
	c := resp.GetConsent()
	e.wantProto(c.GetGrant(), pb, "GrantConsent: the stored grant")
	e.want(string(c.GetSignature()) == string(sig), "GrantConsent: the stored signature differs from the patient's")
	e.want(c.GetStatus() == gatewayv1.ConsentStatus_CONSENT_STATUS_ACTIVE, "GrantConsent: status %s, want active", c.GetStatus())
	e.want(c.GetSubmittedBy() == msp, "GrantConsent: submitted_by %q, want %q", c.GetSubmittedBy(), msp)
	e.wantTxID(c.GetGrantTxId(), "GrantConsent: grant_tx_id")
	return c
}

// revoke has the patient sign the revocation of a consent and carries it
// through msp's gateway as user.
func (e *env) revoke(msp, user string, p *devnet.Patient, consentID string) *gatewayv1.Consent {
	e.t.Helper()
	r := domain.ConsentRevocation{ConsentID: consentID, Patient: p.Pseudonym, Sequence: e.nextSequence(p)}
	e.must(r.Validate(), "the revocation")
	sig := e.sign(p, r.CanonicalBytes())
	resp, err := e.consents(msp, user).RevokeConsent(e.ctx, &gatewayv1.RevokeConsentRequest{
		ConsentId: consentID, Patient: p.Pseudonym, Sequence: r.Sequence, Signature: sig,
	})
	e.must(err, "RevokeConsent")
	c := resp.GetConsent()
	e.want(c.GetStatus() == gatewayv1.ConsentStatus_CONSENT_STATUS_REVOKED, "RevokeConsent: status %s, want revoked", c.GetStatus())
	e.want(c.GetGrant().GetConsentId() == consentID, "RevokeConsent: consent_id %q, want %q", c.GetGrant().GetConsentId(), consentID)
	return c
}

// proof asks msp's gateway for a challenge for the patient and answers it
// with the patient's key.
func (e *env) proof(msp string, p *devnet.Patient) *gatewayv1.PatientProof {
	e.t.Helper()
	ch := e.challenge(msp, p)
	return &gatewayv1.PatientProof{
		Patient:     p.Pseudonym,
		ChallengeId: ch.GetChallengeId(),
		Signature:   e.sign(p, patientproof.Encode(ch.GetMspId(), p.Pseudonym, ch.GetChallengeId(), ch.GetChallenge())),
	}
}

// challenge asks msp's gateway for a challenge for the patient and checks
// it is one.
func (e *env) challenge(msp string, p *devnet.Patient) *gatewayv1.GetChallengeResponse {
	e.t.Helper()
	ch, err := e.patients(msp).GetChallenge(e.ctx, &gatewayv1.GetChallengeRequest{Patient: p.Pseudonym})
	e.must(err, "GetChallenge")
	e.want(ch.GetMspId() == msp, "GetChallenge: msp_id %q, want %q", ch.GetMspId(), msp)
	e.want(len(ch.GetChallenge()) == patientproof.ChallengeBytes, "GetChallenge: %d challenge bytes, want %d", len(ch.GetChallenge()), patientproof.ChallengeBytes)
	e.want(ch.GetChallengeId() != "", "GetChallenge: no challenge_id")
	e.want(ch.GetExpireTime().AsTime().After(time.Now()), "GetChallenge: expire_time %v is not in the future", ch.GetExpireTime().AsTime())
	return ch
}

// The chaincode's code strings of the API's enums, for the statements a
// patient signs.
var (
	roles = map[gatewayv1.Role]domain.Role{
		gatewayv1.Role_ROLE_UNSPECIFIED:     "",
		gatewayv1.Role_ROLE_CLINICIAN:       domain.RoleClinician,
		gatewayv1.Role_ROLE_RECORDS_OFFICER: domain.RoleRecordsOfficer,
		gatewayv1.Role_ROLE_RESEARCHER:      domain.RoleResearcher,
	}
	confidentialities = map[gatewayv1.Confidentiality]string{
		gatewayv1.Confidentiality_CONFIDENTIALITY_U: "U",
		gatewayv1.Confidentiality_CONFIDENTIALITY_L: "L",
		gatewayv1.Confidentiality_CONFIDENTIALITY_M: "M",
		gatewayv1.Confidentiality_CONFIDENTIALITY_N: "N",
		gatewayv1.Confidentiality_CONFIDENTIALITY_R: "R",
		gatewayv1.Confidentiality_CONFIDENTIALITY_V: "V",
	}
	purposes = map[gatewayv1.PurposeOfUse]string{
		gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT:    "TREAT",
		gatewayv1.PurposeOfUse_PURPOSE_OF_USE_ETREAT:   "ETREAT",
		gatewayv1.PurposeOfUse_PURPOSE_OF_USE_CAREMGT:  "CAREMGT",
		gatewayv1.PurposeOfUse_PURPOSE_OF_USE_HPAYMT:   "HPAYMT",
		gatewayv1.PurposeOfUse_PURPOSE_OF_USE_HOPERAT:  "HOPERAT",
		gatewayv1.PurposeOfUse_PURPOSE_OF_USE_HQUALIMP: "HQUALIMP",
		gatewayv1.PurposeOfUse_PURPOSE_OF_USE_HRESCH:   "HRESCH",
		gatewayv1.PurposeOfUse_PURPOSE_OF_USE_PUBHLTH:  "PUBHLTH",
		gatewayv1.PurposeOfUse_PURPOSE_OF_USE_PATRQT:   "PATRQT",
		gatewayv1.PurposeOfUse_PURPOSE_OF_USE_HLEGAL:   "HLEGAL",
	}
	purposeOf = func() map[string]gatewayv1.PurposeOfUse {
		m := map[string]gatewayv1.PurposeOfUse{}
		for k, v := range purposes {
			m[v] = k
		}
		return m
	}()
)
