package walkthrough

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// builtBinaries builds medprov and medprov-demo into a temporary folder,
// as `make build` does into bin/. They are built without the race
// detector even under `go test -race`: a race-enabled medprov takes over a
// second to start, and the walkthrough runs about forty of them.
func builtBinaries(t *testing.T) (medprov, demo string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds medprov and plays the whole walkthrough; skipped with -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	dir := t.TempDir()
	pkgs := []string{"cli/cmd/medprov", "gateway/cmd/medprov-demo"}
	errs := make([]error, len(pkgs))
	var wg sync.WaitGroup
	for i, pkg := range pkgs {
		wg.Go(func() {
			out := filepath.Join(dir, filepath.Base(pkg))
			if b, err := exec.Command(goBin, "build", "-o", out, "github.com/medprov/medprov/"+pkg).CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "medprov"), filepath.Join(dir, "medprov-demo")
}

// wantSteps are the descriptions the walkthrough's lines start with, in
// order.
var wantSteps = []string{
	"[ok] dev up: 3 gateways",
	"[ok] a patient makes a key pair",
	"[ok] hospital A's clinician adds a discharge summary",
	"[ok] the patient signs consent",
	"[ok] hospital B's clinician requests the discharge summary (GRANTED",
	"[ok] hospital B's requests outside the consent exit 4, DENIED",
	"[ok] hospital B's clinician breaks the glass",
	"[ok] the patient signs hospital A's challenge",
	"[ok] the patient signs the revocation",
	"[ok] the health authority's auditor lists the patient's trail (6 events",
	"[ok] hospital A's receipt verifies B's copy offline",
	"[ok] hospital A's records officer erases the lab report",
	"[ok] dev up stopped on SIGINT and exited 0",
	"all 13 steps behaved as expected",
}

func checkLines(t *testing.T, out string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(wantSteps) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(wantSteps), out)
	}
	for i, want := range wantSteps {
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("line %d = %q, want it to start with %q", i+1, lines[i], want)
		}
	}
}

func TestTheWalkthroughPlaysAgainstTheBuiltBinaries(t *testing.T) {
	medprov, demo := builtBinaries(t)
	t.Run("the walkthrough library drives medprov dev up and the CLI", func(t *testing.T) {
		t.Parallel()
		var out bytes.Buffer
		dir := t.TempDir()
		if err := Run(context.Background(), Config{Medprov: medprov, Dir: dir, Out: &out}); err != nil {
			t.Fatalf("Run: %v\n%s", err, out.String())
		}
		checkLines(t, out.String())
	})
	t.Run("medprov-demo plays it, exits 0 and removes its folder", func(t *testing.T) {
		t.Parallel()
		tmp := t.TempDir()
		cmd := exec.Command(demo, "-medprov", medprov)
		cmd.Env = append(environ(), "TMPDIR="+tmp)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("medprov-demo: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
		}
		header, rest, _ := strings.Cut(stdout.String(), "\n")
		if !strings.HasPrefix(header, "medprov demo: ") {
			t.Errorf("first line %q, want the demo's header", header)
		}
		checkLines(t, rest)
		if left, _ := os.ReadDir(tmp); len(left) != 0 {
			t.Errorf("medprov-demo left %d entries in its temporary folder", len(left))
		}
	})
}

// fakeMedprov writes a shell script standing in for medprov.
func fakeMedprov(t *testing.T, script string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fake medprov is a POSIX shell script")
	}
	path := filepath.Join(t.TempDir(), "medprov")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script), 0o700); err != nil {
		t.Fatal(err)
	}
	return path
}

// fakeDevUp is a dev up that writes .env files for every organisation's
// admin and clinician, prints "ready" and exits 0 on SIGINT; every other
// command runs otherCommands.
const fakeDevUp = `if [ "$1" = dev ]; then
  for msp in HospitalAMSP HospitalBMSP HealthAuthorityMSP; do
    mkdir -p "$4/$msp"
    for u in admin clinician; do
      echo "# fake" > "$4/$msp/$u.env"
      echo "export MEDPROV_GATEWAY=127.0.0.1:9 MEDPROV_TLS_CA=/nowhere/ca.crt MEDPROV_IDENTITY='/no where/$u'" >> "$4/$msp/$u.env"
    done
  done
  trap 'echo stopping >&2; exit 0' INT
  echo "development consortium"
  echo ready
  while :; do sleep 0.05; done
fi
`

func TestAFailureStopsTheWalkthroughAndShowsTheCommandsStderr(t *testing.T) {
	tests := map[string]struct {
		script   string
		wantLine string
		wantErr  string // in the indented stderr
	}{
		"dev up that exits at once is reported with its stderr": {
			script:   "echo 'medprov dev up: starting the consortium: address already in use' >&2\nexit 1\n",
			wantLine: "[FAIL] dev up starts the consortium: medprov dev up exited before it was ready",
			wantErr:  "    medprov dev up: starting the consortium: address already in use",
		},
		"a step whose command exits otherwise than expected stops the walkthrough": {
			script:   fakeDevUp + "echo 'medprov gateway status: UNAVAILABLE: connection refused' >&2\nexit 6\n",
			wantLine: "[FAIL] three gateways serve: medprov gateway status -o json (as HospitalAMSP/admin): exit 6, want 0",
			wantErr:  "    medprov gateway status: UNAVAILABLE: connection refused",
		},
		"a step whose command prints something else than JSON stops the walkthrough": {
			script:   fakeDevUp + "echo 'not json'\nexit 0\n",
			wantLine: "[FAIL] three gateways serve: medprov gateway status -o json (as HospitalAMSP/admin): its output is not the JSON expected",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			medprov := fakeMedprov(t, tc.script)
			var out bytes.Buffer
			err := Run(context.Background(), Config{Medprov: medprov, Dir: t.TempDir(), Out: &out, StopTimeout: 5 * time.Second})
			if !errors.Is(err, ErrFailed) {
				t.Fatalf("Run = %v, want ErrFailed\n%s", err, out.String())
			}
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if !strings.HasPrefix(lines[0], tc.wantLine) {
				t.Errorf("first line %q, want it to start with %q", lines[0], tc.wantLine)
			}
			if tc.wantErr != "" && !slices.Contains(lines, tc.wantErr) {
				t.Errorf("output lacks the indented stderr %q:\n%s", tc.wantErr, out.String())
			}
			for _, l := range lines {
				if strings.HasPrefix(l, "[ok]") {
					t.Errorf("a step passed against a fake medprov: %q", l)
				}
			}
		})
	}
}

func TestADevUpThatNeverGetsReadyIsStoppedAfterTheTimeout(t *testing.T) {
	medprov := fakeMedprov(t, "trap 'exit 0' INT\nwhile :; do sleep 0.05; done\n")
	var out bytes.Buffer
	start := time.Now()
	err := Run(context.Background(), Config{Medprov: medprov, Dir: t.TempDir(), Out: &out, StartTimeout: 300 * time.Millisecond})
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("Run = %v, want ErrFailed", err)
	}
	if !strings.HasPrefix(out.String(), `[FAIL] dev up starts the consortium: medprov dev up did not print "ready" within 300ms`) {
		t.Errorf("output %q", out.String())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run took %v; the child was not stopped promptly", d)
	}
}

func TestADevUpThatDoesNotExitZeroOnSIGINTFails(t *testing.T) {
	// A dev up that starts, whose .env files are read, and that exits 3
	// on SIGINT.
	medprov := fakeMedprov(t, strings.Replace(fakeDevUp, "exit 0' INT", "exit 3' INT", 1)+"exit 0\n")
	c, err := startConsortium(context.Background(), medprov, t.TempDir(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.env) != 6 {
		t.Errorf("read %d users' settings, want 6", len(c.env))
	}
	want := []string{"MEDPROV_GATEWAY=127.0.0.1:9", "MEDPROV_TLS_CA=/nowhere/ca.crt", "MEDPROV_IDENTITY=/no where/clinician"}
	if got := c.env[User{"HospitalBMSP", "clinician"}]; !slices.Equal(got, want) {
		t.Errorf("HospitalBMSP/clinician settings %q, want %q", got, want)
	}
	err = c.stop(5 * time.Second)
	var se *startError
	if !errors.As(err, &se) || !strings.Contains(se.msg, "exit status 3 after SIGINT, want exit 0") {
		t.Fatalf("stop = %v, want exit status 3 reported", err)
	}
	if !strings.Contains(se.stderr, "stopping") {
		t.Errorf("stop's error lacks dev up's stderr: %q", se.stderr)
	}
}

func TestEnvFilesReadAsAShellReadsThem(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    []string
		wantErr string
	}{
		"bare values": {
			in:   "# comment\nexport MEDPROV_GATEWAY=127.0.0.1:17400 MEDPROV_TLS_CA=/d/ca.crt MEDPROV_IDENTITY=/d/wallet/clinician\n",
			want: []string{"MEDPROV_GATEWAY=127.0.0.1:17400", "MEDPROV_TLS_CA=/d/ca.crt", "MEDPROV_IDENTITY=/d/wallet/clinician"},
		},
		"single-quoted values with blanks and an escaped quote": {
			in:   `export MEDPROV_GATEWAY=127.0.0.1:1 MEDPROV_TLS_CA='/my dir/ca.crt' MEDPROV_IDENTITY='/it'\''s here/x'`,
			want: []string{"MEDPROV_GATEWAY=127.0.0.1:1", "MEDPROV_TLS_CA=/my dir/ca.crt", "MEDPROV_IDENTITY=/it's here/x"},
		},
		"several export lines": {
			in:   "export MEDPROV_GATEWAY=h:1\nexport MEDPROV_TLS_CA=c MEDPROV_IDENTITY=i\n",
			want: []string{"MEDPROV_GATEWAY=h:1", "MEDPROV_TLS_CA=c", "MEDPROV_IDENTITY=i"},
		},
		"a missing variable":     {in: "export MEDPROV_GATEWAY=h:1 MEDPROV_TLS_CA=c\n", wantErr: "MEDPROV_IDENTITY is not set"},
		"a line without export":  {in: "MEDPROV_GATEWAY=h:1\n", wantErr: "line 1: want export KEY=VALUE"},
		"a word without a value": {in: "export MEDPROV_GATEWAY\n", wantErr: `line 1: "MEDPROV_GATEWAY" is not KEY=VALUE`},
		"an unterminated quote":  {in: "export MEDPROV_GATEWAY='h:1\n", wantErr: "line 1: unterminated"},
		"a double quote":         {in: `export MEDPROV_GATEWAY="h:1"`, wantErr: "unsupported shell character"},
		"a variable expansion":   {in: `export MEDPROV_GATEWAY=$HOST`, wantErr: "unsupported shell character"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := parseEnv(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseEnv = %q, %v; want an error with %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("parseEnv = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestRunRefusesAnIncompleteConfig(t *testing.T) {
	tests := map[string]struct {
		cfg  Config
		want string
	}{
		"no medprov": {Config{Dir: "d", Out: &bytes.Buffer{}}, "Config.Medprov"},
		"no folder":  {Config{Medprov: "m", Out: &bytes.Buffer{}}, "Config.Dir"},
		"no output":  {Config{Medprov: "m", Dir: "d"}, "Config.Out"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := Run(context.Background(), tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, ErrFailed) {
				t.Fatalf("Run = %v, want a config error naming %s", err, tc.want)
			}
		})
	}
}
