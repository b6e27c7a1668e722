package scenario_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/internal/devnet"
	"github.com/medprov/medprov/internal/scenario"
)

// The fault tests stop and restart processes of the running test network
// (test-network/node.sh) under load from HospitalA's gateway, and then
// check that every record the gateway acknowledged is stored, readable
// byte for byte and anchored in the transaction it named. They leave the
// network whole again: a failed restart fails the test.

// faultWorkers is the number of AddRecord calls kept in flight.
const faultWorkers = 32

// node runs test-network/node.sh with args.
func node(t *testing.T, network string, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(network, "node.sh"), args...)
	cmd.Env = os.Environ()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node.sh %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// restartNetwork starts whatever of the network is stopped, once the test
// ends (also when it fails).
func restartNetwork(t *testing.T, network string) {
	t.Cleanup(func() { node(t, network, "start") })
}

// ack is one acknowledged AddRecord.
type ack struct {
	recordID string
	sum      [32]byte
	txID     string
	at       time.Time
}

// load keeps faultWorkers AddRecord calls of 1 KiB synthetic documents in
// flight through one gateway connection until stopped.
type load struct {
	conn    *grpc.ClientConn
	patient string
	cancel  context.CancelFunc
	done    sync.WaitGroup

	mu     sync.Mutex
	acks   []ack
	errors map[string]int // by gRPC code
}

func startLoad(ctx context.Context, conn *grpc.ClientConn, patient string) *load {
	ctx, cancel := context.WithCancel(ctx)
	l := &load{conn: conn, patient: patient, cancel: cancel, errors: map[string]int{}}
	records := gatewayv1.NewRecordServiceClient(conn)
	for range faultWorkers {
		l.done.Go(func() {
			for ctx.Err() == nil {
				a, err := addDocument(ctx, records, patient)
				if ctx.Err() != nil {
					// Cut off by stop: neither acknowledged nor an error.
					return
				}
				l.mu.Lock()
				if err != nil {
					l.errors[status.Code(err).String()]++
				} else {
					l.acks = append(l.acks, a)
				}
				l.mu.Unlock()
				if err != nil {
					time.Sleep(100 * time.Millisecond)
				}
			}
		})
	}
	return l
}

// stop ends the load and returns what was acknowledged.
func (l *load) stop() []ack {
	l.cancel()
	l.done.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]ack(nil), l.acks...)
}

// rate is the acknowledgements per second in [from, to).
func (l *load) rate(from, to time.Time) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, a := range l.acks {
		if !a.at.Before(from) && a.at.Before(to) {
			n++
		}
	}
	return float64(n) / to.Sub(from).Seconds()
}

func (l *load) errorCounts() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprint(l.errors)
}

// addDocument uploads a fresh synthetic document for patient and returns
// the acknowledgement.
func addDocument(ctx context.Context, records gatewayv1.RecordServiceClient, patient string) (ack, error) {
	var a ack
	content := make([]byte, 1024)
	_, _ = rand.Read(content)
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	a.recordID = "r-fault-" + hex.EncodeToString(id)
	a.sum = sha256.Sum256(content)
	stream, err := records.AddRecord(ctx)
	if err != nil {
		return a, err
	}
	if err := stream.Send(&gatewayv1.AddRecordRequest{Part: &gatewayv1.AddRecordRequest_Metadata{Metadata: &gatewayv1.RecordMetadata{
		RecordId: a.recordID, Patient: patient, DocType: "Observation",
		Confidentiality: gatewayv1.Confidentiality_CONFIDENTIALITY_N, ContentSha256: a.sum[:],
	}}}); err != nil && !errors.Is(err, io.EOF) {
		return a, err
	}
	if err := stream.Send(&gatewayv1.AddRecordRequest{Part: &gatewayv1.AddRecordRequest_Chunk{Chunk: content}}); err != nil && !errors.Is(err, io.EOF) {
		return a, err
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return a, err
	}
	a.txID, a.at = resp.GetEvidence().GetTxId(), time.Now()
	return a, nil
}

// registerFaultPatient registers a synthetic patient at conn's gateway.
func registerFaultPatient(ctx context.Context, t *testing.T, conn *grpc.ClientConn) string {
	t.Helper()
	p, err := devnet.NewPatient()
	if err != nil {
		t.Fatal(err)
	}
	der, err := base64.StdEncoding.DecodeString(p.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gatewayv1.NewConsentServiceClient(conn).RegisterPatient(ctx, &gatewayv1.RegisterPatientRequest{PublicKey: der}); err != nil {
		t.Fatalf("register a patient: %v", err)
	}
	return p.Pseudonym
}

// checkAcks reads every acknowledged record back through conn: the
// content must hash to what was sent, and the ledger's evidence must name
// the acknowledged transaction.
func checkAcks(ctx context.Context, t *testing.T, conn *grpc.ClientConn, acks []ack) {
	t.Helper()
	records := gatewayv1.NewRecordServiceClient(conn)
	work := make(chan ack)
	var mu sync.Mutex
	var problems []string
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for a := range work {
				if err := checkAck(ctx, records, a); err != nil {
					mu.Lock()
					problems = append(problems, err.Error())
					mu.Unlock()
				}
			}
		})
	}
	for _, a := range acks {
		work <- a
	}
	close(work)
	wg.Wait()
	for i, p := range problems {
		if i == 10 {
			t.Errorf("... and %d more", len(problems)-10)
			break
		}
		t.Error(p)
	}
	if len(problems) > 0 {
		t.Errorf("%d of %d acknowledged records lost or wrong", len(problems), len(acks))
	}
}

func checkAck(ctx context.Context, records gatewayv1.RecordServiceClient, a ack) error {
	hist, err := records.RecordHistory(ctx, &gatewayv1.RecordHistoryRequest{RecordId: a.recordID})
	if err != nil {
		return fmt.Errorf("acknowledged record %s: history: %w", a.recordID, err)
	}
	if v := hist.GetVersions(); len(v) != 1 || v[0].GetTxId() != a.txID {
		return fmt.Errorf("acknowledged record %s in tx %s: the ledger holds %d versions (first tx %q)", a.recordID, a.txID, len(v), firstTx(v))
	}
	stream, err := records.GetRecord(ctx, &gatewayv1.GetRecordRequest{RecordId: a.recordID, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT, CareRelationship: true})
	if err != nil {
		return fmt.Errorf("acknowledged record %s: get: %w", a.recordID, err)
	}
	h := sha256.New()
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("acknowledged record %s: read: %w", a.recordID, err)
		}
		h.Write(m.GetChunk())
	}
	if !bytes.Equal(h.Sum(nil), a.sum[:]) {
		return fmt.Errorf("acknowledged record %s reads back different content", a.recordID)
	}
	return nil
}

func firstTx(v []*gatewayv1.RecordEvidence) string {
	if len(v) == 0 {
		return ""
	}
	return v[0].GetTxId()
}

// faultGateway starts HospitalA's gateway with its state in state and
// connects to it as its clinician.
func faultGateway(ctx context.Context, t *testing.T, network, bin, state string) (*gatewayProc, *grpc.ClientConn) {
	t.Helper()
	g := startGatewayProc(t, bin, network, fabricOrgs[0], state)
	c := &fabricCluster{network: network, addrs: map[string]string{fabricOrgs[0]: g.addr}}
	conn, err := c.Dial(ctx, fabricOrgs[0], scenario.UserClinician)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return g, conn
}

// TestFabricOrdererStoppedDuringLoad stops the Raft leader of three
// orderers while HospitalA's gateway anchors under load: the two others
// elect a leader, anchoring goes on at no less than half the rate before
// (measured 14-20 s after the stop), and every acknowledged record is
// there.
func TestFabricOrdererStoppedDuringLoad(t *testing.T) {
	network := requireFabric(t)
	restartNetwork(t, network)
	ctx := t.Context()
	_, conn := faultGateway(ctx, t, network, buildGateway(t, t.TempDir()), t.TempDir())
	l := startLoad(ctx, conn, registerFaultPatient(ctx, t, conn))

	time.Sleep(2 * time.Second) // warm up
	before := time.Now()
	time.Sleep(6 * time.Second)
	leader := node(t, network, "leader")
	stopped := time.Now()
	node(t, network, "stop", leader)
	// Raft elects a new leader after 5 s without heartbeats
	// (network/configtx.yaml), and the peers' Gateway service moves to the
	// orderers that answer. Transactions the stopped leader had taken
	// never commit: the gateway gives up waiting for them after
	// ledger.commitTimeout (10 s), looks them up and sends them again.
	time.Sleep(20 * time.Second)
	end := time.Now()
	acks := l.stop()

	was := l.rate(before, stopped)
	now := l.rate(end.Add(-6*time.Second), end)
	t.Logf("stopped %s (the leader): %.0f records/s in the 6 s before, %.0f in the last 6 s of the 20 s after; %d acknowledged, errors %s",
		leader, was, now, len(acks), l.errorCounts())
	if was == 0 {
		t.Fatal("no record was anchored before the orderer stopped")
	}
	if now < was/2 {
		t.Errorf("throughput did not recover: %.0f records/s after the leader stopped, %.0f before", now, was)
	}
	checkAcks(ctx, t, conn, acks)
}

// TestFabricPeerStoppedHospitalAKeepsAnchoring stops HospitalB's peer:
// HospitalA's gateway goes on anchoring, endorsed by HospitalA and the
// health authority, a MAJORITY of three.
func TestFabricPeerStoppedHospitalAKeepsAnchoring(t *testing.T) {
	network := requireFabric(t)
	restartNetwork(t, network)
	ctx := t.Context()
	_, conn := faultGateway(ctx, t, network, buildGateway(t, t.TempDir()), t.TempDir())
	patient := registerFaultPatient(ctx, t, conn)

	node(t, network, "stop", "peer0.hospital-b.medprov.test")
	stopped := time.Now()
	l := startLoad(ctx, conn, patient)
	time.Sleep(15 * time.Second)
	end := time.Now()
	acks := l.stop()
	rate := l.rate(end.Add(-5*time.Second), end)
	t.Logf("with HospitalB's peer down: %d records acknowledged in %.0f s, %.0f/s in the last 5 s; errors %s",
		len(acks), end.Sub(stopped).Seconds(), rate, l.errorCounts())
	if rate == 0 {
		t.Fatalf("HospitalA anchored nothing in the last 5 s with HospitalB's peer down; errors %s", l.errorCounts())
	}
	checkAcks(ctx, t, conn, acks)
}

// TestFabricRestartEverything crashes HospitalA's gateway under load
// (SIGKILL: records stored but not yet marked anchored stay pending),
// stops every process of the network, starts them all again from their
// data, and restarts the gateway on its store: it resumes following
// events from its checkpoint, reconciles the pending records, and every
// acknowledged record is there.
func TestFabricRestartEverything(t *testing.T) {
	network := requireFabric(t)
	restartNetwork(t, network)
	ctx := t.Context()
	bin := buildGateway(t, t.TempDir())
	state := t.TempDir()
	g, conn := faultGateway(ctx, t, network, bin, state)
	l := startLoad(ctx, conn, registerFaultPatient(ctx, t, conn))
	time.Sleep(6 * time.Second)
	g.kill()
	acks := l.stop()
	_ = conn.Close()
	if len(acks) == 0 {
		t.Fatalf("no record acknowledged before the crash; errors %s", l.errorCounts())
	}
	first := g.logged("no event checkpoint: following ledger events from the current height")
	if len(first) != 1 {
		t.Fatalf("the new gateway logged %d first-start event lines, want 1", len(first))
	}

	node(t, network, "stop", "all")
	node(t, network, "start")

	g2, conn2 := faultGateway(ctx, t, network, bin, state)
	rec := g2.logged("reconciled pending records at start")
	if len(rec) != 1 {
		t.Fatalf("the restarted gateway logged %d reconcile lines, want 1", len(rec))
	}
	// With 32 uploads in flight at the kill, some are always stored but
	// not yet marked anchored; without any, this test would not exercise
	// the reconciler.
	if pending, _ := rec[0]["pending"].(float64); pending == 0 {
		t.Errorf("nothing was pending at restart (%v): the crash left no work to reconcile", rec[0])
	}
	resumed := g2.logged("following ledger events from the checkpoint")
	if len(resumed) != 1 {
		t.Fatalf("the restarted gateway logged %d lines resuming from its event checkpoint, want 1", len(resumed))
	}
	// The follower saves its checkpoint every second: after 6 s of load
	// it is past the block where the first run started.
	if from, at := first[0]["block"].(float64), resumed[0]["block"].(float64); at <= from {
		t.Errorf("the restarted gateway resumed events at block %v, not past block %v where it first started", at, from)
	}
	t.Logf("%d records acknowledged before the crash; at restart: %v; events first from block %v, resumed from block %v",
		len(acks), rec[0], first[0]["block"], resumed[0]["block"])
	st, err := gatewayv1.NewAdminServiceClient(adminConn(ctx, t, network, g2)).Status(ctx, &gatewayv1.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if st.GetRecordsPending() != 0 {
		t.Errorf("%d records still pending after the restart's reconcile", st.GetRecordsPending())
	}
	checkAcks(ctx, t, conn2, acks)
}

// adminConn connects to g as its organisation's admin.
func adminConn(ctx context.Context, t *testing.T, network string, g *gatewayProc) *grpc.ClientConn {
	t.Helper()
	c := &fabricCluster{network: network, addrs: map[string]string{g.msp: g.addr}}
	conn, err := c.Dial(ctx, g.msp, scenario.UserAdmin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}
