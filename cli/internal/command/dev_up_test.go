package command

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a buffer the running command writes while the test
// reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// devUp is a dev up command running in this process.
type devUp struct {
	stdout, stderr *lockedBuffer
	cancel         context.CancelFunc
	done           chan error
}

// startDevUp runs `medprov dev up args...` in the background and waits for
// its "ready" line.
func startDevUp(t *testing.T, args ...string) *devUp {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &devUp{stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, cancel: cancel, done: make(chan error, 1)}
	deps := Deps{
		Stdin: strings.NewReader(""), Stdout: d.stdout, Stderr: d.stderr,
		Rand: rand.Reader, Now: time.Now,
		LookupEnv: func(string) (string, bool) { return "", false },
	}
	root := NewRoot(deps)
	root.SetArgs(append([]string{"dev", "up"}, args...))
	go func() {
		_, err := root.ExecuteContextC(ctx)
		d.done <- err
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-d.done:
		case <-time.After(30 * time.Second):
			t.Error("dev up did not stop within 30s of its context's end")
		}
	})
	deadline := time.After(60 * time.Second)
	for !strings.HasSuffix(d.stdout.String(), "\n"+devReadyLine+"\n") {
		select {
		case err := <-d.done:
			d.done <- err
			t.Fatalf("dev up returned before it was ready: %v\nstderr:\n%s", err, d.stderr.String())
		case <-deadline:
			t.Fatalf("dev up printed no %q line within 60s\nstdout:\n%s\nstderr:\n%s", devReadyLine, d.stdout.String(), d.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return d
}

// stop cancels dev up's context and returns what it returned.
func (d *devUp) stop(t *testing.T) error {
	t.Helper()
	d.cancel()
	select {
	case err := <-d.done:
		d.done <- err
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("dev up did not return within 30s of its context's end")
		return nil
	}
}

// sourceEnv reads an env file's export lines as a shell sourcing it
// would, for the quoting dev up writes: values bare or in single quotes,
// with '\” for a quote.
func sourceEnv(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		var words []string
		var w strings.Builder
		quoted, escaped := false, false
		for _, r := range line + " " {
			switch {
			case escaped:
				w.WriteRune(r)
				escaped = false
			case r == '\'':
				quoted = !quoted
			case quoted:
				w.WriteRune(r)
			case r == '\\':
				escaped = true
			case r == ' ':
				if w.Len() > 0 {
					words = append(words, w.String())
					w.Reset()
				}
			default:
				w.WriteRune(r)
			}
		}
		if len(words) == 0 || words[0] != "export" {
			t.Fatalf("%s: %q is not an export line", path, line)
		}
		for _, kv := range words[1:] {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
	}
	for _, k := range []string{envGateway, envTLSCA, envIdentity} {
		if env[k] == "" {
			t.Fatalf("%s does not set %s", path, k)
		}
	}
	return env
}

func TestDevUpServesTheCLIUntilItsContextEnds(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dev")
	d := startDevUp(t, "--dir", dir, "--base-port", "0")
	out := d.stdout.String()

	clinician := sourceEnv(t, filepath.Join(dir, "HospitalAMSP", "clinician.env"))
	admin := sourceEnv(t, filepath.Join(dir, "HospitalAMSP", "admin.env"))
	want := "export MEDPROV_GATEWAY=" + shellQuote(clinician[envGateway]) + " MEDPROV_TLS_CA=" + shellQuote(clinician[envTLSCA]) +
		" MEDPROV_IDENTITY=" + shellQuote(filepath.Join(dir, "HospitalAMSP", "wallet", "clinician"))
	if !strings.Contains(out, "\n  "+want+"\n") {
		t.Errorf("stdout lacks the clinician's export line %q:\n%s", want, out)
	}
	for _, msp := range []string{"HospitalAMSP", "HospitalBMSP", "HealthAuthorityMSP"} {
		for _, user := range []string{"clinician", "clinician-l", "officer", "researcher", "admin", "auditor"} {
			if _, err := os.Stat(filepath.Join(dir, msp, user+".env")); err != nil {
				t.Errorf("no env file for %s of %s: %v", user, msp, err)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, msp, "gateway.env")); err == nil {
			t.Errorf("%s: an env file for the gateway's own identity", msp)
		}
	}

	status := runWith(t, runEnv{env: admin}, "gateway", "status", "-o", "json")
	if status.code != ExitOK {
		t.Fatalf("gateway status: exit %d: %s", status.code, status.line)
	}
	if s := decode[statusView](t, status.stdout); s.MSPID != "HospitalAMSP" || s.LedgerBackend != "embedded" {
		t.Errorf("gateway status: %+v, want HospitalAMSP on the embedded ledger", s)
	}

	keyDir := filepath.Join(t.TempDir(), "patient")
	mustRun(t, "patient", "keygen", "--out", keyDir)
	reg := runWith(t, runEnv{env: clinician}, "patient", "register", "--public-key", filepath.Join(keyDir, publicKeyFile), "-o", "json")
	if reg.code != ExitOK {
		t.Fatalf("patient register: exit %d: %s", reg.code, reg.line)
	}
	patient := decode[patientView](t, reg.stdout).Pseudonym
	doc := filepath.Join(t.TempDir(), "summary.txt")
	writeFile(t, doc, []byte("Synthetic discharge summary #1 — test data"))
	add := runWith(t, runEnv{env: clinician}, "record", "add", doc, "--patient", patient, "--doc-type", "18842-5", "-o", "json")
	if add.code != ExitOK {
		t.Fatalf("record add: exit %d: %s", add.code, add.line)
	}
	if r := decode[[]addResult](t, add.stdout); len(r) != 1 || r[0].Version != 1 || r[0].TxID == "" {
		t.Errorf("record add: %+v, want one anchored version 1", r)
	}
	denied := runWith(t, runEnv{env: clinician}, "gateway", "status")
	if denied.code != ExitRefused {
		t.Errorf("gateway status as a clinician: exit %d, want %d (admins only)", denied.code, ExitRefused)
	}

	if err := d.stop(t); err != nil {
		t.Fatalf("dev up returned %v after its context ended, want nil\nstderr:\n%s", err, d.stderr.String())
	}
	if !strings.HasSuffix(d.stderr.String(), "stopped\n") {
		t.Errorf("stderr %q, want it to end with stopped", d.stderr.String())
	}
	gone := runWith(t, runEnv{env: admin}, "gateway", "status", "--timeout", "2s")
	if gone.code != ExitUnavailable {
		t.Errorf("gateway status after dev up stopped: exit %d, want %d", gone.code, ExitUnavailable)
	}
}

func TestDevUpPrintsJSONThenReady(t *testing.T) {
	dir := t.TempDir()
	d := startDevUp(t, "--dir", dir, "--base-port", "0", "-o", "json", "--log-format", "json")
	doc := strings.TrimSuffix(d.stdout.String(), devReadyLine+"\n")
	var v devUpView
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatalf("the output before %q is not JSON: %v\n%s", devReadyLine, err, doc)
	}
	if v.Dir != dir || len(v.Orgs) != 3 {
		t.Fatalf("dir %q with %d orgs, want %q with 3", v.Dir, len(v.Orgs), dir)
	}
	for _, o := range v.Orgs {
		if len(o.Users) != 6 {
			t.Errorf("%s: %d users, want 6", o.MSPID, len(o.Users))
		}
		for _, u := range o.Users {
			env := sourceEnv(t, u.EnvFile)
			if env[envGateway] != o.GRPC || env[envTLSCA] != o.TLSCA || env[envIdentity] != u.Identity {
				t.Errorf("%s %s: env file %v does not match %+v", o.MSPID, u.Name, env, u)
			}
		}
	}
	if err := d.stop(t); err != nil {
		t.Fatalf("dev up returned %v, want nil", err)
	}
}

func TestDevUpReopensItsFolder(t *testing.T) {
	dir := t.TempDir()
	first := startDevUp(t, "--dir", dir, "--base-port", "0")
	ca, err := os.ReadFile(filepath.Join(dir, "HospitalAMSP", "server", "tls", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := first.stop(t); err != nil {
		t.Fatal(err)
	}
	second := startDevUp(t, "--dir", dir, "--base-port", "0")
	defer second.stop(t)
	again, err := os.ReadFile(filepath.Join(dir, "HospitalAMSP", "server", "tls", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ca, again) {
		t.Error("reopening the folder issued a new TLS CA")
	}
	admin := sourceEnv(t, filepath.Join(dir, "HospitalBMSP", "admin.env"))
	if r := runWith(t, runEnv{env: admin}, "gateway", "status"); r.code != ExitOK {
		t.Errorf("gateway status after reopening: exit %d: %s", r.code, r.line)
	}
}

func TestBadDevUpFlagsAreUsageErrorsAndStartNothing(t *testing.T) {
	tests := map[string]struct {
		args     []string
		wantFlag string
	}{
		"a negative base port":           {args: []string{"--base-port", "-1"}, wantFlag: "--base-port"},
		"a privileged base port":         {args: []string{"--base-port", "80"}, wantFlag: "--base-port"},
		"a base port leaving no room":    {args: []string{"--base-port", "65530"}, wantFlag: "--base-port"},
		"a base port that is not number": {args: []string{"--base-port", "high"}, wantFlag: "--base-port"},
		"an unknown log format":          {args: []string{"--log-format", "xml"}, wantFlag: "--log-format"},
		"an empty folder name":           {args: []string{"--dir", ""}, wantFlag: "--dir"},
		"an argument":                    {args: []string{"now"}, wantFlag: "now"},
		"an unknown output format":       {args: []string{"-o", "csv"}, wantFlag: "-o"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "dev")
			args := append([]string{"dev", "up", "--dir", dir}, tc.args...)
			r := run(t, args...)
			if r.code != ExitUsage {
				t.Fatalf("exit %d (%v), want %d", r.code, r.err, ExitUsage)
			}
			if !strings.Contains(r.err.Error(), tc.wantFlag) {
				t.Errorf("error %q does not name %s", r.err, tc.wantFlag)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s was created (%v)", dir, err)
			}
		})
	}
}

func TestShellQuoteKeepsEveryValueOneWord(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"an address is left bare":       {"127.0.0.1:17400", "127.0.0.1:17400"},
		"a plain path is left bare":     {"/tmp/medprov-dev/HospitalAMSP/wallet/clinician", "/tmp/medprov-dev/HospitalAMSP/wallet/clinician"},
		"a blank is quoted":             {"/my dir/ca.crt", "'/my dir/ca.crt'"},
		"a single quote is escaped":     {"/it's", `'/it'\''s'`},
		"a dollar sign is not expanded": {"/a$HOME", "'/a$HOME'"},
		"an empty value stays a word":   {"", "''"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := shellQuote(tc.in); got != tc.want {
				t.Errorf("shellQuote(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}
