package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/medprov/medprov/internal/crashtest"
)

const crashDirEnv = "STORE_CRASH_DIR"

// crashContent is the content stored under id: its size (0 to 150 KiB, so
// that many Puts span several chunks) and bytes both follow from the ID.
func crashContent(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return content(id, int(binary.BigEndian.Uint32(h[:4])%(150<<10)))
}

// TestCrashHelper is the child process of TestCrashRecovery: 8 goroutines
// Put records and print "ACK <id>" after each Put returns, until killed.
func TestCrashHelper(t *testing.T) {
	dir, ok := crashtest.IsChild(crashDirEnv)
	if !ok {
		t.Skip("helper process for TestCrashRecovery")
	}
	keys, err := NewFileKeyring(filepath.Join(dir, "keys"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "keyring:", err)
		os.Exit(2)
	}
	s, err := Open(filepath.Join(dir, "store"), keys)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	crashtest.Loop(8, 10*time.Second, func(g, i int) {
		id := fmt.Sprintf("crash-%d-%d", g, i)
		if _, err := s.Put(context.Background(), id, 1, bytes.NewReader(crashContent(id))); err != nil {
			panic(err)
		}
		crashtest.Ack("%s", id)
	})
	_ = s.Close()
}

// TestCrashRecovery SIGKILLs a child process that is storing records at a
// random moment, then checks, before and after reopening, that the store
// is consistent and every acknowledged Put survived intact.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash recovery runs child processes")
	}
	const trials = 20
	total, tmpSeen := 0, 0
	for trial := range trials {
		dir := t.TempDir()
		keys, err := NewFileKeyring(filepath.Join(dir, "keys"))
		if err != nil {
			t.Fatal(err)
		}
		acks := crashtest.Kill(t, "TestCrashHelper", crashDirEnv, dir, [2]time.Duration{0, 400 * time.Millisecond})

		storeDir := filepath.Join(dir, "store")
		// Before recovery: the only orphans are temporary files; every
		// final blob has a live index entry.
		live := liveEntries(t, storeDir)
		ents, err := os.ReadDir(filepath.Join(storeDir, blobsDir))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), tmpSuffix) {
				tmpSeen++
				continue
			}
			if !live[e.Name()] {
				t.Fatalf("trial %d: blob %s without an index entry after the crash", trial, e.Name())
			}
		}

		s, err := Open(storeDir, keys)
		if err != nil {
			t.Fatalf("trial %d: reopen after kill: %v", trial, err)
		}
		for _, id := range acks {
			rc, _, err := s.Open(context.Background(), id, 1)
			if err != nil {
				t.Fatalf("trial %d: acknowledged %s: %v", trial, id, err)
			}
			got, err := readUntilError(rc)
			rc.Close()
			if err != nil || !bytes.Equal(got, crashContent(id)) {
				t.Fatalf("trial %d: acknowledged %s reads %d bytes, %v", trial, id, len(got), err)
			}
		}
		// After recovery: blob files and live entries match one to one.
		live = map[string]bool{}
		_ = s.db.View(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketEntries).ForEach(func(k, v []byte) error {
				ie, err := decodeEntry(v)
				if err != nil {
					t.Fatal(err)
				}
				live[ie.Blob] = true
				return nil
			})
		})
		ents, _ = os.ReadDir(s.blobs)
		if len(ents) != len(live) {
			t.Fatalf("trial %d: %d blob files, %d index entries", trial, len(ents), len(live))
		}
		for _, e := range ents {
			if !live[e.Name()] {
				t.Fatalf("trial %d: blob %s without an index entry after recovery", trial, e.Name())
			}
		}
		total += len(acks)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d trials, %d acknowledged Puts verified, %d temporary files cleaned up", trials, total, tmpSeen)
}

// liveEntries reads the blob names of live entries straight from the
// index file, without Open's recovery.
func liveEntries(t *testing.T, storeDir string) map[string]bool {
	t.Helper()
	db, err := bolt.Open(filepath.Join(storeDir, indexFile), 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	live := map[string]bool{}
	err = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEntries)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			ie, err := decodeEntry(v)
			if err != nil {
				return err
			}
			if ie.State != StateErased {
				live[ie.Blob] = true
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return live
}
