package follow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	domain "github.com/medprov/medprov/chaincode/ledger"

	"github.com/medprov/medprov/gateway/internal/ledger"
)

// ErrCorrupt reports a checkpoint file that does not decode as a
// checkpoint. Match it with errors.Is.
var ErrCorrupt = errors.New("follow: corrupt event checkpoint")

// checkpointKind and checkpointSchema identify the file's document.
const (
	checkpointKind   = "eventCheckpoint"
	checkpointSchema = 1
	// maxCheckpointSize bounds what ReadCheckpoint reads; a checkpoint is
	// about 150 bytes.
	maxCheckpointSize = 4 << 10
)

// checkpointFile is the JSON document in the checkpoint file.
type checkpointFile struct {
	Kind          string  `json:"kind"`
	SchemaVersion int     `json:"schemaVersion"`
	Block         *uint64 `json:"block"`
	TxID          string  `json:"txId"`
}

// ReadCheckpoint reads the checkpoint in the file at path. It returns false
// and no error when the file does not exist. Errors name the file: one
// wrapping ErrCorrupt for content that is not a checkpoint (not JSON, an
// unknown field, another kind or schema version, a missing block, a
// transaction ID that is neither empty nor 64 lowercase hex digits,
// trailing data, more than 4 KiB), and the file system's error for a file
// that cannot be read.
func ReadCheckpoint(path string) (ledger.Checkpoint, bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return ledger.Checkpoint{}, false, nil
	}
	if err != nil {
		return ledger.Checkpoint{}, false, fmt.Errorf("event checkpoint %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCheckpointSize+1))
	if err != nil {
		return ledger.Checkpoint{}, false, fmt.Errorf("event checkpoint %s: %w", path, err)
	}
	cp, err := decodeCheckpoint(data)
	if err != nil {
		return ledger.Checkpoint{}, false, fmt.Errorf("event checkpoint %s: %w: %v", path, ErrCorrupt, err)
	}
	return cp, true, nil
}

func decodeCheckpoint(data []byte) (ledger.Checkpoint, error) {
	if len(data) > maxCheckpointSize {
		return ledger.Checkpoint{}, fmt.Errorf("larger than %d bytes", maxCheckpointSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var doc checkpointFile
	if err := dec.Decode(&doc); err != nil {
		return ledger.Checkpoint{}, fmt.Errorf("not a JSON checkpoint: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return ledger.Checkpoint{}, errors.New("data after the checkpoint")
	}
	switch {
	case doc.Kind != checkpointKind:
		return ledger.Checkpoint{}, fmt.Errorf("kind: want %q", checkpointKind)
	case doc.SchemaVersion != checkpointSchema:
		return ledger.Checkpoint{}, fmt.Errorf("schemaVersion: want %d", checkpointSchema)
	case doc.Block == nil:
		return ledger.Checkpoint{}, errors.New("block: missing")
	}
	if doc.TxID != "" {
		if err := domain.CheckTxID("txId", doc.TxID); err != nil {
			return ledger.Checkpoint{}, err
		}
	}
	return ledger.Checkpoint{Block: *doc.Block, TxID: doc.TxID}, nil
}

// WriteCheckpoint replaces the file at path with cp, atomically and
// durably: it writes path+".tmp", syncs it, renames it over path and syncs
// the directory, so that a crash leaves the old or the new checkpoint,
// never a torn one. The directory is created (mode 0700) if missing.
// Errors name the file and wrap the file system's error.
func WriteCheckpoint(path string, cp ledger.Checkpoint) error {
	data, err := json.Marshal(checkpointFile{Kind: checkpointKind, SchemaVersion: checkpointSchema, Block: &cp.Block, TxID: cp.TxID})
	if err != nil {
		return fmt.Errorf("event checkpoint %s: %w", path, err)
	}
	data = append(data, '\n')
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("event checkpoint %s: %w", path, err)
	}
	tmp := path + ".tmp"
	if err := writeSynced(tmp, data); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("event checkpoint %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("event checkpoint %s: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("event checkpoint %s: %w", path, err)
	}
	return nil
}

func writeSynced(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		_ = d.Close()
		return err
	}
	return d.Close()
}
