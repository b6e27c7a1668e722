package daemon_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/daemon"
	"github.com/medprov/medprov/gateway/internal/store"
	"github.com/medprov/medprov/internal/crashtest"
)

// crashEnv names the variable that makes the test binary a crash child
// and gives it the gateway's directory.
const crashEnv = "DAEMON_CRASH_DIR"

// Parameters of TestCrashRecovery.
const (
	crashTrials = 20
	crashCalls  = 1000
	// crashConns is the number of client connections the calls share.
	crashConns = 10
	// crashPipeline: after all calls are open, at most this many of them
	// send their content and wait for the answer at a time, the others
	// wait their turn, so that whatever the machine's speed the kill finds
	// about as many calls at every step of the upload (waiting for
	// content, storing, anchoring, marking) and the first acknowledgement
	// comes soon.
	crashPipeline = 50
	// crashJitter bounds the random pause of a call before it sends its
	// content.
	crashJitter = 300 * time.Millisecond
	// crashMaxAcks and crashMaxDelay: the child is killed at a random
	// moment up to crashMaxDelay after a random number of calls, from 1
	// to crashMaxAcks, have been acknowledged.
	crashMaxAcks  = 10
	crashMaxDelay = 500 * time.Millisecond
)

// TestCrashGatewayChild is the child of TestCrashRecovery: it runs the
// gateway prepared in the directory the parent names (writeGateway), prints
// "ADDR <gRPC address> <metrics address>" on stdout once it listens, logs
// JSON on stderr, and serves until SIGTERM, which stops it cleanly, or
// SIGKILL.
func TestCrashGatewayChild(t *testing.T) {
	dir, ok := crashtest.IsChild(crashEnv)
	if !ok {
		t.Skip("helper process for TestCrashRecovery")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	// A child whose parent died stops on its own.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	g, err := daemon.New(ctx, gatewayConfig(dir), daemon.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stdout.WriteString("ADDR " + g.Addrs().GRPC + " " + g.Addrs().Metrics + "\n"); err != nil {
		t.Fatal(err)
	}
	if err := g.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

// crashChild is a gateway running in a child process.
type crashChild struct {
	t   *testing.T
	cmd *exec.Cmd
	// addr and metrics are the gRPC and metrics addresses.
	addr, metrics string
	// exited is closed once the process has been waited for; waitErr is
	// Wait's result.
	exited  chan struct{}
	waitErr error

	mu sync.Mutex
	// reconciled is the gateway's "reconciled pending records at start"
	// log line.
	reconciled map[string]any
	// problems are the log lines above INFO.
	problems []string
}

// startCrashChild starts the gateway in dir in a child process and returns
// once it listens. The child is killed when the test ends if it still runs.
func startCrashChild(t *testing.T, dir string) *crashChild {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashGatewayChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &crashChild{t: t, cmd: cmd, exited: make(chan struct{})}
	addr := make(chan string, 1)
	var readers sync.WaitGroup
	readers.Go(func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
				addr <- a
				continue
			}
			c.logLine(sc.Bytes()) // the test framework's output: a failure

		}
	})
	readers.Go(func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			c.logLine(sc.Bytes())
		}
	})
	go func() {
		readers.Wait()
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-c.exited:
		default:
			_ = cmd.Process.Kill()
			<-c.exited
		}
	})
	select {
	case a := <-addr:
		c.addr, c.metrics, _ = strings.Cut(a, " ")
	case <-c.exited:
		t.Fatalf("the gateway child exited before listening (%v): %v", c.waitErr, c.logProblems())
	case <-time.After(crashtest.FirstAckTimeout):
		t.Fatalf("the gateway child does not listen after %v", crashtest.FirstAckTimeout)
	}
	return c
}

// logLine records what the parent needs of one of the child's log lines;
// other output (the test framework's) is ignored.
func (c *crashChild) logLine(line []byte) {
	var m map[string]any
	if json.Unmarshal(line, &m) != nil {
		if len(bytes.TrimSpace(line)) > 0 && !bytes.HasPrefix(line, []byte("PASS")) && !bytes.HasPrefix(line, []byte("ok")) {
			c.mu.Lock()
			c.problems = append(c.problems, string(line))
			c.mu.Unlock()
		}
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if m["msg"] == "reconciled pending records at start" {
		c.reconciled = m
	}
	if lvl, _ := m["level"].(string); lvl != "INFO" && lvl != "DEBUG" {
		c.problems = append(c.problems, string(line))
	}
}

func (c *crashChild) logProblems() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.problems...)
}

// reconcileReport returns the counts of the reconciliation at start,
// waiting briefly for the log line to arrive.
func (c *crashChild) reconcileReport() string {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		m := c.reconciled
		c.mu.Unlock()
		if m != nil {
			return fmt.Sprintf("pending %v, anchored %v, discarded %v, failed %v", m["pending"], m["anchored"], m["discarded"], m["failed"])
		}
		if time.Now().After(deadline) {
			return "no reconciliation logged"
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kill sends SIGKILL and waits for the child to die of it.
func (c *crashChild) kill() {
	c.t.Helper()
	if err := c.cmd.Process.Kill(); err != nil {
		c.t.Fatal(err)
	}
	<-c.exited
	var ee *exec.ExitError
	if !errors.As(c.waitErr, &ee) {
		c.t.Fatalf("the gateway child exited on its own before the kill (%v): %v", c.waitErr, c.logProblems())
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		c.t.Fatalf("the gateway child exited with %v before the kill: %v", c.waitErr, c.logProblems())
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (c *crashChild) stop() {
	c.t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		c.t.Fatal(err)
	}
	select {
	case <-c.exited:
	case <-time.After(60 * time.Second):
		c.t.Fatal("the gateway child did not stop within 60s of SIGTERM")
	}
	if c.waitErr != nil {
		c.t.Fatalf("the gateway child's clean stop: %v; %v", c.waitErr, c.logProblems())
	}
}

// crashContent is the synthetic content of the record with the given ID.
func crashContent(id string) []byte {
	return bytes.Repeat([]byte("synthetic crash-test document "+id+"\n"), 1+len(id)%5)
}

// crashAck is the evidence of an acknowledged AddRecord.
type crashAck struct {
	txID, commitment string
}

// TestCrashRecovery is the requirement: kill -9 the gateway during
// 1,000 concurrent record add calls, at least 20 trials; after restart
// every acknowledged record is stored, decryptable and anchored, and no
// orphan blob or pending entry remains.
//
// The gateway (its own embedded ledger, store and keyring in one
// directory, kept across trials) runs in a child process. In each trial
// 1,000 goroutines open an AddRecord call each and send the metadata;
// then they send their small, distinct contents, crashPipeline calls at a
// time. Once a random number of calls (1 to crashMaxAcks) have been
// acknowledged with their evidence, and a random delay later, the child
// gets SIGKILL, with the other calls at every stage of the upload and
// anchoring (the gateway's in-flight gauge, read just before, shows them
// all under way). The gateway restarts (and reconciles before serving) and
// reports no pending record (AdminService.Status), and:
//
//   - every acknowledged record downloads with exactly the content sent,
//     and its history shows one active version with the acknowledged
//     transaction and commitment;
//   - every other record of the trial is either unknown to the ledger or
//     active and downloadable likewise (never anchored without content);
//
// then, after a clean stop, the store directory is read directly: no
// temporary blob, no pending entry, every blob file the blob of an anchored
// entry (version 1) and every anchored entry's blob present, the anchored
// entries exactly the records the ledger holds.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9 crash test; skipped in short mode")
	}
	dir := t.TempDir()
	writeGateway(t, dir)
	ctx := context.Background()
	metricsClient := httpsClient(t, dir, userCert(t, dir, "clinician"))
	patient := ""
	// anchoredTotal counts the records the ledger holds, over all trials.
	anchoredTotal := 0
	start := time.Now()
	for trial := range crashTrials {
		trialStart := time.Now()
		c := startCrashChild(t, dir)
		conns := make([]*grpc.ClientConn, crashConns)
		for i := range conns {
			conns[i] = dialAs(t, dir, c.addr, "clinician")
		}
		waitServing(t, conns[0])
		if patient == "" {
			var err error
			if patient, err = registerPatient(ctx, conns[0]); err != nil {
				t.Fatal(err)
			}
		}

		ids := make([]string, crashCalls)
		for i := range ids {
			ids[i] = fmt.Sprintf("crash-%02d-%04d", trial, i)
		}
		acks := make([]*crashAck, crashCalls)
		var (
			mu        sync.Mutex
			ackCount  int
			killed    bool
			early     []string // errors before the kill
			threshold = 1 + rand.IntN(crashMaxAcks)
			reached   = make(chan struct{})
			opened    sync.WaitGroup
			finished  sync.WaitGroup
			release   = make(chan struct{})
			turns     = make(chan struct{}, crashPipeline)
		)
		opened.Add(crashCalls)
		callCtx, cancelCalls := context.WithTimeout(ctx, 5*time.Minute)
		for i := range crashCalls {
			finished.Go(func() {
				ack, err := crashAdd(callCtx, conns[i%crashConns], patient, ids[i], &opened, release, turns)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					acks[i] = ack
					ackCount++
					if ackCount == threshold {
						close(reached)
					}
				case !killed && len(early) < 10:
					early = append(early, fmt.Sprintf("%s: %v", ids[i], err))
				}
			})
		}
		opened.Wait()
		close(release)
		select {
		case <-reached:
		case <-time.After(2 * time.Minute):
			cancelCalls()
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("trial %d: %d of %d acknowledgements after 2 minutes; early errors %v", trial, ackCount, threshold, early)
		}
		time.Sleep(rand.N(crashMaxDelay))
		// The calls not answered yet are all in the gateway's handlers.
		inFlight := crashInFlight(t, metricsClient, c.metrics)
		mu.Lock()
		killed = true
		answered := ackCount
		mu.Unlock()
		if inFlight < crashCalls-answered-crashPipeline {
			t.Errorf("trial %d: %d calls in flight in the gateway and %d answered just before the kill; want all %d calls under way", trial, inFlight, answered, crashCalls)
		}
		c.kill()
		cancelCalls() // the calls still waiting to send their content
		finished.Wait()
		if p := c.logProblems(); len(p) > 0 {
			t.Logf("trial %d: the killed gateway logged: %v", trial, p)
		}
		if len(early) > 0 {
			t.Errorf("trial %d: calls failed before the kill: %v", trial, early)
		}
		acked := 0
		for _, a := range acks {
			if a != nil {
				acked++
			}
		}
		if acked == crashCalls {
			t.Errorf("trial %d: every call was acknowledged before the kill; nothing was in flight", trial)
		}

		// Restart; the gateway reconciles before it serves.
		c = startCrashChild(t, dir)
		conn := dialAs(t, dir, c.addr, "clinician")
		waitServing(t, conn)
		report := c.reconcileReport()
		// Right after the reconciliation at start, nothing is pending.
		admin := dialAs(t, dir, c.addr, "admin")
		st, err := gatewayv1.NewAdminServiceClient(admin).Status(ctx, &gatewayv1.StatusRequest{})
		if err != nil || st.GetRecordsPending() != 0 {
			t.Errorf("trial %d: AdminService.Status after the restart = %v, %v; want no record pending", trial, st, err)
		}
		onLedger := crashCheckGateway(t, ctx, conn, trial, ids, acks)
		c.stop()
		for _, cc := range append(conns, conn, admin) {
			_ = cc.Close()
		}
		if p := c.logProblems(); len(p) > 0 {
			t.Logf("trial %d: the restarted gateway logged: %v", trial, p)
		}
		anchoredTotal += len(onLedger)
		crashCheckStore(t, filepath.Join(dir, "store"), filepath.Join(dir, "keys"), trial, ids, acks, onLedger, anchoredTotal)
		t.Logf("trial %d: killed with %d calls in flight after %d acknowledgements; %d acknowledged in all, %d of the %d others anchored; reconcile at restart: %s; %v",
			trial, inFlight, threshold, acked, len(onLedger)-acked, crashCalls-acked, report, time.Since(trialStart).Round(time.Millisecond))
		if t.Failed() {
			return
		}
	}
	t.Logf("%d trials, %d records anchored in all, %v", crashTrials, anchoredTotal, time.Since(start).Round(time.Second))
}

// crashInFlight reads the gateway's medprov_gateway_rpcs_in_flight gauge
// on its metrics port.
func crashInFlight(t *testing.T, c *http.Client, addr string) int {
	t.Helper()
	resp, err := c.Get("https://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "medprov_gateway_rpcs_in_flight "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metrics: in flight %q: %v", v, err)
			}
			return int(n)
		}
	}
	t.Fatalf("metrics: no medprov_gateway_rpcs_in_flight (%v)", sc.Err())
	return 0
}

// crashAdd opens an AddRecord call for id and sends its metadata, marks
// opened, waits for release, for a turn (a place in turns) and a random
// pause, then sends the content and returns the acknowledged evidence. An answer
// without the evidence of this record is an error.
func crashAdd(ctx context.Context, conn *grpc.ClientConn, patient, id string, opened *sync.WaitGroup, release <-chan struct{}, turns chan struct{}) (*crashAck, error) {
	var once sync.Once
	open := func() { once.Do(opened.Done) }
	defer open()
	stream, err := gatewayv1.NewRecordServiceClient(conn).AddRecord(ctx)
	if err != nil {
		return nil, err
	}
	if err := stream.Send(&gatewayv1.AddRecordRequest{Part: &gatewayv1.AddRecordRequest_Metadata{Metadata: &gatewayv1.RecordMetadata{
		RecordId: id, Patient: patient, DocType: "11506-3", Confidentiality: gatewayv1.Confidentiality_CONFIDENTIALITY_N,
	}}}); err != nil {
		_, err = stream.CloseAndRecv()
		return nil, err
	}
	open()
	<-release
	select {
	case turns <- struct{}{}:
		defer func() { <-turns }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	// A random pause, so that the calls of a turn do not move through the
	// gateway's steps in lockstep.
	select {
	case <-time.After(rand.N(crashJitter)):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	content := crashContent(id)
	for rest := content; len(rest) > 0; {
		n := min(40, len(rest))
		if err := stream.Send(&gatewayv1.AddRecordRequest{Part: &gatewayv1.AddRecordRequest_Chunk{Chunk: rest[:n]}}); err != nil {
			break // the status comes with CloseAndRecv
		}
		rest = rest[n:]
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return nil, err
	}
	ev := resp.GetEvidence()
	if ev.GetRecordId() != id || ev.GetVersion() != 1 || ev.GetStatus() != gatewayv1.RecordStatus_RECORD_STATUS_ACTIVE ||
		len(ev.GetTxId()) != 64 || resp.GetSize() != uint64(len(content)) || len(resp.GetReceipt().GetSalt()) != 32 {
		return nil, fmt.Errorf("AddRecord %s answered without its evidence: %v, size %d", id, ev, resp.GetSize())
	}
	return &crashAck{txID: ev.GetTxId(), commitment: ev.GetCommitment()}, nil
}

// crashEvidence is what the ledger holds of a record version.
type crashEvidence struct {
	txID, commitment string
}

// crashCheckGateway checks every record of a trial through the restarted
// gateway: the ledger's view (RecordHistory) of each, and for the
// acknowledged ones the content (GetRecord). It returns the evidence of
// those the ledger holds.
func crashCheckGateway(t *testing.T, ctx context.Context, conn *grpc.ClientConn, trial int, ids []string, acks []*crashAck) map[string]crashEvidence {
	t.Helper()
	records := gatewayv1.NewRecordServiceClient(conn)
	var mu sync.Mutex
	onLedger := map[string]crashEvidence{}
	var failures atomic.Int64
	fail := func(format string, args ...any) {
		if failures.Add(1) <= 20 {
			t.Errorf("trial %d: "+format, append([]any{trial}, args...)...)
		}
	}
	work := make(chan int)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for i := range work {
				id, ack := ids[i], acks[i]
				h, err := records.RecordHistory(ctx, &gatewayv1.RecordHistoryRequest{RecordId: id})
				if status.Code(err) == codes.NotFound && ack == nil {
					continue // never anchored, and never acknowledged
				}
				if err != nil {
					fail("RecordHistory %s (acknowledged: %t): %v", id, ack != nil, err)
					continue
				}
				v := h.GetVersions()
				if len(v) != 1 || v[0].GetVersion() != 1 || v[0].GetStatus() != gatewayv1.RecordStatus_RECORD_STATUS_ACTIVE {
					fail("%s: history %v; want one active version", id, v)
					continue
				}
				mu.Lock()
				onLedger[id] = crashEvidence{txID: v[0].GetTxId(), commitment: v[0].GetCommitment()}
				mu.Unlock()
				if ack == nil {
					continue // its content is checked in the store
				}
				if v[0].GetTxId() != ack.txID || v[0].GetCommitment() != ack.commitment {
					fail("%s: anchored in %s with %s, acknowledged in %s with %s", id, v[0].GetTxId(), v[0].GetCommitment(), ack.txID, ack.commitment)
				}
				got, err := getRecord(ctx, conn, id)
				if err != nil || !bytes.Equal(got, crashContent(id)) {
					fail("GetRecord of acknowledged %s = %d bytes, %v; want the %d bytes sent", id, len(got), err, len(crashContent(id)))
				}
			}
		})
	}
	for i := range ids {
		work <- i
	}
	close(work)
	wg.Wait()
	return onLedger
}

// crashCheckStore reads the stopped gateway's store directory: first the
// blob files as they are on disk (Open's recovery would tidy them), then
// the index and the content. anchoredTotal is the number of records the
// ledger holds over all trials so far.
func crashCheckStore(t *testing.T, storeDir, keysDir string, trial int, ids []string, acks []*crashAck, onLedger map[string]crashEvidence, anchoredTotal int) {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(storeDir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	type blobKey struct {
		id      string
		version int
	}
	blobs := map[blobKey]bool{}
	for _, de := range ents {
		name := de.Name()
		h, v, ok := strings.Cut(name, ".")
		raw, err := hex.DecodeString(h)
		version, verr := strconv.Atoi(v)
		if !ok || err != nil || verr != nil || fmt.Sprintf("%x.%d", raw, version) != name {
			t.Errorf("trial %d: the blob directory holds %s, which is no blob name (a temporary or stray file)", trial, name)
			continue
		}
		blobs[blobKey{string(raw), version}] = true
	}

	keys, err := store.NewFileKeyring(keysDir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(storeDir, keys)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pending, err := st.Pending(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range pending {
		t.Errorf("trial %d: pending entry left: %s version %d", trial, e.RecordID, e.Version)
	}
	for b := range blobs {
		e, err := st.Get(b.id, b.version)
		if err != nil || e.State != store.StateAnchored || b.version != 1 {
			t.Errorf("trial %d: orphan blob %s version %d: entry %v, %v; want an anchored version 1", trial, b.id, b.version, e, err)
		}
	}
	if len(blobs) != anchoredTotal {
		t.Errorf("trial %d: %d blobs on disk; the ledger holds %d records", trial, len(blobs), anchoredTotal)
	}
	for i, id := range ids {
		e, err := st.Get(id, 1)
		ev, anchored := onLedger[id]
		switch {
		case !anchored && errors.Is(err, store.ErrNotFound):
			if blobs[blobKey{id, 1}] {
				t.Errorf("trial %d: %s has a blob but no entry", trial, id)
			}
			continue
		case !anchored:
			t.Errorf("trial %d: %s is not on the ledger, but the store holds %v, %v", trial, id, e, err)
			continue
		case err != nil || e.State != store.StateAnchored || e.TxID != ev.txID || e.Commitment != ev.commitment:
			t.Errorf("trial %d: %s is anchored in %s (acknowledged: %t), but the store holds %v, %v", trial, id, ev.txID, acks[i] != nil, e, err)
			continue
		case !blobs[blobKey{id, 1}]:
			t.Errorf("trial %d: %s is anchored, but its blob is missing", trial, id)
			continue
		}
		// Decryptable, to the content sent, which the anchored
		// commitment commits to.
		r, _, err := st.Open(context.Background(), id, 1)
		if err != nil {
			t.Errorf("trial %d: open %s (acknowledged: %t): %v", trial, id, acks[i] != nil, err)
			continue
		}
		got, err := io.ReadAll(r)
		r.Close()
		want := crashContent(id)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("trial %d: %s (acknowledged: %t) decrypts to %d bytes, %v; want the %d bytes sent", trial, id, acks[i] != nil, len(got), err, len(want))
		}
		if domain.Commitment(e.Salt, sha256.Sum256(want)) != ev.commitment {
			t.Errorf("trial %d: the commitment anchored for %s is not the commitment of its content", trial, id)
		}
	}
}
