package embedded

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const crashDirEnv = "EMBEDDED_CRASH_DIR"

// writeOrdererFiles stores the orderer key and certificate so the child
// process signs blocks with the identity the parent verifies.
func writeOrdererFiles(t *testing.T, dir string) {
	o := testOrderer(t)
	der, err := x509.MarshalPKCS8PrivateKey(o.key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "orderer.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "orderer.pem"), o.certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
}

func readOrdererConfig(t *testing.T, dir string) Config {
	keyPEM, err := os.ReadFile(filepath.Join(dir, "orderer.key"))
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := os.ReadFile(filepath.Join(dir, "orderer.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(keyPEM)
	key, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return Config{Dir: filepath.Join(dir, "ledger"), OrdererMSPID: "OrdererMSP", OrdererCertPEM: certPEM, OrdererSigner: key.(*ecdsa.PrivateKey)}
}

// TestCrashHelper is the child process of TestCrashRecovery: it submits
// puts from 16 goroutines and prints "ACK <txid> <block>" after each
// successful Submit, until it is killed.
func TestCrashHelper(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("helper process for TestCrashRecovery")
	}
	l, err := Open(readOrdererConfig(t, dir), &testCC{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	id := testClient(t)
	deadline := time.Now().Add(10 * time.Second)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				txID, nonce, err := l.NewTxID(id)
				if err != nil {
					panic(err)
				}
				res, err := l.Submit(context.Background(), id, Proposal{Function: "put", Args: []string{"crash/" + txID, txID}, TxID: txID, Nonce: nonce})
				if err != nil {
					panic(err)
				}
				mu.Lock()
				_, _ = os.Stdout.WriteString(fmt.Sprintf("ACK %s %d\n", res.TxID, res.BlockNumber))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	_ = l.Close()
}

// TestCrashRecovery kills a child process that is committing transactions
// at a random moment and checks that every acknowledged transaction
// survived, valid, in the block it was acknowledged in, and that the chain
// verifies.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash recovery runs child processes")
	}
	const trials = 20
	totalAcks := 0
	for trial := range trials {
		dir := t.TempDir()
		writeOrdererFiles(t, dir)
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		type ack struct {
			txID  string
			block uint64
		}
		var acks []ack
		first := make(chan struct{})
		readDone := make(chan struct{})
		go func() {
			defer close(readDone)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				if len(f) != 3 || f[0] != "ACK" {
					continue
				}
				n, err := strconv.ParseUint(f[2], 10, 64)
				if err != nil {
					continue
				}
				acks = append(acks, ack{f[1], n})
				if len(acks) == 1 {
					close(first)
				}
			}
		}()
		select {
		case <-first:
		case <-readDone:
			_ = cmd.Wait()
			t.Fatalf("trial %d: child exited without acknowledging anything", trial)
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("trial %d: no acknowledgement", trial)
		}
		time.Sleep(time.Duration(30+rand.IntN(271)) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-readDone
		_ = cmd.Wait()

		cfg := readOrdererConfig(t, dir)
		l, err := Open(cfg, &testCC{})
		if err != nil {
			t.Fatalf("trial %d: reopen after kill: %v", trial, err)
		}
		if err := l.VerifyChain(context.Background()); err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		for _, a := range acks {
			st, err := l.Transaction(a.txID)
			if err != nil || st.Code != VALID || st.BlockNumber != a.block {
				t.Fatalf("trial %d: acknowledged %s in block %d, found %+v, %v", trial, a.txID, a.block, st, err)
			}
			v, err := l.Evaluate(context.Background(), testClient(t), Proposal{Function: "get", Args: []string{"crash/" + a.txID}})
			if err != nil || string(v) != a.txID {
				t.Fatalf("trial %d: state of %s = %q, %v", trial, a.txID, v, err)
			}
		}
		totalAcks += len(acks)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d trials, %d acknowledged transactions verified", trials, totalAcks)
}
