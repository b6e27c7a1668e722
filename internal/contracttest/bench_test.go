package contracttest

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"

	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/embedded"
	"github.com/medprov/medprov/internal/devnet"
)

// Benchmarks of the chaincode on the embedded ledger. Each reports
// committed transactions per second; BenchmarkBaselinePut is the baseline
// the others are compared with in docs/BENCHMARKS.md: a trivial put on the
// same kind of ledger with the same concurrency, in the same run.
//
//	go test -run '^$' -bench . -benchtime 20000x ./internal/contracttest/

// benchParallelism is goroutines per GOMAXPROCS: 32 × 2 cores = 64 in flight.
const benchParallelism = 64

// putChaincode is the baseline: one PutState of a key named by the argument.
type putChaincode struct{}

func (putChaincode) Init(shim.ChaincodeStubInterface) *peer.Response { return shim.Success(nil) }

func (putChaincode) Invoke(stub shim.ChaincodeStubInterface) *peer.Response {
	_, args := stub.GetFunctionAndParameters()
	if err := stub.PutState(args[0], []byte("x")); err != nil {
		return shim.Error(err.Error())
	}
	return shim.Success(nil)
}

func reportRate(b *testing.B, blocksBefore, blocksAfter uint64) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
	if blocks := blocksAfter - blocksBefore; blocks > 0 {
		b.ReportMetric(float64(b.N)/float64(blocks), "tx/block")
	}
}

func BenchmarkBaselinePut(b *testing.B) {
	n, err := devnet.Start(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	orderer, err := n.Org(devnet.Orderer).Issue(devcaOrderer())
	if err != nil {
		b.Fatal(err)
	}
	l, err := embedded.Open(embedded.Config{Dir: b.TempDir(), OrdererMSPID: devnet.Orderer, OrdererCertPEM: orderer.CertPEM, OrdererSigner: orderer.Key}, putChaincode{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	c, err := n.User(devnet.HospitalA, "bench", "clinician", "N")
	if err != nil {
		b.Fatal(err)
	}
	id := embedded.Identity{MSPID: devnet.HospitalA, CertPEM: c.Identity.CertPEM}
	var next atomic.Int64
	before := l.Height()
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Submit(context.Background(), id, embedded.Proposal{Function: "Put", Args: []string{fmt.Sprint(next.Add(1))}}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportRate(b, before, l.Height())
}

func BenchmarkAnchorRecord(b *testing.B) {
	e := newEnv(b)
	clinician := e.user(devnet.HospitalA, "clinician", "N")
	p := e.registerPatient(clinician)
	var next atomic.Int64
	before := e.net.Ledger.Height()
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			req := ledger.AnchorRequest{RecordID: fmt.Sprintf("bench-%09d", i), Patient: p.Pseudonym, DocType: "18842-5", Confidentiality: ledger.ConfNormal, Commitment: commitment(i)}
			if _, err := clinician.Submit(e.ctx, ledger.TxAnchorRecord, asJSON(b, req)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportRate(b, before, e.net.Ledger.Height())
}

func BenchmarkRequestAccess(b *testing.B) {
	e := newEnv(b)
	officer := e.user(devnet.HospitalA, "records-officer", "V")
	clinicianB := e.user(devnet.HospitalB, "clinician", "N")
	// One record per goroutine slot, each of its own patient with a consent,
	// so that concurrent requests read disjoint consents (no MVCC conflicts,
	// as with real traffic over many patients).
	const records = 256
	recs := make([]string, records)
	var wg sync.WaitGroup
	for i := range records {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := e.registerPatient(officer)
			recs[i] = e.anchor(officer, p.Pseudonym, "18842-5", ledger.ConfNormal).RecordID
			if _, err := e.grant(officer, p, devnet.HospitalB, nil); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	var next atomic.Int64
	before := e.net.Ledger.Height()
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := ledger.AccessRequest{RecordID: recs[next.Add(1)%records], Purpose: ledger.PurposeTreatment}
			if _, err := submit(e.ctx, clinicianB, ledger.TxRequestAccess, asJSON(b, req)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportRate(b, before, e.net.Ledger.Height())
}

// historyFixture is a ledger holding 100,000 access events on one record,
// built once per test binary: Go runs a benchmark function more than once,
// and seeding takes about a minute.
var historyFixture = sync.OnceValues(func() (*env, error) {
	dir, err := os.MkdirTemp("", "medprov-bench-history-")
	if err != nil {
		return nil, err
	}
	historyDir = dir
	n, err := devnet.Start(dir)
	if err != nil {
		return nil, err
	}
	return &env{net: n, ctx: context.Background()}, nil
})

// historyDir is the history fixture's directory, removed by TestMain.
var historyDir string

// BenchmarkAccessHistoryPage reads one page of 100 events from the middle of
// a record's trail when the ledger holds 100,000 access events.
func BenchmarkAccessHistoryPage(b *testing.B) {
	e, err := historyFixture()
	if err != nil {
		b.Fatal(err)
	}
	e.t = b
	officer := e.user(devnet.HospitalA, "records-officer", "V")
	auditor := e.user(devnet.HealthAuthority, "auditor", "U")
	const events = 100_000
	recordID := seededRecord(b, e, officer, events)
	// Start in the middle of the trail, as a reader paging through it would.
	var page ledger.Page[ledger.AccessEvent]
	for range events / 2 / 1000 {
		page = must[ledger.Page[ledger.AccessEvent]](b)(auditor.Evaluate(e.ctx, ledger.TxAccessHistory, asJSON(b, ledger.AuditQuery{RecordID: recordID, PageSize: 1000, Bookmark: page.Bookmark})))
	}
	q := asJSON(b, ledger.AuditQuery{RecordID: recordID, PageSize: 100, Bookmark: page.Bookmark})
	b.ResetTimer()
	for range b.N {
		out, err := auditor.Evaluate(e.ctx, ledger.TxAccessHistory, q)
		if err != nil {
			b.Fatal(err)
		}
		if len(out) < 100*200 {
			b.Fatalf("page too small: %d bytes", len(out))
		}
	}
}

var seeded struct {
	sync.Mutex
	recordID string
}

// seededRecord returns the record of the history fixture, anchoring it and
// committing its events on first use.
func seededRecord(b *testing.B, e *env, officer *devnet.Client, events int) string {
	seeded.Lock()
	defer seeded.Unlock()
	if seeded.recordID == "" {
		p := e.registerPatient(officer)
		rec := e.anchor(officer, p.Pseudonym, "18842-5", ledger.ConfNormal)
		seedAccessEvents(b, e, officer, rec.RecordID, events)
		seeded.recordID = rec.RecordID
	}
	return seeded.recordID
}

// seedAccessEvents commits n LogAccess events on one record, 64 at a time.
func seedAccessEvents(b *testing.B, e *env, c *devnet.Client, recordID string, n int) {
	b.Helper()
	care := true
	req := asJSON(b, ledger.LogAccessRequest{RecordID: recordID, Purpose: ledger.PurposeTreatment, CareRelationship: &care})
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if _, err := c.Submit(e.ctx, ledger.TxLogAccess, req); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkMemoryAsLedgerGrows anchors b.N records, 64 at a time, and
// reports the live heap after the first fifth and after all of them: state
// lives in bbolt, not in the Go heap, so the two stay close however large
// the ledger grows. Run it with -benchtime 100000x.
func BenchmarkMemoryAsLedgerGrows(b *testing.B) {
	e := newEnv(b)
	clinician := e.user(devnet.HospitalA, "clinician", "N")
	p := e.registerPatient(clinician)
	heap := func() float64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return float64(m.HeapAlloc) / (1 << 20)
	}
	anchor := func(from, to int64) {
		var next atomic.Int64
		next.Store(from)
		var wg sync.WaitGroup
		for range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := next.Add(1); i <= to; i = next.Add(1) {
					req := ledger.AnchorRequest{RecordID: fmt.Sprintf("mem-%09d", i), Patient: p.Pseudonym, DocType: "18842-5", Confidentiality: ledger.ConfNormal, Commitment: commitment(i)}
					if _, err := clinician.Submit(e.ctx, ledger.TxAnchorRecord, asJSON(b, req)); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	n := int64(b.N)
	b.ResetTimer()
	anchor(0, n/5)
	first := heap()
	anchor(n/5, n)
	last := heap()
	b.ReportMetric(first, "MiB-heap-at-1/5")
	b.ReportMetric(last, "MiB-heap-at-end")
	b.ReportMetric(float64(e.net.Ledger.Height()), "blocks")
}
