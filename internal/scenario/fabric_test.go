package scenario_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/internal/devca"
	"github.com/medprov/medprov/internal/scenario"
)

// repoRoot is the repository root, relative to this package.
var repoRoot = filepath.Join("..", "..")

// fabricOrgs are the test network's peer organisations: two hospitals and
// the health authority (test-network/lib.sh).
var fabricOrgs = [3]string{"HospitalAMSP", "HospitalBMSP", "HealthAuthorityMSP"}

// fabricCluster is three medprov-gateway processes, one per organisation
// of the running Fabric test network (test-network/, make network-up),
// each started with the gateway.yaml that test-network/up.sh wrote for it
// (ledger.backend: fabric), on free loopback ports and with a fresh store.
//
// The gateways run as processes of the real binary because this package
// may not import the gateway's internal configuration package, which
// gateway/daemon.New takes; the binary is exactly daemon.New on that
// configuration.
type fabricCluster struct {
	network string // test-network directory
	addrs   map[string]string
}

func (f *fabricCluster) Orgs() (string, string, string) {
	return fabricOrgs[0], fabricOrgs[1], fabricOrgs[2]
}

func (f *fabricCluster) Dial(ctx context.Context, msp, user string) (*grpc.ClientConn, error) {
	id, err := devca.LoadIdentity(msp, filepath.Join(f.network, "gateways", msp, "wallet", user, "msp"))
	if err != nil {
		return nil, fmt.Errorf("user %s of %s: %w", user, msp, err)
	}
	return f.dial(msp, id)
}

func (f *fabricCluster) Stranger(ctx context.Context, msp string) (*grpc.ClientConn, error) {
	org, err := devca.LoadOrg(filepath.Join(f.network, "crypto", msp))
	if err != nil {
		return nil, err
	}
	id, err := org.Issue(devca.IdentityRequest{Name: "stranger", NodeOU: devca.NodeOUClient,
		Role: devca.RoleClinician, Clearance: devca.ClearanceV})
	if err != nil {
		return nil, err
	}
	return f.dial(msp, id)
}

// dial connects to msp's gateway with id's signing certificate as the TLS
// client certificate, trusting the gateway's TLS CA.
func (f *fabricCluster) dial(msp string, id *devca.Identity) (*grpc.ClientConn, error) {
	addr, ok := f.addrs[msp]
	if !ok {
		return nil, fmt.Errorf("no organisation %q", msp)
	}
	caPEM, err := os.ReadFile(filepath.Join(f.network, "gateways", msp, "server", "tls", "ca.crt"))
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("the gateway's TLS CA file holds no certificate")
	}
	cert, err := tls.X509KeyPair(id.CertPEM, id.KeyPEM)
	if err != nil {
		return nil, err
	}
	creds := credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS13, RootCAs: roots,
		Certificates: []tls.Certificate{cert}, ServerName: "127.0.0.1"})
	return grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
}

// requireFabric skips the test unless FABRIC_BIN is set, and returns the
// test network's directory. A network that is not up skips the test too,
// unless MEDPROV_FABRIC=1 (make test-fabric) asks for it, when it fails.
func requireFabric(t *testing.T) string {
	t.Helper()
	if os.Getenv("FABRIC_BIN") == "" {
		t.Skip("FABRIC_BIN not set: run FABRIC_BIN=<fabric>/bin make network-up && make test-fabric (or FABRIC_BIN=<fabric>/bin make test-fabric)")
	}
	dir, err := filepath.Abs(filepath.Join(repoRoot, "test-network"))
	if err != nil {
		t.Fatal(err)
	}
	for _, msp := range fabricOrgs {
		if _, err := os.Stat(filepath.Join(dir, "gateways", msp, "gateway.yaml")); err != nil {
			msg := fmt.Sprintf("the Fabric test network is not up (%v): run FABRIC_BIN=%s make network-up", err, os.Getenv("FABRIC_BIN"))
			if os.Getenv("MEDPROV_FABRIC") == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	return dir
}

// gatewayProcAttr are the process attributes of the gateway processes
// (fabric_linux_test.go sets a parent-death signal).
var gatewayProcAttr *syscall.SysProcAttr

// buildGateway builds medprov-gateway into dir.
func buildGateway(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "medprov-gateway")
	cmd := exec.Command("go", "build", "-o", bin, "./gateway/cmd/medprov-gateway")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build medprov-gateway: %v\n%s", err, out)
	}
	return bin
}

// startGateway runs bin for msp with a fresh store and returns its gRPC
// address once it serves. Cleanup stops it with SIGTERM and reports a
// failed exit.
func startGateway(t *testing.T, bin, network, msp string) string {
	t.Helper()
	return startGatewayProc(t, bin, network, msp, t.TempDir()).addr
}

// gatewayProc is a medprov-gateway process.
type gatewayProc struct {
	t       *testing.T
	msp     string
	addr    string // gRPC address
	cmd     *exec.Cmd
	logPath string
	copied  chan struct{} // closed when its stderr is drained
	once    sync.Once
	mu      sync.Mutex
	lines   []map[string]any // its JSON log lines
}

// startGatewayProc runs bin for msp with its store and keys in state (an
// existing state is kept: a restart) and returns once it serves. Cleanup
// stops it with SIGTERM, unless kill or stop already ended it.
func startGatewayProc(t *testing.T, bin, network, msp, state string) *gatewayProc {
	t.Helper()
	cmd := exec.Command(bin,
		"--config", filepath.Join(network, "gateways", msp, "gateway.yaml"),
		"--set", "listen.grpc=127.0.0.1:0",
		"--set", "listen.rest=127.0.0.1:0",
		"--set", "listen.metrics=127.0.0.1:0",
		"--set", "store.dir="+filepath.Join(state, "store"),
		"--set", "store.keyring.file.dir="+filepath.Join(state, "keys"),
		"--set", "log.format=json",
		"--set", "shutdown.grace=10s",
	)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	cmd.SysProcAttr = gatewayProcAttr
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the %s gateway: %v", msp, err)
	}
	logFile, err := os.OpenFile(filepath.Join(state, "gateway.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	g := &gatewayProc{t: t, msp: msp, cmd: cmd, logPath: logFile.Name(), copied: make(chan struct{})}
	serving := make(chan string, 1)
	go func() {
		defer close(g.copied)
		defer logFile.Close()
		sc := bufio.NewScanner(io.TeeReader(stderr, logFile))
		sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				continue
			}
			g.mu.Lock()
			g.lines = append(g.lines, line)
			g.mu.Unlock()
			if line["msg"] == "gateway serving" {
				select {
				case serving <- fmt.Sprint(line["grpc"]):
				default:
				}
			}
		}
		_, _ = io.Copy(logFile, stderr)
	}()
	t.Cleanup(g.stop)
	select {
	case addr := <-serving:
		g.addr = addr
		return g
	case <-g.copied:
		g.stop()
		out, _ := os.ReadFile(g.logPath)
		t.Fatalf("the %s gateway exited before serving:\n%s", msp, out)
	case <-time.After(2 * time.Minute):
		t.Fatalf("the %s gateway did not serve within 2 minutes; its log: %s", msp, g.logPath)
	}
	return nil
}

// stop ends the gateway with SIGTERM and reports an exit other than a
// clean one, or a gateway that does not stop within 30 s.
func (g *gatewayProc) stop() {
	g.once.Do(func() {
		t := g.t
		_ = g.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { <-g.copied; done <- g.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("the %s gateway exited with %v; its log: %s", g.msp, err, g.logPath)
			}
		case <-time.After(30 * time.Second):
			_ = g.cmd.Process.Kill()
			<-done
			t.Errorf("the %s gateway did not stop within 30s of SIGTERM; its log: %s", g.msp, g.logPath)
		}
		if t.Failed() {
			logProblems(t, g.msp, g.logPath)
		}
	})
}

// kill ends the gateway with SIGKILL, as a crash would.
func (g *gatewayProc) kill() {
	g.once.Do(func() {
		_ = g.cmd.Process.Kill()
		<-g.copied
		_ = g.cmd.Wait()
	})
}

// logged returns the gateway's JSON log lines with message msg so far.
func (g *gatewayProc) logged(msg string) []map[string]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []map[string]any
	for _, l := range g.lines {
		if l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}

// publish sets msp's directory entry to its gateway's address, as the
// organisation's admin, so that the other gateways find it.
func (f *fabricCluster) publish(ctx context.Context, msp string) error {
	conn, err := f.Dial(ctx, msp, scenario.UserAdmin)
	if err != nil {
		return err
	}
	defer conn.Close()
	caPEM, err := os.ReadFile(filepath.Join(f.network, "gateways", msp, "server", "tls", "ca.crt"))
	if err != nil {
		return err
	}
	_, err = gatewayv1.NewAdminServiceClient(conn).SetDirectoryEntry(ctx, &gatewayv1.SetDirectoryEntryRequest{
		Endpoint: f.addrs[msp], TlsCaCertPem: strings.TrimSpace(string(caPEM)) + "\n",
	})
	return err
}

// TestScenariosOnFabric runs the whole scenario suite, every scenario on
// one consortium of three gateways on the Fabric test network, as
// TestScenariosShareOneConsortium does on the embedded ledger.
func TestScenariosOnFabric(t *testing.T) {
	network := requireFabric(t)
	bin := buildGateway(t, t.TempDir())
	c := &fabricCluster{network: network, addrs: map[string]string{}}
	for _, msp := range fabricOrgs {
		c.addrs[msp] = startGateway(t, bin, network, msp)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for _, msp := range fabricOrgs {
		if err := c.publish(ctx, msp); err != nil {
			t.Fatalf("%s: directory entry: %v", msp, err)
		}
	}
	scenario.Run(t, func(*testing.T) scenario.Cluster { return c })
}

// logProblems logs the warnings and errors of a gateway's log, which name
// codes, transaction IDs and causes but no record content.
func logProblems(t *testing.T, msp, path string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Logf("the %s gateway's log: %v", msp, err)
		return
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`) {
			t.Logf("%s gateway: %s", msp, line)
		}
	}
}
