package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/medprov/medprov/chaincode/ledger"
	bolt "go.etcd.io/bbolt"
)

// MaxVersion is the largest record version the store accepts (the blob
// header holds the version in 32 bits).
const MaxVersion = math.MaxInt32

const (
	indexFile   = "index.db"
	lockFile    = "LOCK"
	blobsDir    = "blobs"
	tmpSuffix   = ".tmp"
	openTimeout = 5 * time.Second
	storeFormat = 1
)

var (
	bucketEntries = []byte("entries") // key(recordID, version) -> indexEntry JSON
	bucketPending = []byte("pending") // key(recordID, version) -> empty, for pending entries
	bucketMeta    = []byte("meta")
	metaFormat    = []byte("format")
	metaCompact   = []byte("compact") // present while freed pages may hold erased secrets
)

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock used for the Created, Anchored and Erased times.
// The default is time.Now.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithRand sets the source of data keys, salts and nonce prefixes. It must
// be a cryptographically secure generator outside tests; the default is
// crypto/rand.Reader. The store serialises its reads from r.
func WithRand(r io.Reader) Option { return func(s *Store) { s.rand = r } }

// Store is an encrypted record store in one directory. It is safe for use
// by many goroutines.
type Store struct {
	dir   string
	blobs string
	keys  Keyring
	now   func() time.Time

	randMu sync.Mutex
	rand   io.Reader

	locks keyLocks // per record ID, for operations that change a record

	// mu guards db and closed. Database users hold it for reading;
	// compaction (which replaces the file) and Close hold it for writing.
	mu     sync.RWMutex
	db     *bolt.DB
	closed bool

	lock *os.File // holds the flock on <dir>/LOCK until Close

	group groupCommit // shares bbolt commits between concurrent updates
	solo  bool        // one bbolt commit per update (withoutGroupCommit)
	hooks commitHooks // set by tests only
}

// Open opens the store in dir, creating it if needed (mode 0700), with keys
// as the source of key-encryption keys. Before returning it completes or
// rolls back whatever a crash interrupted: temporary blob files are renamed
// into place if the index holds their entry and removed otherwise, blobs
// whose entry is missing or erased are removed, and an interrupted erasure
// compaction is redone. Before any of that it takes an exclusive lock on
// <dir>/LOCK (flock(2); the store targets Linux), held until Close, so
// recovery, cleanup and compaction never race another opener. It fails at
// once with ErrLocked, changing nothing, if the directory is already open
// (in this process or another one), and fails if the index was written by
// an unknown format version.
func Open(dir string, keys Keyring, opts ...Option) (*Store, error) {
	if keys == nil {
		return nil, fmt.Errorf("open store %s: %w: nil keyring", dir, ErrInvalid)
	}
	s := &Store{dir: dir, blobs: filepath.Join(dir, blobsDir), keys: keys, now: time.Now, rand: rand.Reader}
	for _, o := range opts {
		o(s)
	}
	if err := os.MkdirAll(s.blobs, 0o700); err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	s.lock = lock
	path := filepath.Join(dir, indexFile)
	if err := finishIndexSwap(dir); err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: openTimeout})
	if err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	s.db = db
	compact := false
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketEntries, bucketPending, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch f := meta.Get(metaFormat); {
		case f == nil:
			if err := meta.Put(metaFormat, []byte{storeFormat}); err != nil {
				return err
			}
		case len(f) != 1 || f[0] != storeFormat:
			return fmt.Errorf("unknown index format %v", f)
		}
		compact = meta.Get(metaCompact) != nil
		return nil
	})
	if err == nil {
		err = s.recoverBlobs()
	}
	if err == nil && compact {
		err = s.compactLocked()
	}
	if err != nil {
		if s.db != nil {
			_ = s.db.Close()
		}
		_ = lock.Close()
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	return s, nil
}

// Close closes the index and releases the directory lock. It first waits
// for the index changes in progress or queued for a commit, which complete
// normally. Readers returned by Open keep working until closed; every
// other method returns ErrClosed afterwards.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if !s.closed {
		s.closed = true
		err = s.db.Close()
	}
	// A failed compaction may have marked the store closed already; the
	// lock is released here in every case.
	if s.lock != nil {
		err = errors.Join(err, s.lock.Close())
		s.lock = nil
	}
	return err
}

// Put stores version of recordID with the content read from r until EOF,
// and returns its pending entry, with the salt and commitment to anchor.
//
// The content streams through SHA-256 (for the commitment) and encryption
// in constant memory; for content of more than two chunks, a second
// goroutine, owned by the call, hashes the blob and writes it meanwhile.
// The blob is written to a temporary file (whose writeback to disk starts
// as it grows), synced, and its directory synced; only then is the index
// entry committed (bbolt syncs; concurrent calls may share the commit, see
// the package doc), after which the blob is renamed into
// place. A crash at any point leaves either no trace after the next Open,
// or a complete entry; an entry is durable once Put returns: if a crash
// loses the rename, the synced temporary file is there and Open renames
// it.
//
// Preconditions: recordID passes ledger.CheckID and 1 <= version <=
// MaxVersion (else ErrInvalid). Errors: ErrExists if the version is already
// stored, ErrErased if the record was erased, ErrKeyUnavailable from the
// keyring, the reader's error (wrapped), or ctx's error.
func (s *Store) Put(ctx context.Context, recordID string, version int, r io.Reader) (Entry, error) {
	if err := checkKey(recordID, version); err != nil {
		return Entry{}, err
	}
	label := fmt.Sprintf("put record %q version %d", recordID, version)
	unlock := s.locks.lock(recordID)
	defer unlock()
	key := entryKey(recordID, version)
	if err := s.view(func(tx *bolt.Tx) error { return putAllowed(tx.Bucket(bucketEntries), recordID, key) }); err != nil {
		return Entry{}, fmt.Errorf("%s: %w", label, err)
	}

	kek, err := s.keys.Active(ctx)
	if err != nil {
		return Entry{}, fmt.Errorf("%s: active KEK: %w", label, err)
	}
	dek := make(dataKey, DEKSize)
	salt := make([]byte, ledger.SaltSize)
	hdr := blobHeader{recordID: recordID, version: uint32(version)}
	if err := s.readRand(dek, salt, hdr.prefix[:]); err != nil {
		return Entry{}, fmt.Errorf("%s: random source: %w", label, err)
	}
	wrapped, err := kek.Wrap(ctx, dek)
	if err != nil {
		return Entry{}, fmt.Errorf("%s: wrap data key under %q: %w", label, kek.ID(), err)
	}
	aead, err := newAEAD(dek)
	clear(dek)
	if err != nil {
		return Entry{}, fmt.Errorf("%s: %w", label, err)
	}

	name := blobName(recordID, version)
	final := filepath.Join(s.blobs, name)
	tmp := final + tmpSuffix
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return Entry{}, fmt.Errorf("%s: %w", label, err)
	}
	keepTmp := false
	defer func() {
		if !keepTmp {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	ctHash, ptHash := sha256.New(), sha256.New()
	size, err := encryptStream(ctx, &writebackWriter{f: f}, r, aead, &hdr, ptHash, ctHash)
	if err != nil {
		return Entry{}, fmt.Errorf("%s: %w", label, err)
	}
	if err := f.Sync(); err != nil {
		return Entry{}, fmt.Errorf("%s: sync blob: %w", label, err)
	}
	if err := syncDir(s.blobs); err != nil {
		return Entry{}, fmt.Errorf("%s: sync blob directory: %w", label, err)
	}
	var contentHash [sha256.Size]byte
	ptHash.Sum(contentHash[:0])
	ie := indexEntry{
		Schema: indexSchema, RecordID: recordID, Version: version, State: StatePending,
		Blob: name, KEKID: kek.ID(), WrappedDEK: wrapped, Salt: salt,
		Commitment:       ledger.Commitment(salt, contentHash),
		CiphertextSHA256: hex.EncodeToString(ctHash.Sum(nil)),
		Size:             size,
		Created:          s.now().UTC(),
	}
	clear(contentHash[:])
	val, err := json.Marshal(&ie)
	if err != nil {
		return Entry{}, fmt.Errorf("%s: %w", label, err)
	}
	err = s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEntries)
		if err := putAllowed(b, recordID, key); err != nil {
			return err
		}
		if err := b.Put(key, val); err != nil {
			return err
		}
		return tx.Bucket(bucketPending).Put(key, []byte{})
	})
	if err != nil {
		return Entry{}, fmt.Errorf("%s: index: %w", label, err)
	}
	// The entry is committed: from here on a crash leaves the synced
	// temporary file, whose name the directory sync above made durable,
	// and Open renames it into place. So the rename below needs no sync of
	// its own: until the next journal commit makes it durable, recovery
	// would redo it.
	keepTmp = true
	_ = f.Close()
	if err := os.Rename(tmp, final); err != nil {
		// Roll back so that the caller's error means "not stored".
		if rerr := s.update(func(tx *bolt.Tx) error { return deleteEntry(tx, key) }); rerr == nil {
			_ = os.Remove(tmp)
		}
		return Entry{}, fmt.Errorf("%s: rename blob: %w", label, err)
	}
	return ie.entry(), nil
}

// writebackEvery is how much of a blob Put writes before it asks the
// kernel to start writing it to disk (startWriteback), so that the disk
// works while the rest is encrypted.
const writebackEvery = 8 << 20

// writebackWriter writes a blob file and starts its writeback every
// writebackEvery bytes.
type writebackWriter struct {
	f            *os.File
	off, started int64
}

func (w *writebackWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.started >= writebackEvery {
		startWriteback(w.f, w.started, w.off-w.started)
		w.started = w.off
	}
	return n, err
}

func putAllowed(b *bolt.Bucket, recordID string, key []byte) error {
	if v := b.Get(key); v != nil {
		ie, err := decodeEntry(v)
		if err == nil && ie.State == StateErased {
			return ErrErased
		}
		return ErrExists
	}
	erased, err := recordErased(b, recordID)
	if err != nil {
		return err
	}
	if erased {
		return ErrErased
	}
	return nil
}

// recordErased reports whether the record is erased. Erase turns every
// version of a record into a tombstone in one transaction, and Put and
// every other change refuse an erased record afterwards, so either all of
// a record's versions are erased or none is: its first version decides,
// whatever the number of versions.
func recordErased(b *bolt.Bucket, recordID string) (bool, error) {
	prefix := recordPrefix(recordID)
	k, v := b.Cursor().Seek(prefix)
	if k == nil || !bytes.HasPrefix(k, prefix) {
		return false, nil
	}
	ie, err := decodeEntry(v)
	if err != nil {
		return false, err
	}
	return ie.State == StateErased, nil
}

// Open returns a reader of the plaintext of version of recordID, and its
// entry. The reader decrypts as it goes, in constant memory; it returns
// only plaintext of chunks that authenticated, and an error wrapping
// ErrCorrupt, no later than the read that would have returned
// unauthenticated data, if the blob was tampered with, truncated,
// extended, reordered or swapped with another record's blob. A blob whose
// size disagrees with the index fails here already. The caller must close
// the reader. A reader keeps working if the version is discarded or erased
// meanwhile (it holds the file and the data key).
//
// Errors: ErrInvalid, ErrNotFound, ErrErased, ErrKeyUnavailable (the KEK
// the data key is wrapped under is gone), ErrCorrupt (including a wrapped
// key that does not authenticate under the KEK: the wrong key).
func (s *Store) Open(ctx context.Context, recordID string, version int) (io.ReadCloser, Entry, error) {
	if err := checkKey(recordID, version); err != nil {
		return nil, Entry{}, err
	}
	label := fmt.Sprintf("open record %q version %d", recordID, version)
	ie, err := s.get(recordID, version)
	if err != nil {
		return nil, Entry{}, fmt.Errorf("%s: %w", label, err)
	}
	if ie.State == StateErased {
		return nil, Entry{}, fmt.Errorf("%s: %w", label, ErrErased)
	}
	kek, err := s.keys.Lookup(ctx, ie.KEKID)
	if err != nil {
		return nil, Entry{}, fmt.Errorf("%s: %w", label, err)
	}
	raw, err := kek.Unwrap(ctx, ie.WrappedDEK)
	if err != nil {
		return nil, Entry{}, fmt.Errorf("%s: unwrap data key: %w", label, err)
	}
	dek := dataKey(raw)
	defer clear(dek)
	f, err := os.Open(filepath.Join(s.blobs, ie.Blob))
	if errors.Is(err, fs.ErrNotExist) {
		// Discarded or erased since the lookup, or lost.
		if cur, gerr := s.get(recordID, version); gerr != nil {
			return nil, Entry{}, fmt.Errorf("%s: %w", label, gerr)
		} else if cur.State == StateErased {
			return nil, Entry{}, fmt.Errorf("%s: %w", label, ErrErased)
		}
		return nil, Entry{}, fmt.Errorf("%s: blob missing: %w", label, ErrCorrupt)
	}
	if err != nil {
		return nil, Entry{}, fmt.Errorf("%s: %w", label, err)
	}
	if st, err := f.Stat(); err != nil {
		f.Close()
		return nil, Entry{}, fmt.Errorf("%s: %w", label, err)
	} else if want := blobSize(recordID, ie.Size); st.Size() != want {
		f.Close()
		return nil, Entry{}, fmt.Errorf("%s: blob is %d bytes, want %d: %w", label, st.Size(), want, ErrCorrupt)
	}
	br, err := newBlobReader(f, f, dek, recordID, uint32(version), ie.Size)
	if err != nil {
		f.Close()
		return nil, Entry{}, fmt.Errorf("%s: %w", label, err)
	}
	return br, ie.entry(), nil
}

// Get returns the entry of version of recordID, including tombstones of
// erased versions. Errors: ErrInvalid, ErrNotFound.
func (s *Store) Get(recordID string, version int) (Entry, error) {
	if err := checkKey(recordID, version); err != nil {
		return Entry{}, err
	}
	ie, err := s.get(recordID, version)
	if err != nil {
		return Entry{}, fmt.Errorf("get record %q version %d: %w", recordID, version, err)
	}
	return ie.entry(), nil
}

// Check verifies, without any key, that the blob of a live version has the
// size and SHA-256 the index recorded: a scrub for bit rot and tampering
// that does not expose content. Errors: ErrInvalid, ErrNotFound, ErrErased,
// ErrCorrupt.
func (s *Store) Check(ctx context.Context, recordID string, version int) error {
	if err := checkKey(recordID, version); err != nil {
		return err
	}
	label := fmt.Sprintf("check record %q version %d", recordID, version)
	ie, err := s.get(recordID, version)
	if err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	if ie.State == StateErased {
		return fmt.Errorf("%s: %w", label, ErrErased)
	}
	f, err := os.Open(filepath.Join(s.blobs, ie.Blob))
	if err != nil {
		return fmt.Errorf("%s: %w: %v", label, ErrCorrupt, err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, &ctxReader{ctx, f})
	if err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	if n != blobSize(recordID, ie.Size) || hex.EncodeToString(h.Sum(nil)) != ie.CiphertextSHA256 {
		return fmt.Errorf("%s: blob does not match its index entry: %w", label, ErrCorrupt)
	}
	return nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// MarkAnchored records that version of recordID was anchored on the ledger
// in transaction txID, committed in block. Marking again with the same
// transaction and block is a no-op. Errors: ErrInvalid (also for an empty
// txID), ErrNotFound, ErrErased, ErrExists if it is already anchored under
// another transaction or block.
func (s *Store) MarkAnchored(recordID string, version int, txID string, block uint64) error {
	if err := checkKey(recordID, version); err != nil {
		return err
	}
	label := fmt.Sprintf("mark record %q version %d anchored", recordID, version)
	if txID == "" || len(txID) > 256 {
		return fmt.Errorf("%s: %w: transaction ID of %d bytes", label, ErrInvalid, len(txID))
	}
	unlock := s.locks.lock(recordID)
	defer unlock()
	key := entryKey(recordID, version)
	err := s.update(func(tx *bolt.Tx) error {
		ie, err := getEntry(tx, key)
		if err != nil {
			return err
		}
		switch ie.State {
		case StateErased:
			return ErrErased
		case StateAnchored:
			if ie.TxID == txID && ie.Block == block {
				return nil
			}
			return fmt.Errorf("%w: already anchored in another transaction", ErrExists)
		}
		ie.State, ie.TxID, ie.Block, ie.Anchored = StateAnchored, txID, block, s.now().UTC()
		ie.Prepared = nil
		if err := putEntry(tx, key, ie); err != nil {
			return err
		}
		return tx.Bucket(bucketPending).Delete(key)
	})
	if err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	return nil
}

// MaxPrepared is the largest prepared transaction SetPrepared accepts.
const MaxPrepared = 64 << 10

// SetPrepared records, in the pending entry of version of recordID, the
// ledger transaction prepared to anchor it, encoded by the caller (the
// store does not interpret it). It returns once the index transaction is
// committed and synced, so a caller that sends the transaction only after
// SetPrepared returns can always find it again after a crash, through
// Pending. Setting it again replaces it; do that only when the previous
// transaction can no longer commit. MarkAnchored clears it.
//
// Errors: ErrInvalid (also for an empty or larger than MaxPrepared tx),
// ErrNotFound, ErrErased, ErrNotPending if the version is anchored.
func (s *Store) SetPrepared(recordID string, version int, tx []byte) error {
	if err := checkKey(recordID, version); err != nil {
		return err
	}
	label := fmt.Sprintf("set prepared transaction of record %q version %d", recordID, version)
	if len(tx) == 0 || len(tx) > MaxPrepared {
		return fmt.Errorf("%s: %w: transaction of %d bytes", label, ErrInvalid, len(tx))
	}
	unlock := s.locks.lock(recordID)
	defer unlock()
	key := entryKey(recordID, version)
	err := s.update(func(tx2 *bolt.Tx) error {
		ie, err := getEntry(tx2, key)
		if err != nil {
			return err
		}
		switch ie.State {
		case StateErased:
			return ErrErased
		case StateAnchored:
			return ErrNotPending
		}
		ie.Prepared = bytes.Clone(tx)
		return putEntry(tx2, key, ie)
	})
	if err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	return nil
}

// Pending returns every pending entry (stored, not yet anchored), in
// record ID and version order, for a reconciler that anchors them or
// discards them. It returns ctx's error if ctx ends.
func (s *Store) Pending(ctx context.Context) ([]Entry, error) {
	var out []Entry
	err := s.view(func(tx *bolt.Tx) error {
		entries := tx.Bucket(bucketEntries)
		return tx.Bucket(bucketPending).ForEach(func(k, _ []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			v := entries.Get(k)
			if v == nil {
				return fmt.Errorf("%w: pending key without entry", ErrCorrupt)
			}
			ie, err := decodeEntry(v)
			if err != nil {
				return err
			}
			out = append(out, ie.entry())
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("pending entries: %w", err)
	}
	return out, nil
}

// Discard rolls back a pending version: its blob and its index entry are
// deleted, as if Put had never run. It is for a Put whose anchoring failed
// for good. Errors: ErrInvalid, ErrNotFound, ErrErased, ErrNotPending if
// the version is anchored.
func (s *Store) Discard(recordID string, version int) error {
	if err := checkKey(recordID, version); err != nil {
		return err
	}
	label := fmt.Sprintf("discard record %q version %d", recordID, version)
	unlock := s.locks.lock(recordID)
	defer unlock()
	ie, err := s.get(recordID, version)
	if err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	switch ie.State {
	case StateErased:
		return fmt.Errorf("%s: %w", label, ErrErased)
	case StateAnchored:
		return fmt.Errorf("%s: %w", label, ErrNotPending)
	}
	// Rename to the temporary name first: a crash before the index commit
	// leaves a temporary file with an entry, which Open renames back; a
	// crash after it leaves one without, which Open removes.
	final := filepath.Join(s.blobs, ie.Blob)
	tmp := final + tmpSuffix
	if err := os.Rename(final, tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", label, err)
	}
	key := entryKey(recordID, version)
	if err := s.update(func(tx *bolt.Tx) error { return deleteEntry(tx, key) }); err != nil {
		_ = os.Rename(tmp, final)
		return fmt.Errorf("%s: index: %w", label, err)
	}
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", label, err)
	}
	if err := syncDir(s.blobs); err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	return nil
}

// Erase crypto-shreds every version of recordID. In one index transaction
// each version becomes a tombstone (state erased, with its commitment and
// ledger transaction kept for the audit trail) that no longer holds the
// wrapped data key, the salt, the ciphertext hash or the size. Then the
// blob files are deleted, and the index file is compacted into a new file
// so that bbolt's freed pages do not keep the removed keys and salts; the
// old file is overwritten with zeros before it is removed. After Erase
// returns, nothing in the store directory can decrypt the content or
// link it to its commitment. (Overwriting is best effort: on copy-on-write
// file systems or flash storage, old blocks may survive below the file
// system; what survives is ciphertext whose key is gone and, if anything,
// an old index page.) A crash after the index transaction is finished by
// the next Open.
//
// Compaction copies the whole index and blocks other operations while it
// runs, so erasure costs time proportional to the index size. Erasing an
// already erased record changes nothing, but if the index still needs
// compacting (the persisted flag is set, because an earlier Erase failed to
// compact) it compacts, so a retried Erase that returns nil has kept the
// promise above. Errors: ErrInvalid, ErrNotFound if the record has no
// version.
func (s *Store) Erase(recordID string) error {
	if err := ledger.CheckID("recordID", recordID); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	label := fmt.Sprintf("erase record %q", recordID)
	unlock := s.locks.lock(recordID)
	defer unlock()
	var blobs []string
	changed, due := false, false
	err := s.update(func(tx *bolt.Tx) error {
		blobs, changed, due = blobs[:0], false, false
		b := tx.Bucket(bucketEntries)
		prefix := recordPrefix(recordID)
		c := b.Cursor()
		type kv struct {
			k  []byte
			ie *indexEntry
		}
		var found []kv
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			ie, err := decodeEntry(v)
			if err != nil {
				return err
			}
			found = append(found, kv{bytes.Clone(k), ie})
		}
		if len(found) == 0 {
			return ErrNotFound
		}
		now := s.now().UTC()
		for _, f := range found {
			blobs = append(blobs, blobName(recordID, f.ie.Version))
			if f.ie.State == StateErased {
				continue
			}
			tomb := &indexEntry{
				Schema: indexSchema, RecordID: f.ie.RecordID, Version: f.ie.Version, State: StateErased,
				Commitment: f.ie.Commitment, TxID: f.ie.TxID, Block: f.ie.Block,
				Created: f.ie.Created, Anchored: f.ie.Anchored, Erased: now,
			}
			if err := putEntry(tx, f.k, tomb); err != nil {
				return err
			}
			if err := tx.Bucket(bucketPending).Delete(f.k); err != nil {
				return err
			}
			changed = true
		}
		meta := tx.Bucket(bucketMeta)
		if changed {
			if err := meta.Put(metaCompact, []byte{1}); err != nil {
				return err
			}
		}
		// A previous Erase may have committed its tombstones and failed to
		// compact: the flag is still set, and this call must finish the job
		// even though it changed nothing.
		due = meta.Get(metaCompact) != nil
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	for _, name := range blobs {
		for _, p := range []string{filepath.Join(s.blobs, name), filepath.Join(s.blobs, name+tmpSuffix)} {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("%s: remove blob: %w", label, err)
			}
		}
	}
	if err := syncDir(s.blobs); err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	if !due {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("%s: %w", label, ErrClosed)
	}
	// Another Erase may have compacted (and cleared the flag) since this
	// call committed; its compaction covered this call's tombstones.
	if err := s.db.View(func(tx *bolt.Tx) error {
		due = tx.Bucket(bucketMeta).Get(metaCompact) != nil
		return nil
	}); err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	if !due {
		return nil
	}
	if err := s.compactLocked(); err != nil {
		return fmt.Errorf("%s: compact index: %w", label, err)
	}
	return nil
}

// RewrapAll rewraps, under the keyring's active KEK, every data key that is
// wrapped under another KEK, without touching content. Each rewrap is one
// index transaction, so a crash leaves every entry readable under either
// its old or its new KEK, and running RewrapAll again finishes the job. It
// returns how many keys it rewrapped. Rotation is: make a new key active in
// the keyring, run RewrapAll, then delete the old key. Versions Put
// concurrently under the previous KEK may be missed; run it again after
// such writes. Errors: ErrKeyUnavailable if an old KEK is gone,
// ErrCorrupt if a wrapped key does not authenticate, ctx's error.
func (s *Store) RewrapAll(ctx context.Context) (int, error) {
	active, err := s.keys.Active(ctx)
	if err != nil {
		return 0, fmt.Errorf("rewrap: active KEK: %w", err)
	}
	newID := active.ID()
	var todo [][]byte
	err = s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketEntries).ForEach(func(k, v []byte) error {
			ie, err := decodeEntry(v)
			if err != nil {
				return err
			}
			if ie.State != StateErased && ie.KEKID != newID {
				todo = append(todo, bytes.Clone(k))
			}
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("rewrap: %w", err)
	}
	n := 0
	for _, key := range todo {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		var ie *indexEntry
		if err := s.view(func(tx *bolt.Tx) (err error) { ie, err = getEntry(tx, key); return err }); errors.Is(err, ErrNotFound) {
			continue
		} else if err != nil {
			return n, fmt.Errorf("rewrap: %w", err)
		}
		if ie.State == StateErased || ie.KEKID == newID {
			continue
		}
		label := fmt.Sprintf("rewrap record %q version %d", ie.RecordID, ie.Version)
		old, err := s.keys.Lookup(ctx, ie.KEKID)
		if err != nil {
			return n, fmt.Errorf("%s: %w", label, err)
		}
		raw, err := old.Unwrap(ctx, ie.WrappedDEK)
		if err != nil {
			return n, fmt.Errorf("%s: %w", label, err)
		}
		wrapped, err := active.Wrap(ctx, raw)
		clear(raw)
		if err != nil {
			return n, fmt.Errorf("%s: %w", label, err)
		}
		done := false
		err = s.update(func(tx *bolt.Tx) error {
			done = false
			cur, err := getEntry(tx, key)
			if errors.Is(err, ErrNotFound) {
				return nil
			} else if err != nil {
				return err
			}
			// Compare and swap: an entry erased or rewrapped meanwhile is
			// left alone, so a tombstone never gets a key back.
			if cur.State == StateErased || cur.KEKID != ie.KEKID || !bytes.Equal(cur.WrappedDEK, ie.WrappedDEK) {
				return nil
			}
			cur.KEKID, cur.WrappedDEK = newID, wrapped
			done = true
			return putEntry(tx, key, cur)
		})
		if err != nil {
			return n, fmt.Errorf("%s: index: %w", label, err)
		}
		if done {
			n++
		}
	}
	return n, nil
}

func (s *Store) readRand(bufs ...[]byte) error {
	s.randMu.Lock()
	defer s.randMu.Unlock()
	for _, b := range bufs {
		if _, err := io.ReadFull(s.rand, b); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) view(fn func(*bolt.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return s.db.View(fn)
}

func (s *Store) get(recordID string, version int) (*indexEntry, error) {
	var ie *indexEntry
	err := s.view(func(tx *bolt.Tx) (err error) {
		ie, err = getEntry(tx, entryKey(recordID, version))
		return err
	})
	return ie, err
}

func getEntry(tx *bolt.Tx, key []byte) (*indexEntry, error) {
	v := tx.Bucket(bucketEntries).Get(key)
	if v == nil {
		return nil, ErrNotFound
	}
	return decodeEntry(v)
}

func putEntry(tx *bolt.Tx, key []byte, ie *indexEntry) error {
	v, err := json.Marshal(ie)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketEntries).Put(key, v)
}

func deleteEntry(tx *bolt.Tx, key []byte) error {
	if err := tx.Bucket(bucketEntries).Delete(key); err != nil {
		return err
	}
	return tx.Bucket(bucketPending).Delete(key)
}

func decodeEntry(v []byte) (*indexEntry, error) {
	var ie indexEntry
	if err := json.Unmarshal(v, &ie); err != nil {
		return nil, fmt.Errorf("%w: index entry: %v", ErrCorrupt, err)
	}
	if ie.Schema != indexSchema {
		return nil, fmt.Errorf("%w: index entry schema %d", ErrCorrupt, ie.Schema)
	}
	return &ie, nil
}

func checkKey(recordID string, version int) error {
	if err := ledger.CheckID("recordID", recordID); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if version < 1 || version > MaxVersion {
		return fmt.Errorf("%w: record %q version %d out of range", ErrInvalid, recordID, version)
	}
	return nil
}

// entryKey is recordID || 0x00 || version (big-endian), so that a record's
// versions are adjacent and ordered. Record IDs never contain 0x00.
func entryKey(recordID string, version int) []byte {
	return binary.BigEndian.AppendUint32(recordPrefix(recordID), uint32(version))
}

func recordPrefix(recordID string) []byte {
	return append([]byte(recordID), 0)
}

// blobName is hex(recordID) "." version: reversible, and safe on any file
// system whatever characters the ID uses.
func blobName(recordID string, version int) string {
	return hex.EncodeToString([]byte(recordID)) + "." + strconv.Itoa(version)
}

func parseBlobName(name string) (string, int, bool) {
	h, v, ok := strings.Cut(name, ".")
	if !ok {
		return "", 0, false
	}
	id, err := hex.DecodeString(h)
	if err != nil {
		return "", 0, false
	}
	version, err := strconv.Atoi(v)
	if err != nil || checkKey(string(id), version) != nil || blobName(string(id), version) != name {
		return "", 0, false
	}
	return string(id), version, true
}

// recoverBlobs makes the blob directory agree with the index after a crash:
// a temporary file is renamed into place if its entry is live and the
// final file is missing, and removed otherwise; a final file whose entry is
// missing or erased is removed. Files with other names are left alone.
func (s *Store) recoverBlobs() error {
	ents, err := os.ReadDir(s.blobs)
	if err != nil {
		return err
	}
	changed := false
	for _, de := range ents {
		name := de.Name()
		base, isTmp := strings.CutSuffix(name, tmpSuffix)
		recordID, version, ok := parseBlobName(base)
		if !ok || !de.Type().IsRegular() {
			continue
		}
		var live bool
		err := s.db.View(func(tx *bolt.Tx) error {
			ie, err := getEntry(tx, entryKey(recordID, version))
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			live = err == nil && ie.State != StateErased && ie.Blob == base
			return err
		})
		if err != nil {
			return fmt.Errorf("recover record %q version %d: %w", recordID, version, err)
		}
		path := filepath.Join(s.blobs, name)
		final := filepath.Join(s.blobs, base)
		switch {
		case isTmp && live:
			if _, err := os.Stat(final); errors.Is(err, fs.ErrNotExist) {
				err = os.Rename(path, final)
			} else if err == nil {
				err = os.Remove(path)
			}
			if err != nil {
				return fmt.Errorf("recover record %q version %d: %w", recordID, version, err)
			}
			changed = true
		case !live:
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("recover record %q version %d: %w", recordID, version, err)
			}
			changed = true
		}
	}
	if changed {
		return syncDir(s.blobs)
	}
	return nil
}

// compactLocked rewrites the index into a fresh file holding only live
// data, replaces the old file with it, and overwrites the old file with
// zeros. The caller holds s.mu for writing (or is Open). The steps are
// crash-safe: index.db is always a complete index, and finishIndexSwap
// completes an interrupted swap.
func (s *Store) compactLocked() error {
	path := filepath.Join(s.dir, indexFile)
	tmp, old := path+".compact", path+".old"
	_ = os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: openTimeout})
	if err != nil {
		return err
	}
	err = bolt.Compact(dst, s.db, 0)
	if err == nil {
		err = dst.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Delete(metaCompact) })
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	// Closing the database drops bbolt's file lock; s.lock (<dir>/LOCK)
	// still keeps other openers out until the swap is done.
	if err := s.db.Close(); err != nil {
		return err
	}
	if testHookCompactSwap != nil {
		testHookCompactSwap()
	}
	_ = os.Remove(old)
	err = os.Link(path, old)
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(s.dir)
	}
	if err == nil {
		err = finishIndexSwap(s.dir)
	}
	db, oerr := bolt.Open(path, 0o600, &bolt.Options{Timeout: openTimeout})
	if oerr != nil {
		s.closed = true
		return errors.Join(err, oerr)
	}
	s.db = db
	return err
}

// testHookCompactSwap, if set (by tests), runs in compactLocked after the
// old database is closed and before the files are swapped.
var testHookCompactSwap func()

// finishIndexSwap deals with index.db.old, the hard link to the previous
// index that compaction leaves while it swaps files: if it is still the
// live index (the swap did not happen) the link is dropped, otherwise the
// old file is overwritten with zeros and removed. A leftover compaction
// output is removed; the compact flag makes Open redo the compaction.
func finishIndexSwap(dir string) error {
	path := filepath.Join(dir, indexFile)
	old := path + ".old"
	_ = os.Remove(path + ".compact")
	ost, err := os.Stat(old)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	cst, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		err = os.Rename(old, path)
	case err != nil:
		return err
	case os.SameFile(ost, cst):
		err = os.Remove(old)
	default:
		err = shredFile(old)
	}
	if err != nil {
		return err
	}
	return syncDir(dir)
}

// keyLocks serialises changes to one record.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	mu   sync.Mutex
	refs int
}

func (k *keyLocks) lock(id string) (unlock func()) {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyLock{}
	}
	l := k.m[id]
	if l == nil {
		l = &keyLock{}
		k.m[id] = l
	}
	l.refs++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.m, id)
		}
		k.mu.Unlock()
	}
}
