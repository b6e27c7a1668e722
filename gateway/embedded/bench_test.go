package embedded

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
)

// BenchmarkSubmitParallel submits single-key puts from about 64 concurrent
// goroutines and reports throughput and the average block size.
func BenchmarkSubmitParallel(b *testing.B) {
	l := openTest(b, "", nil)
	id := testClient(b)
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	var n atomic.Int64
	start := l.Height()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if _, err := l.Submit(context.Background(), id, Proposal{Function: "put", Args: []string{fmt.Sprintf("bench%09d", i), "value"}}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	blocks := l.Height() - start
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
	if blocks > 0 {
		b.ReportMetric(float64(b.N)/float64(blocks), "txs/block")
	}
}

// BenchmarkEvaluate measures a single-key read through the chaincode.
func BenchmarkEvaluate(b *testing.B) {
	l := openTest(b, "", nil)
	submit(b, l, "put", "k", "value")
	id := testClient(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := l.Evaluate(context.Background(), id, Proposal{Function: "get", Args: []string{"k"}}); err != nil {
			b.Fatal(err)
		}
	}
}
