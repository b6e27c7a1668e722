package ledger_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/medprov/medprov/chaincode/ledger"
)

func TestAnchorRequestValidate(t *testing.T) {
	good := func() ledger.AnchorRequest {
		return ledger.AnchorRequest{RecordID: "rec-001", Patient: patient, DocType: "11506-3", Confidentiality: ledger.ConfNormal, Commitment: hashA}
	}
	derived := func(d ledger.DerivedFrom) func(*ledger.AnchorRequest) {
		return func(r *ledger.AnchorRequest) { r.DerivedFrom = &d }
	}
	okFrom := ledger.DerivedFrom{Custodian: orgA, RecordID: "rec-000", Version: 1}
	cases := map[string]struct {
		mutate func(*ledger.AnchorRequest)
		arg    string
	}{
		"a plain anchor request is accepted":            {func(*ledger.AnchorRequest) {}, ""},
		"a FHIR doc type is accepted":                   {func(r *ledger.AnchorRequest) { r.DocType = "DiagnosticReport" }, ""},
		"a verified copy is accepted":                   {derived(okFrom), ""},
		"a bad record ID is rejected":                   {func(r *ledger.AnchorRequest) { r.RecordID = "a b" }, "request.recordId"},
		"a missing record ID is rejected":               {func(r *ledger.AnchorRequest) { r.RecordID = "" }, "request.recordId"},
		"a patient that is not a pseudonym is rejected": {func(r *ledger.AnchorRequest) { r.Patient = "patient-0001" }, "request.patient"},
		"a bad doc type is rejected":                    {func(r *ledger.AnchorRequest) { r.DocType = "11506-9" }, "request.docType"},
		"a missing confidentiality is rejected":         {func(r *ledger.AnchorRequest) { r.Confidentiality = "" }, "request.confidentiality"},
		"an unknown confidentiality is rejected":        {func(r *ledger.AnchorRequest) { r.Confidentiality = "S" }, "request.confidentiality"},
		"an uppercase commitment is rejected":           {func(r *ledger.AnchorRequest) { r.Commitment = strings.ToUpper(hashB) }, "request.commitment"},
		"a short commitment is rejected":                {func(r *ledger.AnchorRequest) { r.Commitment = hashA[:40] }, "request.commitment"},
		"a copy from a bad custodian is rejected":       {derived(ledger.DerivedFrom{Custodian: "", RecordID: "rec-000", Version: 1}), "request.derivedFrom.custodian"},
		"a copy of a bad record ID is rejected":         {derived(ledger.DerivedFrom{Custodian: orgA, RecordID: "r", Version: 1}), "request.derivedFrom.recordId"},
		"a copy of version 0 is rejected":               {derived(ledger.DerivedFrom{Custodian: orgA, RecordID: "rec-000"}), "request.derivedFrom.version"},
		"a copy of a negative version is rejected":      {derived(ledger.DerivedFrom{Custodian: orgA, RecordID: "rec-000", Version: -2}), "request.derivedFrom.version"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := good()
			tc.mutate(&r)
			err := r.Validate()
			if tc.arg == "" {
				wantCode(t, err, nil)
			} else {
				wantInvalid(t, err, tc.arg)
			}
		})
	}
}

func TestAmendRequestValidate(t *testing.T) {
	good := ledger.AmendRequest{RecordID: "rec-001", Commitment: hashA, Reason: ledger.AmendCorrection}
	cases := map[string]struct {
		mutate func(*ledger.AmendRequest)
		arg    string
	}{
		"an amendment keeping type and level is accepted":  {func(*ledger.AmendRequest) {}, ""},
		"an amendment changing type and level is accepted": {func(r *ledger.AmendRequest) { r.DocType = "Observation"; r.Confidentiality = ledger.ConfRestricted }, ""},
		"a bad record ID is rejected":                      {func(r *ledger.AmendRequest) { r.RecordID = "-rec" }, "request.recordId"},
		"a bad commitment is rejected":                     {func(r *ledger.AmendRequest) { r.Commitment = "" }, "request.commitment"},
		"a missing reason is rejected":                     {func(r *ledger.AmendRequest) { r.Reason = "" }, "request.reason"},
		"a free-text reason is rejected":                   {func(r *ledger.AmendRequest) { r.Reason = "typo fixed" }, "request.reason"},
		"a bad doc type is rejected":                       {func(r *ledger.AmendRequest) { r.DocType = "Patient" }, "request.docType"},
		"a bad confidentiality is rejected":                {func(r *ledger.AmendRequest) { r.Confidentiality = "n" }, "request.confidentiality"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := good
			tc.mutate(&r)
			err := r.Validate()
			if tc.arg == "" {
				wantCode(t, err, nil)
			} else {
				wantInvalid(t, err, tc.arg)
			}
		})
	}
	for _, reason := range ledger.AmendmentReasons {
		r := good
		r.Reason = reason
		if err := r.Validate(); err != nil {
			t.Errorf("reason %s: %v", reason, err)
		}
	}
}

func TestEraseRequestValidate(t *testing.T) {
	for _, reason := range ledger.ErasureReasons {
		if err := (ledger.EraseRequest{RecordID: "rec-001", Reason: reason}).Validate(); err != nil {
			t.Errorf("reason %s: %v", reason, err)
		}
	}
	cases := map[string]struct {
		req ledger.EraseRequest
		arg string
	}{
		"a bad record ID is rejected":     {ledger.EraseRequest{RecordID: "", Reason: ledger.ErasePatientRequest}, "request.recordId"},
		"a missing reason is rejected":    {ledger.EraseRequest{RecordID: "rec-001"}, "request.reason"},
		"an amendment reason is rejected": {ledger.EraseRequest{RecordID: "rec-001", Reason: "CORRECTION"}, "request.reason"},
		"a lower-case reason is rejected": {ledger.EraseRequest{RecordID: "rec-001", Reason: "legal-order"}, "request.reason"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) { wantInvalid(t, tc.req.Validate(), tc.arg) })
	}
}

// certPEM makes a self-signed certificate, CA or not, as PEM.
func certPEM(t *testing.T, isCA bool) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tls-ca.org1.example"},
		NotBefore:             t0.Add(-time.Hour),
		NotAfter:              t0.Add(24 * time.Hour),
		BasicConstraintsValid: true,
		IsCA:                  isCA,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestEndpointRequestValidate(t *testing.T) {
	ca, leaf := certPEM(t, true), certPEM(t, false)
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}))
	garbage := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")}))
	cases := map[string]struct {
		req ledger.EndpointRequest
		arg string
	}{
		"an endpoint with one CA certificate is accepted":  {ledger.EndpointRequest{Endpoint: "gw.org1.example:7443", TLSCACertPEM: ca}, ""},
		"a CA certificate with text around it is accepted": {ledger.EndpointRequest{Endpoint: "gw:443", TLSCACertPEM: "ca:\n" + ca + "\n"}, ""},
		"a bad endpoint is rejected":                       {ledger.EndpointRequest{Endpoint: "gw", TLSCACertPEM: ca}, "request.endpoint"},
		"a missing certificate is rejected":                {ledger.EndpointRequest{Endpoint: "gw:443"}, "request.tlsCaCertPem"},
		"an oversized PEM is rejected":                     {ledger.EndpointRequest{Endpoint: "gw:443", TLSCACertPEM: ca + strings.Repeat(" ", ledger.MaxPEMBytes)}, "request.tlsCaCertPem"},
		"text that is not PEM is rejected":                 {ledger.EndpointRequest{Endpoint: "gw:443", TLSCACertPEM: "hello"}, "request.tlsCaCertPem"},
		"a PEM private key is rejected":                    {ledger.EndpointRequest{Endpoint: "gw:443", TLSCACertPEM: keyPEM}, "request.tlsCaCertPem"},
		"two certificates are rejected":                    {ledger.EndpointRequest{Endpoint: "gw:443", TLSCACertPEM: ca + ca}, "request.tlsCaCertPem"},
		"a certificate followed by a key is rejected":      {ledger.EndpointRequest{Endpoint: "gw:443", TLSCACertPEM: ca + keyPEM}, "request.tlsCaCertPem"},
		"a CERTIFICATE block that is not DER is rejected":  {ledger.EndpointRequest{Endpoint: "gw:443", TLSCACertPEM: garbage}, "request.tlsCaCertPem"},
		"a leaf certificate that is not a CA is rejected":  {ledger.EndpointRequest{Endpoint: "gw:443", TLSCACertPEM: leaf}, "request.tlsCaCertPem"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := tc.req.Validate()
			if tc.arg == "" {
				wantCode(t, err, nil)
			} else {
				wantInvalid(t, err, tc.arg)
			}
		})
	}
}

func TestAuditQueryValidate(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 500_000_000, time.UTC) // mid-second
	end := time.Date(2026, 3, 1, 12, 0, 1, 0, time.UTC)           // now, rounded up
	cases := map[string]struct {
		q    ledger.AuditQuery
		arg  string // "" means accepted
		want ledger.AuditWindow
	}{
		"an empty query covers the last 30 days":           {ledger.AuditQuery{}, "", ledger.AuditWindow{From: end.Add(-30 * 24 * time.Hour), To: end}},
		"a record query without times is unbounded":        {ledger.AuditQuery{RecordID: "rec-001"}, "", ledger.AuditWindow{To: end}},
		"a patient query without times is unbounded":       {ledger.AuditQuery{Patient: patient}, "", ledger.AuditWindow{To: end}},
		"a requester query without times is unbounded":     {ledger.AuditQuery{RequesterMSP: orgB}, "", ledger.AuditWindow{To: end}},
		"a record query may span many years":               {ledger.AuditQuery{RecordID: "rec-001", From: "2000-01-01T00:00:00Z"}, "", ledger.AuditWindow{From: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), To: end, Bounded: true}},
		"a time-only query of 366 days is accepted":        {ledger.AuditQuery{From: "2025-01-01T00:00:00Z", To: "2026-01-02T00:00:00Z"}, "", ledger.AuditWindow{From: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), Bounded: true}},
		"a time-only query with only To goes 30 days back": {ledger.AuditQuery{To: "2026-02-01T00:00:00Z"}, "", ledger.AuditWindow{From: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), Bounded: true}},
		"page size 1000 and a bookmark are accepted":       {ledger.AuditQuery{PageSize: 1000, Bookmark: "g1AAAA"}, "", ledger.AuditWindow{From: end.Add(-30 * 24 * time.Hour), To: end}},
		"a time-only query over 366 days is rejected":      {ledger.AuditQuery{From: "2025-01-01T00:00:00Z", To: "2026-01-02T00:00:01Z"}, "query.from", ledger.AuditWindow{}},
		"two narrowing fields are rejected":                {ledger.AuditQuery{RecordID: "rec-001", Patient: patient}, "query", ledger.AuditWindow{}},
		"all three narrowing fields are rejected":          {ledger.AuditQuery{RecordID: "rec-001", Patient: patient, RequesterMSP: orgB}, "query", ledger.AuditWindow{}},
		"a bad record ID is rejected":                      {ledger.AuditQuery{RecordID: "r"}, "query.recordId", ledger.AuditWindow{}},
		"a bad patient is rejected":                        {ledger.AuditQuery{Patient: "pt-x"}, "query.patient", ledger.AuditWindow{}},
		"a bad requester MSP is rejected":                  {ledger.AuditQuery{RequesterMSP: "Org 2"}, "query.requesterMsp", ledger.AuditWindow{}},
		"a bad From is rejected":                           {ledger.AuditQuery{From: "yesterday"}, "query.from", ledger.AuditWindow{}},
		"a bad To is rejected":                             {ledger.AuditQuery{To: "2026-03-01"}, "query.to", ledger.AuditWindow{}},
		"To equal to From is rejected":                     {ledger.AuditQuery{From: "2026-02-01T00:00:00Z", To: "2026-02-01T00:00:00Z"}, "query.to", ledger.AuditWindow{}},
		"To before From is rejected":                       {ledger.AuditQuery{RecordID: "rec-001", From: "2026-02-02T00:00:00Z", To: "2026-02-01T00:00:00Z"}, "query.to", ledger.AuditWindow{}},
		"From in the future without To is rejected":        {ledger.AuditQuery{From: "2026-03-02T00:00:00Z"}, "query.to", ledger.AuditWindow{}},
		"a negative page size is rejected":                 {ledger.AuditQuery{PageSize: -1}, "query.pageSize", ledger.AuditWindow{}},
		"page size 1001 is rejected":                       {ledger.AuditQuery{PageSize: 1001}, "query.pageSize", ledger.AuditWindow{}},
		"a bookmark over 1024 bytes is rejected":           {ledger.AuditQuery{Bookmark: strings.Repeat("b", 1025)}, "query.bookmark", ledger.AuditWindow{}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w, err := tc.q.Validate(now)
			if tc.arg != "" {
				wantInvalid(t, err, tc.arg)
				return
			}
			wantCode(t, err, nil)
			if !w.From.Equal(tc.want.From) || !w.To.Equal(tc.want.To) || w.Bounded != tc.want.Bounded {
				t.Fatalf("window = %+v, want %+v", w, tc.want)
			}
		})
	}
}

func TestAuditWindowIncludesAnEventOfTheCurrentSecond(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 999_999_999, time.UTC)
	w, err := ledger.AuditQuery{}.Validate(now)
	wantCode(t, err, nil)
	if ev := now.Truncate(time.Second); !ev.Before(w.To) || ev.Before(w.From) {
		t.Fatalf("window %+v leaves out an event at %v", w, ev)
	}
}

func TestAlertQueryValidate(t *testing.T) {
	end := t0.Add(time.Second)
	cases := map[string]struct {
		q    ledger.AlertQuery
		arg  string
		want ledger.AuditWindow
	}{
		"an empty query covers the last 30 days":   {ledger.AlertQuery{}, "", ledger.AuditWindow{From: end.Add(-ledger.DefaultAuditWindow), To: end}},
		"an explicit window is accepted":           {ledger.AlertQuery{From: "2026-01-01T00:00:00Z", To: "2026-02-01T00:00:00Z", PageSize: 10}, "", ledger.AuditWindow{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), Bounded: true}},
		"a window over 366 days is rejected":       {ledger.AlertQuery{From: "2020-01-01T00:00:00Z"}, "query.from", ledger.AuditWindow{}},
		"a bad From is rejected":                   {ledger.AlertQuery{From: "2026-01-01T00:00:00.000Z"}, "query.from", ledger.AuditWindow{}},
		"a bad To is rejected":                     {ledger.AlertQuery{To: "now"}, "query.to", ledger.AuditWindow{}},
		"To before From is rejected":               {ledger.AlertQuery{From: "2026-02-01T00:00:00Z", To: "2026-01-01T00:00:00Z"}, "query.to", ledger.AuditWindow{}},
		"a negative page size is rejected":         {ledger.AlertQuery{PageSize: -10}, "query.pageSize", ledger.AuditWindow{}},
		"page size 1001 is rejected":               {ledger.AlertQuery{PageSize: 1001}, "query.pageSize", ledger.AuditWindow{}},
		"a bookmark that is not UTF-8 is rejected": {ledger.AlertQuery{Bookmark: "\xc3"}, "query.bookmark", ledger.AuditWindow{}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w, err := tc.q.Validate(t0)
			if tc.arg != "" {
				wantInvalid(t, err, tc.arg)
				return
			}
			wantCode(t, err, nil)
			if !w.From.Equal(tc.want.From) || !w.To.Equal(tc.want.To) || w.Bounded != tc.want.Bounded {
				t.Fatalf("window = %+v, want %+v", w, tc.want)
			}
		})
	}
}

func TestPageSizeOrDefault(t *testing.T) {
	for in, want := range map[int]int32{0: ledger.DefaultPageSize, 1: 1, 1000: 1000} {
		if got := ledger.PageSizeOrDefault(in); got != want {
			t.Errorf("PageSizeOrDefault(%d) = %d, want %d", in, got, want)
		}
	}
}
