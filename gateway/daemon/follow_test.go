package daemon_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	domain "github.com/medprov/medprov/chaincode/ledger"

	"github.com/medprov/medprov/gateway/daemon"
	"github.com/medprov/medprov/gateway/internal/config"
	"github.com/medprov/medprov/gateway/internal/follow"
	"github.com/medprov/medprov/gateway/internal/ledger"
	"github.com/medprov/medprov/gateway/internal/store"
	"github.com/medprov/medprov/gateway/internal/wallet"
)

// treeDigest maps every path under dir to a digest of its mode, size,
// modification time and content, to show that nothing changed.
func treeDigest(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		sum := ""
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			d := sha256.Sum256(b)
			sum = string(d[:])
		}
		out[p] = fi.Mode().String() + fi.ModTime().String() + sum
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// withLedger opens the stopped gateway's embedded ledger and runs fn with
// it.
func withLedger(t *testing.T, cfg config.Config, fn func(el ledger.Ledger, height uint64)) {
	t.Helper()
	el, err := daemon.OpenEmbedded(cfg.Ledger.Embedded.Dir)
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.NewEmbedded(el)
	defer l.Close()
	fn(l, el.Height())
}

// logWith returns the first log line with message msg, or nil.
func logWith(t *testing.T, logs *logBuffer, msg string) map[string]any {
	t.Helper()
	for _, m := range logs.records(t) {
		if m["msg"] == msg {
			return m
		}
	}
	return nil
}

// TestEventCheckpoint runs one gateway through its life with the event
// follower: a first start begins at the ledger's height; an erasure
// interrupted while the gateway was down is finished after a restart that
// resumes from the checkpoint; a corrupt checkpoint stops the start,
// naming the file, with nothing changed.
func TestEventCheckpoint(t *testing.T) {
	dir := t.TempDir()
	cfg := writeGateway(t, dir)
	cpFile := filepath.Join(cfg.Store.Dir, config.DefaultCheckpointFileName)
	ctx := context.Background()

	// The ledger exists, with some blocks, before the first start.
	var h0 uint64
	withLedger(t, cfg, func(_ ledger.Ledger, h uint64) { h0 = h })

	const id = "rec-follow-erase"
	t.Run("a first start follows from the current height", func(t *testing.T) {
		logs, logOpt := captureLogs()
		g := startGateway(t, dir, cfg, logOpt)
		line := logWith(t, logs, "no event checkpoint: following ledger events from the current height")
		if line == nil || line["block"] != float64(h0) || line["file"] != cpFile {
			t.Errorf("start line %v; want block %d and file %s", line, h0, cpFile)
		}
		conn := dialAs(t, dir, g.g.Addrs().GRPC, "clinician")
		patient, err := registerPatient(ctx, conn)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := addRecord(ctx, conn, patient, id, []byte("synthetic note"), 1024, 0); err != nil {
			t.Fatal(err)
		}
		if err := g.wait(); err != nil {
			t.Fatal(err)
		}
		cp, found, err := follow.ReadCheckpoint(cpFile)
		if err != nil || !found || cp.Block < h0 || cp.TxID == "" {
			t.Errorf("checkpoint after the first run = %+v, %v, %v; want the last event's, after block %d", cp, found, err, h0)
		}
	})

	t.Run("an erasure interrupted while the gateway was down is finished", func(t *testing.T) {
		w, err := wallet.Load(cfg.Wallet.Dir, testMSP)
		if err != nil {
			t.Fatal(err)
		}
		officer, err := w.ByName("gateway")
		if err != nil {
			t.Fatal(err)
		}
		// EraseRecord's ledger step ran; its shredding did not.
		withLedger(t, cfg, func(l ledger.Ledger, _ uint64) {
			arg, _ := json.Marshal(domain.EraseRequest{RecordID: id, Reason: domain.ErasePatientRequest})
			if _, err := l.Submit(ctx, officer.Ledger(), domain.TxEraseRecord, string(arg)); err != nil {
				t.Fatal(err)
			}
		})
		logs, logOpt := captureLogs()
		g := startGateway(t, dir, cfg, logOpt)
		if logWith(t, logs, "following ledger events from the checkpoint") == nil {
			t.Error("the restart did not resume from the checkpoint")
		}
		deadline := time.Now().Add(20 * time.Second)
		for logWith(t, logs, "erasure finished on its ledger event: the store held versions the ledger had erased") == nil {
			if time.Now().After(deadline) {
				t.Fatalf("the follower did not finish the erasure:\n%s", logs)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err := g.wait(); err != nil {
			t.Fatal(err)
		}
		keys, err := store.NewFileKeyring(cfg.Store.Keyring.File.Dir)
		if err != nil {
			t.Fatal(err)
		}
		st, err := store.Open(cfg.Store.Dir, keys)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if e, err := st.Get(id, 1); err != nil || e.State != store.StateErased {
			t.Errorf("store entry = %v, %v; want erased", e, err)
		}
	})

	t.Run("a corrupt checkpoint stops the start and changes nothing", func(t *testing.T) {
		if err := os.WriteFile(cpFile, []byte(`{"kind":"eventCheckpoint","schemaVersion":1,"blo`), 0o600); err != nil {
			t.Fatal(err)
		}
		before := treeDigest(t, dir)
		_, err := daemon.New(ctx, cfg)
		if err == nil {
			t.Fatal("daemon.New succeeded with a corrupt checkpoint")
		}
		if !namesKey(err, "events.checkpointFile") || !strings.Contains(err.Error(), cpFile) || !errors.Is(err, follow.ErrCorrupt) {
			t.Errorf("daemon.New = %v; want an error naming events.checkpointFile and %s", err, cpFile)
		}
		after := treeDigest(t, dir)
		if len(before) != len(after) {
			t.Errorf("%d paths before, %d after", len(before), len(after))
		}
		for p, d := range before {
			if after[p] != d {
				t.Errorf("%s changed", p)
			}
		}
	})
}
