package command

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
)

// testPatient is a synthetic pseudonym.
var testPatient = "pt-" + strings.Repeat("0a", 20)

// seededRand is a deterministic random source, for record IDs in goldens.
func seededRand() *mrand.ChaCha8 { return mrand.NewChaCha8([32]byte{1, 2, 3}) }

// run runs the CLI against the fake, with the connection in the
// environment.
func (e *fakeEnv) run(t *testing.T, args ...string) result {
	t.Helper()
	return runWith(t, runEnv{env: e.env(), rand: seededRand()}, args...)
}

func (e *fakeEnv) mustRun(t *testing.T, args ...string) result {
	t.Helper()
	r := e.run(t, args...)
	if r.code != ExitOK {
		t.Fatalf("medprov %s: exit %d, err %v, stderr %q", strings.Join(args, " "), r.code, r.err, r.stderr)
	}
	return r
}

// syntheticContent is n bytes of deterministic synthetic content.
func syntheticContent(n int) []byte {
	b := make([]byte, n)
	_, _ = mrand.NewChaCha8([32]byte{9}).Read(b)
	return b
}

// last returns the last request a method received, as T.
func last[T proto.Message](t *testing.T, f *fakeGateway, method string) T {
	t.Helper()
	got := f.got(method)
	if len(got) == 0 {
		t.Fatalf("the gateway got no %s", method)
	}
	return got[len(got)-1].(T)
}

func TestRecordAddStreamsALargeFileIntactWithItsSHA256(t *testing.T) {
	e := startFake(t)
	content := syntheticContent(3<<20 + 123)
	file := filepath.Join(t.TempDir(), "scan.dcm")
	writeFile(t, file, content)

	r := runWith(t, runEnv{env: e.env(), rand: seededRand()}, "record", "add", file, "--patient", testPatient, "--doc-type", "ImagingStudy", "--progress", "-o", "json")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %v", r.code, r.err)
	}
	up := e.fake.received()[0]
	if !bytes.Equal(up.content, content) {
		t.Fatalf("the gateway received %d bytes that differ from the %d of the file", len(up.content), len(content))
	}
	for i, n := range up.chunks {
		if n > chunkSize || (n != chunkSize && i != len(up.chunks)-1) {
			t.Fatalf("chunk %d is %d bytes; want %d except the last", i, n, chunkSize)
		}
	}
	meta := up.meta.(*gatewayv1.RecordMetadata)
	sum := sha256.Sum256(content)
	if !bytes.Equal(meta.GetContentSha256(), sum[:]) {
		t.Errorf("content_sha256 = %x, want %x", meta.GetContentSha256(), sum)
	}
	if meta.GetPatient() != testPatient || meta.GetDocType() != "ImagingStudy" || meta.GetConfidentiality() != gatewayv1.Confidentiality_CONFIDENTIALITY_N || meta.GetDerivedFrom() != nil {
		t.Errorf("metadata = %v; want the patient, the doc type, confidentiality N by default and no derived_from", meta)
	}
	if !regexp.MustCompile(`^r-[0-9a-f]{24}$`).MatchString(meta.GetRecordId()) {
		t.Errorf("record ID %q is not r- and 24 lowercase hex digits", meta.GetRecordId())
	}
	out := decode[[]addResult](t, r.stdout)
	if len(out) != 1 || out[0].RecordID != meta.GetRecordId() || out[0].Version != 1 || out[0].TxID != fakeTxID(1) || out[0].BlockNumber != 11 || out[0].ContentSHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("output = %+v", out)
	}
	if !strings.Contains(r.stderr, "\r") || !strings.Contains(r.stderr, "3.0 MiB / 3.0 MiB  100%") {
		t.Errorf("stderr has no finished progress bar: %q", r.stderr[max(0, len(r.stderr)-200):])
	}
	if certs := e.fake.clientCerts(); len(certs) == 0 || !bytes.Equal(certs[0], e.userCert.Raw) {
		t.Error("the client certificate in the TLS handshake is not the user's signing certificate")
	}
}

func TestRecordAddWithoutATerminalDrawsNoProgressBar(t *testing.T) {
	e := startFake(t)
	file := filepath.Join(t.TempDir(), "note.txt")
	writeFile(t, file, []byte("synthetic note\n"))
	r := e.mustRun(t, "record", "add", file, "--patient", testPatient, "--doc-type", "11502-2")
	if r.stderr != "" {
		t.Errorf("stderr = %q, want nothing", r.stderr)
	}
	r = runWith(t, runEnv{env: e.env(), stderrTerminal: true}, "record", "add", file, "--patient", testPatient, "--doc-type", "11502-2", "--no-progress")
	if r.code != ExitOK || r.stderr != "" {
		t.Errorf("with --no-progress on a terminal: exit %d, stderr %q; want 0 and nothing", r.code, r.stderr)
	}
}

func TestRecordAddOfSeveralFiles(t *testing.T) {
	tests := map[string]struct {
		keepGoing    bool
		wantCode     int
		wantUploaded []string // contents received, in order
		wantRows     int
	}{
		"stops at the first failure and prints the files added until then": {
			wantCode: ExitError, wantUploaded: []string{"a", "REFUSE"}, wantRows: 1,
		},
		"with --keep-going adds the others and reports the failure": {
			keepGoing: true, wantCode: ExitError, wantUploaded: []string{"a", "REFUSE", "c"}, wantRows: 3,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := startFake(t)
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "1.txt"), []byte("a"))
			writeFile(t, filepath.Join(dir, "2.txt"), []byte(refuseMarker))
			writeFile(t, filepath.Join(dir, "3.txt"), []byte("c"))
			if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
				t.Fatal(err)
			}
			args := []string{"record", "add", dir, "--patient", testPatient, "--doc-type", "11502-2", "-o", "json"}
			if tc.keepGoing {
				args = append(args, "--keep-going")
			}
			r := e.run(t, args...)
			if r.code != tc.wantCode {
				t.Fatalf("exit %d (%v), want %d", r.code, r.err, tc.wantCode)
			}
			var got []string
			for _, u := range e.fake.received() {
				got = append(got, string(u.content))
			}
			if strings.Join(got, ",") != strings.Join(tc.wantUploaded, ",") {
				t.Errorf("uploaded %q, want %q", got, tc.wantUploaded)
			}
			out := decode[[]addResult](t, r.stdout)
			if len(out) != tc.wantRows || out[0].Error != "" || out[0].Version != 1 {
				t.Fatalf("output = %+v, want %d rows, the first a success", out, tc.wantRows)
			}
			if tc.keepGoing && (!strings.Contains(out[1].Error, "INVALID_ARGUMENT") || out[2].Error != "") {
				t.Errorf("rows = %+v; want the second failed with INVALID_ARGUMENT, the third added", out)
			}
			if !strings.Contains(r.err.Error(), "2.txt") && !tc.keepGoing {
				t.Errorf("error %q does not name the failed file", r.err)
			}
			if !strings.Contains(r.stderr, "skipping") {
				t.Errorf("stderr does not say the sub-folder was skipped: %q", r.stderr)
			}
		})
	}
}

func TestRecordAddWithSeveralFilesGeneratesOneRecordIDEach(t *testing.T) {
	e := startFake(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt")
	writeFile(t, a, []byte("a"))
	writeFile(t, b, []byte("b"))
	e.mustRun(t, "record", "add", a, b, "--patient", testPatient, "--doc-type", "11502-2", "--confidentiality", "R")
	got := e.fake.got("AddRecord")
	if len(got) != 2 {
		t.Fatalf("%d uploads, want 2", len(got))
	}
	m0, m1 := got[0].(*gatewayv1.RecordMetadata), got[1].(*gatewayv1.RecordMetadata)
	if m0.GetRecordId() == m1.GetRecordId() {
		t.Error("both files got the same record ID")
	}
	if m0.GetConfidentiality() != gatewayv1.Confidentiality_CONFIDENTIALITY_R {
		t.Errorf("confidentiality = %v, want R", m0.GetConfidentiality())
	}
	r := e.run(t, "record", "add", a, b, "--patient", testPatient, "--doc-type", "11502-2", "--record-id", "r-x-0001")
	if r.code != ExitUsage || !strings.Contains(r.err.Error(), "--record-id") {
		t.Errorf("--record-id with two files: exit %d, err %v; want a usage error naming --record-id", r.code, r.err)
	}
}

func TestRecordGetWritesTheFileAtomically(t *testing.T) {
	content := syntheticContent(2<<20 + 7)
	tests := map[string]struct {
		breakAfter int
		existing   bool
		force      bool
		wantCode   int
		wantFile   bool
	}{
		"a complete download is renamed into place":             {wantCode: ExitOK, wantFile: true},
		"an error mid-stream leaves no file":                    {breakAfter: 1 << 20, wantCode: ExitError},
		"an existing file is not replaced without --force":      {existing: true, wantCode: ExitError},
		"an existing file is replaced with --force":             {existing: true, force: true, wantCode: ExitOK, wantFile: true},
		"an error mid-stream leaves an existing file untouched": {existing: true, force: true, breakAfter: 1 << 20, wantCode: ExitError},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := startFake(t)
			e.fake.seed("r-0001", 1, content)
			e.fake.set(func(f *fakeGateway) { f.breakAfter = tc.breakAfter })
			dir := t.TempDir()
			out := filepath.Join(dir, "out.bin")
			if tc.existing {
				writeFile(t, out, []byte("old"))
			}
			args := []string{"record", "get", "r-0001", "--out", out, "--purpose", "CAREMGT", "--care-relationship", "-o", "json"}
			if tc.force {
				args = append(args, "--force")
			}
			r := e.run(t, args...)
			if r.code != tc.wantCode {
				t.Fatalf("exit %d (%v), want %d", r.code, r.err, tc.wantCode)
			}
			entries, _ := os.ReadDir(dir)
			if tc.existing && len(entries) != 1 || !tc.existing && len(entries) != map[bool]int{true: 1, false: 0}[tc.wantFile] {
				t.Errorf("the folder holds %d entries; a temporary file was left behind?", len(entries))
			}
			data, err := os.ReadFile(out)
			switch {
			case tc.wantFile && !bytes.Equal(data, content):
				t.Errorf("the file holds %d bytes that differ from the record's %d (%v)", len(data), len(content), err)
			case !tc.wantFile && tc.existing && string(data) != "old":
				t.Errorf("the existing file changed")
			case !tc.wantFile && !tc.existing && err == nil:
				t.Errorf("a file was left at --out")
			}
			if tc.wantCode != ExitOK {
				return
			}
			req := last[*gatewayv1.GetRecordRequest](t, e.fake, "GetRecord")
			if req.GetRecordId() != "r-0001" || req.GetVersion() != 0 || req.GetPurpose() != gatewayv1.PurposeOfUse_PURPOSE_OF_USE_CAREMGT || !req.GetCareRelationship() {
				t.Errorf("request = %v", req)
			}
			res := decode[getResult](t, r.stdout)
			sum := sha256.Sum256(content)
			if res.File != out || res.Size != uint64(len(content)) || res.ContentSHA256 != hex.EncodeToString(sum[:]) || res.Evidence.RecordID != "r-0001" || res.AccessTxID == "" {
				t.Errorf("output = %+v", res)
			}
		})
	}
}

func TestRecordGetToStdoutWritesTheContentAndTheEvidenceToStderr(t *testing.T) {
	e := startFake(t)
	e.fake.seed("r-0001", 1, []byte("synthetic summary\n"))
	r := e.mustRun(t, "record", "get", "r-0001", "--out", "-")
	if r.stdout != "synthetic summary\n" {
		t.Errorf("stdout = %q, want the content", r.stdout)
	}
	if !strings.Contains(r.stderr, "RECORD ID") || !strings.Contains(r.stderr, "r-0001") {
		t.Errorf("stderr does not show the evidence: %q", r.stderr)
	}
	if got := last[*gatewayv1.GetRecordRequest](t, e.fake, "GetRecord"); got.GetPurpose() != gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT || got.GetCareRelationship() {
		t.Errorf("request = %v, want purpose TREAT by default and no care relationship", got)
	}
}

func TestRecordGetRefusesContentThatDoesNotMatchItsCommitment(t *testing.T) {
	e := startFake(t)
	v := e.fake.seed("r-0001", 1, []byte("synthetic summary\n"))
	e.fake.set(func(*fakeGateway) { v.content = []byte("synthetic summary!") })
	out := filepath.Join(t.TempDir(), "out.txt")
	r := e.run(t, "record", "get", "r-0001", "--out", out)
	if r.code != ExitVerifyFailed {
		t.Fatalf("exit %d (%v), want %d", r.code, r.err, ExitVerifyFailed)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("the unverified content was written to --out")
	}
}

func TestRecordReceiptIsAcceptedByVerify(t *testing.T) {
	e := startFake(t)
	dir := t.TempDir()
	doc := filepath.Join(dir, "summary.txt")
	writeFile(t, doc, []byte("synthetic discharge summary\n"))
	add := decode[[]addResult](t, e.mustRun(t, "record", "add", doc, "--patient", testPatient, "--doc-type", "18842-5", "-o", "json").stdout)

	rcpt := filepath.Join(dir, "summary.receipt.json")
	r := e.mustRun(t, "record", "receipt", add[0].RecordID, "--out", rcpt, "-o", "json")
	sum := decode[receiptResult](t, r.stdout)
	if sum.RecordID != add[0].RecordID || sum.Version != 1 || sum.TxID != add[0].TxID || sum.BlockNumber != add[0].BlockNumber {
		t.Errorf("summary = %+v, want the added record's", sum)
	}
	if st, err := os.Stat(rcpt); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("receipt file: %v, mode %v; want mode 0600", err, st.Mode().Perm())
	}
	v := mustRun(t, "verify", doc, "--receipt", rcpt, "-o", "json")
	if out := decode[verifyResult](t, v.stdout); !out.Match || out.TxID != add[0].TxID {
		t.Errorf("verify = %+v, want a match in the anchoring transaction", out)
	}
	writeFile(t, doc, []byte("synthetic discharge summary, altered\n"))
	if r := run(t, "verify", doc, "--receipt", rcpt); r.code != ExitVerifyFailed {
		t.Errorf("verify of an altered document: exit %d, want %d", r.code, ExitVerifyFailed)
	}

	stdout := e.mustRun(t, "record", "receipt", add[0].RecordID, "--version", "1")
	data, _ := os.ReadFile(rcpt)
	if stdout.stdout != string(data) {
		t.Errorf("the receipt on stdout differs from the one in the file")
	}
	if got := last[*gatewayv1.GetReceiptRequest](t, e.fake, "GetReceipt"); got.GetRecordId() != add[0].RecordID || got.GetVersion() != 1 {
		t.Errorf("request = %v", got)
	}
}

func TestRecordAmendUploadsTheNewVersion(t *testing.T) {
	e := startFake(t)
	e.fake.seed("r-0001", 1, []byte("v1"))
	file := filepath.Join(t.TempDir(), "v2.txt")
	writeFile(t, file, []byte("synthetic corrected result"))
	r := e.mustRun(t, "record", "amend", "r-0001", file, "--reason", "LATE-ENTRY", "--confidentiality", "R", "-o", "json")
	meta := last[*gatewayv1.AmendmentMetadata](t, e.fake, "AmendRecord")
	sum := sha256.Sum256([]byte("synthetic corrected result"))
	if meta.GetRecordId() != "r-0001" || meta.GetReason() != gatewayv1.AmendmentReason_AMENDMENT_REASON_LATE_ENTRY ||
		meta.GetConfidentiality() != gatewayv1.Confidentiality_CONFIDENTIALITY_R || meta.GetDocType() != "" || !bytes.Equal(meta.GetContentSha256(), sum[:]) {
		t.Errorf("metadata = %v", meta)
	}
	out := decode[amendResult](t, r.stdout)
	if out.Evidence.Version != 2 || out.Evidence.PreviousVersion != 1 || out.Evidence.AmendmentReason != "LATE-ENTRY" || out.Evidence.Confidentiality != "R" {
		t.Errorf("output = %+v", out)
	}
}

func TestRecordEraseNeedsAConfirmation(t *testing.T) {
	tests := map[string]struct {
		yes           bool
		terminal      bool
		answer        string
		wantCode      int
		wantErased    bool
		wantErrSubstr string
	}{
		"without a terminal and without --yes it is a usage error": {wantCode: ExitUsage, wantErrSubstr: "--yes"},
		"with --yes it erases":                        {yes: true, wantCode: ExitOK, wantErased: true},
		"typing the record ID at the terminal erases": {terminal: true, answer: "r-0001\n", wantCode: ExitOK, wantErased: true},
		"any other answer erases nothing":             {terminal: true, answer: "yes\n", wantCode: ExitError, wantErrSubstr: "not confirmed"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := startFake(t)
			e.fake.seed("r-0001", 1, []byte("v1"))
			args := []string{"record", "erase", "r-0001", "--reason", "ENTERED-IN-ERROR", "-o", "json"}
			if tc.yes {
				args = append(args, "--yes")
			}
			r := runWith(t, runEnv{env: e.env(), stdinTerminal: tc.terminal, stdin: tc.answer}, args...)
			if r.code != tc.wantCode {
				t.Fatalf("exit %d (%v), want %d", r.code, r.err, tc.wantCode)
			}
			if tc.wantErrSubstr != "" && !strings.Contains(r.err.Error(), tc.wantErrSubstr) {
				t.Errorf("error %q does not say %q", r.err, tc.wantErrSubstr)
			}
			erased := len(e.fake.got("EraseRecord")) > 0
			if erased != tc.wantErased {
				t.Fatalf("erased = %v, want %v", erased, tc.wantErased)
			}
			if !erased {
				return
			}
			if got := last[*gatewayv1.EraseRecordRequest](t, e.fake, "EraseRecord"); got.GetReason() != gatewayv1.ErasureReason_ERASURE_REASON_ENTERED_IN_ERROR {
				t.Errorf("reason = %v", got.GetReason())
			}
			if out := decode[evidenceView](t, r.stdout); out.Status != "erased" || out.Erasure == nil || out.Erasure.Reason != "ENTERED-IN-ERROR" {
				t.Errorf("output = %+v", out)
			}
		})
	}
}

func TestRecordHistoryReadsEveryPage(t *testing.T) {
	e := startFake(t)
	for v := uint32(1); v <= 5; v++ {
		e.fake.seed("r-0001", v, []byte{byte(v)})
	}
	r := e.mustRun(t, "record", "history", "r-0001", "-o", "json")
	out := decode[[]evidenceView](t, r.stdout)
	if len(out) != 5 || out[0].Version != 1 || out[4].Version != 5 {
		t.Fatalf("got %d versions, want 1 to 5", len(out))
	}
	var tokens []string
	for _, m := range e.fake.got("RecordHistory") {
		tokens = append(tokens, m.(*gatewayv1.RecordHistoryRequest).GetPageToken())
	}
	if strings.Join(tokens, ",") != ",page-2,page-4" {
		t.Errorf("page tokens sent = %q, want the first page then each next token", tokens)
	}
}
