package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// readUntilError reads r to the end and returns what it returned and the
// first error other than io.EOF.
func readUntilError(r io.Reader) ([]byte, error) {
	var got []byte
	buf := make([]byte, 10000)
	for {
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
	}
}

func TestTamperedBlobIsDetected(t *testing.T) {
	const id, other = "rec-tamper", "rec-tamper2" // other has a different length on purpose
	s, _, _ := newTestStore(t)
	// Four chunks: three full, one tail.
	data := content(id, 3*ChunkSize+1000)
	put(t, s, id, 1, data)
	put(t, s, "rec-tampe2", 1, data) // same ID length and size: swappable
	put(t, s, other, 1, data)
	put(t, s, id, 2, data) // another version of the same record
	orig, err := os.ReadFile(blobPath(s, id, 1))
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(s.blobs, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	hdr := headerFixedSize + len(id) + 4
	sealed := ChunkSize + tagSize
	chunk := func(b []byte, i int) []byte { // the i-th sealed chunk (the tail is shorter)
		start := hdr + i*sealed
		return b[start:min(start+sealed, len(b))]
	}
	flip := func(off int) func([]byte) []byte {
		return func(b []byte) []byte { b[off] ^= 0x01; return b }
	}
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := map[string]struct {
		mutate func(b []byte) []byte
		// safe is how much plaintext may be returned before the error: the
		// chunks before the first damaged one.
		safe int
	}{
		"a flipped magic byte is detected":                  {flip(0), 0},
		"a flipped chunk-size byte is detected":             {flip(7), 0},
		"a flipped nonce-prefix byte is detected":           {flip(10), 0},
		"a flipped record-ID byte is detected":              {flip(headerFixedSize + 2), 0},
		"a flipped version byte is detected":                {flip(hdr - 1), 0},
		"a flipped byte in the first chunk is detected":     {flip(hdr + 5), 0},
		"a flipped byte in a middle chunk is detected":      {flip(hdr + sealed + 100), ChunkSize},
		"a flipped byte in a tag is detected":               {flip(hdr + 2*sealed + ChunkSize + 3), 2 * ChunkSize},
		"a flipped byte in the last tag is detected":        {flip(len(orig) - 1), 3 * ChunkSize},
		"dropping the last chunk is detected":               {func(b []byte) []byte { return b[:hdr+3*sealed] }, 2 * ChunkSize},
		"dropping a middle chunk is detected":               {func(b []byte) []byte { return join(b[:hdr+sealed], b[hdr+2*sealed:]) }, ChunkSize},
		"swapping two chunks is detected":                   {func(b []byte) []byte { return join(b[:hdr], chunk(b, 1), chunk(b, 0), b[hdr+2*sealed:]) }, 0},
		"appending a chunk is detected":                     {func(b []byte) []byte { return join(b, chunk(b, 1)) }, 3 * ChunkSize},
		"appending one byte is detected":                    {func(b []byte) []byte { return append(b, 0) }, 3 * ChunkSize},
		"truncating inside a chunk is detected":             {func(b []byte) []byte { return b[:hdr+sealed+500] }, ChunkSize},
		"truncating inside the last tag is detected":        {func(b []byte) []byte { return b[:len(b)-3] }, 3 * ChunkSize},
		"truncating to the header is detected":              {func(b []byte) []byte { return b[:hdr] }, 0},
		"truncating inside the header is detected":          {func(b []byte) []byte { return b[:hdr-2] }, 0},
		"an empty file is detected":                         {func(b []byte) []byte { return nil }, 0},
		"another record's blob is detected":                 {func([]byte) []byte { return read(blobName("rec-tampe2", 1)) }, 0},
		"another record's blob of other length is detected": {func([]byte) []byte { return read(blobName(other, 1)) }, 0},
		"another version's blob is detected":                {func([]byte) []byte { return read(blobName(id, 2)) }, 0},
		"another record's chunks under this header are detected": {func(b []byte) []byte {
			o := read(blobName("rec-tampe2", 1))
			return join(b[:hdr], o[hdr:])
		}, 0},
		"a random blob of the right size is detected": {func(b []byte) []byte { r := make([]byte, len(b)); rand.Read(r); return r }, 0},
	}
	dek := func() []byte { _, _, d := storeSecrets(t, s, s.keys, id, 1); return d }()
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			bad := tc.mutate(bytes.Clone(orig))
			// Through the store, which also checks the size first.
			if err := os.WriteFile(blobPath(s, id, 1), bad, 0o600); err != nil {
				t.Fatal(err)
			}
			rc, _, err := s.Open(context.Background(), id, 1)
			var got []byte
			if err == nil {
				got, err = readUntilError(rc)
				rc.Close()
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("store: got %v, want ErrCorrupt", err)
			}
			if len(got) > tc.safe || !bytes.Equal(got, data[:len(got)]) {
				t.Fatalf("store: returned %d bytes before the error, at most %d authenticated ones allowed", len(got), tc.safe)
			}
			if err := s.Check(context.Background(), id, 1); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Check = %v, want ErrCorrupt", err)
			}
			// The stream decoder alone, with no size hint.
			br, err := newBlobReader(bytes.NewReader(bad), nil, dek, id, 1, -1)
			got = nil
			if err == nil {
				got, err = readUntilError(br)
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decoder: got %v, want ErrCorrupt", err)
			}
			if len(got) > tc.safe || !bytes.Equal(got, data[:len(got)]) {
				t.Fatalf("decoder: returned %d bytes before the error, at most %d authenticated ones allowed", len(got), tc.safe)
			}
		})
	}
	// The untouched blob still reads, so the failures above are the mutations'.
	if err := os.WriteFile(blobPath(s, id, 1), orig, 0o600); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readAll(t, s, id, 1), data) {
		t.Fatal("original blob unreadable")
	}
}

func TestEmptyFinalChunkAfterDataIsRejected(t *testing.T) {
	// A writer that closes with an empty final chunk after a full one would
	// give a second encoding of the same plaintext; the reader refuses it.
	dek := make([]byte, DEKSize)
	aead, _ := newAEAD(dek)
	h := blobHeader{recordID: "rec-canon", version: 1}
	aad := h.marshal()
	var nonce [12]byte
	pt := make([]byte, ChunkSize)
	b := append(bytes.Clone(aad), aead.Seal(nil, chunkNonce(&nonce, h.prefix, 0, false), pt, aad)...)
	b = append(b, aead.Seal(nil, chunkNonce(&nonce, h.prefix, 1, true), nil, aad)...)
	br, err := newBlobReader(bytes.NewReader(b), nil, dek, "rec-canon", 1, -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := readUntilError(br); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("got %v, want ErrCorrupt", err)
	}
}

func TestWrongKEKIsDetected(t *testing.T) {
	s, keys, dir := newTestStore(t)
	put(t, s, "rec-kek", 1, []byte("synthetic document"))
	kekID := keys.IDs()[0]
	ctx := context.Background()

	// Another keyring that does not hold the key at all.
	otherKeys, err := NewFileKeyring(filepath.Join(dir, "other-keys"))
	if err != nil {
		t.Fatal(err)
	}
	s.keys = otherKeys
	if _, _, err := s.Open(ctx, "rec-kek", 1); !errors.Is(err, ErrKeyUnavailable) {
		t.Fatalf("Open with a keyring missing the KEK = %v, want ErrKeyUnavailable", err)
	}

	// A keyring whose key of that ID holds different bytes.
	wrongDir := filepath.Join(dir, "wrong-keys")
	os.MkdirAll(wrongDir, 0o700)
	wrong := make([]byte, kekSize)
	rand.Read(wrong)
	os.WriteFile(filepath.Join(wrongDir, kekID+kekFileSuffix), wrong, 0o600)
	os.WriteFile(filepath.Join(wrongDir, activeFileName), []byte(kekID), 0o600)
	wrongKeys, err := NewFileKeyring(wrongDir)
	if err != nil {
		t.Fatal(err)
	}
	s.keys = wrongKeys
	if _, _, err := s.Open(ctx, "rec-kek", 1); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open with the wrong KEK = %v, want ErrCorrupt", err)
	}
	s.keys = keys
	if got := readAll(t, s, "rec-kek", 1); string(got) != "synthetic document" {
		t.Fatal("right KEK no longer works")
	}
}

func TestFileKeyring(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "keys")
	k, err := NewFileKeyring(dir)
	if err != nil {
		t.Fatal(err)
	}
	ids := k.IDs()
	if len(ids) != 1 {
		t.Fatalf("new keyring holds %v", ids)
	}
	st, err := os.Stat(filepath.Join(dir, ids[0]+kekFileSuffix))
	if err != nil || st.Mode().Perm() != 0o600 || st.Size() != kekSize {
		t.Fatalf("key file: %v, %v", st, err)
	}
	active, _ := k.Active(ctx)
	dek := make([]byte, DEKSize)
	rand.Read(dek)
	wrapped, err := active.Wrap(ctx, dek)
	if err != nil {
		t.Fatal(err)
	}
	again, err := NewFileKeyring(dir)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := again.Active(ctx); a.ID() != active.ID() {
		t.Fatal("reopened keyring has another active key")
	}
	newID, _ := k.Generate()
	second, _ := k.Lookup(ctx, newID)

	tests := map[string]struct {
		kek     KEK
		wrapped []byte
		want    error
	}{
		"the wrapping key unwraps":                {active, wrapped, nil},
		"another key does not unwrap":             {second, wrapped, ErrCorrupt},
		"a flipped byte does not unwrap":          {active, func() []byte { b := bytes.Clone(wrapped); b[20] ^= 1; return b }(), ErrCorrupt},
		"a truncated wrapped key does not unwrap": {active, wrapped[:10], ErrCorrupt},
		"an unknown format byte does not unwrap":  {active, append([]byte{9}, wrapped[1:]...), ErrCorrupt},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := tc.kek.Unwrap(ctx, tc.wrapped)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("Unwrap = %v, want %v", err, tc.want)
			}
			if tc.want == nil && !bytes.Equal(got, dek) {
				t.Fatal("unwrapped key differs")
			}
		})
	}
	if err := k.Delete(newID); err == nil {
		t.Fatal("deleted the active key")
	}
	if _, err := k.Lookup(ctx, "nope"); !errors.Is(err, ErrKeyUnavailable) {
		t.Fatalf("Lookup unknown = %v", err)
	}
	os.Chmod(filepath.Join(dir, newID+kekFileSuffix), 0o644)
	if _, err := NewFileKeyring(dir); err == nil {
		t.Fatal("opened a keyring with a world-readable key file")
	}
}
