package bench_test

import (
	"crypto/rand"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medprov/medprov/gateway/bench"
	"github.com/medprov/medprov/gateway/internal/wallet"
	"github.com/medprov/medprov/internal/devca"
)

// fabricConfig writes a medprov-gateway configuration with the fabric
// backend pointing at peer, and a wallet with a records officer
// ("gateway") and a clinician; it returns the file's path.
func fabricConfig(t *testing.T, backend, peer string) string {
	t.Helper()
	dir := t.TempDir()
	org, err := devca.NewOrg("HospitalAMSP", "hospital-a.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct{ name, role string }{{"gateway", devca.RoleRecordsOfficer}, {"clinician", devca.RoleClinician}} {
		id, err := org.Issue(devca.IdentityRequest{Name: u.name, NodeOU: devca.NodeOUClient, Role: u.role, Clearance: devca.ClearanceV})
		if err != nil {
			t.Fatal(err)
		}
		if err := org.WriteIdentity(filepath.Join(dir, "wallet", u.name), id); err != nil {
			t.Fatal(err)
		}
	}
	ca := filepath.Join(dir, "peer-tls-ca.pem")
	if err := os.WriteFile(ca, org.TLSCACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := `org: {mspId: HospitalAMSP}
tls: {certFile: ` + dir + `/tls.crt, keyFile: ` + dir + `/tls.key, clientCAFile: ` + dir + `/ca.pem}
wallet: {dir: ` + dir + `/wallet}
store: {dir: ` + dir + `/store, keyring: {file: {dir: ` + dir + `/keys}}}
ledger:
  backend: ` + backend + `
  embedded: {dir: ` + dir + `/ledger}
  fabric: {peerEndpoint: "` + peer + `", peerTLSCAFile: ` + ca + `, channel: medprov, chaincode: medprov}
`
	file := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestOpenPutRefusesWhatItCannotUse(t *testing.T) {
	peer := closedPort(t)
	good := fabricConfig(t, "fabric", peer)
	tests := map[string]struct {
		o    bench.PutOptions
		want string
		is   error
	}{
		"a missing file is refused":                {bench.PutOptions{ConfigFile: filepath.Join(t.TempDir(), "none.yaml"), Rand: rand.Reader}, "none.yaml", fs.ErrNotExist},
		"the embedded backend is refused":          {bench.PutOptions{ConfigFile: fabricConfig(t, "embedded", peer), Rand: rand.Reader}, "ledger.backend", nil},
		"an identity not in the wallet is refused": {bench.PutOptions{ConfigFile: good, Identity: "nobody", Rand: rand.Reader}, "nobody", wallet.ErrNotFound},
		"a clinician is refused":                   {bench.PutOptions{ConfigFile: good, Identity: "clinician", Rand: rand.Reader}, "records officer or an admin", nil},
		"no random source is refused":              {bench.PutOptions{ConfigFile: good}, "random", nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := bench.OpenPut(tc.o)
			if err == nil {
				p.Close()
				t.Fatal("OpenPut succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Errorf("err = %v, want one naming %q (is %v)", err, tc.want, tc.is)
			}
		})
	}
}

func TestPutCountsAnUnreachablePeerAsUnavailable(t *testing.T) {
	p, err := bench.OpenPut(bench.PutOptions{ConfigFile: fabricConfig(t, "fabric", closedPort(t)), Rand: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	res, err := bench.Run(t.Context(), bench.Options{Name: "put", Workload: p, Concurrency: 2, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Committed != 0 || res.Errors["UNAVAILABLE"] == 0 || len(res.Errors) != 1 {
		t.Errorf("committed %d, errors %v; want only UNAVAILABLE", res.Committed, res.Errors)
	}
}

// TestPutOnFabric runs the put workload against the local Fabric test
// network (test-network/up.sh and deploy.sh, with the Baseline contract
// deployed). It needs FABRIC_BIN and the network's HospitalAMSP gateway
// configuration.
func TestPutOnFabric(t *testing.T) {
	cfg := filepath.Join("..", "..", "test-network", "gateways", "HospitalAMSP", "gateway.yaml")
	if os.Getenv("FABRIC_BIN") == "" {
		t.Skip("FABRIC_BIN is not set: the put workload needs the Fabric test network")
	}
	if _, err := os.Stat(cfg); err != nil {
		t.Skipf("no test network: %v (run test-network/up.sh and deploy.sh)", err)
	}
	p, err := bench.OpenPut(bench.PutOptions{ConfigFile: cfg, Rand: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	res, err := bench.Run(t.Context(), bench.Options{Name: "put", Workload: p, Concurrency: 16, Duration: 5 * time.Second, Warmup: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Committed == 0 || len(res.Errors) != 0 {
		t.Errorf("committed %d, errors %v", res.Committed, res.Errors)
	}
	t.Logf("put on Fabric: %.1f tx/s, p50 %.1f ms, p99 %.1f ms", res.Throughput, res.Latency.P50, res.Latency.P99)
}
