package convert_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/internal/server/convert"
)

// amendedErasedCopy is a record version with every field set.
func amendedErasedCopy() domain.Record {
	return domain.Record{
		Kind: domain.KindRecord, SchemaVersion: domain.SchemaVersion,
		RecordID: "rec-0002", Version: 3, Patient: testPatient, Custodian: "HospitalBMSP",
		Author:  domain.Author{Role: domain.RoleRecordsOfficer, CertFingerprint: testFingerprint},
		DocType: "11506-3", Confidentiality: domain.ConfRestricted, Commitment: testCommitment,
		AnchoredAt: at(0), TxID: testTxID, Status: domain.StatusErased,
		PreviousVersion: 2, AmendmentReason: domain.AmendLateEntry,
		DerivedFrom: &domain.DerivedFrom{Custodian: "HospitalAMSP", RecordID: "rec-0001", Version: 7},
		Erasure:     &domain.Erasure{Reason: domain.EraseLegalOrder, ErasedAt: at(time.Hour), TxID: testTxID2},
	}
}

func TestRecordEvidence(t *testing.T) {
	tests := map[string]struct {
		in   domain.Record
		want *gatewayv1.RecordEvidence
	}{
		"every field of an amended, erased copy is converted": {
			in: amendedErasedCopy(),
			want: &gatewayv1.RecordEvidence{
				RecordId: "rec-0002", Version: 3, Patient: testPatient, Custodian: "HospitalBMSP",
				Author:  &gatewayv1.Author{Role: gatewayv1.Role_ROLE_RECORDS_OFFICER, CertFingerprint: testFingerprint},
				DocType: "11506-3", Confidentiality: gatewayv1.Confidentiality_CONFIDENTIALITY_R, Commitment: testCommitment,
				AnchoredAt: timestamppb.New(at(0)), TxId: testTxID, Status: gatewayv1.RecordStatus_RECORD_STATUS_ERASED,
				PreviousVersion: 2, AmendmentReason: gatewayv1.AmendmentReason_AMENDMENT_REASON_LATE_ENTRY,
				DerivedFrom: &gatewayv1.DerivedFrom{Custodian: "HospitalAMSP", RecordId: "rec-0001", Version: 7},
				Erasure: &gatewayv1.Erasure{
					Reason: gatewayv1.ErasureReason_ERASURE_REASON_LEGAL_ORDER, ErasedAt: timestamppb.New(at(time.Hour)), TxId: testTxID2,
				},
			},
		},
		"version 1 has no previous version, reason, source or erasure": {
			in: domain.Record{
				RecordID: "rec-0001", Version: 1, Patient: testPatient, Custodian: "HospitalAMSP",
				Author:  domain.Author{Role: domain.RoleClinician, CertFingerprint: testFingerprint},
				DocType: "Observation", Confidentiality: domain.ConfNormal, Commitment: testCommitment,
				AnchoredAt: at(0), TxID: testTxID, Status: domain.StatusActive,
			},
			want: &gatewayv1.RecordEvidence{
				RecordId: "rec-0001", Version: 1, Patient: testPatient, Custodian: "HospitalAMSP",
				Author:  &gatewayv1.Author{Role: gatewayv1.Role_ROLE_CLINICIAN, CertFingerprint: testFingerprint},
				DocType: "Observation", Confidentiality: gatewayv1.Confidentiality_CONFIDENTIALITY_N, Commitment: testCommitment,
				AnchoredAt: timestamppb.New(at(0)), TxId: testTxID, Status: gatewayv1.RecordStatus_RECORD_STATUS_ACTIVE,
			},
		},
		"unknown codes, a zero time and an impossible version become unset": {
			in: domain.Record{
				RecordID: "rec-0001", Version: -1, Author: domain.Author{Role: "nurse"},
				Confidentiality: "X", Status: "archived", AmendmentReason: "TYPO", PreviousVersion: 1 << 40,
				Erasure: &domain.Erasure{Reason: "WHIM"},
			},
			want: &gatewayv1.RecordEvidence{
				RecordId: "rec-0001", Author: &gatewayv1.Author{}, Erasure: &gatewayv1.Erasure{},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			wantProto(t, convert.RecordEvidence(tc.in), tc.want)
		})
	}
}

func TestRecordEvidenceSetsEveryField(t *testing.T) {
	wantAllSet(t, convert.RecordEvidence(amendedErasedCopy()))
}

func TestDerivedFromRoundTrips(t *testing.T) {
	tests := map[string]*domain.DerivedFrom{
		"no source stays none":       nil,
		"a source keeps every field": {Custodian: "HospitalAMSP", RecordID: "rec-0001", Version: 1_000_000},
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			p := convert.DerivedFrom(in)
			if (p == nil) != (in == nil) {
				t.Fatalf("DerivedFrom(%v) = %v", in, p)
			}
			got, err := convert.DerivedFromFromProto("metadata.derived_from", p)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, in) {
				t.Errorf("round trip gives %+v; want %+v", got, in)
			}
		})
	}
}

func TestDerivedFromFromProtoLeavesRulesToTheLedger(t *testing.T) {
	// Version 0 and an empty custodian are AnchorRequest.Validate's to
	// refuse; the conversion keeps them so that the ledger names them.
	got, err := convert.DerivedFromFromProto("metadata.derived_from", &gatewayv1.DerivedFrom{RecordId: "rec-0001"})
	if err != nil {
		t.Fatal(err)
	}
	want := &domain.DerivedFrom{RecordID: "rec-0001"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v; want %+v", got, want)
	}
	if err := (domain.AnchorRequest{
		RecordID: "rec-0002", Patient: testPatient, DocType: "11506-3", Confidentiality: domain.ConfNormal,
		Commitment: testCommitment, DerivedFrom: got,
	}).Validate(); err == nil {
		t.Error("the ledger accepts a source without a custodian; the conversion would have to check it")
	}
}

// fullAccessEvent is an access event with every field set, even those
// that no single decision sets together.
func fullAccessEvent() domain.AccessEvent {
	yes := true
	return domain.AccessEvent{
		Kind: domain.KindAccessEvent, SchemaVersion: domain.SchemaVersion,
		TxID: testTxID, At: at(0), RecordID: "rec-0001", Version: 2, Custodian: "HospitalAMSP", Patient: testPatient,
		Requester: domain.Requester{MSPID: "HospitalBMSP", Role: domain.RoleClinician, CertFingerprint: testFingerprint},
		Purpose:   domain.PurposeEmergencyTreatment, Decision: domain.DecisionEmergency,
		Basis: &domain.Basis{
			Type: domain.BasisBreakTheGlass, ConsentID: "consent-0001",
			JustificationCode: domain.JustifyLifeThreatening, JustificationHash: testHash,
		},
		DenialReason: domain.DenyConsentExpired, CareRelationship: &yes,
		Alerts: []domain.Alert{domain.AlertEmergency, domain.AlertDenialBurst},
	}
}

func TestAccessEvent(t *testing.T) {
	no := false
	requester := domain.Requester{MSPID: "HospitalBMSP", Role: domain.RoleResearcher, CertFingerprint: testFingerprint}
	protoRequester := &gatewayv1.Requester{MspId: "HospitalBMSP", Role: gatewayv1.Role_ROLE_RESEARCHER, CertFingerprint: testFingerprint}
	tests := map[string]struct {
		in   domain.AccessEvent
		want *gatewayv1.AccessEvent
	}{
		"a grant on a consent names the consent": {
			in: domain.AccessEvent{
				TxID: testTxID, At: at(0), RecordID: "rec-0001", Version: 1, Custodian: "HospitalAMSP", Patient: testPatient,
				Requester: requester, Purpose: domain.PurposeResearch, Decision: domain.DecisionGranted,
				Basis: &domain.Basis{Type: domain.BasisConsent, ConsentID: "consent-0001"},
			},
			want: &gatewayv1.AccessEvent{
				TxId: testTxID, At: timestamppb.New(at(0)), RecordId: "rec-0001", Version: 1, Custodian: "HospitalAMSP", Patient: testPatient,
				Requester: protoRequester, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_HRESCH, Decision: gatewayv1.Decision_DECISION_GRANTED,
				Basis: &gatewayv1.AccessBasis{Type: gatewayv1.BasisType_BASIS_TYPE_CONSENT, ConsentId: "consent-0001"},
			},
		},
		"a denial returned to the requester has a reason and no patient or basis": {
			in: domain.AccessEvent{
				TxID: testTxID, At: at(0), RecordID: "rec-0001", Version: 4, Custodian: "HospitalAMSP",
				Requester: requester, Purpose: domain.PurposeTreatment, Decision: domain.DecisionDenied,
				DenialReason: domain.DenyPurposeNotCovered, Alerts: []domain.Alert{domain.AlertDenialBurst},
			},
			want: &gatewayv1.AccessEvent{
				TxId: testTxID, At: timestamppb.New(at(0)), RecordId: "rec-0001", Version: 4, Custodian: "HospitalAMSP",
				Requester: protoRequester, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT, Decision: gatewayv1.Decision_DECISION_DENIED,
				DenialReason: gatewayv1.DenialReason_DENIAL_REASON_PURPOSE_NOT_COVERED,
				Alerts:       []gatewayv1.Alert{gatewayv1.Alert_ALERT_DENIAL_BURST},
			},
		},
		"a staff read outside the care relationship is false with its alert": {
			in: domain.AccessEvent{
				TxID: testTxID, At: at(0), RecordID: "rec-0001", Version: 1, Custodian: "HospitalAMSP", Patient: testPatient,
				Requester: requester, Purpose: domain.PurposeOperations, Decision: domain.DecisionGranted,
				Basis: &domain.Basis{Type: domain.BasisCustodianStaff}, CareRelationship: &no,
				Alerts: []domain.Alert{domain.AlertOutsideCare},
			},
			want: &gatewayv1.AccessEvent{
				TxId: testTxID, At: timestamppb.New(at(0)), RecordId: "rec-0001", Version: 1, Custodian: "HospitalAMSP", Patient: testPatient,
				Requester: protoRequester, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_HOPERAT, Decision: gatewayv1.Decision_DECISION_GRANTED,
				Basis:  &gatewayv1.AccessBasis{Type: gatewayv1.BasisType_BASIS_TYPE_CUSTODIAN_STAFF},
				Alerts: []gatewayv1.Alert{gatewayv1.Alert_ALERT_OUTSIDE_CARE_RELATIONSHIP},
			},
		},
		"an emergency access carries its justification and alert": {
			in: domain.AccessEvent{
				TxID: testTxID, At: at(0), RecordID: "rec-0001", Version: 1, Custodian: "HospitalAMSP", Patient: testPatient,
				Requester: requester, Purpose: domain.PurposeEmergencyTreatment, Decision: domain.DecisionEmergency,
				Basis:  &domain.Basis{Type: domain.BasisBreakTheGlass, JustificationCode: domain.JustifyUnableToConsent, JustificationHash: testHash},
				Alerts: []domain.Alert{domain.AlertEmergency},
			},
			want: &gatewayv1.AccessEvent{
				TxId: testTxID, At: timestamppb.New(at(0)), RecordId: "rec-0001", Version: 1, Custodian: "HospitalAMSP", Patient: testPatient,
				Requester: protoRequester, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_ETREAT, Decision: gatewayv1.Decision_DECISION_EMERGENCY,
				Basis: &gatewayv1.AccessBasis{
					Type: gatewayv1.BasisType_BASIS_TYPE_BREAK_THE_GLASS, JustificationCode: gatewayv1.JustificationCode_JUSTIFICATION_CODE_PATIENT_UNABLE_TO_CONSENT,
					JustificationHash: testHash,
				},
				Alerts: []gatewayv1.Alert{gatewayv1.Alert_ALERT_EMERGENCY_ACCESS},
			},
		},
		"an unknown alert is kept as unspecified, so the count stays": {
			in: domain.AccessEvent{
				TxID: testTxID, Requester: requester, Decision: "MAYBE",
				Alerts: []domain.Alert{"NEW_ALERT", domain.AlertEmergency},
			},
			want: &gatewayv1.AccessEvent{
				TxId: testTxID, Requester: protoRequester,
				Alerts: []gatewayv1.Alert{gatewayv1.Alert_ALERT_UNSPECIFIED, gatewayv1.Alert_ALERT_EMERGENCY_ACCESS},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			wantProto(t, convert.AccessEvent(tc.in), tc.want)
		})
	}
}

func TestAccessEventSetsEveryField(t *testing.T) {
	wantAllSet(t, convert.AccessEvent(fullAccessEvent()))
}

func TestAccessEventDoesNotShareTheAlertsList(t *testing.T) {
	ev := fullAccessEvent()
	p := convert.AccessEvent(ev)
	p.Alerts[0] = gatewayv1.Alert_ALERT_UNSPECIFIED
	if ev.Alerts[0] != domain.AlertEmergency {
		t.Error("changing the proto's alerts changed the domain event")
	}
}

func TestPatient(t *testing.T) {
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		pub     any
		alg     string
		wantAlg gatewayv1.KeyAlgorithm
	}{
		"an Ed25519 key":     {pub: edKey.Public(), alg: domain.AlgEd25519, wantAlg: gatewayv1.KeyAlgorithm_KEY_ALGORITHM_ED25519},
		"an ECDSA P-256 key": {pub: ecKey.Public(), alg: domain.AlgECDSAP256, wantAlg: gatewayv1.KeyAlgorithm_KEY_ALGORITHM_ECDSA_P256},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			der, err := x509.MarshalPKIXPublicKey(tc.pub)
			if err != nil {
				t.Fatal(err)
			}
			key, err := domain.ParsePatientKey("publicKey", base64.StdEncoding.EncodeToString(der))
			if err != nil {
				t.Fatal(err)
			}
			if key.Algorithm != tc.alg {
				t.Fatalf("ParsePatientKey algorithm %q; want %q", key.Algorithm, tc.alg)
			}
			in := domain.Patient{
				Kind: domain.KindPatient, SchemaVersion: domain.SchemaVersion,
				Pseudonym: key.Pseudonym(), PublicKey: key.Base64(), KeyAlgorithm: key.Algorithm,
				KeyVersion: 3, Sequence: 1<<64 - 1, RegisteredBy: "HospitalAMSP",
				RegisteredAt: at(0), UpdatedAt: at(48 * time.Hour),
			}
			got := convert.Patient(in)
			wantProto(t, got, &gatewayv1.Patient{
				Pseudonym: key.Pseudonym(), PublicKey: der, KeyAlgorithm: tc.wantAlg,
				KeyVersion: 3, Sequence: 1<<64 - 1, RegisteredBy: "HospitalAMSP",
				RegisteredAt: timestamppb.New(at(0)), UpdatedAt: timestamppb.New(at(48 * time.Hour)),
			})
			wantAllSet(t, got)

			// The key goes back to the ledger as the same base64 text: the
			// string a key rotation signs.
			b64, err := convert.PublicKeyFromProto("new_public_key", got.GetPublicKey())
			if err != nil || b64 != in.PublicKey {
				t.Errorf("PublicKeyFromProto = %q, %v; want %q", b64, err, in.PublicKey)
			}
		})
	}
}

func TestPatientLeavesAKeyThatIsNotBase64Empty(t *testing.T) {
	got := convert.Patient(domain.Patient{Pseudonym: testPatient, PublicKey: "not base64!", KeyAlgorithm: "RSA"})
	if got.GetPublicKey() != nil || got.GetKeyAlgorithm() != gatewayv1.KeyAlgorithm_KEY_ALGORITHM_UNSPECIFIED {
		t.Errorf("key %x, algorithm %v; want none, UNSPECIFIED", got.GetPublicKey(), got.GetKeyAlgorithm())
	}
}

func TestPublicKeyFromProtoRefusesWhatTheLedgerRefuses(t *testing.T) {
	rsaLike := []byte{0x30, 0x03, 0x02, 0x01, 0x00}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384DER, err := x509.MarshalPKIXPublicKey(p384.Public())
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string][]byte{
		"no key":                    nil,
		"bytes that are not PKIX":   rsaLike,
		"an ECDSA key on P-384":     p384DER,
		"a key longer than the cap": make([]byte, 400),
	}
	for name, der := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := convert.PublicKeyFromProto("public_key", der)
			wantFieldError(t, err, "public_key")
			if got != "" {
				t.Errorf("got %q with the error", got)
			}
		})
	}
}

func TestDirectoryEntry(t *testing.T) {
	in := domain.OrgEndpoint{
		Kind: domain.KindOrgEndpoint, SchemaVersion: domain.SchemaVersion,
		MSPID: "HospitalAMSP", Endpoint: "127.0.0.1:7443",
		TLSCACertPEM: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
		UpdatedAt:    at(0), TxID: testTxID,
	}
	got := convert.DirectoryEntry(in)
	wantProto(t, got, &gatewayv1.DirectoryEntry{
		MspId: "HospitalAMSP", Endpoint: "127.0.0.1:7443", TlsCaCertPem: in.TLSCACertPEM,
		UpdatedAt: timestamppb.New(at(0)), TxId: testTxID,
	})
	wantAllSet(t, got)
}
