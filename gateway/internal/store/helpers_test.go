package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// newTestStore opens a store and a file keyring in fresh directories.
func newTestStore(t testing.TB, opts ...Option) (*Store, *FileKeyring, string) {
	t.Helper()
	dir := t.TempDir()
	keys, err := NewFileKeyring(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(filepath.Join(dir, "store"), keys, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, keys, dir
}

// content returns n deterministic bytes derived from seed (SHA-256 in
// counter mode), so expected content can be recomputed from an ID.
func content(seed string, n int) []byte {
	out := make([]byte, 0, n+sha256.Size)
	var ctr [8]byte
	for i := uint64(0); len(out) < n; i++ {
		binary.BigEndian.PutUint64(ctr[:], i)
		h := sha256.Sum256(append([]byte(seed), ctr[:]...))
		out = append(out, h[:]...)
	}
	return out[:n]
}

func put(t testing.TB, s *Store, id string, version int, data []byte) Entry {
	t.Helper()
	e, err := s.Put(context.Background(), id, version, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Put(%s, %d): %v", id, version, err)
	}
	return e
}

func readAll(t testing.TB, s *Store, id string, version int) []byte {
	t.Helper()
	rc, _, err := s.Open(context.Background(), id, version)
	if err != nil {
		t.Fatalf("Open(%s, %d): %v", id, version, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s v%d: %v", id, version, err)
	}
	return b
}

func blobPath(s *Store, id string, version int) string {
	return filepath.Join(s.blobs, blobName(id, version))
}

// encodings returns the forms in which secret bytes could appear on disk.
func encodings(secret []byte) map[string][]byte {
	return map[string][]byte{
		"raw":       secret,
		"hex":       []byte(hex.EncodeToString(secret)),
		"base64":    []byte(base64.StdEncoding.EncodeToString(secret)),
		"base64url": []byte(base64.RawURLEncoding.EncodeToString(secret)),
	}
}

// findOnDisk returns the files under root that contain secret in any
// encoding.
func findOnDisk(t testing.TB, root string, secret []byte) []string {
	t.Helper()
	var hits []string
	err := filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for form, enc := range encodings(secret) {
			if bytes.Contains(b, enc) {
				hits = append(hits, path+" ("+form+")")
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}
