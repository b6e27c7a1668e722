package server_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/gateway/devup"
	"github.com/medprov/medprov/gateway/internal/config"
	"github.com/medprov/medprov/gateway/internal/server/convert"
	"github.com/medprov/medprov/internal/devca"
	"github.com/medprov/medprov/internal/devnet"
)

// axEnv is a development consortium for the access and exchange tests,
// whose helpers fail the test function that started it.
type axEnv struct {
	t   *testing.T
	ctx context.Context
	f   *fixture
}

// axTicketTTL is the access-ticket lifetime of the health authority's
// gateway in axStart's consortium, short enough to test expiry.
const axTicketTTL = time.Second

// axStart starts a consortium whose health authority honours tickets for
// axTicketTTL only; the hospitals keep the default lifetime.
func axStart(t *testing.T) *axEnv {
	t.Helper()
	f := newFixture(t, devup.WithConfig(func(msp string, cfg *config.Config) {
		if msp == devnet.HealthAuthority {
			cfg.Exchange.AccessTicketTTL = axTicketTTL
		}
	}))
	return &axEnv{t: t, ctx: context.Background(), f: f}
}

// conn, access and records connect to msp's gateway as its wallet user
// name ("" for a certificate outside the wallet).
func (e *axEnv) conn(msp, name string) *grpc.ClientConn { return e.f.conn(e.t, msp, name) }

func (e *axEnv) access(msp, name string) gatewayv1.AccessServiceClient {
	return e.f.access(e.t, msp, name)
}

func (e *axEnv) records(msp, name string) gatewayv1.RecordServiceClient {
	return e.f.records(e.t, msp, name)
}

// patient registers a new synthetic patient through msp's clinician.
func (e *axEnv) patient(msp string) *devnet.Patient { return e.f.register(e.t, msp) }

// consent has patient p grant grantee (every role) access to all its
// records up to confidentiality N for treatment, signed as `medprov
// consent sign` signs, and carried by msp's clinician. sequence is the
// patient's next one.
func (e *axEnv) consent(msp string, p *devnet.Patient, grantee string, sequence uint64) {
	e.t.Helper()
	g := newGrant(p, fmt.Sprintf("consent-%s-%d", p.Pseudonym[3:11], sequence), grantee, sequence)
	g.Grantee.Role = gatewayv1.Role_ROLE_UNSPECIFIED
	e.f.grant(e.t, msp, p, g)
}

// addRecord stores content as a new record of patient p at msp, as its
// clinician, under an ID the gateway makes up.
func (e *axEnv) addRecord(msp string, p *devnet.Patient, content []byte) *gatewayv1.AddRecordResponse {
	e.t.Helper()
	return addRecord(e.t, e.records(msp, "clinician"), recordMetadata("", p.Pseudonym), content)
}

// download reads the latest version of a record held by msp as its user
// name; it returns the content, or the error of the call.
func (e *axEnv) download(msp, name, recordID string) ([]byte, *gatewayv1.RecordHeader, error) {
	e.t.Helper()
	hdr, content, _, err := getRecord(e.ctx, e.records(msp, name), readRequest(recordID, 0))
	return content, hdr, err
}

// request asks for access as msp's user name and checks the decision.
func (e *axEnv) request(msp, name string, req *gatewayv1.RequestAccessRequest, want gatewayv1.Decision) *gatewayv1.AccessEvent {
	e.t.Helper()
	return e.f.request(e.t, msp, name, req, want)
}

// trailLen counts the access events an auditor sees for requester msp.
func (e *axEnv) trailLen(msp string) int {
	e.t.Helper()
	return len(listTrail(e.t, e.f.audit(e.t, devnet.HealthAuthority, "auditor"), &gatewayv1.TrailFilter{RequesterMspId: msp}, 1000))
}

// pending returns the number of record versions msp's gateway has not
// finished anchoring.
func (e *axEnv) pending(msp string) uint64 {
	e.t.Helper()
	res, err := e.f.admin(e.t, msp, "admin").Status(e.ctx, &gatewayv1.StatusRequest{})
	if err != nil {
		e.t.Fatalf("Status: %v", err)
	}
	return res.GetRecordsPending()
}

// notStored checks that msp's gateway holds no record recordID, neither
// in its store nor on the ledger.
func (e *axEnv) notStored(msp, recordID string) {
	e.t.Helper()
	if _, _, err := e.download(msp, "officer", recordID); status.Code(err) != codes.NotFound {
		e.t.Errorf("GetRecord of %s: %v, want NotFound", recordID, err)
	}
	_, err := e.records(msp, "officer").GetReceipt(e.ctx, &gatewayv1.GetReceiptRequest{RecordId: recordID})
	if status.Code(err) != codes.NotFound {
		e.t.Errorf("GetReceipt of %s: %v, want NotFound", recordID, err)
	}
	if n := e.pending(msp); n != 0 {
		e.t.Errorf("%d record versions pending at %s, want 0", n, msp)
	}
}

// userConn connects to gateway msp with the signing certificate of user
// name of organisation userMSP: another organisation's gateway presenting
// its user, as the exchange does.
func (e *axEnv) userConn(msp, userMSP, name string) *grpc.ClientConn {
	e.t.Helper()
	id, err := devca.LoadIdentity(userMSP, filepath.Join(e.f.c.Org(userMSP).UserDir(name), "msp"))
	if err != nil {
		e.t.Fatal(err)
	}
	return e.dialWith(msp, id.CertPEM, id.KeyPEM)
}

func (e *axEnv) dialWith(msp string, certPEM, keyPEM []byte) *grpc.ClientConn {
	e.t.Helper()
	caPEM, err := os.ReadFile(e.f.c.Org(msp).TLSCAFile)
	if err != nil {
		e.t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		e.t.Fatal("no TLS CA")
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		e.t.Fatal(err)
	}
	conn, err := grpc.NewClient(e.f.c.Org(msp).Addrs.GRPC, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
		MinVersion: tls.VersionTLS13, RootCAs: roots, Certificates: []tls.Certificate{cert}, ServerName: "127.0.0.1"})))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// TestFetchRecordFlow runs flow 3 end to end between real gateways over
// mTLS: hospital A holds a record of a patient who consented to hospital
// B; B asks, fetches, verifies and keeps an anchored copy; and every way a
// ticket can be unusable is refused without a copy.
func TestFetchRecordFlow(t *testing.T) {
	t.Parallel()
	e := axStart(t)
	a, b, ha := devnet.HospitalA, devnet.HospitalB, devnet.HealthAuthority
	p := e.patient(a)
	e.consent(a, p, b, 1)
	doc := document(41, 150<<10)
	src := e.addRecord(a, p, doc)
	recordID := src.GetEvidence().GetRecordId()

	t.Run("a granted request is fetched, verified and kept as an anchored copy", func(t *testing.T) {
		ev := e.request(b, "clinician", treat(recordID), gatewayv1.Decision_DECISION_GRANTED)
		if ev.GetCustodian() != a || ev.GetPatient() != p.Pseudonym || ev.GetVersion() != 1 ||
			ev.GetRequester().GetMspId() != b || ev.GetBasis().GetType() != gatewayv1.BasisType_BASIS_TYPE_CONSENT {
			t.Fatalf("event %v", ev)
		}
		res, err := e.access(b, "clinician").FetchRecord(e.ctx, &gatewayv1.FetchRecordRequest{AccessTxId: ev.GetTxId()})
		if err != nil {
			t.Fatalf("FetchRecord: %v", err)
		}
		want := src.GetEvidence()
		if s := res.GetSource(); s.GetRecordId() != recordID || s.GetVersion() != 1 || s.GetCustodian() != a ||
			s.GetCommitment() != want.GetCommitment() || s.GetTxId() != want.GetTxId() || s.GetPatient() != p.Pseudonym ||
			s.GetStatus() != gatewayv1.RecordStatus_RECORD_STATUS_ACTIVE {
			t.Errorf("source %v, want the evidence %v", s, want)
		}
		cp := res.GetCopy()
		if cp.GetCustodian() != b || cp.GetVersion() != 1 || cp.GetPatient() != p.Pseudonym || cp.GetDocType() != want.GetDocType() ||
			cp.GetConfidentiality() != want.GetConfidentiality() || !strings.HasPrefix(cp.GetRecordId(), "r-") || len(cp.GetRecordId()) != 26 ||
			cp.GetAuthor().GetRole() != gatewayv1.Role_ROLE_CLINICIAN || cp.GetStatus() != gatewayv1.RecordStatus_RECORD_STATUS_ACTIVE {
			t.Errorf("copy %v", cp)
		}
		if d := cp.GetDerivedFrom(); d.GetCustodian() != a || d.GetRecordId() != recordID || d.GetVersion() != 1 {
			t.Errorf("copy derived from %v, want %s %s 1", d, a, recordID)
		}
		if res.GetSize() != uint64(len(doc)) {
			t.Errorf("size %d, want %d", res.GetSize(), len(doc))
		}
		rc, err := convert.ReceiptFromProto("receipt", res.GetReceipt())
		if err != nil {
			t.Fatalf("receipt: %v", err)
		}
		if rc.RecordID != cp.GetRecordId() || rc.Custodian != b || rc.TxID != cp.GetTxId() || rc.Commitment != cp.GetCommitment() || rc.BlockNumber == 0 {
			t.Errorf("receipt %v does not describe the copy %v", rc, cp)
		}
		if res, err := rc.Check(bytes.NewReader(doc)); err != nil || !res.Match {
			t.Errorf("the receipt does not check the document: %v, %v", res.Match, err)
		}
		got, hdr, err := e.download(b, "clinician", cp.GetRecordId())
		if err != nil {
			t.Fatalf("GetRecord of the copy: %v", err)
		}
		if !bytes.Equal(got, doc) {
			t.Errorf("the copy's content differs from the source (%d bytes, want %d)", len(got), len(doc))
		}
		if hdr.GetEvidence().GetDerivedFrom().GetRecordId() != recordID {
			t.Errorf("downloaded copy evidence %v has no derived_from", hdr.GetEvidence())
		}

		t.Run("and a replayed ticket is refused as used", func(t *testing.T) {
			_, err := e.access(b, "clinician").FetchRecord(e.ctx, &gatewayv1.FetchRecordRequest{AccessTxId: ev.GetTxId(), CopyRecordId: "copy-replayed"})
			wantStatus(t, err, codes.FailedPrecondition, "")
			e.notStored(b, "copy-replayed")
		})
	})

	t.Run("a ticket presented with another certificate of the organisation is refused and stays usable", func(t *testing.T) {
		ev := e.request(b, "clinician", treat(recordID), gatewayv1.Decision_DECISION_GRANTED)
		_, err := e.access(b, "officer").FetchRecord(e.ctx, &gatewayv1.FetchRecordRequest{AccessTxId: ev.GetTxId(), CopyRecordId: "copy-by-officer"})
		wantStatus(t, err, codes.PermissionDenied, "")
		e.notStored(b, "copy-by-officer")
		res, err := e.access(b, "clinician").FetchRecord(e.ctx, &gatewayv1.FetchRecordRequest{AccessTxId: ev.GetTxId(), CopyRecordId: "copy-by-requester"})
		if err != nil {
			t.Fatalf("FetchRecord by the requester afterwards: %v", err)
		}
		if res.GetCopy().GetRecordId() != "copy-by-requester" {
			t.Errorf("copy ID %s, want copy-by-requester", res.GetCopy().GetRecordId())
		}
	})

	other := e.patient(a)
	unconsented := e.addRecord(a, other, document(42, 1000)).GetEvidence().GetRecordId()

	t.Run("a denied request is answered and refused before the network", func(t *testing.T) {
		ev := e.request(b, "clinician", treat(unconsented), gatewayv1.Decision_DECISION_DENIED)
		if ev.GetPatient() != "" || ev.GetDenialReason() != gatewayv1.DenialReason_DENIAL_REASON_NO_CONSENT {
			t.Errorf("denied event %v: want no patient and reason NO_CONSENT", ev)
		}
		_, err := e.access(b, "clinician").FetchRecord(e.ctx, &gatewayv1.FetchRecordRequest{AccessTxId: ev.GetTxId(), CopyRecordId: "copy-denied"})
		// The custodian would answer PERMISSION_DENIED: FAILED_PRECONDITION
		// with this message is the requester's own refusal.
		wantStatus(t, err, codes.FailedPrecondition, "")
		if !strings.Contains(status.Convert(err).Message(), "denied") {
			t.Errorf("message %q", status.Convert(err).Message())
		}
		e.notStored(b, "copy-denied")
	})

	t.Run("a break-the-glass access is fetched", func(t *testing.T) {
		sum := sha256.Sum256([]byte("synthetic justification"))
		ev := e.request(b, "clinician", &gatewayv1.RequestAccessRequest{RecordId: unconsented,
			Purpose:           gatewayv1.PurposeOfUse_PURPOSE_OF_USE_ETREAT,
			JustificationCode: gatewayv1.JustificationCode_JUSTIFICATION_CODE_LIFE_THREATENING,
			JustificationHash: hex.EncodeToString(sum[:])}, gatewayv1.Decision_DECISION_EMERGENCY)
		if ev.GetBasis().GetJustificationHash() != hex.EncodeToString(sum[:]) || len(ev.GetAlerts()) != 1 {
			t.Errorf("emergency event %v", ev)
		}
		res, err := e.access(b, "clinician").FetchRecord(e.ctx, &gatewayv1.FetchRecordRequest{AccessTxId: ev.GetTxId()})
		if err != nil {
			t.Fatalf("FetchRecord: %v", err)
		}
		if res.GetCopy().GetPatient() != other.Pseudonym || res.GetSize() != 1000 {
			t.Errorf("copy %v of size %d", res.GetCopy(), res.GetSize())
		}
	})

	authorityRecord := e.addRecord(ha, p, document(43, 2000)).GetEvidence().GetRecordId()

	t.Run("a ticket presented to another custodian than the record's is unknown there", func(t *testing.T) {
		ev := e.request(b, "clinician", treat(authorityRecord), gatewayv1.Decision_DECISION_GRANTED)
		x := gatewayv1.NewExchangeServiceClient(e.userConn(a, b, "clinician"))
		s, err := x.FetchForAccessTicket(e.ctx, &gatewayv1.FetchForAccessTicketRequest{AccessTxId: ev.GetTxId()})
		if err == nil {
			_, err = s.Recv()
		}
		wantStatus(t, err, codes.NotFound, "")
	})

	t.Run("an expired ticket is refused", func(t *testing.T) {
		ev := e.request(b, "clinician", treat(authorityRecord), gatewayv1.Decision_DECISION_GRANTED)
		time.Sleep(axTicketTTL + 500*time.Millisecond)
		_, err := e.access(b, "clinician").FetchRecord(e.ctx, &gatewayv1.FetchRecordRequest{AccessTxId: ev.GetTxId(), CopyRecordId: "copy-expired"})
		wantStatus(t, err, codes.FailedPrecondition, "")
		if !strings.Contains(status.Convert(err).Message(), "expired") {
			t.Errorf("message %q", status.Convert(err).Message())
		}
		e.notStored(b, "copy-expired")
	})

	t.Run("a record erased after the grant is refused", func(t *testing.T) {
		erased := e.addRecord(a, p, document(44, 500)).GetEvidence().GetRecordId()
		ev := e.request(b, "clinician", treat(erased), gatewayv1.Decision_DECISION_GRANTED)
		if _, err := e.records(a, "officer").EraseRecord(e.ctx, &gatewayv1.EraseRecordRequest{RecordId: erased,
			Reason: gatewayv1.ErasureReason_ERASURE_REASON_PATIENT_REQUEST}); err != nil {
			t.Fatalf("EraseRecord: %v", err)
		}
		_, err := e.access(b, "clinician").FetchRecord(e.ctx, &gatewayv1.FetchRecordRequest{AccessTxId: ev.GetTxId(), CopyRecordId: "copy-erased"})
		wantStatus(t, err, codes.FailedPrecondition, "")
		e.notStored(b, "copy-erased")
	})

	t.Run("a read logged by the custodian's own staff is not a ticket", func(t *testing.T) {
		res, err := e.access(a, "clinician").LogAccess(e.ctx, &gatewayv1.LogAccessRequest{RecordId: recordID,
			Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT, CareRelationship: true})
		if err != nil {
			t.Fatalf("LogAccess: %v", err)
		}
		_, err = e.access(a, "clinician").FetchRecord(e.ctx, &gatewayv1.FetchRecordRequest{AccessTxId: res.GetEvent().GetTxId()})
		wantStatus(t, err, codes.FailedPrecondition, "")
	})

	t.Run("another organisation's ticket is not found", func(t *testing.T) {
		ev := e.request(b, "clinician", treat(recordID), gatewayv1.Decision_DECISION_GRANTED)
		_, err := e.access(ha, "clinician").FetchRecord(e.ctx, &gatewayv1.FetchRecordRequest{AccessTxId: ev.GetTxId()})
		wantStatus(t, err, codes.NotFound, "")
	})
}

// TestAccessBadInput sends every AccessService RPC malformed requests,
// unknown identifiers and callers that may not call it: each is refused
// with a code and a message naming the field, and changes nothing.
func TestAccessBadInput(t *testing.T) {
	t.Parallel()
	e := axStart(t)
	a, b := devnet.HospitalA, devnet.HospitalB
	p := e.patient(a)
	e.consent(a, p, b, 1)
	recordID := e.addRecord(a, p, document(45, 300)).GetEvidence().GetRecordId()
	ticket := e.request(b, "clinician", treat(recordID), gatewayv1.Decision_DECISION_GRANTED).GetTxId()
	hash := strings.Repeat("ab", 32)
	stranger := e.conn(b, "")
	beforeA, beforeB := e.trailLen(a), e.trailLen(b)

	requests := map[string]struct {
		conn  *grpc.ClientConn
		req   *gatewayv1.RequestAccessRequest
		code  codes.Code
		field string
	}{
		"an empty record ID is refused": {
			req: &gatewayv1.RequestAccessRequest{Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT}, code: codes.InvalidArgument, field: "record_id"},
		"a record ID too long is refused": {
			req: treat(strings.Repeat("r", 65)), code: codes.InvalidArgument, field: "record_id"},
		"a record ID with a slash is refused": {
			req: treat("rec/1"), code: codes.InvalidArgument, field: "record_id"},
		"a missing purpose is refused": {
			req: &gatewayv1.RequestAccessRequest{RecordId: recordID}, code: codes.InvalidArgument, field: "purpose"},
		"an unknown purpose number is refused": {
			req: &gatewayv1.RequestAccessRequest{RecordId: recordID, Purpose: 99}, code: codes.InvalidArgument, field: "purpose"},
		"a justification without purpose ETREAT is refused": {
			req: &gatewayv1.RequestAccessRequest{RecordId: recordID, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT,
				JustificationCode: gatewayv1.JustificationCode_JUSTIFICATION_CODE_LIFE_THREATENING}, code: codes.InvalidArgument, field: "justification_code"},
		"an unknown justification code is refused": {
			req: &gatewayv1.RequestAccessRequest{RecordId: recordID, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_ETREAT,
				JustificationCode: 42}, code: codes.InvalidArgument, field: "justification_code"},
		"a justification hash without a code is refused": {
			req: &gatewayv1.RequestAccessRequest{RecordId: recordID, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_ETREAT,
				JustificationHash: hash}, code: codes.InvalidArgument, field: "justification_hash"},
		"an upper-case justification hash is refused": {
			req: &gatewayv1.RequestAccessRequest{RecordId: recordID, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_ETREAT,
				JustificationCode: gatewayv1.JustificationCode_JUSTIFICATION_CODE_LIFE_THREATENING, JustificationHash: strings.ToUpper(hash)},
			code: codes.InvalidArgument, field: "justification_hash"},
		"an unknown record is not found": {
			req: treat("no-such-record"), code: codes.NotFound},
		"the caller's own organisation's record is refused": {
			conn: e.conn(a, "clinician"), req: treat(recordID), code: codes.FailedPrecondition},
		"an auditor may not ask": {
			conn: e.conn(b, "auditor"), req: treat(recordID), code: codes.PermissionDenied},
		"a certificate in no wallet is refused": {
			conn: stranger, req: treat(recordID), code: codes.PermissionDenied},
	}
	for name, tc := range requests {
		t.Run("RequestAccess: "+name, func(t *testing.T) {
			conn := cmp.Or(tc.conn, e.conn(b, "clinician"))
			_, err := gatewayv1.NewAccessServiceClient(conn).RequestAccess(e.ctx, tc.req)
			wantStatus(t, err, tc.code, tc.field)
		})
	}

	logs := map[string]struct {
		conn  *grpc.ClientConn
		req   *gatewayv1.LogAccessRequest
		code  codes.Code
		field string
	}{
		"an empty record ID is refused": {
			req: &gatewayv1.LogAccessRequest{Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT}, code: codes.InvalidArgument, field: "record_id"},
		"a version above the chaincode's limit is refused": {
			req: &gatewayv1.LogAccessRequest{RecordId: recordID, Version: 1_000_001, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT}, code: codes.InvalidArgument, field: "version"},
		"a missing purpose is refused": {
			req: &gatewayv1.LogAccessRequest{RecordId: recordID}, code: codes.InvalidArgument, field: "purpose"},
		"an unknown purpose number is refused": {
			req: &gatewayv1.LogAccessRequest{RecordId: recordID, Purpose: 77}, code: codes.InvalidArgument, field: "purpose"},
		"a version that does not exist is not found": {
			req: &gatewayv1.LogAccessRequest{RecordId: recordID, Version: 9, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT}, code: codes.NotFound},
		"another organisation's record is not found": {
			conn: e.conn(b, "clinician"), req: &gatewayv1.LogAccessRequest{RecordId: recordID, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT}, code: codes.NotFound},
		"an auditor may not log": {
			conn: e.conn(a, "auditor"), req: &gatewayv1.LogAccessRequest{RecordId: recordID, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT}, code: codes.PermissionDenied},
	}
	for name, tc := range logs {
		t.Run("LogAccess: "+name, func(t *testing.T) {
			conn := cmp.Or(tc.conn, e.conn(a, "clinician"))
			_, err := gatewayv1.NewAccessServiceClient(conn).LogAccess(e.ctx, tc.req)
			wantStatus(t, err, tc.code, tc.field)
		})
	}

	anchorTx := e.addRecord(b, p, document(46, 100))
	fetches := map[string]struct {
		conn  *grpc.ClientConn
		req   *gatewayv1.FetchRecordRequest
		code  codes.Code
		field string
	}{
		"an empty ticket is refused": {
			req: &gatewayv1.FetchRecordRequest{}, code: codes.InvalidArgument, field: "access_tx_id"},
		"an upper-case ticket is refused": {
			req: &gatewayv1.FetchRecordRequest{AccessTxId: strings.ToUpper(ticket)}, code: codes.InvalidArgument, field: "access_tx_id"},
		"a short ticket is refused": {
			req: &gatewayv1.FetchRecordRequest{AccessTxId: ticket[:63]}, code: codes.InvalidArgument, field: "access_tx_id"},
		"a malformed copy record ID is refused": {
			req: &gatewayv1.FetchRecordRequest{AccessTxId: ticket, CopyRecordId: "x"}, code: codes.InvalidArgument, field: "copy_record_id"},
		"a copy record ID held by another organisation is refused before the network": {
			req: &gatewayv1.FetchRecordRequest{AccessTxId: ticket, CopyRecordId: recordID}, code: codes.AlreadyExists, field: "copy_record_id"},
		"a copy record ID held by this organisation is refused before the network": {
			req: &gatewayv1.FetchRecordRequest{AccessTxId: ticket, CopyRecordId: anchorTx.GetEvidence().GetRecordId()}, code: codes.AlreadyExists, field: "copy_record_id"},
		"an unknown transaction is not found": {
			req: &gatewayv1.FetchRecordRequest{AccessTxId: strings.Repeat("0", 64)}, code: codes.NotFound},
		"a transaction that is no access event is not found": {
			req: &gatewayv1.FetchRecordRequest{AccessTxId: anchorTx.GetEvidence().GetTxId()}, code: codes.NotFound},
		"a researcher may not store a copy": {
			conn: e.conn(b, "researcher"), req: &gatewayv1.FetchRecordRequest{AccessTxId: ticket}, code: codes.PermissionDenied},
		"a certificate in no wallet is refused": {
			conn: stranger, req: &gatewayv1.FetchRecordRequest{AccessTxId: ticket}, code: codes.PermissionDenied},
	}
	for name, tc := range fetches {
		t.Run("FetchRecord: "+name, func(t *testing.T) {
			conn := cmp.Or(tc.conn, e.conn(b, "clinician"))
			_, err := gatewayv1.NewAccessServiceClient(conn).FetchRecord(e.ctx, tc.req)
			wantStatus(t, err, tc.code, tc.field)
		})
	}

	t.Run("nothing changed", func(t *testing.T) {
		if n := e.trailLen(a); n != beforeA {
			t.Errorf("%d access events of %s, want %d", n, a, beforeA)
		}
		if n := e.trailLen(b); n != beforeB {
			t.Errorf("%d access events of %s, want %d", n, b, beforeB)
		}
		if n := e.pending(b); n != 0 {
			t.Errorf("%d versions pending at %s", n, b)
		}
		// The refusals above did not use the ticket up.
		res, err := e.access(b, "clinician").FetchRecord(e.ctx, &gatewayv1.FetchRecordRequest{AccessTxId: ticket})
		if err != nil {
			t.Fatalf("FetchRecord with the ticket after the refusals: %v", err)
		}
		if res.GetCopy().GetDerivedFrom().GetRecordId() != recordID {
			t.Errorf("copy %v", res.GetCopy())
		}
	})

	t.Run("LogAccess records a read with the care relationship as stated", func(t *testing.T) {
		for _, care := range []bool{true, false} {
			res, err := e.access(a, "clinician").LogAccess(e.ctx, &gatewayv1.LogAccessRequest{RecordId: recordID, Version: 1,
				Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT, CareRelationship: care})
			if err != nil {
				t.Fatalf("LogAccess: %v", err)
			}
			ev := res.GetEvent()
			alerted := len(ev.GetAlerts()) == 1 && ev.GetAlerts()[0] == gatewayv1.Alert_ALERT_OUTSIDE_CARE_RELATIONSHIP
			if ev.GetDecision() != gatewayv1.Decision_DECISION_GRANTED || ev.GetBasis().GetType() != gatewayv1.BasisType_BASIS_TYPE_CUSTODIAN_STAFF ||
				ev.GetCareRelationship() != care || alerted == care || ev.GetPatient() != p.Pseudonym || ev.GetRecordId() != recordID {
				t.Errorf("care %v: event %v", care, ev)
			}
		}
		if n := e.trailLen(a); n != beforeA+2 {
			t.Errorf("%d access events of %s, want %d", n, a, beforeA+2)
		}
	})
}
