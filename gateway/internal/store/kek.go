package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// KEK is a key-encryption key: it wraps and unwraps data keys. An
// implementation may keep the key in a hardware module; no method exposes
// the key itself. Implementations must be safe for concurrent use.
type KEK interface {
	// ID returns the key's stable identifier, which the store records next
	// to every DEK wrapped under it. It is not secret.
	ID() string
	// Wrap encrypts and authenticates dek. The result is opaque to the store.
	Wrap(ctx context.Context, dek []byte) ([]byte, error)
	// Unwrap reverses Wrap. It returns an error wrapping ErrCorrupt if
	// wrapped was not produced by this key's Wrap (tampered, or wrapped
	// under another key).
	Unwrap(ctx context.Context, wrapped []byte) ([]byte, error)
}

// Keyring supplies KEKs to a Store: the active one for new data keys and
// any retained one, by ID, for unwrapping. Implementations must be safe for
// concurrent use.
type Keyring interface {
	// Active returns the KEK new data keys are wrapped under.
	Active(ctx context.Context) (KEK, error)
	// Lookup returns the KEK with the given ID, or an error wrapping
	// ErrKeyUnavailable.
	Lookup(ctx context.Context, id string) (KEK, error)
}

const (
	kekSize        = 32
	kekFileSuffix  = ".kek"
	activeFileName = "ACTIVE"
	wrapFormat     = 1
	wrapNonceSize  = 12
)

var kekIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// FileKeyring is a development keyring: a directory holding one file per
// KEK, named <id>.kek, containing 32 random bytes (an AES-256 key) with
// mode 0600, and a file named ACTIVE holding the active key's ID. Keys stay
// in memory once loaded. It is not meant for production, where keys belong
// in a hardware security module.
type FileKeyring struct {
	dir    string
	mu     sync.RWMutex
	keys   map[string]*fileKEK
	active string
}

// NewFileKeyring opens the keyring in dir, creating dir (mode 0700) and a
// first, active key if it holds no key. It fails if a key file is not 32
// bytes, is readable or writable by group or others, or if ACTIVE names a
// key that does not exist.
func NewFileKeyring(dir string) (*FileKeyring, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keyring %s: %w", dir, err)
	}
	k := &FileKeyring{dir: dir, keys: map[string]*fileKEK{}}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("keyring %s: %w", dir, err)
	}
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), kekFileSuffix)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		if !kekIDPattern.MatchString(id) {
			return nil, fmt.Errorf("keyring %s: bad key file name %q", dir, e.Name())
		}
		key, err := readKeyFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("keyring %s: %w", dir, err)
		}
		if k.keys[id], err = newFileKEK(id, key); err != nil {
			return nil, err
		}
	}
	if len(k.keys) == 0 {
		if _, err := k.Generate(); err != nil {
			return nil, err
		}
		return k, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, activeFileName))
	if err != nil {
		return nil, fmt.Errorf("keyring %s: active key: %w", dir, err)
	}
	k.active = strings.TrimSpace(string(b))
	if _, ok := k.keys[k.active]; !ok {
		return nil, fmt.Errorf("keyring %s: active key %q: %w", dir, k.active, ErrKeyUnavailable)
	}
	return k, nil
}

func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key file %s has mode %v, want 0600", filepath.Base(path), st.Mode().Perm())
	}
	if st.Size() != kekSize {
		return nil, fmt.Errorf("key file %s: %d bytes, want %d", filepath.Base(path), st.Size(), kekSize)
	}
	key := make([]byte, kekSize)
	if _, err := f.ReadAt(key, 0); err != nil {
		return nil, err
	}
	return key, nil
}

// Generate creates a new random key, stores it durably and makes it the
// active key. It returns the new key's ID. Existing keys are kept, so data
// keys wrapped under them stay readable until Store.RewrapAll has run.
func (k *FileKeyring) Generate() (string, error) {
	var idb [8]byte
	rand.Read(idb[:])
	id := "file-" + hex.EncodeToString(idb[:])
	key := make([]byte, kekSize)
	rand.Read(key)
	kek, err := newFileKEK(id, key)
	if err != nil {
		return "", err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := writeFileAtomic(k.dir, id+kekFileSuffix, key); err != nil {
		return "", fmt.Errorf("keyring %s: %w", k.dir, err)
	}
	k.keys[id] = kek
	if err := k.setActiveLocked(id); err != nil {
		return "", err
	}
	return id, nil
}

// SetActive makes the key with the given ID the active one. It returns an
// error wrapping ErrKeyUnavailable if the keyring has no such key.
func (k *FileKeyring) SetActive(id string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.keys[id]; !ok {
		return fmt.Errorf("keyring %s: key %q: %w", k.dir, id, ErrKeyUnavailable)
	}
	return k.setActiveLocked(id)
}

func (k *FileKeyring) setActiveLocked(id string) error {
	if err := writeFileAtomic(k.dir, activeFileName, []byte(id+"\n")); err != nil {
		return fmt.Errorf("keyring %s: %w", k.dir, err)
	}
	k.active = id
	return nil
}

// Delete destroys the key with the given ID: its file is overwritten with
// zeros, synced and removed, and the key is forgotten. Data keys still
// wrapped under it become unreadable, so run Store.RewrapAll first. It
// refuses to delete the active key and returns an error wrapping
// ErrKeyUnavailable for an unknown ID. Overwriting is best effort: on
// copy-on-write file systems and flash storage old blocks may survive.
func (k *FileKeyring) Delete(id string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	kek, ok := k.keys[id]
	if !ok {
		return fmt.Errorf("keyring %s: key %q: %w", k.dir, id, ErrKeyUnavailable)
	}
	if id == k.active {
		return fmt.Errorf("keyring %s: key %q is active", k.dir, id)
	}
	if err := shredFile(filepath.Join(k.dir, id+kekFileSuffix)); err != nil {
		return fmt.Errorf("keyring %s: delete %q: %w", k.dir, id, err)
	}
	delete(k.keys, id)
	clear(kek.key)
	return syncDir(k.dir)
}

// IDs returns the IDs of the keys in the keyring, sorted.
func (k *FileKeyring) IDs() []string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	ids := make([]string, 0, len(k.keys))
	for id := range k.keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Active returns the active key.
func (k *FileKeyring) Active(ctx context.Context) (KEK, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.keys[k.active], nil
}

// Lookup returns the key with the given ID, or an error wrapping
// ErrKeyUnavailable.
func (k *FileKeyring) Lookup(ctx context.Context, id string) (KEK, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	kek, ok := k.keys[id]
	if !ok {
		return nil, fmt.Errorf("key %q: %w", id, ErrKeyUnavailable)
	}
	return kek, nil
}

// LogValue describes the keyring without key material.
func (k *FileKeyring) LogValue() slog.Value {
	return slog.GroupValue(slog.String("dir", k.dir), slog.Any("keys", k.IDs()))
}

// fileKEK is an AES-256-GCM key-encryption key held in memory. A wrapped
// DEK is format byte (1) || 12-byte random nonce || GCM sealing of the DEK
// with the key ID as additional data.
type fileKEK struct {
	id   string
	key  []byte
	aead cipher.AEAD
}

func newFileKEK(id string, key []byte) (*fileKEK, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &fileKEK{id: id, key: key, aead: aead}, nil
}

func (f *fileKEK) ID() string { return f.id }

func (f *fileKEK) Wrap(ctx context.Context, dek []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]byte, 1+wrapNonceSize, 1+wrapNonceSize+len(dek)+tagSize)
	out[0] = wrapFormat
	rand.Read(out[1 : 1+wrapNonceSize])
	return f.aead.Seal(out, out[1:1+wrapNonceSize], dek, []byte(f.id)), nil
}

func (f *fileKEK) Unwrap(ctx context.Context, wrapped []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(wrapped) < 1+wrapNonceSize+tagSize || wrapped[0] != wrapFormat {
		return nil, fmt.Errorf("%w: malformed wrapped key", ErrCorrupt)
	}
	dek, err := f.aead.Open(nil, wrapped[1:1+wrapNonceSize], wrapped[1+wrapNonceSize:], []byte(f.id))
	if err != nil {
		return nil, fmt.Errorf("%w: wrapped key does not authenticate under KEK %q", ErrCorrupt, f.id)
	}
	return dek, nil
}

// LogValue redacts the key.
func (f *fileKEK) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", f.id), slog.String("key", "REDACTED"))
}

// String redacts the key.
func (f *fileKEK) String() string { return "KEK(" + f.id + ")" }

// writeFileAtomic writes data to dir/name through a synced temporary file
// and a rename, then syncs dir. The file has mode 0600.
func writeFileAtomic(dir, name string, data []byte) error {
	tmp, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	return syncDir(dir)
}

// shredFile overwrites a file with zeros, syncs it and removes it. A
// missing file is not an error.
func shredFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err == nil {
		err = zeroFile(f, st.Size())
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Remove(path)
}

func zeroFile(f *os.File, size int64) error {
	zeros := make([]byte, min(size, 1<<20))
	for off := int64(0); off < size; {
		n, err := f.WriteAt(zeros[:min(int64(len(zeros)), size-off)], off)
		if err != nil {
			return err
		}
		off += int64(n)
	}
	return f.Sync()
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
