// Package crashtest holds test-only helpers for kill -9 crash tests: a test
// re-executes its own binary as a child process that does concurrent work
// and acknowledges each durable operation on stdout, kills the child with
// SIGKILL at a random moment, and then checks that everything acknowledged
// survived. It imports only the standard library and testing, and is meant
// to be imported from _test.go files only.
//
// A crash test has two halves in the same _test.go file. The child is an
// ordinary test that skips unless [IsChild] says otherwise:
//
//	func TestCrashHelper(t *testing.T) {
//		dir, ok := crashtest.IsChild("PKG_CRASH_DIR")
//		if !ok {
//			t.Skip("helper process for TestCrashRecovery")
//		}
//		// open the data in dir, then:
//		crashtest.Loop(8, 10*time.Second, func(worker, i int) {
//			// do one operation; panic on error
//			crashtest.Ack("%s", id)
//		})
//	}
//
// and the parent runs it and kills it with [Kill]:
//
//	acks := crashtest.Kill(t, "TestCrashHelper", "PKG_CRASH_DIR", dir, [2]time.Duration{0, 400 * time.Millisecond})
//	// reopen the data in dir and check every ack survived
package crashtest

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ackPrefix starts every acknowledgement line the child writes.
const ackPrefix = "ACK "

// FirstAckTimeout bounds how long [Kill] waits for the child's first
// acknowledgement; it covers starting the binary and opening the data under
// the race detector on a slow machine.
const FirstAckTimeout = 30 * time.Second

var ackMu sync.Mutex

// Ack writes one line "ACK <payload>" to stdout, with the payload formatted
// as by [fmt.Sprintf]. The line goes out in a single unbuffered write, so
// once Ack returns the parent will read it even if the child is killed at
// once, and Acks from concurrent goroutines never interleave. Call it only
// after the operation is durable. The payload must not contain a newline.
func Ack(format string, args ...any) {
	line := ackPrefix + fmt.Sprintf(format, args...) + "\n"
	ackMu.Lock()
	defer ackMu.Unlock()
	if _, err := os.Stdout.WriteString(line); err != nil {
		panic(err)
	}
}

// IsChild reports whether this process is a crash child started by [Kill]
// with envKey, and if so returns the data directory it was given.
func IsChild(envKey string) (dir string, ok bool) {
	dir = os.Getenv(envKey)
	return dir, dir != ""
}

// Loop runs step from the given number of goroutines, each calling it
// with its worker number and an iteration count starting at 0, until d has
// passed, and returns when they have all stopped. The child is normally
// killed long before d; d only bounds a child left running.
func Loop(workers int, d time.Duration, step func(worker, i int)) {
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				step(w, i)
			}
		})
	}
	wg.Wait()
}

// Kill runs the test named helperTest from this test binary as a child
// process, with envKey set to dir in its environment, and SIGKILLs it at a
// random time in [after[0], after[1]) after its first acknowledgement. It
// returns the payloads (the text after "ACK ") of every acknowledgement the
// child wrote, in order. The child's stderr goes to this process's stderr.
//
// Kill fails t if the child writes no acknowledgement within
// [FirstAckTimeout], or if it exits on its own, before it is killed, with
// a status other than success (a panic, a failed test, a data race).
func Kill(t testing.TB, helperTest, envKey, dir string, after [2]time.Duration) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+helperTest+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), envKey+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acks []string
	first := make(chan struct{})
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), ackPrefix); ok {
				acks = append(acks, p)
				if len(acks) == 1 {
					close(first)
				}
			}
		}
	}()
	select {
	case <-first:
	case <-readDone:
		_ = cmd.Wait()
		t.Fatalf("crash child %s exited without acknowledging anything (%v)", helperTest, cmd.ProcessState)
	case <-time.After(FirstAckTimeout):
		_ = cmd.Process.Kill()
		<-readDone
		_ = cmd.Wait()
		t.Fatalf("crash child %s: no acknowledgement within %v", helperTest, FirstAckTimeout)
	}
	lo, hi := after[0], after[1]
	wait := lo
	if hi > lo {
		wait += rand.N(hi - lo)
	}
	time.Sleep(wait)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-readDone
	if err := cmd.Wait(); !killed(err) {
		t.Fatalf("crash child %s exited on its own before the kill: %v", helperTest, err)
	}
	return acks
}

// killed reports whether err, from Wait, is nil or says that the process
// died of SIGKILL. Killing a child that has already exited but not been
// waited for succeeds, so the exit status is what tells the two apart.
func killed(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return err == nil
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}
