package devca

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

const (
	fileMode = 0o600
	dirMode  = 0o700
)

// file is one file to write, relative to the target folder.
type file struct {
	rel  string
	data []byte
}

// writeFiles writes files under root. It first checks that none of the
// guarded files exists with different content, so that a refusal leaves the
// folder untouched; then it writes each file atomically, in order.
func writeFiles(root string, files, guarded []file) error {
	for _, g := range guarded {
		p := filepath.Join(root, g.rel)
		old, err := os.ReadFile(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return err
		case !bytes.Equal(old, g.data):
			return fmt.Errorf("%s: %w; remove it first to replace it", p, ErrExists)
		}
	}
	for _, f := range files {
		if err := writeAtomic(filepath.Join(root, f.rel), f.data); err != nil {
			return err
		}
	}
	return nil
}

// writeAtomic writes data to a temporary file next to path, syncs it, renames
// it over path and syncs the folder, so that path holds either the old or the
// new content even after a crash.
func writeAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(fileMode); err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// readFile is os.ReadFile; its errors already name the path.
func readFile(path string) ([]byte, error) {
	return os.ReadFile(path)
}
