package bench_test

import (
	"crypto/rand"
	"errors"
	"fmt"
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
// ("gateway"), a clinician, a clinician of clearance L ("clinician-l") and
// an admin; it returns the file's path.
func fabricConfig(t *testing.T, backend, peer string) string {
	t.Helper()
	dir := t.TempDir()
	org, err := devca.NewOrg("HospitalAMSP", "hospital-a.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct{ name, role, clearance string }{
		{"gateway", devca.RoleRecordsOfficer, devca.ClearanceV},
		{"clinician", devca.RoleClinician, devca.ClearanceN},
		{"clinician-l", devca.RoleClinician, devca.ClearanceL},
		{"admin", devca.RoleAdmin, devca.ClearanceV},
	} {
		id, err := org.Issue(devca.IdentityRequest{Name: u.name, NodeOU: devca.NodeOUClient, Role: u.role, Clearance: u.clearance})
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
		"an unknown transaction is refused": {
			bench.PutOptions{ConfigFile: good, Transaction: "mint", Rand: rand.Reader}, "transaction", bench.ErrOptions},
		"an admin is refused for the anchor transaction": {
			bench.PutOptions{ConfigFile: good, Identity: "admin", Transaction: bench.TransactionAnchor, Rand: rand.Reader}, "clinician or a records officer", nil},
		"a clearance below N is refused for the anchor transaction": {
			bench.PutOptions{ConfigFile: good, Identity: "clinician-l", Transaction: bench.TransactionAnchor, Rand: rand.Reader}, "clearance L", nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := bench.OpenPut(t.Context(), tc.o)
			if err == nil {
				p.Close()
				t.Fatal("OpenPut succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Errorf("err = %v, want one naming %q (is %v)", err, tc.want, tc.is)
			}
			if errors.Is(err, bench.ErrSetup) {
				t.Errorf("err = %v: refused after connecting, want before", err)
			}
		})
	}
}

func TestPutAnchorRegistersItsPatientAtSetup(t *testing.T) {
	cfg := fabricConfig(t, "fabric", closedPort(t))
	tests := map[string]string{
		"the service identity (a records officer) gets as far as registering": "",
		"a clinician of clearance N gets as far as registering":               "clinician",
	}
	for name, identity := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := bench.OpenPut(t.Context(), bench.PutOptions{ConfigFile: cfg, Identity: identity, Transaction: bench.TransactionAnchor, Rand: rand.Reader})
			if err == nil {
				p.Close()
				t.Fatal("OpenPut succeeded with no peer to register the patient")
			}
			if !errors.Is(err, bench.ErrSetup) || !strings.Contains(err.Error(), "RegisterPatient") || bench.Code(err) != "UNAVAILABLE" {
				t.Errorf("err = %v (code %s), want a setup error of RegisterPatient, UNAVAILABLE", err, bench.Code(err))
			}
		})
	}
}

func TestPutCountsAnUnreachablePeerAsUnavailable(t *testing.T) {
	p, err := bench.OpenPut(t.Context(), bench.PutOptions{ConfigFile: fabricConfig(t, "fabric", closedPort(t)), Rand: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Name() != "put" {
		t.Errorf("Name() = %q, want put", p.Name())
	}
	res, err := bench.Run(t.Context(), bench.Options{Name: p.Name(), Workload: p, Concurrency: 2, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Committed != 0 || res.Errors["UNAVAILABLE"] == 0 || len(res.Errors) != 1 {
		t.Errorf("committed %d, errors %v; want only UNAVAILABLE", res.Committed, res.Errors)
	}
}

// fabricGatewayConfig returns the local Fabric test network's HospitalAMSP
// gateway configuration (test-network/up.sh and deploy.sh, with the
// Baseline contract deployed), or skips the test without FABRIC_BIN or the
// network (fails instead when MEDPROV_FABRIC=1, as make test-fabric sets).
func fabricGatewayConfig(t *testing.T) string {
	t.Helper()
	cfg := filepath.Join("..", "..", "test-network", "gateways", "HospitalAMSP", "gateway.yaml")
	if os.Getenv("FABRIC_BIN") == "" {
		t.Skip("FABRIC_BIN is not set: the put workload needs the Fabric test network")
	}
	if _, err := os.Stat(cfg); err != nil {
		msg := fmt.Sprintf("no test network: %v (run test-network/up.sh and deploy.sh)", err)
		if os.Getenv("MEDPROV_FABRIC") == "1" { // make test-fabric: the network must be there
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return cfg
}

// TestPutOnFabric runs the put workload with Baseline:Put, as the
// network's gateway service identity (a records officer), against the
// local Fabric test network.
func TestPutOnFabric(t *testing.T) {
	runPutOnFabric(t, bench.TransactionBaseline)
}

// TestPutAnchorOnFabric runs the put workload with AnchorRecord (after
// registering its synthetic patient), as the network's gateway service
// identity (a records officer), against the local Fabric test network.
func TestPutAnchorOnFabric(t *testing.T) {
	runPutOnFabric(t, bench.TransactionAnchor)
}

// runPutOnFabric runs the put workload submitting tx for 5 s at 16 in
// flight on the Fabric test network, and wants every call committed VALID.
func runPutOnFabric(t *testing.T, tx bench.Transaction) {
	cfg := fabricGatewayConfig(t)
	p, err := bench.OpenPut(t.Context(), bench.PutOptions{ConfigFile: cfg, Transaction: tx, Rand: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Name() != tx.WorkloadName() {
		t.Errorf("Name() = %q, want %q", p.Name(), tx.WorkloadName())
	}
	res, err := bench.Run(t.Context(), bench.Options{Name: p.Name(), Workload: p, Concurrency: 16, Duration: 5 * time.Second, Warmup: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Committed == 0 || len(res.Errors) != 0 {
		t.Errorf("committed %d, errors %v", res.Committed, res.Errors)
	}
	t.Logf("%s on Fabric: %.1f tx/s, p50 %.1f ms, p99 %.1f ms", p.Name(), res.Throughput, res.Latency.P50, res.Latency.P99)
}
