package daemon_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/gateway/daemon"
	"github.com/medprov/medprov/gateway/internal/config"
	"github.com/medprov/medprov/internal/devca"
)

// logBuffer collects the gateway's JSON log lines; it is safe for
// concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// records returns the log lines, decoded; it fails the test on a line
// that is not JSON.
func (l *logBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(l.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %v", err)
		}
		out = append(out, m)
	}
	return out
}

// rpcLine returns the access-log line of the call with request ID id, or
// nil.
func (l *logBuffer) rpcLine(t *testing.T, id string) map[string]any {
	t.Helper()
	for _, m := range l.records(t) {
		if m["msg"] == "rpc" && m["request_id"] == id {
			return m
		}
	}
	return nil
}

// captureLogs returns a buffer and the option that sends every log line of
// a gateway to it, as JSON, at debug level.
func captureLogs() (*logBuffer, daemon.Option) {
	buf := &logBuffer{}
	return buf, daemon.WithLogger(slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
}

// fingerprint is the SHA-256 of a certificate's DER in lowercase hex, as
// the gateway identifies callers.
func fingerprint(c tls.Certificate) string {
	sum := sha256.Sum256(c.Certificate[0])
	return hex.EncodeToString(sum[:])
}

// medprovServices are the services the gateway registers.
var medprovServices = []string{
	gatewayv1.RecordService_ServiceDesc.ServiceName,
	gatewayv1.VerificationService_ServiceDesc.ServiceName,
	gatewayv1.ConsentService_ServiceDesc.ServiceName,
	gatewayv1.AccessService_ServiceDesc.ServiceName,
	gatewayv1.AuditService_ServiceDesc.ServiceName,
	gatewayv1.PatientService_ServiceDesc.ServiceName,
	gatewayv1.ExchangeService_ServiceDesc.ServiceName,
	gatewayv1.AdminService_ServiceDesc.ServiceName,
}

// TestGateway runs one gateway, with its own embedded ledger, and checks
// what it serves on its three ports and who it lets in.
func TestGateway(t *testing.T) {
	dir := t.TempDir()
	logs, withLogs := captureLogs()
	r := startGateway(t, dir, writeGateway(t, dir), withLogs)
	addrs := r.g.Addrs()
	ctx := context.Background()
	clinician := dialAs(t, dir, addrs.GRPC, "clinician")

	// An identity from an organisation whose CA is not in
	// tls.clientCAFile, with the attributes of a clinician.
	intruderOrg, err := devca.NewOrg("IntruderMSP", "intruder.medprov.test")
	if err != nil {
		t.Fatal(err)
	}
	intruderID, err := intruderOrg.Issue(devca.IdentityRequest{Name: "clinician", NodeOU: devca.NodeOUClient,
		Role: devca.RoleClinician, Clearance: devca.ClearanceV})
	if err != nil {
		t.Fatal(err)
	}
	intruder, err := tls.X509KeyPair(intruderID.CertPEM, intruderID.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("the health check says SERVING over mTLS", func(t *testing.T) {
		resp, err := healthpb.NewHealthClient(clinician).Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("Check = %v, %v; want SERVING", resp.GetStatus(), err)
		}
	})

	t.Run("reflection lists the medprov services", func(t *testing.T) {
		stream, err := reflectionpb.NewServerReflectionClient(clinician).ServerReflectionInfo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := stream.Send(&reflectionpb.ServerReflectionRequest{
			MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		_ = stream.CloseSend()
		var listed []string
		for _, s := range resp.GetListServicesResponse().GetService() {
			listed = append(listed, s.GetName())
		}
		for _, want := range append(slices.Clone(medprovServices), "grpc.health.v1.Health") {
			if !slices.Contains(listed, want) {
				t.Errorf("reflection lists %v; %s is missing", listed, want)
			}
		}
	})

	// refused checks that one call on each port fails with the TLS
	// configuration c (no response, only an error).
	refused := func(t *testing.T, c *tls.Config) {
		t.Helper()
		conn := dial(t, addrs.GRPC, c)
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if resp, err := healthpb.NewHealthClient(conn).Check(cctx, &healthpb.HealthCheckRequest{}); status.Code(err) != codes.Unavailable {
			t.Errorf("gRPC health check = %v, %v; want UNAVAILABLE (handshake refused)", resp, err)
		}
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: c}, Timeout: 10 * time.Second}
		defer hc.CloseIdleConnections()
		for _, url := range []string{"https://" + addrs.REST + "/openapi.json", "https://" + addrs.Metrics + "/metrics"} {
			resp, err := hc.Get(url)
			if err == nil {
				resp.Body.Close()
				t.Errorf("GET %s = %s; want the TLS handshake refused", url, resp.Status)
			}
		}
	}

	t.Run("a client without a certificate completes no call on any port", func(t *testing.T) {
		refused(t, clientTLS(t, dir))
	})

	t.Run("a client certificate of a CA outside tls.clientCAFile is refused on every port", func(t *testing.T) {
		refused(t, clientTLS(t, dir, intruder))
	})

	t.Run("a certificate of the client CA that is not in the wallet passes health but calls no service", func(t *testing.T) {
		org, err := devca.LoadOrg(filepath.Join(dir, "ca"))
		if err != nil {
			t.Fatal(err)
		}
		id, err := org.Issue(devca.IdentityRequest{Name: "stranger", NodeOU: devca.NodeOUClient,
			Role: devca.RoleClinician, Clearance: devca.ClearanceV})
		if err != nil {
			t.Fatal(err)
		}
		cert, err := tls.X509KeyPair(id.CertPEM, id.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		conn := dial(t, addrs.GRPC, clientTLS(t, dir, cert))
		if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
			t.Errorf("health check: %v", err)
		}
		_, err = gatewayv1.NewRecordServiceClient(conn).GetReceipt(ctx, &gatewayv1.GetReceiptRequest{RecordId: "rec-unknown"})
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("GetReceipt = %v; want PERMISSION_DENIED", err)
		}
		// REST refuses it before reading the body.
		resp, err := httpsClient(t, dir, cert).Post("https://"+addrs.REST+"/v1/consents", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("REST POST /v1/consents with a certificate not in the wallet: %s; want 403", resp.Status)
		}
	})

	clinicianHTTP := httpsClient(t, dir, userCert(t, dir, "clinician"))

	t.Run("REST refuses a request body above its route's limit", func(t *testing.T) {
		body := `{"grant":{"consent_id":"` + strings.Repeat("x", 2<<20) + `"}}`
		resp, err := clinicianHTTP.Post("https://"+addrs.REST+"/v1/consents", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("REST POST /v1/consents with a 2 MiB body: %s; want a 4xx refusal", resp.Status)
		}
	})

	t.Run("REST answers a receipt of an unknown record with 404 and a JSON error", func(t *testing.T) {
		resp, err := clinicianHTTP.Get("https://" + addrs.REST + "/v1/records/rec-unknown-1/receipt")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("status %s, body %s; want 404", resp.Status, body)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Content-Type %q; want application/json", ct)
		}
		var e struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatalf("body %s: %v", body, err)
		}
		if codes.Code(e.Code) != codes.NotFound || e.Message == "" {
			t.Errorf("error body %s; want code %d (NOT_FOUND) and a message", body, codes.NotFound)
		}
	})

	t.Run("REST ignores a client's certificate fingerprint header", func(t *testing.T) {
		get := func(t *testing.T, c *http.Client, headers map[string]string) int {
			t.Helper()
			req, err := http.NewRequest(http.MethodGet, "https://"+addrs.REST+"/v1/admin/status", nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range headers {
				req.Header.Set(k, v)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			_, _ = io.Copy(io.Discard, resp.Body)
			return resp.StatusCode
		}
		adminCert := userCert(t, dir, "admin")
		if code := get(t, httpsClient(t, dir, adminCert), nil); code != http.StatusOK {
			t.Fatalf("status as admin: %d; want 200", code)
		}
		spoofs := map[string]map[string]string{
			"a Grpc-Metadata- header with the admin's fingerprint does not make the caller the admin": {
				"Grpc-Metadata-X-Medprov-Client-Cert-Sha256": fingerprint(adminCert)},
			"a plain header with the admin's fingerprint does not make the caller the admin": {
				"X-Medprov-Client-Cert-Sha256": fingerprint(adminCert)},
			"both headers together do not either": {
				"Grpc-Metadata-X-Medprov-Client-Cert-Sha256": fingerprint(adminCert),
				"X-Medprov-Client-Cert-Sha256":               fingerprint(adminCert)},
		}
		for name, headers := range spoofs {
			t.Run(name, func(t *testing.T) {
				if code := get(t, clinicianHTTP, headers); code != http.StatusForbidden {
					t.Errorf("status as a clinician claiming the admin's fingerprint: %d; want 403 (the clinician's own PERMISSION_DENIED)", code)
				}
			})
		}
		t.Run("gRPC metadata with the admin's fingerprint does not make the caller the admin", func(t *testing.T) {
			mctx := metadata.AppendToOutgoingContext(ctx, "x-medprov-client-cert-sha256", fingerprint(adminCert))
			if _, err := gatewayv1.NewAdminServiceClient(clinician).Status(mctx, &gatewayv1.StatusRequest{}); status.Code(err) != codes.PermissionDenied {
				t.Errorf("Status = %v; want PERMISSION_DENIED", err)
			}
		})
	})

	t.Run("GET /openapi.json returns the OpenAPI document", func(t *testing.T) {
		resp, err := clinicianHTTP.Get("https://" + addrs.REST + "/openapi.json")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var doc struct {
			Swagger string                     `json:"swagger"`
			Paths   map[string]json.RawMessage `json:"paths"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
			t.Fatalf("decode: %v", err)
		}
		if resp.StatusCode != http.StatusOK || doc.Swagger != "2.0" {
			t.Errorf("status %s, swagger %q; want 200 and 2.0", resp.Status, doc.Swagger)
		}
		if _, ok := doc.Paths["/v1/records/{recordId}/receipt"]; !ok {
			t.Errorf("the document has no /v1/records/{recordId}/receipt path")
		}
	})

	t.Run("the metrics port serves the RPC counter over mTLS", func(t *testing.T) {
		if _, err := gatewayv1.NewRecordServiceClient(clinician).GetReceipt(ctx, &gatewayv1.GetReceiptRequest{RecordId: "rec-metrics-1"}); status.Code(err) != codes.NotFound {
			t.Fatalf("GetReceipt = %v; want NOT_FOUND", err)
		}
		resp, err := clinicianHTTP.Get("https://" + addrs.Metrics + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		want := `medprov_gateway_rpcs_total{code="NotFound",method="/medprov.gateway.v1.RecordService/GetReceipt"} `
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("status %s; /metrics has no line %q", resp.Status, want)
		}
	})

	t.Run("request IDs come back in the response header and in the log line", func(t *testing.T) {
		records := gatewayv1.NewRecordServiceClient(clinician)
		var header metadata.MD
		if _, err := healthpb.NewHealthClient(clinician).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.Header(&header)); err != nil {
			t.Fatal(err)
		}
		ids := header.Get("x-request-id")
		if len(ids) != 1 || ids[0] == "" {
			t.Fatalf("x-request-id header %v; want one ID", ids)
		}
		if line := logs.rpcLine(t, ids[0]); line == nil || line["method"] != "/grpc.health.v1.Health/Check" {
			t.Errorf("log line of request %s: %v; want the health check's", ids[0], line)
		}

		// A caller's own ID is logged next to the gateway's, on a failed
		// call too.
		header = nil
		mctx := metadata.AppendToOutgoingContext(ctx, "x-request-id", "test-request-42")
		if _, err := records.RecordHistory(mctx, &gatewayv1.RecordHistoryRequest{RecordId: "rec-unknown-2"}, grpc.Header(&header)); status.Code(err) != codes.NotFound {
			t.Fatalf("RecordHistory = %v; want NOT_FOUND", err)
		}
		ids = header.Get("x-request-id")
		if len(ids) != 1 || ids[0] == "" {
			t.Fatalf("x-request-id header of a failed call %v; want one ID", ids)
		}
		if line := logs.rpcLine(t, ids[0]); line == nil || line["code"] != "NotFound" || line["client_request_id"] != "test-request-42" {
			t.Errorf("log line of request %s: %v; want RecordHistory's with code NotFound and client_request_id test-request-42", ids[0], line)
		}

		// REST: X-Request-Id both ways.
		for _, sent := range []string{"", "rest-request-7"} {
			req, err := http.NewRequest(http.MethodGet, "https://"+addrs.REST+"/v1/records/rec-unknown-3/receipt", nil)
			if err != nil {
				t.Fatal(err)
			}
			if sent != "" {
				req.Header.Set("X-Request-Id", sent)
			}
			resp, err := clinicianHTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := resp.Header.Values("X-Request-Id")
			if len(got) != 1 || got[0] == "" {
				t.Errorf("REST with X-Request-Id %q: the answer's X-Request-Id is %q; want one ID", sent, got)
				continue
			}
			line := logs.rpcLine(t, got[0])
			if line == nil || line["method"] != "/medprov.gateway.v1.RecordService/GetReceipt" {
				t.Errorf("log line of REST request %s: %v; want GetReceipt's", got[0], line)
				continue
			}
			if sent != "" && line["client_request_id"] != sent {
				t.Errorf("log line of REST request %s: client_request_id %v; want %s", got[0], line["client_request_id"], sent)
			}
		}
	})

	t.Run("no content or salt of a record appears in the logs", func(t *testing.T) {
		patient, err := registerPatient(ctx, clinician)
		if err != nil {
			t.Fatal(err)
		}
		content := []byte("SYNTHETIC-TEST-DOCUMENT zq7x: fictitious finding 'purple elbow syndrome', not a real patient\n")
		added, err := addRecord(ctx, clinician, patient, "rec-logcheck-1", content, 16, 0)
		if err != nil {
			t.Fatalf("AddRecord: %v", err)
		}
		receipt, err := gatewayv1.NewRecordServiceClient(clinician).GetReceipt(ctx, &gatewayv1.GetReceiptRequest{RecordId: "rec-logcheck-1"})
		if err != nil {
			t.Fatalf("GetReceipt: %v", err)
		}
		salt := receipt.GetReceipt().GetSalt()
		if len(salt) != 32 || !bytes.Equal(salt, added.GetReceipt().GetSalt()) {
			t.Fatalf("salt of %d bytes, AddRecord's receipt has %d bytes", len(salt), len(added.GetReceipt().GetSalt()))
		}
		if got, err := getRecord(ctx, clinician, "rec-logcheck-1"); err != nil || !bytes.Equal(got, content) {
			t.Fatalf("GetRecord = %q, %v; want the content", got, err)
		}
		text := logs.String()
		// The calls were logged, by record ID and not content.
		for _, method := range []string{"AddRecord", "GetReceipt", "GetRecord"} {
			if !strings.Contains(text, "/medprov.gateway.v1.RecordService/"+method) {
				t.Errorf("no log line for %s", method)
			}
		}
		forbidden := map[string][]byte{"the content": content, "the salt": salt}
		for what, secret := range forbidden {
			for _, enc := range []string{
				string(secret),
				hex.EncodeToString(secret),
				strings.ToUpper(hex.EncodeToString(secret)),
				base64.StdEncoding.EncodeToString(secret),
				base64.RawStdEncoding.EncodeToString(secret),
				base64.URLEncoding.EncodeToString(secret),
				base64.RawURLEncoding.EncodeToString(secret),
			} {
				if strings.Contains(text, enc) {
					t.Errorf("the logs hold %s", what)
				}
			}
			// A fragment of the content, as a line of the document, a
			// JSON-escaped string or a %q would show it.
			if what == "the content" && strings.Contains(text, "purple elbow") {
				t.Errorf("the logs hold a fragment of the content")
			}
		}
	})
}

// TestGracefulShutdown checks that cancelling Run's context lets an
// upload in flight finish within shutdown.grace while the ports refuse
// new connections at once, and that the record is stored and anchored.
func TestGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	cfg := writeGateway(t, dir)
	cfg.Shutdown.Grace = 30 * time.Second
	r := startGateway(t, dir, cfg)
	addrs := r.g.Addrs()
	ctx := context.Background()
	conn := dialAs(t, dir, addrs.GRPC, "clinician")
	patient, err := registerPatient(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}

	content := bytes.Repeat([]byte("synthetic slow upload line\n"), 40) // 1080 bytes
	const chunk = 54                                                    // 20 chunks
	const pause = 150 * time.Millisecond                                // 3 s in all
	type result struct {
		resp *gatewayv1.AddRecordResponse
		err  error
		at   time.Time
	}
	done := make(chan result, 1)
	go func() {
		resp, err := addRecord(ctx, conn, patient, "rec-slow-1", content, chunk, pause)
		done <- result{resp, err, time.Now()}
	}()
	time.Sleep(4 * pause) // the call is under way: metadata and a few chunks sent
	stopped := time.Now()
	r.stop()

	// Every port refuses new connections while the upload goes on.
	for _, addr := range []string{addrs.GRPC, addrs.REST, addrs.Metrics} {
		deadline := time.Now().Add(5 * time.Second)
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				break
			}
			c.Close()
			if time.Now().After(deadline) {
				t.Fatalf("%s still accepts connections 5s after the stop", addr)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	select {
	case res := <-done:
		t.Fatalf("the upload ended (%v) before the ports closed; make it slower", res.err)
	default:
	}
	fresh := dial(t, addrs.GRPC, clientTLS(t, dir, userCert(t, dir, "clinician")))
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	_, err = healthpb.NewHealthClient(fresh).Check(cctx, &healthpb.HealthCheckRequest{})
	cancel()
	if status.Code(err) != codes.Unavailable {
		t.Errorf("health check on a new connection after the stop = %v; want UNAVAILABLE", err)
	}

	res := <-done
	if res.err != nil {
		t.Fatalf("the upload in flight failed: %v", res.err)
	}
	if res.resp.GetEvidence().GetRecordId() != "rec-slow-1" || res.resp.GetSize() != uint64(len(content)) {
		t.Errorf("AddRecord answered %v; want rec-slow-1 with %d bytes", res.resp.GetEvidence(), len(content))
	}
	if took := res.at.Sub(stopped); took > cfg.Shutdown.Grace {
		t.Errorf("the upload finished %v after the stop, beyond the grace of %v", took, cfg.Shutdown.Grace)
	}
	select {
	case <-r.done: // the cleanup reports Run's error
	case <-time.After(cfg.Shutdown.Grace):
		t.Fatal("Run did not return within the grace period")
	}

	// The record survived: a new gateway on the same directory serves it.
	r2 := startGateway(t, dir, gatewayConfig(dir))
	conn2 := dialAs(t, dir, r2.g.Addrs().GRPC, "clinician")
	got, err := getRecord(ctx, conn2, "rec-slow-1")
	if err != nil || !bytes.Equal(got, content) {
		t.Errorf("GetRecord after restart = %d bytes, %v; want the %d bytes uploaded", len(got), err, len(content))
	}
}

// TestStartupErrors checks that daemon.New refuses a configuration it
// cannot run with an error naming the configuration key, and that it
// releases what it opened: the same directory starts afterwards.
func TestStartupErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeGateway(t, dir)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	garbageKey := filepath.Join(dir, "garbage.key")
	if err := os.WriteFile(garbageKey, []byte("not a PEM key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		change func(*config.Config)
		key    string
	}{
		"a service identity that is a clinician is refused": {
			change: func(c *config.Config) { c.Wallet.ServiceIdentity = "clinician" },
			key:    "wallet.serviceIdentity",
		},
		"a service identity that is a records officer below clearance V is refused": {
			change: func(c *config.Config) { c.Wallet.ServiceIdentity = "officer-n" },
			key:    "wallet.serviceIdentity",
		},
		"a service identity missing from the wallet is refused": {
			change: func(c *config.Config) { c.Wallet.ServiceIdentity = "nobody" },
			key:    "wallet.serviceIdentity",
		},
		"a gRPC port already in use is refused": {
			change: func(c *config.Config) { c.Listen.GRPC = busy.Addr().String() },
			key:    "listen.grpc",
		},
		"a REST port already in use is refused": {
			change: func(c *config.Config) { c.Listen.REST = busy.Addr().String() },
			key:    "listen.rest",
		},
		"a metrics port already in use is refused": {
			change: func(c *config.Config) { c.Listen.Metrics = busy.Addr().String() },
			key:    "listen.metrics",
		},
		"a TLS key file that holds no key is refused": {
			change: func(c *config.Config) { c.TLS.KeyFile = garbageKey },
			key:    "tls.keyFile",
		},
		"a TLS key of another certificate is refused": {
			change: func(c *config.Config) {
				c.TLS.KeyFile = filepath.Join(dir, "wallet", "clinician", "tls", "client.key")
			},
			key: "tls.keyFile",
		},
		"a missing TLS key file is refused": {
			change: func(c *config.Config) { c.TLS.KeyFile = filepath.Join(dir, "missing.key") },
			key:    "tls.keyFile",
		},
		"a TLS certificate file that holds no certificate is refused": {
			change: func(c *config.Config) { c.TLS.CertFile = garbageKey },
			key:    "tls.certFile",
		},
		"a client CA file that holds no certificate is refused": {
			change: func(c *config.Config) { c.TLS.ClientCAFile = garbageKey },
			key:    "tls.clientCAFile",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := good
			tc.change(&cfg)
			if err := cfg.Validate(); err != nil {
				t.Fatalf("the changed configuration does not pass Validate: %v", err)
			}
			g, err := daemon.New(context.Background(), cfg)
			if err == nil {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				_ = g.Run(ctx)
				t.Fatalf("New succeeded; want an error naming %s", tc.key)
			}
			if !namesKey(err, tc.key) {
				t.Errorf("New: %v; want an error naming %s first", err, tc.key)
			}
		})
	}
	// Every failed New closed the store, ledger and listeners it opened.
	startGateway(t, dir, good)
}

// namesKey reports whether err is about configuration key: a
// *config.KeyError for it, or a message that starts with "key: ".
func namesKey(err error, key string) bool {
	var ke *config.KeyError
	if errors.As(err, &ke) {
		return ke.Key == key
	}
	return strings.HasPrefix(err.Error(), key+": ")
}
