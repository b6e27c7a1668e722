package daemon_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/gateway/daemon"
	"github.com/medprov/medprov/gateway/internal/config"
	"github.com/medprov/medprov/internal/devca"
	"github.com/medprov/medprov/internal/devnet"
)

// testMSP is the organisation of the single gateway these tests run.
const testMSP = "HospitalAMSP"

// testUser is an identity writeGateway enrols in the wallet.
type testUser struct{ name, role, clearance string }

// testUsers are the wallet's identities; "gateway" is the service identity
// of the default configuration, the others are for the tests of a wrong
// service identity and of callers with different rights.
var testUsers = []testUser{
	{"gateway", devca.RoleRecordsOfficer, devca.ClearanceV},
	{"clinician", devca.RoleClinician, devca.ClearanceN},
	{"admin", devca.RoleAdmin, devca.ClearanceV},
	{"officer-n", devca.RoleRecordsOfficer, devca.ClearanceN},
}

// writeGateway prepares, in dir, everything one gateway needs, as devup's
// prepare does for each organisation: an organisation CA (dir/ca), the
// wallet identities (dir/wallet/<name>/msp), the server's TLS identity
// (dir/server/tls) and the client CA file. It issues only what is missing,
// so a second call on the same dir changes nothing, and returns
// gatewayConfig(dir).
func writeGateway(t testing.TB, dir string) config.Config {
	t.Helper()
	caDir := filepath.Join(dir, "ca")
	var org *devca.Org
	var err error
	if _, statErr := os.Stat(filepath.Join(caDir, "devca.json")); statErr == nil {
		org, err = devca.LoadOrg(caDir)
	} else if org, err = devca.NewOrg(testMSP, "hospital-a.medprov.test"); err == nil {
		err = org.WriteOrg(caDir)
	}
	if err != nil {
		t.Fatalf("organisation CA: %v", err)
	}
	issue := func(into string, req devca.IdentityRequest) {
		if _, err := os.Stat(filepath.Join(into, "msp", "signcerts")); err == nil {
			return
		}
		id, err := org.Issue(req)
		if err != nil {
			t.Fatalf("issue %s: %v", req.Name, err)
		}
		if err := org.WriteIdentity(into, id); err != nil {
			t.Fatalf("write %s: %v", req.Name, err)
		}
	}
	for _, u := range testUsers {
		issue(filepath.Join(dir, "wallet", u.name), devca.IdentityRequest{
			Name: u.name, NodeOU: devca.NodeOUClient, Role: u.role, Clearance: u.clearance})
	}
	issue(filepath.Join(dir, "server"), devca.IdentityRequest{
		Name: "gateway-server", NodeOU: devca.NodeOUPeer,
		DNSNames: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	if err := os.WriteFile(filepath.Join(dir, "client-cas.pem"), org.CACertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return gatewayConfig(dir)
}

// gatewayConfig is the configuration of the gateway writeGateway prepared
// in dir: free loopback ports, its own embedded ledger, store and file
// keyring under dir. It only builds paths.
func gatewayConfig(dir string) config.Config {
	cfg := config.Defaults()
	cfg.Org.MSPID = testMSP
	cfg.Listen = config.Listen{GRPC: "127.0.0.1:0", REST: "127.0.0.1:0", Metrics: "127.0.0.1:0"}
	cfg.TLS = config.TLS{
		CertFile:     filepath.Join(dir, "server", "tls", "server.crt"),
		KeyFile:      filepath.Join(dir, "server", "tls", "server.key"),
		ClientCAFile: filepath.Join(dir, "client-cas.pem"),
	}
	cfg.Wallet.Dir = filepath.Join(dir, "wallet")
	cfg.Ledger.Embedded.Dir = filepath.Join(dir, "ledger")
	cfg.Store.Dir = filepath.Join(dir, "store")
	cfg.Store.Keyring.File.Dir = filepath.Join(dir, "keys")
	cfg.Reconciler.Interval = 10 * time.Second
	cfg.Shutdown.Grace = 10 * time.Second
	return cfg
}

// serverRoots returns the pool of the CA that the gateway's TLS
// certificate in dir chains to.
func serverRoots(t testing.TB, dir string) *x509.CertPool {
	t.Helper()
	pemCA, err := os.ReadFile(filepath.Join(dir, "server", "tls", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pemCA) {
		t.Fatal("server TLS CA: no certificate")
	}
	return roots
}

// userCert returns the client certificate of a wallet user: its signing
// certificate and key, the certificate the wallet knows it by.
func userCert(t testing.TB, dir, user string) tls.Certificate {
	t.Helper()
	id, err := devca.LoadIdentity(testMSP, filepath.Join(dir, "wallet", user, "msp"))
	if err != nil {
		t.Fatalf("load %s: %v", user, err)
	}
	cert, err := tls.X509KeyPair(id.CertPEM, id.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// clientTLS is the TLS configuration of a client of the gateway in dir
// presenting certs (none for no client certificate).
func clientTLS(t testing.TB, dir string, certs ...tls.Certificate) *tls.Config {
	t.Helper()
	return &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: serverRoots(t, dir), Certificates: certs, ServerName: "127.0.0.1"}
}

// dial connects to addr with the TLS configuration c; the connection is
// closed when the test ends.
func dial(t testing.TB, addr string, c *tls.Config) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(c)))
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// dialAs connects to the gateway in dir at addr as a wallet user.
func dialAs(t testing.TB, dir, addr, user string) *grpc.ClientConn {
	t.Helper()
	return dial(t, addr, clientTLS(t, dir, userCert(t, dir, user)))
}

// httpsClient is an HTTP client of the gateway in dir presenting certs.
func httpsClient(t testing.TB, dir string, certs ...tls.Certificate) *http.Client {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: clientTLS(t, dir, certs...), ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// running is a gateway started by startGateway.
type running struct {
	g    *daemon.Gateway
	stop context.CancelFunc
	// done is closed when Run has returned err.
	done chan struct{}
	err  error
}

// wait cancels Run's context and returns Run's result; it may be called
// more than once.
func (r *running) wait() error {
	r.stop()
	<-r.done
	return r.err
}

// startGateway builds the gateway of cfg with daemon.New, runs it and
// returns once its health check says SERVING. It stops when the test ends,
// and the test fails if Run returned an error.
func startGateway(t testing.TB, dir string, cfg config.Config, opts ...daemon.Option) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	g, err := daemon.New(ctx, cfg, opts...)
	if err != nil {
		cancel()
		t.Fatalf("daemon.New: %v", err)
	}
	r := &running{g: g, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = g.Run(ctx)
	}()
	t.Cleanup(func() {
		if err := r.wait(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	waitServing(t, dial(t, g.Addrs().GRPC, clientTLS(t, dir, userCert(t, dir, "clinician"))))
	return r
}

// waitServing polls the health service on conn until it says SERVING.
func waitServing(t testing.TB, conn *grpc.ClientConn) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	hc := healthpb.NewHealthClient(conn)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway not serving after 60s: %v, %v", resp.GetStatus(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// registerPatient registers a new synthetic patient through conn (a
// clinician's connection) and returns its pseudonym.
func registerPatient(ctx context.Context, conn *grpc.ClientConn) (string, error) {
	p, err := devnet.NewPatient()
	if err != nil {
		return "", err
	}
	der, err := base64.StdEncoding.DecodeString(p.PublicKey)
	if err != nil {
		return "", fmt.Errorf("decode patient key: %w", err)
	}
	resp, err := gatewayv1.NewConsentServiceClient(conn).RegisterPatient(ctx, &gatewayv1.RegisterPatientRequest{PublicKey: der})
	if err != nil {
		return "", fmt.Errorf("RegisterPatient: %w", err)
	}
	return resp.GetPatient().GetPseudonym(), nil
}

// addRecord uploads content as record id of patient in one metadata
// message and chunks of at most chunk bytes, with pause between
// messages, and returns AddRecord's answer.
func addRecord(ctx context.Context, conn *grpc.ClientConn, patient, id string, content []byte, chunk int, pause time.Duration, opts ...grpc.CallOption) (*gatewayv1.AddRecordResponse, error) {
	stream, err := gatewayv1.NewRecordServiceClient(conn).AddRecord(ctx, opts...)
	if err != nil {
		return nil, err
	}
	msgs := []*gatewayv1.AddRecordRequest{{Part: &gatewayv1.AddRecordRequest_Metadata{Metadata: &gatewayv1.RecordMetadata{
		RecordId: id, Patient: patient, DocType: "11506-3",
		Confidentiality: gatewayv1.Confidentiality_CONFIDENTIALITY_N,
	}}}}
	for rest := content; len(rest) > 0; {
		n := min(chunk, len(rest))
		msgs = append(msgs, &gatewayv1.AddRecordRequest{Part: &gatewayv1.AddRecordRequest_Chunk{Chunk: rest[:n]}})
		rest = rest[n:]
	}
	for i, m := range msgs {
		if i > 0 && pause > 0 {
			select {
			case <-time.After(pause):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if err := stream.Send(m); err != nil {
			break // the status comes with CloseAndRecv
		}
	}
	return stream.CloseAndRecv()
}

// getRecord downloads the latest version of id and returns its content.
func getRecord(ctx context.Context, conn *grpc.ClientConn, id string) ([]byte, error) {
	stream, err := gatewayv1.NewRecordServiceClient(conn).GetRecord(ctx, &gatewayv1.GetRecordRequest{
		RecordId: id, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT, CareRelationship: true})
	if err != nil {
		return nil, err
	}
	var content []byte
	for i := 0; ; i++ {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return content, nil
		}
		if err != nil {
			return nil, err
		}
		switch {
		case i == 0 && msg.GetHeader() == nil:
			return nil, errors.New("GetRecord: the first message is not a header")
		case i > 0:
			content = append(content, msg.GetChunk()...)
		}
	}
}
