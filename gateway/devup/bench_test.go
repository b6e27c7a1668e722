package devup_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/devup"
	"github.com/medprov/medprov/internal/devca"
	"github.com/medprov/medprov/internal/devnet"
)

// BenchmarkRecordAdd measures `record add` end to end: RecordService.AddRecord
// through hospital A's gateway of a development consortium (mTLS gRPC, the
// encrypted store with its fsyncs, AnchorRecord on the embedded ledger,
// answered once committed), with 1 KiB of synthetic content per record,
// distinct per call, at 1, 16 and 64 calls in flight on one connection.
//
// Its baseline, measured in the same run at the same concurrency, submits
// the same AnchorRecord transactions (same argument shape, a real salted
// commitment to distinct 1 KiB content) directly on an embedded ledger of
// its own through an internal/devnet client: no gateway, no store, no gRPC.
// The ratio of the two is the gateway's cost over the bare ledger.
//
// Each sub-benchmark reports committed records (or transactions) per
// second and the p50 and p99 latency of one call. docs/BENCHMARKS.md holds
// the figures and the command:
//
//	go test -run '^$' -bench 'RecordAdd' -benchtime 2000x -count 3 ./gateway/devup/
func BenchmarkRecordAdd(b *testing.B) {
	ctx := b.Context()
	c, err := devup.Start(ctx, b.TempDir())
	if err != nil {
		b.Fatalf("start the consortium: %v", err)
	}
	b.Cleanup(func() {
		if err := c.Close(); err != nil {
			b.Errorf("close the consortium: %v", err)
		}
	})
	conn, err := c.Dial(ctx, devnet.HospitalA, "clinician")
	if err != nil {
		b.Fatalf("dial hospital A as clinician: %v", err)
	}
	b.Cleanup(func() { _ = conn.Close() })
	gwPatient := registerAtGateway(ctx, b, conn)

	n, err := devnet.Start(b.TempDir())
	if err != nil {
		b.Fatalf("start the baseline network: %v", err)
	}
	b.Cleanup(func() {
		if err := n.Close(); err != nil {
			b.Errorf("close the baseline network: %v", err)
		}
	})
	clinician, err := n.User(devnet.HospitalA, "clinician", devca.RoleClinician, devca.ClearanceN)
	if err != nil {
		b.Fatalf("baseline clinician: %v", err)
	}
	basePatient := registerOnLedger(ctx, b, clinician)

	records := gatewayv1.NewRecordServiceClient(conn)
	var seq atomic.Uint64 // record IDs, unique across sub-benchmarks and their runs
	for _, conc := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("gateway/c=%d", conc), func(b *testing.B) {
			runConcurrent(b, conc, "records/s", func(i uint64, content []byte) error {
				return addRecord(ctx, records, fmt.Sprintf("bench-%08d", i), gwPatient, content)
			}, &seq)
		})
		b.Run(fmt.Sprintf("baseline/c=%d", conc), func(b *testing.B) {
			runConcurrent(b, conc, "tx/s", func(i uint64, content []byte) error {
				return anchorRecord(ctx, clinician, fmt.Sprintf("bench-%08d", i), basePatient, content)
			}, &seq)
		})
	}
}

// contentSize is the size of each benchmark record's content.
const contentSize = 1 << 10

// runConcurrent makes b.N calls of call spread over conc goroutines, each
// with its own distinct 1 KiB content, and reports the rate (as unit) and
// the p50 and p99 latency of one call.
func runConcurrent(b *testing.B, conc int, unit string, call func(i uint64, content []byte) error, seq *atomic.Uint64) {
	var next atomic.Int64
	lat := make([][]time.Duration, conc)
	var wg sync.WaitGroup
	b.ResetTimer()
	for g := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Synthetic content: random bytes from a per-goroutine source,
			// with the call's sequence number in the first 8 bytes so that
			// no two records share content.
			rng := rand.New(rand.NewChaCha8([32]byte{byte(g), byte(conc)}))
			content := make([]byte, contentSize)
			for i := 0; i < len(content); i += 8 {
				binary.LittleEndian.PutUint64(content[i:], rng.Uint64())
			}
			for next.Add(1) <= int64(b.N) {
				i := seq.Add(1)
				binary.BigEndian.PutUint64(content, i)
				start := time.Now()
				if err := call(i, content); err != nil {
					b.Error(err)
					return
				}
				lat[g] = append(lat[g], time.Since(start))
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	all := slices.Concat(lat...)
	if len(all) != b.N {
		b.Fatalf("%d of %d calls succeeded", len(all), b.N)
	}
	slices.Sort(all)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
	b.ReportMetric(ms(percentile(all, 50)), "p50-ms")
	b.ReportMetric(ms(percentile(all, 99)), "p99-ms")
}

// percentile returns the p-th percentile (nearest rank) of sorted, which
// is not empty.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 × n), 1-based
	return sorted[max(rank, 1)-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// addRecord uploads content as a new record of patient through AddRecord
// (metadata, then one chunk) and checks the answer describes it.
func addRecord(ctx context.Context, records gatewayv1.RecordServiceClient, recordID, patient string, content []byte) error {
	stream, err := records.AddRecord(ctx)
	if err != nil {
		return fmt.Errorf("AddRecord %s: open: %w", recordID, err)
	}
	md := &gatewayv1.RecordMetadata{RecordId: recordID, Patient: patient, DocType: "18842-5",
		Confidentiality: gatewayv1.Confidentiality_CONFIDENTIALITY_N}
	if err := stream.Send(&gatewayv1.AddRecordRequest{Part: &gatewayv1.AddRecordRequest_Metadata{Metadata: md}}); err != nil {
		return fmt.Errorf("AddRecord %s: send metadata: %w", recordID, err)
	}
	if err := stream.Send(&gatewayv1.AddRecordRequest{Part: &gatewayv1.AddRecordRequest_Chunk{Chunk: content}}); err != nil {
		return fmt.Errorf("AddRecord %s: send content: %w", recordID, err)
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return fmt.Errorf("AddRecord %s: %w", recordID, err)
	}
	ev := resp.GetEvidence()
	if resp.GetSize() != uint64(len(content)) || ev.GetRecordId() != recordID || ev.GetVersion() != 1 || ev.GetTxId() == "" {
		return fmt.Errorf("AddRecord %s: got size %d, record %q version %d tx %q; want size %d, the record, version 1 and a transaction",
			recordID, resp.GetSize(), ev.GetRecordId(), ev.GetVersion(), ev.GetTxId(), len(content))
	}
	return nil
}

// anchorRecord submits AnchorRecord for content as the gateway's anchorer
// builds it (a salted commitment to the content's SHA-256), and waits for
// it to commit.
func anchorRecord(ctx context.Context, c *devnet.Client, recordID, patient string, content []byte) error {
	// The salt only needs to be fresh per record here, not secret: the
	// content's first bytes (its sequence number) make it so.
	salt := sha256.Sum256(content)
	req, err := json.Marshal(domain.AnchorRequest{RecordID: recordID, Patient: patient, DocType: "18842-5",
		Confidentiality: domain.ConfNormal, Commitment: domain.Commitment(salt[:], sha256.Sum256(content))})
	if err != nil {
		return fmt.Errorf("AnchorRecord %s: %w", recordID, err)
	}
	if _, err := c.Submit(ctx, domain.TxAnchorRecord, string(req)); err != nil {
		return fmt.Errorf("AnchorRecord %s: %w", recordID, err)
	}
	return nil
}

// registerAtGateway registers a synthetic patient through ConsentService
// and returns their pseudonym.
func registerAtGateway(ctx context.Context, b *testing.B, conn *grpc.ClientConn) string {
	b.Helper()
	p, err := devnet.NewPatient()
	if err != nil {
		b.Fatalf("new patient: %v", err)
	}
	der, err := base64.StdEncoding.DecodeString(p.PublicKey)
	if err != nil {
		b.Fatalf("patient key: %v", err)
	}
	resp, err := gatewayv1.NewConsentServiceClient(conn).RegisterPatient(ctx, &gatewayv1.RegisterPatientRequest{PublicKey: der})
	if err != nil {
		b.Fatalf("RegisterPatient: %v", err)
	}
	if got := resp.GetPatient().GetPseudonym(); got != p.Pseudonym {
		b.Fatalf("RegisterPatient: pseudonym %q, want %q", got, p.Pseudonym)
	}
	return p.Pseudonym
}

// registerOnLedger registers a synthetic patient with RegisterPatient on
// the ledger directly and returns their pseudonym.
func registerOnLedger(ctx context.Context, b *testing.B, c *devnet.Client) string {
	b.Helper()
	p, err := devnet.NewPatient()
	if err != nil {
		b.Fatalf("new patient: %v", err)
	}
	if _, err := c.Submit(ctx, domain.TxRegisterPatient, p.PublicKey); err != nil {
		b.Fatalf("RegisterPatient: %v", err)
	}
	return p.Pseudonym
}
