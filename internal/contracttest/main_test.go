package contracttest

import (
	"os"
	"testing"
)

// TestMain removes the benchmark fixture that outlives single benchmarks.
func TestMain(m *testing.M) {
	code := m.Run()
	if historyDir != "" {
		if e, err := historyFixture(); err == nil {
			e.net.Close()
		}
		os.RemoveAll(historyDir)
	}
	os.Exit(code)
}
