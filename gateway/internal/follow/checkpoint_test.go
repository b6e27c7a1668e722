package follow

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/internal/ledger"
)

const txA = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestCheckpointRoundTrip(t *testing.T) {
	tests := map[string]ledger.Checkpoint{
		"a block and a transaction": {Block: 42, TxID: txA},
		"a whole block":             {Block: 7},
		"the first block":           {},
	}
	for name, cp := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sub", "cp.json")
			if err := WriteCheckpoint(path, cp); err != nil {
				t.Fatal(err)
			}
			got, found, err := ReadCheckpoint(path)
			if err != nil || !found || got != cp {
				t.Errorf("ReadCheckpoint = %+v, %v, %v; want %+v", got, found, err, cp)
			}
			if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("temporary file left: %v", err)
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("mode = %v, %v; want 0600", fi.Mode(), err)
			}
		})
	}
}

func TestReadCheckpointOfNoFileIsNotFound(t *testing.T) {
	cp, found, err := ReadCheckpoint(filepath.Join(t.TempDir(), "none.json"))
	if err != nil || found || cp != (ledger.Checkpoint{}) {
		t.Errorf("ReadCheckpoint = %+v, %v, %v; want nothing found", cp, found, err)
	}
}

func TestReadCheckpointRefusesCorruptFiles(t *testing.T) {
	tests := map[string]string{
		"an empty file":              "",
		"not JSON":                   "block 5",
		"a truncated document":       `{"kind":"eventCheckpoint","schemaVersion":1,"bl`,
		"another kind":               `{"kind":"record","schemaVersion":1,"block":5,"txId":""}`,
		"another schema version":     `{"kind":"eventCheckpoint","schemaVersion":2,"block":5,"txId":""}`,
		"no block":                   `{"kind":"eventCheckpoint","schemaVersion":1,"txId":""}`,
		"a negative block":           `{"kind":"eventCheckpoint","schemaVersion":1,"block":-1,"txId":""}`,
		"a malformed transaction ID": `{"kind":"eventCheckpoint","schemaVersion":1,"block":5,"txId":"XYZ"}`,
		"an unknown field":           `{"kind":"eventCheckpoint","schemaVersion":1,"block":5,"txId":"","extra":1}`,
		"trailing data":              `{"kind":"eventCheckpoint","schemaVersion":1,"block":5,"txId":""} {}`,
		"an oversized file":          `{"kind":"eventCheckpoint","schemaVersion":1,"block":5,"txId":""}` + strings.Repeat(" ", 5000),
	}
	for name, content := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cp.json")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, _, err := ReadCheckpoint(path)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
				t.Errorf("ReadCheckpoint = %v; want ErrCorrupt naming %s", err, path)
			}
		})
	}
}

func TestReadCheckpointOfADirectoryNamesIt(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := ReadCheckpoint(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("ReadCheckpoint = %v; want an error naming %s", err, dir)
	}
}

func TestStartWithoutACheckpointStartsAtTheCurrentHeight(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(e.dir, "store", "event-checkpoint.json")
	h := e.net.Ledger.Height()
	cp, fresh, err := Start(context.Background(), path, e.height)
	if err != nil || !fresh || cp != (ledger.Checkpoint{Block: h}) {
		t.Fatalf("Start = %+v, %v, %v; want block %d, fresh", cp, fresh, err, h)
	}
	if got, found, err := ReadCheckpoint(path); err != nil || !found || got != cp {
		t.Errorf("saved checkpoint = %+v, %v, %v; want %+v at once", got, found, err, cp)
	}
	// Nothing committed before the start is delivered; what follows is.
	rec := &recorder{}
	f, err := New(e.ledger, path, cp, rec, WithSave(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	stop := run(f)
	e.registerPatient(t)
	eventually(t, "the new event", func() bool { return len(rec.handled()) == 1 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if ev := rec.handled()[0]; ev.Block < h || ev.Name != domain.EventPatientRegistered {
		t.Errorf("handled %s in block %d; want the registration after block %d", ev.Name, ev.Block, h)
	}
	// A second Start reads the file, whatever the height is now.
	again, fresh, err := Start(context.Background(), path, func(context.Context) (uint64, error) {
		t.Error("height asked although a checkpoint exists")
		return 0, nil
	})
	if err != nil || fresh || again != f.Checkpoint() {
		t.Errorf("second Start = %+v, %v, %v; want %+v", again, fresh, err, f.Checkpoint())
	}
}

func TestStartWithACorruptCheckpointChangesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cp.json")
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := Start(context.Background(), path, func(context.Context) (uint64, error) {
		t.Error("height asked for a corrupt checkpoint")
		return 0, nil
	})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
		t.Errorf("Start = %v; want ErrCorrupt naming the file", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "garbage" {
		t.Errorf("the file changed to %q", b)
	}
}
