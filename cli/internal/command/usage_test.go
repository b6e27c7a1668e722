package command

import (
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/chaincode/ledger"
)

func TestBadGatewayCommandLinesAreUsageErrorsNamingTheFlag(t *testing.T) {
	e := startFake(t)
	file := filepath.Join(t.TempDir(), "doc.txt")
	writeFile(t, file, []byte("synthetic"))
	tx := fakeTxID(1)
	tests := map[string]struct {
		args     []string
		wantFlag string
	}{
		"record add without a patient":            {args: []string{"record", "add", file, "--doc-type", "11502-2"}, wantFlag: "--patient"},
		"record add with a bad pseudonym":         {args: []string{"record", "add", file, "--patient", "alice", "--doc-type", "11502-2"}, wantFlag: "--patient"},
		"record add without a doc type":           {args: []string{"record", "add", file, "--patient", testPatient}, wantFlag: "--doc-type"},
		"record add with a bad LOINC check digit": {args: []string{"record", "add", file, "--patient", testPatient, "--doc-type", "11502-3"}, wantFlag: "--doc-type"},
		"record add with a bad confidentiality":   {args: []string{"record", "add", file, "--patient", testPatient, "--doc-type", "11502-2", "--confidentiality", "X"}, wantFlag: "--confidentiality"},
		"record add with a bad record ID":         {args: []string{"record", "add", file, "--patient", testPatient, "--doc-type", "11502-2", "--record-id", "a b"}, wantFlag: "--record-id"},
		"record add without files":                {args: []string{"record", "add", "--patient", testPatient, "--doc-type", "11502-2"}, wantFlag: "arg"},
		"record add with both progress flags":     {args: []string{"record", "add", file, "--patient", testPatient, "--doc-type", "11502-2", "--progress", "--no-progress"}, wantFlag: "--progress"},
		"record get without --out":                {args: []string{"record", "get", "r-0001"}, wantFlag: "--out"},
		"record get with a bad purpose":           {args: []string{"record", "get", "r-0001", "--out", "x", "--purpose", "FUN"}, wantFlag: "--purpose"},
		"record get with a huge version":          {args: []string{"record", "get", "r-0001", "--out", "x", "--version", "2000000"}, wantFlag: "--version"},
		"record get with a bad record ID":         {args: []string{"record", "get", "r", "--out", "x"}, wantFlag: "RECORD_ID"},
		"record amend without a reason":           {args: []string{"record", "amend", "r-0001", file}, wantFlag: "--reason"},
		"record amend with an erasure reason":     {args: []string{"record", "amend", "r-0001", file, "--reason", "LEGAL-ORDER"}, wantFlag: "--reason"},
		"record erase with an amendment reason":   {args: []string{"record", "erase", "r-0001", "--reason", "CORRECTION", "--yes"}, wantFlag: "--reason"},
		"record receipt with two IDs":             {args: []string{"record", "receipt", "r-0001", "r-0002"}, wantFlag: "arg"},
		"access request without a purpose":        {args: []string{"access", "request", "r-0001"}, wantFlag: "--purpose"},
		"an emergency without ETREAT":             {args: []string{"access", "request", "r-0001", "--purpose", "TREAT", "--emergency", "LIFE-THREATENING"}, wantFlag: "--emergency"},
		"an unknown justification code":           {args: []string{"access", "request", "r-0001", "--purpose", "ETREAT", "--emergency", "BORED"}, wantFlag: "--emergency"},
		"a justification file without emergency":  {args: []string{"access", "request", "r-0001", "--purpose", "TREAT", "--justification-file", file}, wantFlag: "--justification-file"},
		"access fetch with a bad ticket":          {args: []string{"access", "fetch", "abc"}, wantFlag: "ACCESS_TX_ID"},
		"access fetch with a bad copy ID":         {args: []string{"access", "fetch", tx, "--copy-record-id", "!"}, wantFlag: "--copy-record-id"},
		"access log without a purpose":            {args: []string{"access", "log", "r-0001"}, wantFlag: "--purpose"},
		"consent list without a filter":           {args: []string{"consent", "list"}, wantFlag: "--patient"},
		"consent list with both filters":          {args: []string{"consent", "list", "--patient", testPatient, "--grantee", "X"}, wantFlag: "--patient"},
		"consent grant without a file":            {args: []string{"consent", "grant"}, wantFlag: "--file"},
		"consent revoke without a file":           {args: []string{"consent", "revoke"}, wantFlag: "--file"},
		"patient register without a key":          {args: []string{"patient", "register"}, wantFlag: "--public-key"},
		"patient register with a private key":     {args: []string{"patient", "register", "--public-key", file}, wantFlag: "--public-key"},
		"patient history without a key":           {args: []string{"patient", "history"}, wantFlag: "--key"},
		"patient history with a local time":       {args: []string{"patient", "history", "--key", file, "--from", "2026-01-01T00:00:00"}, wantFlag: "--from"},
		"patient records with a bad pseudonym":    {args: []string{"patient", "records", "--key", "k", "--patient", "pt-1"}, wantFlag: "--patient"},
		"patient rotate-key without a file":       {args: []string{"patient", "rotate-key"}, wantFlag: "--file"},
		"audit trail with two filters":            {args: []string{"audit", "trail", "--record", "r-0001", "--org", "HospitalBMSP"}, wantFlag: "--org"},
		"audit trail with a fraction of a second": {args: []string{"audit", "trail", "--from", "2026-01-01T00:00:00.5Z"}, wantFlag: "--from"},
		"audit trail ending before it starts":     {args: []string{"audit", "trail", "--from", "2026-02-01T00:00:00Z", "--to", "2026-01-01T00:00:00Z"}, wantFlag: "--to"},
		"audit trail with a bad org":              {args: []string{"audit", "trail", "--org", "not an msp"}, wantFlag: "--org"},
		"audit export without a format":           {args: []string{"audit", "export"}, wantFlag: "--format"},
		"audit export with an unknown format":     {args: []string{"audit", "export", "--format", "xml"}, wantFlag: "--format"},
		"audit alerts with a bad time":            {args: []string{"audit", "alerts", "--to", "yesterday"}, wantFlag: "--to"},
		"directory set without an endpoint":       {args: []string{"directory", "set"}, wantFlag: "--endpoint"},
		"directory set with a bad endpoint":       {args: []string{"directory", "set", "--endpoint", "host:99999"}, wantFlag: "--endpoint"},
		"directory set with a non-PEM CA":         {args: []string{"directory", "set", "--endpoint", "h.example:7444", "--endpoint-ca", file}, wantFlag: "--endpoint-ca"},
		"directory get with a bad MSP ID":         {args: []string{"directory", "get", "not an msp"}, wantFlag: "MSP"},
		"gateway status with an argument":         {args: []string{"gateway", "status", "now"}, wantFlag: "now"},
		"an unknown gateway subcommand":           {args: []string{"gateway", "restart"}, wantFlag: "restart"},
		"an unknown completion shell":             {args: []string{"completion", "tcsh"}, wantFlag: "tcsh"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := e.run(t, tc.args...)
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
	if n := e.fake.callCount(); n != 0 {
		t.Errorf("bad command lines made %d gateway calls", n)
	}
}

func TestEveryAPICodeHasALedgerSpelling(t *testing.T) {
	tables := map[string]struct {
		enum   protoreflect.EnumDescriptor
		names  []string
		ledger []string
	}{
		"purposes":          {gatewayv1.PurposeOfUse(0).Descriptor(), purposeCodes.names, strs(ledger.Purposes)},
		"confidentialities": {gatewayv1.Confidentiality(0).Descriptor(), confidentialityCodes.names, strs(ledger.Confidentialities)},
		"amendment reasons": {gatewayv1.AmendmentReason(0).Descriptor(), amendmentReasonCodes.names, strs(ledger.AmendmentReasons)},
		"erasure reasons":   {gatewayv1.ErasureReason(0).Descriptor(), erasureReasonCodes.names, strs(ledger.ErasureReasons)},
		"justifications":    {gatewayv1.JustificationCode(0).Descriptor(), justificationCodes.names, strs(ledger.JustificationCodes)},
		"roles":             {gatewayv1.Role(0).Descriptor(), roleCodes.names, strs(ledger.Roles)},
		"decisions":         {gatewayv1.Decision(0).Descriptor(), decisionCodes.names, nil},
		"basis types":       {gatewayv1.BasisType(0).Descriptor(), basisCodes.names, nil},
		"denial reasons":    {gatewayv1.DenialReason(0).Descriptor(), denialCodes.names, nil},
		"alerts":            {gatewayv1.Alert(0).Descriptor(), alertCodes.names, nil},
		"record statuses":   {gatewayv1.RecordStatus(0).Descriptor(), recordStatusCodes.names, nil},
		"consent statuses":  {gatewayv1.ConsentStatus(0).Descriptor(), consentStatusCodes.names, nil},
		"key algorithms":    {gatewayv1.KeyAlgorithm(0).Descriptor(), keyAlgorithmCodes.names, nil},
		"export formats":    {gatewayv1.ExportFormat(0).Descriptor(), exportFormatCodes.names, nil},
	}
	for name, tc := range tables {
		t.Run(name, func(t *testing.T) {
			if n := tc.enum.Values().Len() - 1; len(tc.names) != n {
				t.Errorf("%d spellings for %d API values", len(tc.names), n)
			}
			// Each API value name ends with its spelling, upper-cased with
			// '-' as '_'.
			for i, s := range tc.names {
				v := tc.enum.Values().ByNumber(protoreflect.EnumNumber(i + 1))
				want := strings.ToUpper(strings.ReplaceAll(s, "-", "_"))
				if v == nil || !strings.HasSuffix(string(v.Name()), "_"+want) {
					t.Errorf("spelling %q sits at API value %v", s, v.Name())
				}
			}
			if tc.ledger != nil && strings.Join(tc.ledger, ",") != strings.Join(tc.names, ",") {
				t.Errorf("spellings %v differ from the ledger's %v", tc.names, tc.ledger)
			}
		})
	}
}

func strs[S ~string](xs []S) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}

func TestEnumFlagErrorsListTheAllowedValues(t *testing.T) {
	_, err := amendmentReasonCodes.parse("--reason", "TYPO")
	if err == nil || !strings.Contains(err.Error(), "--reason") || !strings.Contains(err.Error(), "CORRECTION, ADDENDUM, LATE-ENTRY, PATIENT-REQUEST, REFORMAT") {
		t.Errorf("error = %v", err)
	}
	if v, err := erasureReasonCodes.parse("--reason", "PATIENT-REQUEST"); err != nil || v != gatewayv1.ErasureReason_ERASURE_REASON_PATIENT_REQUEST {
		t.Errorf("PATIENT-REQUEST = %v, %v", v, err)
	}
}

func TestCompletion(t *testing.T) {
	tests := map[string]struct {
		args []string
		want []string
	}{
		"a bash script":           {args: []string{"completion", "bash"}, want: []string{"bash completion", "medprov"}},
		"a zsh script":            {args: []string{"completion", "zsh"}, want: []string{"#compdef medprov"}},
		"a fish script":           {args: []string{"completion", "fish"}, want: []string{"complete -c medprov"}},
		"a powershell script":     {args: []string{"completion", "powershell"}, want: []string{"Register-ArgumentCompleter"}},
		"the purposes":            {args: []string{"__complete", "record", "get", "r-0001", "--purpose", ""}, want: []string{"TREAT", "ETREAT", "HLEGAL"}},
		"the confidentialities":   {args: []string{"__complete", "record", "add", "f", "--confidentiality", ""}, want: []string{"U", "V"}},
		"the amendment reasons":   {args: []string{"__complete", "record", "amend", "r-1", "f", "--reason", ""}, want: []string{"LATE-ENTRY", "PATIENT-REQUEST"}},
		"the erasure reasons":     {args: []string{"__complete", "record", "erase", "r-1", "--reason", ""}, want: []string{"RETENTION-EXPIRED", "ENTERED-IN-ERROR"}},
		"the justification codes": {args: []string{"__complete", "access", "request", "r-1", "--emergency", ""}, want: []string{"LIFE-THREATENING"}},
		"the export formats":      {args: []string{"__complete", "audit", "export", "--format", ""}, want: []string{"csv", "json", "fhir"}},
		"the output formats":      {args: []string{"__complete", "gateway", "status", "-o", ""}, want: []string{"table", "json", "yaml"}},
		"the subcommands":         {args: []string{"__complete", "record", ""}, want: []string{"add", "get", "amend", "erase", "history", "receipt"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := mustRun(t, tc.args...)
			for _, w := range tc.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("completion lacks %q:\n%.400s", w, r.stdout)
				}
			}
		})
	}
	r := mustRun(t, "completion", "--help")
	if !strings.Contains(r.stdout, "Examples:") || !strings.Contains(r.stdout, "source <(medprov completion bash)") {
		t.Errorf("completion --help has no example:\n%s", r.stdout)
	}
}

func TestEveryCommandHasAnExample(t *testing.T) {
	root := NewRoot(DefaultDeps())
	var missing []string
	stack := root.Commands()
	for len(stack) > 0 {
		c := stack[0]
		stack = append(stack[1:], c.Commands()...)
		if c.Name() == "help" || c.Hidden {
			continue
		}
		if !c.HasExample() {
			missing = append(missing, c.CommandPath())
		}
	}
	if len(missing) > 0 {
		t.Errorf("commands without an Example: %v", missing)
	}
}
