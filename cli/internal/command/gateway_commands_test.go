package command

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
)

func TestAccessRequestSendsThePurposeAndOnlyTheJustificationsHash(t *testing.T) {
	e := startFake(t)
	e.fake.set(func(f *fakeGateway) { f.decision = gatewayv1.Decision_DECISION_EMERGENCY })
	note := filepath.Join(t.TempDir(), "note.txt")
	text := "synthetic justification: unconscious synthetic patient\n"
	writeFile(t, note, []byte(text))
	r := e.mustRun(t, "access", "request", "r-remote-0001", "--purpose", "ETREAT", "--emergency", "LIFE-THREATENING", "--justification-file", note, "-o", "json")
	req := last[*gatewayv1.RequestAccessRequest](t, e.fake, "RequestAccess")
	sum := sha256.Sum256([]byte(text))
	if req.GetRecordId() != "r-remote-0001" || req.GetPurpose() != gatewayv1.PurposeOfUse_PURPOSE_OF_USE_ETREAT ||
		req.GetJustificationCode() != gatewayv1.JustificationCode_JUSTIFICATION_CODE_LIFE_THREATENING ||
		req.GetJustificationHash() != hex.EncodeToString(sum[:]) {
		t.Errorf("request = %v", req)
	}
	if strings.Contains(req.String(), "unconscious") {
		t.Error("the justification's text was sent")
	}
	out := decode[accessDecision](t, r.stdout)
	if out.Event.Decision != "EMERGENCY" || out.Event.TxID != fakeTxID(1010) || out.BlockNumber != 42 || out.Event.Basis.JustificationHash != hex.EncodeToString(sum[:]) {
		t.Errorf("output = %+v", out)
	}
}

func TestAccessFetchAnchorsACopyAndDownloadsIt(t *testing.T) {
	e := startFake(t)
	out := filepath.Join(t.TempDir(), "copy.txt")
	r := e.mustRun(t, "access", "fetch", fakeTxID(1010), "--copy-record-id", "r-copy-0042", "--out", out, "--care-relationship", "-o", "json")
	req := last[*gatewayv1.FetchRecordRequest](t, e.fake, "FetchRecord")
	if req.GetAccessTxId() != fakeTxID(1010) || req.GetCopyRecordId() != "r-copy-0042" {
		t.Errorf("fetch request = %v", req)
	}
	get := last[*gatewayv1.GetRecordRequest](t, e.fake, "GetRecord")
	if get.GetRecordId() != "r-copy-0042" || get.GetVersion() != 1 || get.GetPurpose() != gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT || !get.GetCareRelationship() {
		t.Errorf("download request = %v", get)
	}
	data, err := os.ReadFile(out)
	if err != nil || string(data) != "synthetic lab result for a synthetic patient\n" {
		t.Errorf("the copy's file holds %q (%v)", data, err)
	}
	res := decode[fetchResult](t, r.stdout)
	if res.Copy.RecordID != "r-copy-0042" || res.Copy.DerivedFrom == nil || res.Copy.DerivedFrom.RecordID != "r-remote-0001" || res.Download == nil || res.Download.File != out {
		t.Errorf("output = %+v", res)
	}

	r = e.run(t, "access", "fetch", fakeTxID(7))
	if r.code != ExitNotFound {
		t.Errorf("an unknown ticket: exit %d (%v), want %d", r.code, r.err, ExitNotFound)
	}
}

func TestAccessLogSendsTheRead(t *testing.T) {
	e := startFake(t)
	r := e.mustRun(t, "access", "log", "r-0001", "--version", "2", "--purpose", "HOPERAT", "-o", "json")
	req := last[*gatewayv1.LogAccessRequest](t, e.fake, "LogAccess")
	if req.GetRecordId() != "r-0001" || req.GetVersion() != 2 || req.GetPurpose() != gatewayv1.PurposeOfUse_PURPOSE_OF_USE_HOPERAT || req.GetCareRelationship() {
		t.Errorf("request = %v", req)
	}
	if out := decode[eventView](t, r.stdout); out.Basis == nil || out.Basis.Type != "CUSTODIAN_STAFF" || len(out.Alerts) != 1 || out.Alerts[0] != "OUTSIDE_CARE_RELATIONSHIP" {
		t.Errorf("output = %+v", out)
	}
}

func TestConsentGrantAndRevokeCarryTheSignedFilesToTheLedger(t *testing.T) {
	e := startFake(t)
	dir, kg := keygen(t, algP256)
	e.mustRun(t, "patient", "register", "--public-key", filepath.Join(dir, publicKeyFile))

	grant := filepath.Join(t.TempDir(), "grant.json")
	writeFile(t, grant, []byte(mustRun(t, append(consentArgs(kg.PrivateKeyFile, kg.Pseudonym), "-o", "json")...).stdout))
	r := e.mustRun(t, "consent", "grant", "--file", grant, "-o", "json")
	req := last[*gatewayv1.GrantConsentRequest](t, e.fake, "GrantConsent")
	g := req.GetGrant()
	if g.GetConsentId() != "c-2026-001" || g.GetPatient() != kg.Pseudonym || g.GetGrantee().GetMspId() != "HospitalBMSP" ||
		g.GetGrantee().GetRole() != gatewayv1.Role_ROLE_CLINICIAN || strings.Join(g.GetScope().GetDocTypes(), ",") != "11502-2,18842-5" ||
		len(g.GetPurposes()) != 2 || g.GetPurposes()[0] != gatewayv1.PurposeOfUse_PURPOSE_OF_USE_CAREMGT ||
		g.GetMaxConfidentiality() != gatewayv1.Confidentiality_CONFIDENTIALITY_N || g.GetSequence() != 1 ||
		g.GetNotBefore().AsTime().Format("2006-01-02T15:04:05Z") != "2026-01-01T00:00:00Z" {
		t.Errorf("grant = %v", g)
	}
	if out := decode[consentView](t, r.stdout); out.Status != "active" || out.ConsentID != "c-2026-001" {
		t.Errorf("output = %+v", out)
	}

	rev := filepath.Join(t.TempDir(), "revocation.json")
	writeFile(t, rev, []byte(mustRun(t, "consent", "sign-revocation", "--key", kg.PrivateKeyFile, "--consent-id", "c-2026-001", "--patient", kg.Pseudonym, "--sequence", "2", "-o", "json").stdout))
	r = e.mustRun(t, "consent", "revoke", "--file", rev, "-o", "json")
	if out := decode[consentView](t, r.stdout); out.Status != "revoked" {
		t.Errorf("output = %+v", out)
	}

	// Replaying the revocation is refused by the ledger's sequence check.
	r = e.run(t, "consent", "revoke", "--file", rev)
	if r.code != ExitError || !strings.Contains(r.err.Error(), "FAILED_PRECONDITION") {
		t.Errorf("a replayed revocation: exit %d (%v), want FAILED_PRECONDITION", r.code, r.err)
	}
}

func TestConsentGrantRefusesABadFileBeforeSendingIt(t *testing.T) {
	e := startFake(t)
	_, kg := keygen(t, algEd25519)
	good := mustRun(t, append(consentArgs(kg.PrivateKeyFile, kg.Pseudonym), "-o", "json")...).stdout
	tests := map[string]struct {
		content string
		want    string
	}{
		"not JSON":               {content: "consent", want: "--file"},
		"an unknown field":       {content: strings.Replace(good, `"signature"`, `"sig":"x","signature"`, 1), want: "--file"},
		"a bad purpose":          {content: strings.Replace(good, `"TREAT"`, `"FUN"`, 1), want: "consent.purposes"},
		"a signature not base64": {content: strings.Replace(good, `"signature": "`, `"signature": "!`, 1), want: "signature"},
		"two objects":            {content: good + good, want: "exactly one"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "grant.json")
			writeFile(t, f, []byte(tc.content))
			r := e.run(t, "consent", "grant", "--file", f)
			if r.code != ExitUsage || !strings.Contains(r.err.Error(), tc.want) {
				t.Errorf("exit %d (%v), want a usage error naming %s", r.code, r.err, tc.want)
			}
		})
	}
	if e.fake.callCount() != 0 {
		t.Error("a bad file reached the gateway")
	}
}

func TestConsentListReadsEveryPageWithOneFilter(t *testing.T) {
	e := startFake(t)
	r := e.mustRun(t, "consent", "list", "--grantee", fakeRemoteMSP, "-o", "json")
	out := decode[[]consentView](t, r.stdout)
	if len(out) != 3 || out[2].Status != "revoked" {
		t.Fatalf("got %d consents, want the 3 of two pages", len(out))
	}
	for i, m := range e.fake.got("ListConsents") {
		req := m.(*gatewayv1.ListConsentsRequest)
		if req.GetGranteeMspId() != fakeRemoteMSP || req.GetPatient() != "" || (i == 1) != (req.GetPageToken() != "") {
			t.Errorf("request %d = %v", i, req)
		}
	}
	e.mustRun(t, "consent", "list", "--patient", testPatient)
	if req := last[*gatewayv1.ListConsentsRequest](t, e.fake, "ListConsents"); req.GetPatient() != testPatient {
		t.Errorf("request = %v", req)
	}
}

func TestPatientCommandsProveTheKeyWithTheChallenge(t *testing.T) {
	for _, alg := range []string{algEd25519, algP256} {
		t.Run(alg, func(t *testing.T) {
			e := startFake(t)
			dir, kg := keygen(t, alg)
			r := e.mustRun(t, "patient", "register", "--public-key", filepath.Join(dir, publicKeyFile), "-o", "json")
			reg := last[*gatewayv1.RegisterPatientRequest](t, e.fake, "RegisterPatient")
			if base64.StdEncoding.EncodeToString(reg.GetPublicKey()) != kg.PublicKey {
				t.Errorf("registered key = %x, want the PKIX DER of patient.pub", reg.GetPublicKey())
			}
			if p := decode[patientView](t, r.stdout); p.Pseudonym != kg.Pseudonym || p.KeyVersion != 1 {
				t.Errorf("patient = %+v", p)
			}
			e.fake.seed("r-mine-0001", 1, []byte("synthetic"))
			e.fake.set(func(f *fakeGateway) { f.records["r-mine-0001"][0].ev.Patient = kg.Pseudonym })

			r = e.mustRun(t, "patient", "records", "--key", kg.PrivateKeyFile, "-o", "json")
			if recs := decode[[]evidenceView](t, r.stdout); len(recs) != 1 || recs[0].RecordID != "r-mine-0001" {
				t.Errorf("records = %+v", recs)
			}
			r = e.mustRun(t, "patient", "history", "--key", kg.PrivateKeyFile, "--from", "2026-01-01T00:00:00Z", "-o", "json")
			if evs := decode[[]eventView](t, r.stdout); len(evs) != 3 {
				t.Errorf("got %d events, want the 3 of two pages", len(evs))
			}
			req := last[*gatewayv1.ListMyAccessEventsRequest](t, e.fake, "ListMyAccessEvents")
			if req.GetProof().GetPatient() != kg.Pseudonym || req.GetStartTime().AsTime().Format("2006-01-02") != "2026-01-01" || req.GetEndTime() != nil {
				t.Errorf("request = %v", req)
			}
			if n := len(e.fake.got("GetChallenge")); n != 2 {
				t.Errorf("%d challenges asked for, want one per command", n)
			}

			_, other := keygen(t, alg)
			r = e.run(t, "patient", "records", "--key", other.PrivateKeyFile)
			if r.code != ExitNotFound {
				t.Errorf("an unregistered patient's key: exit %d (%v), want %d", r.code, r.err, ExitNotFound)
			}
		})
	}
}

func TestPatientRotateKeySubmitsTheSignedRotation(t *testing.T) {
	e := startFake(t)
	dir, kg := keygen(t, algEd25519)
	e.mustRun(t, "patient", "register", "--public-key", filepath.Join(dir, publicKeyFile))
	_, next := keygen(t, algP256)
	rot := filepath.Join(t.TempDir(), "rotation.json")
	writeFile(t, rot, []byte(mustRun(t, "patient", "sign-rotation", "--key", kg.PrivateKeyFile, "--patient", kg.Pseudonym, "--new-public-key", "@"+next.PublicKeyFile, "--sequence", "1", "-o", "json").stdout))
	r := e.mustRun(t, "patient", "rotate-key", "--file", rot, "-o", "json")
	req := last[*gatewayv1.RotatePatientKeyRequest](t, e.fake, "RotatePatientKey")
	if req.GetPatient() != kg.Pseudonym || base64.StdEncoding.EncodeToString(req.GetNewPublicKey()) != next.PublicKey || req.GetSequence() != 1 || len(req.GetSignature()) != 64 {
		t.Errorf("request = %v", req)
	}
	if p := decode[patientView](t, r.stdout); p.KeyVersion != 2 || p.PublicKey != next.PublicKey || p.Pseudonym != kg.Pseudonym {
		t.Errorf("patient = %+v", p)
	}
	// The patient now proves possession with the new key, under the
	// pseudonym of the first key.
	e.mustRun(t, "patient", "records", "--key", next.PrivateKeyFile, "--patient", kg.Pseudonym)
	if r := e.run(t, "patient", "records", "--key", kg.PrivateKeyFile); r.code != ExitRefused {
		t.Errorf("the old key: exit %d (%v), want %d (UNAUTHENTICATED)", r.code, r.err, ExitRefused)
	}
	if r := e.run(t, "patient", "records", "--key", next.PrivateKeyFile); r.code != ExitNotFound {
		t.Errorf("the new key without --patient: exit %d (%v), want %d", r.code, r.err, ExitNotFound)
	}
}

func TestAuditCommandsSendTheFilter(t *testing.T) {
	e := startFake(t)
	r := e.mustRun(t, "audit", "trail", "--patient", testPatient, "--from", "2026-01-01T00:00:00Z", "--to", "2026-02-01T00:00:00Z", "-o", "json")
	if evs := decode[[]eventView](t, r.stdout); len(evs) != 3 {
		t.Errorf("got %d events, want the 3 of two pages", len(evs))
	}
	req := last[*gatewayv1.AccessTrailRequest](t, e.fake, "AccessTrail")
	f := req.GetFilter()
	if f.GetPatient() != testPatient || f.GetRecordId() != "" || f.GetRequesterMspId() != "" ||
		f.GetStartTime().AsTime().Format("2006-01-02") != "2026-01-01" || f.GetEndTime().AsTime().Format("2006-01-02") != "2026-02-01" || req.GetPageToken() != "page-2" {
		t.Errorf("last request = %v", req)
	}
	r = e.mustRun(t, "audit", "alerts", "-o", "json")
	if evs := decode[[]eventView](t, r.stdout); len(evs) != 1 || evs[0].Alerts[0] != "EMERGENCY_ACCESS" {
		t.Errorf("alerts = %+v", evs)
	}
	if req := last[*gatewayv1.AlertsRequest](t, e.fake, "Alerts"); req.GetStartTime() != nil || req.GetEndTime() != nil {
		t.Errorf("alerts request = %v, want no window", req)
	}
}

func TestAuditExportWritesTheFileAtomically(t *testing.T) {
	e := startFake(t)
	want := append([]byte(nil), e.fake.export...)
	dir := t.TempDir()
	out := filepath.Join(dir, "trail.csv")
	r := e.mustRun(t, "audit", "export", "--format", "csv", "--org", fakeRemoteMSP, "--out", out, "--progress", "-o", "json")
	data, _ := os.ReadFile(out)
	if !bytes.Equal(data, want) {
		t.Errorf("the export file holds %d bytes, want the %d the gateway sent", len(data), len(want))
	}
	sum := sha256.Sum256(want)
	if res := decode[exportResult](t, r.stdout); res.Size != int64(len(want)) || res.SHA256 != hex.EncodeToString(sum[:]) || res.Format != "csv" {
		t.Errorf("output = %+v", res)
	}
	if !strings.Contains(r.stderr, "export  ") {
		t.Errorf("no progress on stderr: %q", r.stderr)
	}
	req := last[*gatewayv1.ExportTrailRequest](t, e.fake, "ExportTrail")
	if req.GetFormat() != gatewayv1.ExportFormat_EXPORT_FORMAT_CSV || req.GetFilter().GetRequesterMspId() != fakeRemoteMSP {
		t.Errorf("request = %v", req)
	}

	r = e.mustRun(t, "audit", "export", "--format", "fhir")
	if r.stdout != string(want) {
		t.Errorf("stdout holds %d bytes, want the export's %d", len(r.stdout), len(want))
	}

	e.fake.set(func(f *fakeGateway) { f.breakAfter = 1; f.export = bytes.Repeat([]byte("x"), 3<<20) })
	broken := filepath.Join(dir, "broken.json")
	r = e.run(t, "audit", "export", "--format", "json", "--out", broken)
	if r.code != ExitError {
		t.Errorf("a broken export: exit %d (%v), want %d", r.code, r.err, ExitError)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("a broken export left files behind: %v", entries)
	}
}

func TestAdminCommands(t *testing.T) {
	e := startFake(t)
	r := e.mustRun(t, "gateway", "rotate-keys", "-o", "json")
	if out := decode[rotateKeysResult](t, r.stdout); out.KEKID != "kek-0003" || out.Rewrapped != 42 {
		t.Errorf("rotate-keys = %+v", out)
	}
	r = e.mustRun(t, "directory", "set", "--endpoint", "gateway.hospital-a.medprov.test:7444", "-o", "json")
	req := last[*gatewayv1.SetDirectoryEntryRequest](t, e.fake, "SetDirectoryEntry")
	if req.GetEndpoint() != "gateway.hospital-a.medprov.test:7444" || req.GetTlsCaCertPem() != string(e.org.TLSCACertPEM()) {
		t.Errorf("request = %v, want the endpoint and the connection's TLS CA", req)
	}
	if out := decode[directoryView](t, r.stdout); out.TLSCASubject == "" || len(out.TLSCASHA256) != 64 {
		t.Errorf("output = %+v", out)
	}
	ca := filepath.Join(t.TempDir(), "exchange-ca.pem")
	writeFile(t, ca, e.org.CACertPEM())
	e.mustRun(t, "directory", "set", "--endpoint", "10.0.0.1:7444", "--endpoint-ca", ca)
	if req := last[*gatewayv1.SetDirectoryEntryRequest](t, e.fake, "SetDirectoryEntry"); req.GetTlsCaCertPem() != string(e.org.CACertPEM()) {
		t.Errorf("--endpoint-ca was not published")
	}
	userCert := filepath.Join(t.TempDir(), "user.pem")
	writeFile(t, userCert, e.fake.clientCertsPEM()[0])
	if r := e.run(t, "directory", "set", "--endpoint", "10.0.0.1:7444", "--endpoint-ca", userCert); r.code != ExitUsage || !strings.Contains(r.err.Error(), "not a CA") {
		t.Errorf("a non-CA certificate: exit %d (%v), want a usage error", r.code, r.err)
	}
	r = e.mustRun(t, "directory", "get", fakeRemoteMSP, "-o", "json")
	if out := decode[directoryView](t, r.stdout); out.Endpoint != "gateway.hospital-b.medprov.test:7444" {
		t.Errorf("output = %+v", out)
	}
	if r := e.run(t, "directory", "get", "NoSuchMSP"); r.code != ExitNotFound {
		t.Errorf("an unknown MSP: exit %d, want %d", r.code, ExitNotFound)
	}
}
