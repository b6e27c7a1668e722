package embedded

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/medprov/medprov/internal/crashtest"
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
	dir, ok := crashtest.IsChild(crashDirEnv)
	if !ok {
		t.Skip("helper process for TestCrashRecovery")
	}
	l, err := Open(readOrdererConfig(t, dir), &testCC{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	id := testClient(t)
	crashtest.Loop(16, 10*time.Second, func(_, _ int) {
		txID, nonce, err := l.NewTxID(id)
		if err != nil {
			panic(err)
		}
		res, err := l.Submit(context.Background(), id, Proposal{Function: "put", Args: []string{"crash/" + txID, txID}, TxID: txID, Nonce: nonce})
		if err != nil {
			panic(err)
		}
		crashtest.Ack("%s %d", res.TxID, res.BlockNumber)
	})
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
		acks := crashtest.Kill(t, "TestCrashHelper", crashDirEnv, dir, [2]time.Duration{30 * time.Millisecond, 300 * time.Millisecond})

		cfg := readOrdererConfig(t, dir)
		l, err := Open(cfg, &testCC{})
		if err != nil {
			t.Fatalf("trial %d: reopen after kill: %v", trial, err)
		}
		if err := l.VerifyChain(context.Background()); err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		for _, a := range acks {
			var txID string
			var block uint64
			if _, err := fmt.Sscan(a, &txID, &block); err != nil {
				t.Fatalf("trial %d: acknowledgement %q: %v", trial, a, err)
			}
			st, err := l.Transaction(txID)
			if err != nil || st.Code != VALID || st.BlockNumber != block {
				t.Fatalf("trial %d: acknowledged %s in block %d, found %+v, %v", trial, txID, block, st, err)
			}
			v, err := l.Evaluate(context.Background(), testClient(t), Proposal{Function: "get", Args: []string{"crash/" + txID}})
			if err != nil || string(v) != txID {
				t.Fatalf("trial %d: state of %s = %q, %v", trial, txID, v, err)
			}
		}
		totalAcks += len(acks)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d trials, %d acknowledged transactions verified", trials, totalAcks)
}
