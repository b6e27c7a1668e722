package command

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestAnUnknownOutputFormatIsRefusedBeforeAnyCallReachesTheGateway(t *testing.T) {
	_, kg := keygen(t, algP256)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.bin")
	doc := filepath.Join(dir, "synthetic-summary.txt")
	writeFile(t, doc, []byte("synthetic summary\n"))
	tests := map[string]struct {
		args []string
	}{
		"a call that prints its answer":      {args: []string{"access", "log", "r-0001", "--purpose", "TREAT"}},
		"a long call that prints its answer": {args: []string{"gateway", "rotate-keys"}},
		"a call that checks what it printed": {args: []string{"access", "request", "r-remote-0001", "--purpose", "TREAT"}},
		"a call after a confirmation":        {args: []string{"record", "erase", "r-0001", "--reason", "PATIENT-REQUEST", "--yes"}},
		"a paged listing":                    {args: []string{"audit", "trail", "--record", "r-0001"}},
		"a patient's paged listing":          {args: []string{"patient", "records", "--key", kg.PrivateKeyFile}},
		"a download to a file":               {args: []string{"record", "get", "r-0001", "--out", out}},
		"a receipt written to a file":        {args: []string{"record", "receipt", "r-0001", "--out", out}},
		"an export written to a file":        {args: []string{"audit", "export", "--format", "csv", "--out", out}},
		"an upload":                          {args: []string{"record", "amend", "r-0001", doc, "--reason", "CORRECTION"}},
	}
	e := startFake(t)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			before := e.fake.callCount()
			r := e.run(t, append(tc.args, "-o", "xml")...)
			if r.code != ExitUsage || !strings.Contains(r.err.Error(), "--output") {
				t.Fatalf("exit %d (%v), want %d naming --output", r.code, r.err, ExitUsage)
			}
			if n := e.fake.callCount() - before; n != 0 {
				t.Errorf("%d calls reached the gateway, want none", n)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
		})
	}
}
