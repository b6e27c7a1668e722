package crashtest_test

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/medprov/medprov/internal/crashtest"
)

const childEnv = "CRASHTEST_SELF_TEST"

// TestCounterHelper is the child of TestKill: four goroutines take turns
// incrementing a counter and acknowledging each value. With the mode
// "exit" it exits with status 3 after its first acknowledgement; with
// "silent" it exits without acknowledging anything.
func TestCounterHelper(t *testing.T) {
	mode, ok := crashtest.IsChild(childEnv)
	if !ok {
		t.Skip("helper process for TestKill")
	}
	switch mode {
	case "silent":
		return
	case "exit":
		crashtest.Ack("0")
		os.Exit(3)
	}
	var mu sync.Mutex
	n := 0
	crashtest.Loop(4, 10*time.Second, func(_, _ int) {
		mu.Lock()
		defer mu.Unlock()
		crashtest.Ack("%d", n)
		n++
	})
}

// TestKill checks that the acknowledgements Kill returns are exactly the
// counter values 0, 1, ..., n-1, whatever moment the child was killed at.
func TestKill(t *testing.T) {
	for range 3 {
		acks := crashtest.Kill(t, "TestCounterHelper", childEnv, "count", [2]time.Duration{0, 50 * time.Millisecond})
		if len(acks) == 0 {
			t.Fatal("no acknowledgements")
		}
		for i, a := range acks {
			if a != strconv.Itoa(i) {
				t.Fatalf("acknowledgement %d is %q", i, a)
			}
		}
	}
}

// fatalTB records the first failure and ends the goroutine, as t.Fatal
// does, without failing the real test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// TestKillFails checks that Kill fails the test when the child exits with
// an error before it is killed, or without acknowledging anything.
func TestKillFails(t *testing.T) {
	for _, mode := range []string{"exit", "silent"} {
		f := &fatalTB{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			crashtest.Kill(f, "TestCounterHelper", childEnv, mode, [2]time.Duration{500 * time.Millisecond, 500 * time.Millisecond})
		}()
		<-done
		if f.msg == "" {
			t.Errorf("%s: Kill did not fail", mode)
		} else {
			t.Logf("%s: %s", mode, f.msg)
		}
	}
}
