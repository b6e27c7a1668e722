package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"
)

// referenceBlob encodes plain as FORMAT.md specifies, one chunk at a time
// with no pipelining and no in-place sealing.
func referenceBlob(t *testing.T, dek []byte, h blobHeader, plain []byte) []byte {
	t.Helper()
	aead, err := newAEAD(dek)
	if err != nil {
		t.Fatal(err)
	}
	aad := h.marshal()
	blob := bytes.Clone(aad)
	var nonce [12]byte
	for i := 0; ; i++ {
		chunk := plain[i*ChunkSize : min((i+1)*ChunkSize, len(plain))]
		last := (i+1)*ChunkSize >= len(plain)
		blob = append(blob, aead.Seal(nil, chunkNonce(&nonce, h.prefix, uint32(i), last), chunk, aad)...)
		if last {
			return blob
		}
	}
}

func TestEncryptStreamMatchesTheFormat(t *testing.T) {
	dek := bytes.Repeat([]byte{9}, DEKSize)
	aead, err := newAEAD(dek)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		size int
	}{
		"an empty plaintext is one empty final chunk": {0},
		"one byte is one short final chunk":           {1},
		"one byte short of a chunk":                   {ChunkSize - 1},
		"exactly one chunk has no empty tail":         {ChunkSize},
		"one byte over a chunk":                       {ChunkSize + 1},
		"exactly one buffer of chunks":                {sealChunks * ChunkSize},
		"one byte over a buffer of chunks":            {sealChunks*ChunkSize + 1},
		"more chunks than all buffers hold":           {(sealBufs*sealChunks+3)*ChunkSize + 17},
		"exactly twice what all buffers hold":         {2 * sealBufs * sealChunks * ChunkSize},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := blobHeader{prefix: [noncePrefixSize]byte{1, 2, 3, 4, 5, 6, 7}, recordID: "rec-format", version: 7}
			plain := content(name, tc.size)
			want := referenceBlob(t, dek, h, plain)
			var got bytes.Buffer
			ph, bh := sha256.New(), sha256.New()
			// Short reads make every chunk take several Reads.
			n, err := encryptStream(context.Background(), &got, &shortReader{r: bytes.NewReader(plain)}, aead, &h, ph, bh)
			if err != nil || n != int64(tc.size) {
				t.Fatalf("encryptStream = %d, %v", n, err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Fatalf("blob of %d bytes differs from the reference encoding of %d bytes", got.Len(), len(want))
			}
			if int64(len(want)) != blobSize(h.recordID, int64(tc.size)) {
				t.Fatalf("blobSize = %d, blob is %d bytes", blobSize(h.recordID, int64(tc.size)), len(want))
			}
			if ps := sha256.Sum256(plain); !bytes.Equal(ph.Sum(nil), ps[:]) {
				t.Fatal("plaintext hash does not cover exactly the plaintext")
			}
			if bs := sha256.Sum256(want); !bytes.Equal(bh.Sum(nil), bs[:]) {
				t.Fatal("blob hash does not cover exactly the blob")
			}
		})
	}
}

// shortReader returns at most 1000 bytes per Read.
type shortReader struct{ r io.Reader }

func (s *shortReader) Read(p []byte) (int, error) { return s.r.Read(p[:min(len(p), 1000)]) }

var errDisk = errors.New("disk full")

// failingWriter accepts ok bytes, then fails every write.
type failingWriter struct{ ok int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.ok {
		n := w.ok
		w.ok = 0
		return n, errDisk
	}
	w.ok -= len(p)
	return len(p), nil
}

// cancelingReader cancels its context once it has returned after bytes.
type cancelingReader struct {
	r      io.Reader
	after  int
	cancel context.CancelFunc
}

func (c *cancelingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.after -= n; c.after <= 0 {
		c.cancel()
	}
	return n, err
}

func TestEncryptStreamStopsOnFailure(t *testing.T) {
	dek := bytes.Repeat([]byte{9}, DEKSize)
	aead, err := newAEAD(dek)
	if err != nil {
		t.Fatal(err)
	}
	plain := content("failure", 40*ChunkSize)
	tests := map[string]struct {
		dst  func() io.Writer
		src  func(cancel context.CancelFunc) io.Reader
		want error
	}{
		"a write failing on a blob of one buffer fails the stream": {
			dst:  func() io.Writer { return &failingWriter{} },
			src:  func(context.CancelFunc) io.Reader { return bytes.NewReader(plain[:1000]) },
			want: errDisk,
		},
		"a write failing at once fails the stream": {
			dst:  func() io.Writer { return &failingWriter{} },
			src:  func(context.CancelFunc) io.Reader { return bytes.NewReader(plain) },
			want: errDisk,
		},
		"a write failing after some chunks fails the stream": {
			dst:  func() io.Writer { return &failingWriter{ok: 5*ChunkSize + 3} },
			src:  func(context.CancelFunc) io.Reader { return bytes.NewReader(plain) },
			want: errDisk,
		},
		"a context canceled mid-stream fails the stream": {
			dst: func() io.Writer { return io.Discard },
			src: func(cancel context.CancelFunc) io.Reader {
				return &cancelingReader{r: bytes.NewReader(plain), after: 3 * ChunkSize, cancel: cancel}
			},
			want: context.Canceled,
		},
		"a reader failing mid-stream fails the stream": {
			dst: func() io.Writer { return io.Discard },
			src: func(context.CancelFunc) io.Reader {
				return io.MultiReader(bytes.NewReader(plain[:7*ChunkSize+5]), iotestErr{})
			},
			want: errReader,
		},
	}
	before := runtime.NumGoroutine()
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			h := blobHeader{recordID: "rec-fail", version: 1}
			_, err := encryptStream(ctx, tc.dst(), tc.src(cancel), aead, &h, sha256.New(), sha256.New())
			if !errors.Is(err, tc.want) {
				t.Fatalf("encryptStream = %v, want %v", err, tc.want)
			}
		})
	}
	// The writing goroutine belongs to the call: none is left behind. (The
	// subtests' own goroutines may take a moment to exit.)
	after := runtime.NumGoroutine()
	for deadline := time.Now().Add(2 * time.Second); after > before && time.Now().Before(deadline); after = runtime.NumGoroutine() {
		time.Sleep(10 * time.Millisecond)
	}
	if after > before {
		t.Fatalf("%d goroutines after the failed streams, %d before", after, before)
	}
}

// TestPutMemoryDoesNotGrowWithSize bounds the bytes a Put allocates
// (runtime.MemStats.TotalAlloc, which bounds how far the heap can rise
// during the Put) by the same fixed amount for a 1 MiB and a 48 MiB
// record: the pipeline's buffers, even if none comes from the pool, and
// 512 KiB for the rest. That is far below 48 MiB, so content streams
// through the buffers instead of being held.
func TestPutMemoryDoesNotGrowWithSize(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 48 MiB")
	}
	s, _, _ := newTestStore(t)
	put(t, s, "rec-warm", 1, []byte("warm up the index"))
	limit := uint64(sealBufs*sealBufSize + 512<<10)
	for i, size := range []int64{1 << 20, 48 << 20} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := s.Put(context.Background(), "rec-mem", i+1, &genReader{n: size}); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		got := after.TotalAlloc - before.TotalAlloc
		t.Logf("a Put of %d bytes allocated %d bytes", size, got)
		if got > limit {
			t.Errorf("a Put of %d bytes allocated %d bytes, want at most %d", size, got, limit)
		}
	}
}

func TestReaderClearsPlaintextOnClose(t *testing.T) {
	s, _, _ := newTestStore(t)
	for _, size := range []int{100, 3 * ChunkSize} {
		t.Run(fmt.Sprintf("a record of %d bytes", size), func(t *testing.T) {
			id := fmt.Sprintf("rec-clear-%d", size)
			data := content(id, size)
			put(t, s, id, 1, data)
			rc, _, err := s.Open(context.Background(), id, 1)
			if err != nil {
				t.Fatal(err)
			}
			br := rc.(*blobReader)
			buf := br.in
			if got, err := io.ReadAll(rc); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read %d bytes, %v", len(got), err)
			}
			if err := rc.Close(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf, make([]byte, len(buf))) {
				t.Fatal("the decryption buffer still holds data after Close")
			}
			if _, err := rc.Read(make([]byte, 1)); err == nil {
				t.Fatal("Read after Close succeeded")
			}
		})
	}
}
