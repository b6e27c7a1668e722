package command

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medprov/medprov/gateway/devup"
	"github.com/medprov/medprov/internal/devca"
	"github.com/medprov/medprov/internal/devnet"
)

func TestBadBenchCommandLinesAreUsageErrorsNamingTheFlag(t *testing.T) {
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "baseline.json")
	writeFile(t, notJSON, []byte("throughput: fast\n"))
	empty := filepath.Join(dir, "empty.json")
	writeFile(t, empty, []byte(`{"workload":"put","committed":0}`))
	env := filepath.Join(dir, "custodian.env")
	writeFile(t, env, []byte("export MEDPROV_GATEWAY=127.0.0.1:1\n"))
	tests := map[string]struct {
		args     []string
		wantFlag string
	}{
		"zero concurrency":                   {[]string{"bench", "anchor", "--concurrency", "0"}, "--concurrency"},
		"too much concurrency":               {[]string{"bench", "anchor", "--concurrency", "70000"}, "--concurrency"},
		"a zero duration":                    {[]string{"bench", "anchor", "--duration", "0s"}, "--duration"},
		"a duration without a unit":          {[]string{"bench", "anchor", "--duration", "30"}, "--duration"},
		"a negative warm-up":                 {[]string{"bench", "anchor", "--warmup", "-1s"}, "--warmup"},
		"a baseline that is not a result":    {[]string{"bench", "anchor", "--baseline", notJSON}, "--baseline"},
		"a baseline with nothing committed":  {[]string{"bench", "anchor", "--baseline", empty}, "--baseline"},
		"anchor without a gateway":           {[]string{"bench", "anchor"}, "--gateway"},
		"access without a custodian":         {[]string{"bench", "access", "--grantee", "HospitalBMSP"}, "--custodian-env"},
		"access without a grantee":           {[]string{"bench", "access", "--custodian-env", env}, "--grantee"},
		"access with a bad grantee":          {[]string{"bench", "access", "--custodian-env", env, "--grantee", "not an msp"}, "--grantee"},
		"access with no records":             {[]string{"bench", "access", "--custodian-env", env, "--grantee", "HospitalBMSP", "--records", "0"}, "--records"},
		"more patients than records":         {[]string{"bench", "access", "--custodian-env", env, "--grantee", "HospitalBMSP", "--records", "2", "--patients", "3"}, "--patients"},
		"a custodian env file lacking a key": {[]string{"bench", "access", "--custodian-env", env, "--grantee", "HospitalBMSP"}, "--custodian-env"},
		"put without a gateway config":       {[]string{"bench", "put"}, "--gateway-config"},
		"put with a missing gateway config":  {[]string{"bench", "put", "--gateway-config", filepath.Join(dir, "none.yaml")}, "--gateway-config"},
		"put with an unknown transaction":    {[]string{"bench", "put", "--gateway-config", filepath.Join(dir, "none.yaml"), "--transaction", "mint"}, "--transaction"},
		"put with a transaction in capitals": {[]string{"bench", "put", "--gateway-config", filepath.Join(dir, "none.yaml"), "--transaction", "Anchor"}, "--transaction"},
		"put with an empty transaction":      {[]string{"bench", "put", "--gateway-config", filepath.Join(dir, "none.yaml"), "--transaction", ""}, "--transaction"},
		"a bench argument":                   {[]string{"bench", "put", "now"}, "now"},
		"an unknown workload":                {[]string{"bench", "mint"}, "mint"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := run(t, tc.args...)
			if r.code != ExitUsage {
				t.Fatalf("exit %d (%v), want %d", r.code, r.err, ExitUsage)
			}
			if !strings.Contains(r.err.Error(), tc.wantFlag) {
				t.Errorf("error %q does not name %s", r.err, tc.wantFlag)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
		})
	}
}

func TestReadEnvFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "u.env")
	writeFile(t, path, []byte("# medprov dev up: HospitalAMSP officer\n\nexport MEDPROV_GATEWAY=127.0.0.1:17400 MEDPROV_TLS_CA='/tmp/a b/ca.crt' MEDPROV_IDENTITY='/tmp/it'\\''s/officer'\n"))
	vars, err := readEnvFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{envGateway: "127.0.0.1:17400", envTLSCA: "/tmp/a b/ca.crt", envIdentity: "/tmp/it's/officer"}
	for k, v := range want {
		if vars[k] != v {
			t.Errorf("%s = %q, want %q", k, vars[k], v)
		}
	}
	for name, line := range map[string]string{
		"an unterminated quote": "export A='x\n",
		"a double quote":        "export A=\"x\"\n",
		"a bare word":           "export A\n",
	} {
		writeFile(t, path, []byte(line))
		if _, err := readEnvFile(path); err == nil || !strings.Contains(err.Error(), path+":1") {
			t.Errorf("%s: err = %v, want one naming the line", name, err)
		}
	}
}

func TestBenchAgainstADevelopmentConsortium(t *testing.T) {
	c, err := devup.Start(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	if _, err := writeDevEnvFiles(c); err != nil {
		t.Fatal(err)
	}
	envOf := func(msp, user string) map[string]string {
		vars, err := readEnvFile(filepath.Join(c.Org(msp).Dir, user+".env"))
		if err != nil {
			t.Fatal(err)
		}
		return vars
	}
	out := filepath.Join(t.TempDir(), "anchor.json")
	anchor := runWith(t, runEnv{env: envOf(devnet.HospitalA, "clinician")},
		"bench", "anchor", "--concurrency", "4", "--duration", "1s", "--warmup", "200ms", "--json", out)
	if anchor.code != ExitOK {
		t.Fatalf("bench anchor: exit %d: %s", anchor.code, anchor.line)
	}
	for _, want := range []string{"WORKLOAD", "anchor", "COMMITTED", "THROUGHPUT", "tx/s", "LATENCY P99"} {
		if !strings.Contains(anchor.stdout, want) {
			t.Errorf("bench anchor table lacks %q:\n%s", want, anchor.stdout)
		}
	}
	if !strings.Contains(anchor.stderr, "in flight") {
		t.Errorf("no progress line on stderr: %q", anchor.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	res := decode[benchReport](t, string(b))
	if res.Workload != "anchor" || res.Concurrency != 4 || res.Connections != 1 || res.Committed == 0 || len(res.Errors) != 0 || res.Throughput <= 0 || res.Latency.P50 <= 0 {
		t.Errorf("anchor JSON: %+v", res)
	}

	access := runWith(t, runEnv{env: envOf(devnet.HospitalB, "clinician")},
		"bench", "access", "--custodian-env", filepath.Join(c.Org(devnet.HospitalA).Dir, "officer.env"), "--grantee", devnet.HospitalB,
		"--records", "4", "--patients", "2", "--concurrency", "4", "--duration", "1s", "--baseline", out, "--json", "-")
	if access.code != ExitOK {
		t.Fatalf("bench access: exit %d: %s", access.code, access.line)
	}
	var rep benchReport
	if err := json.Unmarshal([]byte(access.stdout), &rep); err != nil {
		t.Fatalf("--json - printed more than the JSON: %v\n%s", err, access.stdout)
	}
	if rep.Workload != "access" || rep.Committed == 0 || len(rep.Errors) != 0 || rep.Baseline == nil {
		t.Fatalf("access JSON: %+v", rep)
	}
	if want := rep.Throughput / res.Throughput; rep.Baseline.ThroughputRatio != want || rep.Baseline.Workload != "anchor" {
		t.Errorf("baseline %+v, want throughput ratio %v against anchor", rep.Baseline, want)
	}

	denied := runWith(t, runEnv{env: envOf(devnet.HospitalB, "clinician")},
		"bench", "access", "--custodian-env", filepath.Join(c.Org(devnet.HospitalA).Dir, "officer.env"), "--grantee", devnet.HealthAuthority,
		"--records", "1", "--patients", "1", "--duration", "1s")
	if denied.code != ExitRefused || !strings.Contains(denied.line, devnet.HealthAuthority) {
		t.Errorf("access with the wrong grantee: exit %d: %s; want %d naming the grantee", denied.code, denied.line, ExitRefused)
	}
}

// unreachableFabricConfig writes a medprov-gateway configuration with the
// fabric backend pointing at a loopback port nothing listens on, and a
// wallet holding the service identity "gateway" (a records officer of
// clearance V); it returns the file's path.
func unreachableFabricConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	org, err := devca.NewOrg("HospitalAMSP", "hospital-a.example")
	if err != nil {
		t.Fatal(err)
	}
	id, err := org.Issue(devca.IdentityRequest{Name: "gateway", NodeOU: devca.NodeOUClient, Role: devca.RoleRecordsOfficer, Clearance: devca.ClearanceV})
	if err != nil {
		t.Fatal(err)
	}
	if err := org.WriteIdentity(filepath.Join(dir, "wallet", "gateway"), id); err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(dir, "peer-tls-ca.pem")
	writeFile(t, ca, org.TLSCACertPEM())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	peer := l.Addr().String()
	l.Close()
	file := filepath.Join(dir, "gateway.yaml")
	writeFile(t, file, []byte(`org: {mspId: HospitalAMSP}
tls: {certFile: `+dir+`/tls.crt, keyFile: `+dir+`/tls.key, clientCAFile: `+dir+`/ca.pem}
wallet: {dir: `+dir+`/wallet, serviceIdentity: gateway}
store: {dir: `+dir+`/store, keyring: {file: {dir: `+dir+`/keys}}}
ledger:
  backend: fabric
  fabric: {peerEndpoint: "`+peer+`", peerTLSCAFile: `+ca+`, channel: medprov, chaincode: medprov}
`))
	return file
}

func TestBenchPutAgainstAnUnreachablePeer(t *testing.T) {
	cfg := unreachableFabricConfig(t)

	baseline := run(t, "bench", "put", "--gateway-config", cfg, "--transaction", "baseline", "--concurrency", "2", "--duration", "300ms", "--json", "-")
	if baseline.code != ExitError {
		t.Fatalf("baseline: exit %d (%s), want %d: nothing committed", baseline.code, baseline.line, ExitError)
	}
	var rep benchReport
	if err := json.Unmarshal([]byte(baseline.stdout), &rep); err != nil {
		t.Fatalf("baseline: %v\n%s", err, baseline.stdout)
	}
	if rep.Workload != "put" || rep.Committed != 0 || rep.Errors["UNAVAILABLE"] == 0 {
		t.Errorf("baseline JSON: %+v; want workload put, only UNAVAILABLE errors", rep)
	}

	// The anchor transaction registers its patient before the run: with no
	// peer the setup fails, as the gateway commands' setups do.
	anchor := run(t, "bench", "put", "--gateway-config", cfg, "--transaction", "anchor", "--duration", "300ms")
	if anchor.code != ExitUnavailable || !strings.Contains(anchor.line, "RegisterPatient") {
		t.Errorf("anchor: exit %d (%s), want %d naming RegisterPatient", anchor.code, anchor.line, ExitUnavailable)
	}
	t.Logf("anchor: %s", anchor.line)
	if anchor.stdout != "" {
		t.Errorf("anchor: stdout = %q, want nothing", anchor.stdout)
	}
}

func TestBenchPutHelpDescribesTheTransactions(t *testing.T) {
	r := mustRun(t, "bench", "put", "--help")
	for _, want := range []string{"--transaction", "baseline", "anchor", "put-anchor", "AnchorRecord", "RegisterPatient"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("bench put --help lacks %q", want)
		}
	}
}
