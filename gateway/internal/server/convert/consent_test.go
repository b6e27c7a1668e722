package convert_test

import (
	"bytes"
	"encoding/base64"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/internal/server/convert"
)

// ts parses a time in domain.TimeLayout as a timestamp.
func ts(t *testing.T, s string) *timestamppb.Timestamp {
	t.Helper()
	v, err := time.Parse(domain.TimeLayout, s)
	if err != nil {
		t.Fatal(err)
	}
	return timestamppb.New(v)
}

// validGrants are normalised grants of every shape.
func validGrants() map[string]domain.ConsentGrant {
	return map[string]domain.ConsentGrant{
		"a grant to one role for listed records and types": {
			ConsentID: "consent-0001", Patient: testPatient,
			Grantee:            domain.Grantee{MSPID: "HospitalBMSP", Role: domain.RoleClinician},
			Scope:              domain.Scope{RecordIDs: []string{"rec-0001", "rec-0002"}, DocTypes: []string{"11506-3", "Observation"}},
			Purposes:           []domain.Purpose{domain.PurposeCareManagement, domain.PurposeTreatment},
			MaxConfidentiality: domain.ConfRestricted,
			NotBefore:          "2026-01-01T00:00:00Z", NotAfter: "2026-12-31T23:59:59Z", Sequence: 7,
		},
		"a grant of everything to every role, with the largest sequence": {
			ConsentID: "consent-0002", Patient: testPatient,
			Grantee:  domain.Grantee{MSPID: "Org3MSP"},
			Scope:    domain.Scope{All: true},
			Purposes: []domain.Purpose{domain.PurposeResearch}, MaxConfidentiality: domain.ConfNormal,
			NotBefore: "2026-03-01T08:00:00Z", NotAfter: "2036-02-28T08:00:00Z", Sequence: 1<<64 - 1,
		},
		"a grant of document types only, every purpose, at the edges of time": {
			ConsentID: "c:1_2.3-4", Patient: testPatient,
			Grantee:  domain.Grantee{MSPID: "a", Role: domain.RoleResearcher},
			Scope:    domain.Scope{DocTypes: []string{"DiagnosticReport"}},
			Purposes: slices.Sorted(slices.Values(domain.Purposes)), MaxConfidentiality: domain.ConfVeryRestricted,
			NotBefore: "0001-01-01T00:00:00Z", NotAfter: "0002-01-01T00:00:00Z", Sequence: 1,
		},
	}
}

func TestValidGrantsRoundTripFieldForField(t *testing.T) {
	for name, g := range validGrants() {
		t.Run(name, func(t *testing.T) {
			n, _, _, err := g.Normalize()
			if err != nil {
				t.Fatalf("the fixture is not a valid grant: %v", err)
			}
			if !bytes.Equal(n.CanonicalBytes(), g.CanonicalBytes()) {
				t.Fatal("the fixture is not normalised")
			}
			p := convert.ConsentGrant(g)
			wantAllSetExcept(t, p, g)
			got, err := convert.ConsentGrantFromProto("grant", p)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, g) {
				t.Errorf("round trip gives\n%+v\nwant\n%+v", got, g)
			}
			if !bytes.Equal(got.CanonicalBytes(), g.CanonicalBytes()) {
				t.Error("round trip changes the canonical encoding")
			}
		})
	}
}

// wantAllSetExcept checks that a converted grant has every field the
// domain grant gives a value: the role and the lists are optional.
func wantAllSetExcept(t *testing.T, p *gatewayv1.ConsentGrant, g domain.ConsentGrant) {
	t.Helper()
	if p.GetConsentId() == "" || p.GetPatient() == "" || p.GetGrantee().GetMspId() == "" || p.GetScope() == nil ||
		len(p.GetPurposes()) != len(g.Purposes) || p.GetMaxConfidentiality() == 0 ||
		p.GetNotBefore() == nil || p.GetNotAfter() == nil || p.GetSequence() != g.Sequence {
		t.Errorf("converted grant misses a field: %v", p)
	}
	if (p.GetGrantee().GetRole() == 0) != (g.Grantee.Role == "") {
		t.Errorf("grantee role %v for %q", p.GetGrantee().GetRole(), g.Grantee.Role)
	}
}

func TestConsentGrantConvertsEveryField(t *testing.T) {
	g := validGrants()["a grant to one role for listed records and types"]
	wantProto(t, convert.ConsentGrant(g), &gatewayv1.ConsentGrant{
		ConsentId: "consent-0001", Patient: testPatient,
		Grantee: &gatewayv1.Grantee{MspId: "HospitalBMSP", Role: gatewayv1.Role_ROLE_CLINICIAN},
		Scope:   &gatewayv1.ConsentScope{RecordIds: []string{"rec-0001", "rec-0002"}, DocTypes: []string{"11506-3", "Observation"}},
		Purposes: []gatewayv1.PurposeOfUse{
			gatewayv1.PurposeOfUse_PURPOSE_OF_USE_CAREMGT, gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT,
		},
		MaxConfidentiality: gatewayv1.Confidentiality_CONFIDENTIALITY_R,
		NotBefore:          ts(t, "2026-01-01T00:00:00Z"), NotAfter: ts(t, "2026-12-31T23:59:59Z"), Sequence: 7,
	})
	wantAllSet(t, convert.ConsentGrant(fullGrant()))
}

// fullGrant is a grant with every field set, even all together with lists,
// which no valid grant has: the conversion maps fields, not rules.
func fullGrant() domain.ConsentGrant {
	g := validGrants()["a grant to one role for listed records and types"]
	g.Scope.All = true
	return g
}

func TestConsentGrantFromProtoKeepsOrderAndDuplicates(t *testing.T) {
	// The chaincode normalises; the conversion must not, or a grant signed
	// in another order by a tool that normalises differently would be
	// silently changed here rather than refused there.
	p := &gatewayv1.ConsentGrant{
		ConsentId: "consent-0001", Patient: testPatient,
		Grantee: &gatewayv1.Grantee{MspId: "Org2MSP", Role: gatewayv1.Role_ROLE_CLINICIAN},
		Scope:   &gatewayv1.ConsentScope{RecordIds: []string{"rec-0003", "rec-0001", "rec-0002", "rec-0001"}, DocTypes: []string{"Observation", "34133-9", "11506-3"}},
		Purposes: []gatewayv1.PurposeOfUse{
			gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT, gatewayv1.PurposeOfUse_PURPOSE_OF_USE_CAREMGT, gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT,
		},
		MaxConfidentiality: gatewayv1.Confidentiality_CONFIDENTIALITY_R,
		NotBefore:          ts(t, "2026-01-01T00:00:00Z"), NotAfter: ts(t, "2026-12-31T23:59:59Z"), Sequence: 7,
	}
	got, err := convert.ConsentGrantFromProto("grant", p)
	if err != nil {
		t.Fatal(err)
	}
	want := domain.ConsentGrant{
		ConsentID: "consent-0001", Patient: testPatient,
		Grantee:            domain.Grantee{MSPID: "Org2MSP", Role: domain.RoleClinician},
		Scope:              domain.Scope{RecordIDs: []string{"rec-0003", "rec-0001", "rec-0002", "rec-0001"}, DocTypes: []string{"Observation", "34133-9", "11506-3"}},
		Purposes:           []domain.Purpose{domain.PurposeTreatment, domain.PurposeCareManagement, domain.PurposeTreatment},
		MaxConfidentiality: domain.ConfRestricted,
		NotBefore:          "2026-01-01T00:00:00Z", NotAfter: "2026-12-31T23:59:59Z", Sequence: 7,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
	// The lists are copies: changing the proto afterwards changes nothing.
	p.Scope.RecordIds[0] = "rec-9999"
	p.Scope.DocTypes[0] = "Procedure"
	if got.Scope.RecordIDs[0] != "rec-0003" || got.Scope.DocTypes[0] != "Observation" {
		t.Error("the domain grant shares its lists with the proto")
	}
}

func TestConsentGrantFromProtoRefusesWhatItCannotRepresent(t *testing.T) {
	base := func() *gatewayv1.ConsentGrant {
		return convert.ConsentGrant(validGrants()["a grant to one role for listed records and types"])
	}
	tests := map[string]struct {
		path   string
		mutate func(g *gatewayv1.ConsentGrant)
		field  string
	}{
		"an unspecified purpose is named by its index": {
			path:   "grant",
			mutate: func(g *gatewayv1.ConsentGrant) { g.Purposes[1] = gatewayv1.PurposeOfUse_PURPOSE_OF_USE_UNSPECIFIED },
			field:  "grant.purposes[1]",
		},
		"an unknown purpose number is named by its index": {
			path:   "grant",
			mutate: func(g *gatewayv1.ConsentGrant) { g.Purposes[0] = 99 },
			field:  "grant.purposes[0]",
		},
		"an unspecified ceiling is refused": {
			path:   "grant",
			mutate: func(g *gatewayv1.ConsentGrant) { g.MaxConfidentiality = 0 },
			field:  "grant.max_confidentiality",
		},
		"an unknown ceiling is refused": {
			path:   "grant",
			mutate: func(g *gatewayv1.ConsentGrant) { g.MaxConfidentiality = -3 },
			field:  "grant.max_confidentiality",
		},
		"an unknown grantee role is refused": {
			path:   "grant",
			mutate: func(g *gatewayv1.ConsentGrant) { g.Grantee.Role = 42 },
			field:  "grant.grantee.role",
		},
		"an unset start of validity is refused": {
			path:   "grant",
			mutate: func(g *gatewayv1.ConsentGrant) { g.NotBefore = nil },
			field:  "grant.not_before",
		},
		"an unset end of validity is refused": {
			path:   "grant",
			mutate: func(g *gatewayv1.ConsentGrant) { g.NotAfter = nil },
			field:  "grant.not_after",
		},
		"a fraction of a second is refused, not truncated": {
			path:   "grant",
			mutate: func(g *gatewayv1.ConsentGrant) { g.NotAfter.Nanos = 500 },
			field:  "grant.not_after",
		},
		"a time after 9999 is refused": {
			path:   "grant",
			mutate: func(g *gatewayv1.ConsentGrant) { g.NotBefore = &timestamppb.Timestamp{Seconds: 1 << 40} },
			field:  "grant.not_before",
		},
		"an empty path names the bare field": {
			path:   "",
			mutate: func(g *gatewayv1.ConsentGrant) { g.Purposes[1] = 0 },
			field:  "purposes[1]",
		},
		"an unset grant has no ceiling": {
			path:   "grant",
			mutate: func(g *gatewayv1.ConsentGrant) { *g = gatewayv1.ConsentGrant{} },
			field:  "grant.max_confidentiality",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g := base()
			tc.mutate(g)
			got, err := convert.ConsentGrantFromProto(tc.path, g)
			wantFieldError(t, err, tc.field)
			if !reflect.DeepEqual(got, domain.ConsentGrant{}) {
				t.Errorf("got %+v with the error; want the zero grant", got)
			}
			// Nothing the patient wrote is echoed.
			for _, s := range []string{"consent-0001", testPatient, "HospitalBMSP", "rec-0001", "11506-3"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q echoes %q", err, s)
				}
			}
		})
	}
}

func TestConsentGrantFromProtoLeavesLedgerRulesToTheLedger(t *testing.T) {
	// An unset grantee and scope read as empty, as proto3 defines; the
	// ledger's Normalize then refuses them with its own field names.
	g := convert.ConsentGrant(validGrants()["a grant to one role for listed records and types"])
	g.Grantee, g.Scope, g.Sequence = nil, nil, 0
	got, err := convert.ConsentGrantFromProto("grant", g)
	if err != nil {
		t.Fatal(err)
	}
	if got.Grantee != (domain.Grantee{}) || got.Scope.All || got.Scope.RecordIDs != nil || got.Scope.DocTypes != nil {
		t.Errorf("grantee %+v, scope %+v; want both empty", got.Grantee, got.Scope)
	}
	if _, _, _, err := got.Normalize(); err == nil {
		t.Error("Normalize accepts a grant without grantee; the conversion would have to refuse it")
	}
}

func TestConsent(t *testing.T) {
	revokedAt := at(72 * time.Hour)
	sig := bytes.Repeat([]byte{0xa5}, 64)
	revSig := bytes.Repeat([]byte{0x5a}, 71)
	g := fullGrant()
	tests := map[string]struct {
		in   domain.Consent
		want *gatewayv1.Consent
		full bool
	}{
		"a revoked consent carries both signatures and transactions": {
			in: domain.Consent{
				Kind: domain.KindConsent, SchemaVersion: domain.SchemaVersion, ConsentGrant: g,
				Signature: base64.StdEncoding.EncodeToString(sig), Status: domain.ConsentRevoked,
				ValidFrom: at(0), ValidUntil: at(time.Hour), SubmittedBy: "HospitalAMSP",
				GrantedAt: at(0), GrantTxID: testTxID, RevokedAt: &revokedAt, RevokeTxID: testTxID2,
				RevokeSignature: base64.StdEncoding.EncodeToString(revSig),
			},
			want: &gatewayv1.Consent{
				Grant: convert.ConsentGrant(g), Signature: sig, Status: gatewayv1.ConsentStatus_CONSENT_STATUS_REVOKED,
				SubmittedBy: "HospitalAMSP", GrantedAt: timestamppb.New(at(0)), GrantTxId: testTxID,
				RevokedAt: timestamppb.New(revokedAt), RevokeTxId: testTxID2, RevokeSignature: revSig,
			},
			full: true,
		},
		"an active consent has no revocation": {
			in: domain.Consent{
				ConsentGrant: g, Signature: base64.StdEncoding.EncodeToString(sig), Status: domain.ConsentActive,
				SubmittedBy: "HospitalAMSP", GrantedAt: at(0), GrantTxID: testTxID,
			},
			want: &gatewayv1.Consent{
				Grant: convert.ConsentGrant(g), Signature: sig, Status: gatewayv1.ConsentStatus_CONSENT_STATUS_ACTIVE,
				SubmittedBy: "HospitalAMSP", GrantedAt: timestamppb.New(at(0)), GrantTxId: testTxID,
			},
		},
		"the reduced view of a revocation sets only ID, patient, grantee and status": {
			in: domain.Consent{
				ConsentGrant: domain.ConsentGrant{ConsentID: "consent-0002", Patient: testPatient, Grantee: domain.Grantee{MSPID: "Org3MSP"}},
				Status:       domain.ConsentRevoked,
			},
			want: &gatewayv1.Consent{
				Grant: &gatewayv1.ConsentGrant{
					ConsentId: "consent-0002", Patient: testPatient, Grantee: &gatewayv1.Grantee{MspId: "Org3MSP"},
				},
				Status: gatewayv1.ConsentStatus_CONSENT_STATUS_REVOKED,
			},
		},
		"a signature that is not base64 and an unknown status are left unset": {
			in: domain.Consent{
				ConsentGrant: domain.ConsentGrant{ConsentID: "consent-0002", NotBefore: "2026-01-01 00:00:00"},
				Signature:    "%%%", Status: "expired", RevokeSignature: "YQ",
			},
			want: &gatewayv1.Consent{Grant: &gatewayv1.ConsentGrant{ConsentId: "consent-0002"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := convert.Consent(tc.in)
			wantProto(t, got, tc.want)
			if tc.full {
				wantAllSet(t, got)
			}
		})
	}
}

func TestSignatureFromProto(t *testing.T) {
	tests := map[string]struct {
		in      []byte
		wantErr bool
	}{
		"an Ed25519 signature":             {in: bytes.Repeat([]byte{1}, 64)},
		"the longest signature, 150 bytes": {in: bytes.Repeat([]byte{2}, 150)},
		"no signature is refused":          {in: nil, wantErr: true},
		"151 bytes are refused":            {in: bytes.Repeat([]byte{3}, 151), wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := convert.SignatureFromProto("signature", tc.in)
			if tc.wantErr {
				wantFieldError(t, err, "signature")
				return
			}
			if err != nil || got != base64.StdEncoding.EncodeToString(tc.in) {
				t.Errorf("got %q, %v; want the standard base64 of the bytes", got, err)
			}
			if len(got) > 200 {
				t.Errorf("%d characters; the ledger takes at most 200", len(got))
			}
		})
	}
}

func TestConsentGrantDoesNotShareListsWithTheDomainGrant(t *testing.T) {
	g := validGrants()["a grant to one role for listed records and types"]
	p := convert.ConsentGrant(g)
	p.Scope.RecordIds[0] = "rec-9999"
	p.Scope.DocTypes[0] = "Procedure"
	if g.Scope.RecordIDs[0] != "rec-0001" || g.Scope.DocTypes[0] != "11506-3" {
		t.Error("changing the proto's lists changed the domain grant")
	}
}
