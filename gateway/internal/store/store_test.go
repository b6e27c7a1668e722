package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medprov/medprov/chaincode/ledger"
)

func TestPutOpenRoundTrip(t *testing.T) {
	tests := map[string]struct {
		size int
	}{
		"an empty record is one empty final chunk":    {0},
		"a one-byte record round-trips":               {1},
		"a record one byte short of a chunk":          {ChunkSize - 1},
		"a record of exactly one chunk":               {ChunkSize},
		"a record one byte over a chunk":              {ChunkSize + 1},
		"a record of several chunks and a tail":       {3*ChunkSize + 17},
		"a record of exactly several chunks":          {4 * ChunkSize},
		"a record of several chunks less one byte":    {2*ChunkSize - 1},
		"a record that is not a multiple of anything": {123457},
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s, _, _ := newTestStore(t, WithClock(func() time.Time { return now }))
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			id := fmt.Sprintf("rec-%d", tc.size)
			data := content(id, tc.size)
			e := put(t, s, id, 1, data)
			if e.State != StatePending || e.Size != int64(tc.size) || e.RecordID != id || e.Version != 1 || !e.Created.Equal(now) {
				t.Fatalf("entry = %+v", e)
			}
			if len(e.Salt) != ledger.SaltSize {
				t.Fatalf("salt of %d bytes", len(e.Salt))
			}
			if want := ledger.Commitment(e.Salt, sha256.Sum256(data)); e.Commitment != want {
				t.Fatalf("commitment = %s, want ledger.Commitment(salt, sha256(content)) = %s", e.Commitment, want)
			}
			blob, err := os.ReadFile(blobPath(s, id, 1))
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(blob)) != blobSize(id, int64(tc.size)) {
				t.Fatalf("blob is %d bytes, want %d", len(blob), blobSize(id, int64(tc.size)))
			}
			if sha256.Sum256(blob) != e.CiphertextSHA256 {
				t.Fatal("ciphertext hash does not match the blob")
			}
			if bytes.Contains(blob, data[:min(len(data), 64)]) && tc.size >= 16 {
				t.Fatal("blob contains plaintext")
			}
			if got := readAll(t, s, id, 1); !bytes.Equal(got, data) {
				t.Fatalf("read %d bytes, want %d equal bytes", len(got), len(data))
			}
			if err := s.Check(context.Background(), id, 1); err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(id, 1)
			if err != nil || got.Commitment != e.Commitment || !bytes.Equal(got.Salt, e.Salt) {
				t.Fatalf("Get = %+v, %v", got, err)
			}
		})
	}
}

func TestReaderReturnsSmallReads(t *testing.T) {
	s, _, _ := newTestStore(t)
	data := content("small-reads", 2*ChunkSize+5)
	put(t, s, "rec-small", 1, data)
	rc, _, err := s.Open(context.Background(), "rec-small", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var got []byte
	buf := make([]byte, 777)
	for {
		n, err := rc.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}
}

func TestPutRejects(t *testing.T) {
	s, _, _ := newTestStore(t)
	put(t, s, "rec-dup", 1, []byte("x"))
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := map[string]struct {
		ctx     context.Context
		id      string
		version int
		r       io.Reader
		want    error
	}{
		"a malformed record ID is invalid":     {context.Background(), "a/b", 1, strings.NewReader("x"), ErrInvalid},
		"version zero is invalid":              {context.Background(), "rec-1", 0, strings.NewReader("x"), ErrInvalid},
		"a version already stored exists":      {context.Background(), "rec-dup", 1, strings.NewReader("y"), ErrExists},
		"a failing reader fails the put":       {context.Background(), "rec-fail", 1, io.MultiReader(strings.NewReader("abc"), iotestErr{}), errReader},
		"a canceled context fails the put":     {canceled, "rec-cancel", 1, strings.NewReader("x"), context.Canceled},
		"a reader failing after a chunk fails": {context.Background(), "rec-fail2", 1, io.MultiReader(bytes.NewReader(make([]byte, 2*ChunkSize)), iotestErr{}), errReader},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := s.Put(tc.ctx, tc.id, tc.version, tc.r)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Put = %v, want %v", err, tc.want)
			}
		})
	}
	ents, err := os.ReadDir(s.blobs)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		t.Fatalf("blob directory holds %d files after failed puts, want 1", len(ents))
	}
}

var errReader = errors.New("reader broke")

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, errReader }

func TestPendingAnchoredDiscard(t *testing.T) {
	s, _, _ := newTestStore(t)
	for v := 1; v <= 3; v++ {
		put(t, s, "rec-life", v, content(fmt.Sprint(v), 100*v))
	}
	pending, err := s.Pending(context.Background())
	if err != nil || len(pending) != 3 {
		t.Fatalf("Pending = %d entries, %v", len(pending), err)
	}
	tx := strings.Repeat("ab", 32)
	if err := s.MarkAnchored("rec-life", 2, tx, 7); err != nil {
		t.Fatal(err)
	}
	pending, err = s.Pending(context.Background())
	if err != nil || len(pending) != 2 || pending[0].Version != 1 || pending[1].Version != 3 {
		t.Fatalf("Pending = %v, %v", pending, err)
	}
	e, err := s.Get("rec-life", 2)
	if err != nil || e.State != StateAnchored || e.TxID != tx || e.Block != 7 || e.Anchored.IsZero() {
		t.Fatalf("Get = %+v, %v", e, err)
	}

	tests := map[string]struct {
		op   func() error
		want error
	}{
		"anchoring again with the same transaction is a no-op": {func() error { return s.MarkAnchored("rec-life", 2, tx, 7) }, nil},
		"anchoring again with another transaction conflicts":   {func() error { return s.MarkAnchored("rec-life", 2, "other", 8) }, ErrExists},
		"anchoring an unknown version is not found":            {func() error { return s.MarkAnchored("rec-life", 9, tx, 7) }, ErrNotFound},
		"anchoring without a transaction ID is invalid":        {func() error { return s.MarkAnchored("rec-life", 1, "", 7) }, ErrInvalid},
		"discarding an anchored version is refused":            {func() error { return s.Discard("rec-life", 2) }, ErrNotPending},
		"discarding an unknown version is not found":           {func() error { return s.Discard("rec-life", 9) }, ErrNotFound},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if err := tc.op(); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}

	if err := s.Discard("rec-life", 3); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(blobPath(s, "rec-life", 3)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("blob of discarded version: %v", err)
	}
	if _, err := s.Get("rec-life", 3); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Discard = %v", err)
	}
	if _, _, err := s.Open(context.Background(), "rec-life", 3); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open after Discard = %v", err)
	}
	pending, _ = s.Pending(context.Background())
	if len(pending) != 1 || pending[0].Version != 1 {
		t.Fatalf("Pending after Discard = %v", pending)
	}
	// A discarded version can be stored again.
	data := content("again", 10)
	put(t, s, "rec-life", 3, data)
	if !bytes.Equal(readAll(t, s, "rec-life", 3), data) {
		t.Fatal("content differs")
	}
}

// storeSecrets returns the salt, the wrapped DEK and the raw DEK of a
// version, read from the index.
func storeSecrets(t *testing.T, s *Store, keys Keyring, id string, version int) (salt, wrapped, dek []byte) {
	t.Helper()
	ie, err := s.get(id, version)
	if err != nil {
		t.Fatal(err)
	}
	kek, err := keys.Lookup(context.Background(), ie.KEKID)
	if err != nil {
		t.Fatal(err)
	}
	dek, err = kek.Unwrap(context.Background(), ie.WrappedDEK)
	if err != nil {
		t.Fatal(err)
	}
	return ie.Salt, ie.WrappedDEK, dek
}

func TestEraseShredsKeysSaltsAndBlobs(t *testing.T) {
	s, keys, dir := newTestStore(t)
	ctx := context.Background()
	type secrets struct{ salt, wrapped, dek []byte }
	var erased []secrets
	for v := 1; v <= 3; v++ {
		put(t, s, "rec-erase", v, content(fmt.Sprint("erase", v), v*ChunkSize/2))
		salt, wrapped, dek := storeSecrets(t, s, keys, "rec-erase", v)
		erased = append(erased, secrets{salt, wrapped, dek})
	}
	if err := s.MarkAnchored("rec-erase", 1, "tx-1", 3); err != nil {
		t.Fatal(err)
	}
	keep := content("keep", 5000)
	put(t, s, "rec-keep", 1, keep)
	// The scanner must see secrets while they are there.
	if hits := findOnDisk(t, dir, erased[0].salt); len(hits) == 0 {
		t.Fatal("scanner does not find a live salt; the test would prove nothing")
	}
	if err := s.Erase("rec-erase"); err != nil {
		t.Fatal(err)
	}
	for v, sec := range erased {
		for what, b := range map[string][]byte{"salt": sec.salt, "wrapped DEK": sec.wrapped, "DEK": sec.dek} {
			if hits := findOnDisk(t, dir, b); len(hits) > 0 {
				t.Errorf("version %d: %s still on disk in %v", v+1, what, hits)
			}
		}
		if _, err := os.Stat(blobPath(s, "rec-erase", v+1)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("version %d: blob still there: %v", v+1, err)
		}
	}
	tests := map[string]struct {
		op   func() error
		want error
	}{
		"opening an erased version fails":           {func() error { _, _, err := s.Open(ctx, "rec-erase", 1); return err }, ErrErased},
		"storing a new version after erasure fails": {func() error { _, err := s.Put(ctx, "rec-erase", 4, strings.NewReader("x")); return err }, ErrErased},
		"storing an erased version again fails":     {func() error { _, err := s.Put(ctx, "rec-erase", 2, strings.NewReader("x")); return err }, ErrErased},
		"anchoring an erased version fails":         {func() error { return s.MarkAnchored("rec-erase", 2, "tx", 1) }, ErrErased},
		"discarding an erased version fails":        {func() error { return s.Discard("rec-erase", 2) }, ErrErased},
		"erasing again is a no-op":                  {func() error { return s.Erase("rec-erase") }, nil},
		"erasing an unknown record is not found":    {func() error { return s.Erase("rec-unknown") }, ErrNotFound},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if err := tc.op(); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	e, err := s.Get("rec-erase", 1)
	if err != nil || e.State != StateErased || e.Salt != nil || e.KEKID != "" || e.Commitment == "" || e.TxID != "tx-1" || e.Erased.IsZero() {
		t.Fatalf("tombstone = %+v, %v", e, err)
	}
	if p, _ := s.Pending(ctx); len(p) != 1 || p[0].RecordID != "rec-keep" {
		t.Fatalf("Pending after erase = %v", p)
	}
	// The rest of the store is untouched, before and after reopening.
	if !bytes.Equal(readAll(t, s, "rec-keep", 1), keep) {
		t.Fatal("other record damaged by erasure")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(s.dir, keys)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if !bytes.Equal(readAll(t, s2, "rec-keep", 1), keep) {
		t.Fatal("other record damaged after reopening")
	}
}

func TestRewrapAllRetiresOldKEK(t *testing.T) {
	s, keys, dir := newTestStore(t)
	ctx := context.Background()
	oldID := keys.IDs()[0]
	want := map[string][]byte{}
	for i := range 5 {
		id := fmt.Sprintf("rec-rw-%d", i)
		want[id] = content(id, i*40000)
		put(t, s, id, 1, want[id])
	}
	put(t, s, "rec-rw-gone", 1, []byte("erase me"))
	if err := s.Erase("rec-rw-gone"); err != nil {
		t.Fatal(err)
	}
	blobsBefore := map[string][]byte{}
	for id := range want {
		b, _ := os.ReadFile(blobPath(s, id, 1))
		blobsBefore[id] = b
	}
	newID, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.RewrapAll(ctx)
	if err != nil || n != len(want) {
		t.Fatalf("RewrapAll = %d, %v; want %d", n, err, len(want))
	}
	if err := keys.Delete(oldID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "keys", oldID+".kek")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("old key file: %v", err)
	}
	s.Close()
	keys2, err := NewFileKeyring(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	if ids := keys2.IDs(); len(ids) != 1 || ids[0] != newID {
		t.Fatalf("keyring after deletion = %v", ids)
	}
	s2, err := Open(s.dir, keys2)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for id, data := range want {
		if !bytes.Equal(readAll(t, s2, id, 1), data) {
			t.Fatalf("%s unreadable after rewrap", id)
		}
		e, _ := s2.Get(id, 1)
		if e.KEKID != newID {
			t.Fatalf("%s wrapped under %s", id, e.KEKID)
		}
		if b, _ := os.ReadFile(blobPath(s2, id, 1)); !bytes.Equal(b, blobsBefore[id]) {
			t.Fatalf("%s: content was re-encrypted", id)
		}
	}
	if n, err := s2.RewrapAll(ctx); err != nil || n != 0 {
		t.Fatalf("second RewrapAll = %d, %v", n, err)
	}
}

func TestEntryRedactsSalt(t *testing.T) {
	s, _, _ := newTestStore(t)
	e := put(t, s, "rec-log", 1, []byte("synthetic"))
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("stored", "entry", e)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("stored", "entry", e)
	fmt.Fprintf(&buf, "%v %+v %#v %s", e, e, e, e)
	kek, _ := s.keys.Active(context.Background())
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("kek", "kek", kek, "dek", dataKey(e.Salt))
	for form, enc := range encodings(e.Salt) {
		if bytes.Contains(buf.Bytes(), enc) {
			t.Fatalf("log output contains the salt (%s): %s", form, buf.String())
		}
	}
	for form, enc := range encodings(kek.(*fileKEK).key) {
		if bytes.Contains(buf.Bytes(), enc) {
			t.Fatalf("log output contains the KEK (%s)", form)
		}
	}
	if !strings.Contains(buf.String(), "REDACTED") || !strings.Contains(buf.String(), e.Commitment) {
		t.Fatalf("log output = %s", buf.String())
	}
}

func TestConcurrentUse(t *testing.T) {
	s, _, _ := newTestStore(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 6 {
				id := fmt.Sprintf("rec-c%d-%d", g, i)
				data := content(id, (g*i*7919)%(2*ChunkSize))
				if _, err := s.Put(ctx, id, 1, bytes.NewReader(data)); err != nil {
					errs <- err
					return
				}
				rc, _, err := s.Open(ctx, id, 1)
				if err != nil {
					errs <- err
					return
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || !bytes.Equal(got, data) {
					errs <- fmt.Errorf("%s: %v", id, err)
					return
				}
				switch i % 3 {
				case 0:
					err = s.MarkAnchored(id, 1, "tx-"+id, uint64(i))
				case 1:
					err = s.Erase(id)
				case 2:
					err = s.Discard(id, 1)
				}
				if err != nil {
					errs <- err
					return
				}
				if _, err := s.Pending(ctx); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	// Racing writers of one version: exactly one wins.
	var wins sync.Map
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Put(ctx, "rec-race", 1, bytes.NewReader(content("race", 1000)))
			wins.Store(fmt.Sprint(err == nil, errors.Is(err, ErrExists)), true)
			if err != nil && !errors.Is(err, ErrExists) {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if _, ok := wins.Load("true false"); !ok {
		t.Error("no racing Put succeeded")
	}
}

func TestOpenRecoversBlobDirectory(t *testing.T) {
	s, keys, _ := newTestStore(t)
	live := content("live", 3000)
	put(t, s, "rec-live", 1, live)
	put(t, s, "rec-dead", 1, []byte("to be erased"))
	put(t, s, "rec-moved", 1, content("moved", 70000))
	moved, _ := os.ReadFile(blobPath(s, "rec-moved", 1))
	dead, _ := os.ReadFile(blobPath(s, "rec-dead", 1))
	if err := s.Erase("rec-dead"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Crash states: a committed Put not yet renamed, an unacknowledged Put,
	// an erasure whose blob deletion did not happen.
	if err := os.Rename(blobPath(s, "rec-moved", 1), blobPath(s, "rec-moved", 1)+tmpSuffix); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(blobPath(s, "rec-orphan", 1)+tmpSuffix, []byte("partial"), 0o600)
	os.WriteFile(blobPath(s, "rec-dead", 1), dead, 0o600)
	_ = moved
	s2, err := Open(s.dir, keys)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	ents, _ := os.ReadDir(s2.blobs)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	want := []string{blobName("rec-live", 1), blobName("rec-moved", 1)}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Fatalf("blob directory = %v, want %v", names, want)
	}
	if !bytes.Equal(readAll(t, s2, "rec-moved", 1), content("moved", 70000)) {
		t.Fatal("recovered blob unreadable")
	}
}
