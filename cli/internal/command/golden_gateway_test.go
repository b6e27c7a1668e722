package command

import (
	"testing"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
)

func TestGatewayCommandOutputMatchesTheGoldenFiles(t *testing.T) {
	tests := map[string]struct {
		setup    func(t *testing.T, e *fakeEnv)
		args     []string
		wantCode int
		golden   string
	}{
		"record add of two files as a table": {
			setup: func(t *testing.T, e *fakeEnv) {
				writeFile(t, "discharge-summary.txt", []byte("synthetic discharge summary\n"))
				writeFile(t, "lab.json", []byte(`{"resourceType":"Observation","status":"final"}`))
			},
			args:   []string{"record", "add", "discharge-summary.txt", "lab.json", "--patient", testPatient, "--doc-type", "18842-5"},
			golden: "record-add.txt",
		},
		"record add as JSON": {
			setup:  func(t *testing.T, e *fakeEnv) { writeFile(t, "lab.json", []byte(`{"resourceType":"Observation"}`)) },
			args:   []string{"record", "add", "lab.json", "--patient", testPatient, "--doc-type", "Observation", "--record-id", "r-lab-0001", "-o", "json"},
			golden: "record-add.json",
		},
		"record add with a failure and --keep-going": {
			setup: func(t *testing.T, e *fakeEnv) {
				writeFile(t, "a.txt", []byte("synthetic a"))
				writeFile(t, "b.txt", []byte(refuseMarker))
			},
			args:     []string{"record", "add", "a.txt", "b.txt", "--patient", testPatient, "--doc-type", "18842-5", "--keep-going"},
			wantCode: ExitError,
			golden:   "record-add-keep-going.txt",
		},
		"record get as JSON": {
			setup:  func(t *testing.T, e *fakeEnv) { e.fake.seed("r-0001", 1, []byte("synthetic summary\n")) },
			args:   []string{"record", "get", "r-0001", "--out", "summary.txt", "--care-relationship", "-o", "json"},
			golden: "record-get.json",
		},
		"record history as a table": {
			setup: func(t *testing.T, e *fakeEnv) {
				e.fake.seed("r-0001", 1, []byte("v1"))
				e.fake.seed("r-0001", 2, []byte("v2"))
				e.fake.set(func(f *fakeGateway) {
					f.records["r-0001"][0].ev.Status = gatewayv1.RecordStatus_RECORD_STATUS_SUPERSEDED
					f.records["r-0001"][1].ev.PreviousVersion = 1
					f.records["r-0001"][1].ev.AmendmentReason = gatewayv1.AmendmentReason_AMENDMENT_REASON_PATIENT_REQUEST
				})
			},
			args:   []string{"record", "history", "r-0001"},
			golden: "record-history.txt",
		},
		"record receipt on stdout": {
			setup:  func(t *testing.T, e *fakeEnv) { e.fake.seed("r-0001", 1, []byte("synthetic summary\n")) },
			args:   []string{"record", "receipt", "r-0001"},
			golden: "record-receipt.json",
		},
		"access request granted as a table": {
			args:   []string{"access", "request", "r-remote-0001", "--purpose", "TREAT"},
			golden: "access-request.txt",
		},
		"access request denied as a table": {
			setup: func(t *testing.T, e *fakeEnv) {
				e.fake.set(func(f *fakeGateway) { f.decision = gatewayv1.Decision_DECISION_DENIED })
			},
			args:     []string{"access", "request", "r-remote-0001", "--purpose", "HRESCH"},
			wantCode: ExitRefused,
			golden:   "access-request-denied.txt",
		},
		"access log as JSON": {
			args:   []string{"access", "log", "r-0001", "--purpose", "TREAT", "--care-relationship", "-o", "json"},
			golden: "access-log.json",
		},
		"audit trail as a table": {
			args:   []string{"audit", "trail", "--record", "r-0001"},
			golden: "audit-trail.txt",
		},
		"audit trail as YAML": {
			args:   []string{"audit", "trail", "--record", "r-0001", "-o", "yaml"},
			golden: "audit-trail.yaml",
		},
		"consent list as a table": {
			args:   []string{"consent", "list", "--patient", testPatient},
			golden: "consent-list.txt",
		},
		"gateway status as a table": {
			args:   []string{"gateway", "status"},
			golden: "gateway-status.txt",
		},
		"gateway status as YAML": {
			args:   []string{"gateway", "status", "-o", "yaml"},
			golden: "gateway-status.yaml",
		},
		"directory get as a table": {
			args:   []string{"directory", "get", fakeRemoteMSP},
			golden: "directory-get.txt",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := startFake(t)
			t.Chdir(t.TempDir())
			if tc.setup != nil {
				tc.setup(t, e)
			}
			r := e.run(t, tc.args...)
			if r.code != tc.wantCode {
				t.Fatalf("exit %d (%v), want %d", r.code, r.err, tc.wantCode)
			}
			golden(t, tc.golden, r.stdout)
		})
	}
}
