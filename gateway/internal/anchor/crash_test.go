package anchor

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/medprov/medprov/gateway/internal/store"
	"github.com/medprov/medprov/internal/crashtest"
)

const crashEnv = "ANCHOR_CRASH_DIR"

// TestCrashHelper is the child of TestCrashRecovery: 32 workers add
// records, each acknowledged once Add returned, until the parent kills it.
func TestCrashHelper(t *testing.T) {
	dir, ok := crashtest.IsChild(crashEnv)
	if !ok {
		t.Skip("helper process for TestCrashRecovery")
	}
	e := openEnv(t, dir)
	defer e.close()
	// The gateway reconciles before serving.
	if _, err := e.a.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	prefix := make([]byte, 4)
	if _, err := rand.Read(prefix); err != nil {
		t.Fatal(err)
	}
	p := hex.EncodeToString(prefix)
	crashtest.Loop(32, 20*time.Second, func(w, i int) {
		id := fmt.Sprintf("rec-%s-%d-%d", p, w, i)
		if _, err := e.a.Add(context.Background(), e.id, e.request(id), bytes.NewReader(contentOf(id))); err != nil {
			// Not acknowledged; the parent checks it left no trace.
			fmt.Fprintf(os.Stderr, "add %s: %v\n", id, err)
			return
		}
		crashtest.Ack("%s", id)
	})
}

// TestCrashRecovery kills the gateway's anchoring with SIGKILL during
// concurrent adds, 20 times, and checks after each restart and
// reconciliation that every acknowledged record is stored, decryptable and
// anchored with its stored commitment, that no pending entry and no orphan
// blob remain, and that no record is anchored twice or anchored without
// being stored.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9 crash test; skipped in short mode")
	}
	dir := t.TempDir()
	openEnv(t, dir).close() // registers the patient
	acked := map[string]bool{}
	const trials = 20
	for trial := range trials {
		acks := crashtest.Kill(t, "TestCrashHelper", crashEnv, dir, [2]time.Duration{50 * time.Millisecond, 600 * time.Millisecond})
		e := openEnv(t, dir)
		rep, err := e.a.Reconcile(context.Background())
		if err != nil {
			e.close()
			t.Fatalf("trial %d: Reconcile: %v", trial, err)
		}
		t.Logf("trial %d: %d acknowledged; reconcile %+v", trial, len(acks), rep)
		for _, id := range acks {
			acked[id] = true
			entry, err := e.store.Get(id, 1)
			if err != nil || entry.State != store.StateAnchored {
				t.Errorf("trial %d: acknowledged %s: %v, %v; want anchored", trial, id, entry, err)
				continue
			}
			want := contentOf(id)
			if !bytes.Equal(e.readContent(t, id), want) {
				t.Errorf("trial %d: %s decrypts to other content", trial, id)
			}
			if entry.Commitment != commitmentOf(entry.Salt, want) {
				t.Errorf("trial %d: %s: stored commitment does not match the content", trial, id)
			}
			if v := e.verify(t, id, entry.Commitment); !v.Match || v.TxID != entry.TxID {
				t.Errorf("trial %d: %s: VerifyRecord = %+v, want a match in %s", trial, id, v, entry.TxID)
			}
		}
		if p, err := e.store.Pending(context.Background()); err != nil || len(p) != 0 {
			t.Errorf("trial %d: %d pending entries left (%v)", trial, len(p), err)
		}
		e.close()
		if t.Failed() {
			return
		}
	}

	// Every stored record is anchored with its commitment, and every
	// record on the ledger is stored: nothing was anchored without being
	// stored, and nothing twice.
	e := openEnv(t, dir)
	defer e.close()
	onLedger := e.ledgerRecords(t)
	stored := e.storedIDs(t)
	for id, versions := range stored {
		if len(versions) != 1 || versions[0] != 1 {
			t.Errorf("%s: stored versions %v, want only 1", id, versions)
			continue
		}
		entry, err := e.store.Get(id, 1)
		if err != nil || entry.State != store.StateAnchored {
			t.Errorf("%s: blob with entry %v, %v; want an anchored entry", id, entry, err)
			continue
		}
		r, ok := onLedger[id]
		if !ok || r.Commitment != entry.Commitment || r.TxID != entry.TxID {
			t.Errorf("%s: stored and anchored in %s, but the ledger holds %+v", id, entry.TxID, r)
		}
	}
	for id := range onLedger {
		if _, ok := stored[id]; !ok {
			t.Errorf("%s is anchored but not stored", id)
		}
	}
	for id := range acked {
		if _, ok := stored[id]; !ok {
			t.Errorf("acknowledged %s is not stored", id)
		}
	}
	t.Logf("%d acknowledged, %d stored and anchored over %d trials", len(acked), len(stored), trials)
}
