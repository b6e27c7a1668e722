package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"sync"
	"sync/atomic"
)

// Blob format constants; FORMAT.md is the specification.
const (
	// ChunkSize is the plaintext size of every chunk but the last.
	ChunkSize = 64 << 10
	// DEKSize is the size of a data key (AES-256).
	DEKSize = 32

	blobMagic       = "MPBL"
	blobFormat      = 1
	tagSize         = 16
	noncePrefixSize = 7
	headerFixedSize = 4 + 1 + 4 + noncePrefixSize + 1 // magic, format, chunk size, prefix, ID length
	maxChunks       = math.MaxUint32                  // the counter is 32 bits
)

// blobHeader is the plaintext header at the start of every blob. Its
// encoding is the additional authenticated data of every chunk.
type blobHeader struct {
	prefix   [noncePrefixSize]byte
	recordID string
	version  uint32
}

func (h *blobHeader) marshal() []byte {
	b := make([]byte, 0, headerFixedSize+len(h.recordID)+4)
	b = append(b, blobMagic...)
	b = append(b, blobFormat)
	b = binary.BigEndian.AppendUint32(b, ChunkSize)
	b = append(b, h.prefix[:]...)
	b = append(b, byte(len(h.recordID)))
	b = append(b, h.recordID...)
	b = binary.BigEndian.AppendUint32(b, h.version)
	return b
}

// readHeader reads and checks a blob header against the record version the
// caller expects. It returns the header's encoding (the AAD).
func readHeader(r io.Reader, recordID string, version uint32) (blobHeader, []byte, error) {
	var h blobHeader
	fixed := make([]byte, headerFixedSize)
	if _, err := io.ReadFull(r, fixed); err != nil {
		return h, nil, corruptf("blob header: %v", err)
	}
	if string(fixed[:4]) != blobMagic {
		return h, nil, corruptf("blob header: bad magic")
	}
	if fixed[4] != blobFormat {
		return h, nil, corruptf("blob header: unknown format %d", fixed[4])
	}
	if cs := binary.BigEndian.Uint32(fixed[5:9]); cs != ChunkSize {
		return h, nil, corruptf("blob header: chunk size %d, want %d", cs, ChunkSize)
	}
	copy(h.prefix[:], fixed[9:16])
	idLen := int(fixed[16])
	if idLen != len(recordID) {
		return h, nil, corruptf("blob header: belongs to another record")
	}
	rest := make([]byte, idLen+4)
	if _, err := io.ReadFull(r, rest); err != nil {
		return h, nil, corruptf("blob header: %v", err)
	}
	h.recordID = string(rest[:idLen])
	h.version = binary.BigEndian.Uint32(rest[idLen:])
	if h.recordID != recordID || h.version != version {
		return h, nil, corruptf("blob header: belongs to another record version")
	}
	return h, append(fixed, rest...), nil
}

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

func newAEAD(dek []byte) (cipher.AEAD, error) {
	if len(dek) != DEKSize {
		return nil, fmt.Errorf("%w: data key of %d bytes", ErrCorrupt, len(dek))
	}
	block, err := aes.NewCipher(dek)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// chunkNonce is prefix || counter (big-endian) || last flag.
func chunkNonce(nonce *[12]byte, prefix [noncePrefixSize]byte, counter uint32, last bool) []byte {
	copy(nonce[:noncePrefixSize], prefix[:])
	binary.BigEndian.PutUint32(nonce[noncePrefixSize:], counter)
	nonce[11] = 0
	if last {
		nonce[11] = 1
	}
	return nonce[:]
}

// A Put's content moves between its two goroutines in up to sealBufs
// buffers of sealChunks sealed chunks each. Small buffers fill and drain
// the pipeline quickly, which matters for records of a few chunks; enough
// of them keep the writer busy while the sealer waits for a CPU on a busy
// machine, and the other way round. Together they are about 1 MiB,
// whatever the record's size.
const (
	sealBufs   = 8
	sealChunks = 2
)

// maxHeaderSize is the size of a header with the longest record ID its
// length byte allows.
const maxHeaderSize = headerFixedSize + 255 + 4

// sealBufSize fits a header and sealChunks sealed chunks.
const sealBufSize = maxHeaderSize + sealChunks*(ChunkSize+tagSize)

// sealPool recycles Put's buffers; readPool recycles readers' buffers, of
// a sealed chunk and a byte of look-ahead. A buffer is cleared before it
// goes back whenever it may hold plaintext.
var (
	sealPool = sync.Pool{New: func() any { b := make([]byte, sealBufSize); return &b }}
	readPool = sync.Pool{New: func() any { b := make([]byte, ChunkSize+tagSize+1); return &b }}
)

// errWriterFailed stops the sealing loop when the writing goroutine has
// failed; encryptStream returns the writer's error instead.
var errWriterFailed = errors.New("blob writer failed")

// encryptStream writes the blob for src to dst: the header, then the
// sealed chunks. plainHash sees every plaintext byte and blobHash every
// byte written to dst. The last chunk is empty only when the whole
// plaintext is empty. It returns the plaintext size.
//
// The calling goroutine reads, hashes and seals the chunks in place, a
// buffer at a time. If the blob takes more than one buffer, a second
// goroutine, started and waited for by this call, hashes the sealed
// buffers and writes them, so that the two hashes and the write overlap
// with encryption; otherwise the calling goroutine does that too. Memory
// use is at most sealBufs buffers whatever the size of src, and no
// plaintext is left in them: sealing overwrites it, and on an error they
// are cleared.
func encryptStream(ctx context.Context, dst io.Writer, src io.Reader, aead cipher.AEAD, h *blobHeader, plainHash, blobHash hash.Hash) (int64, error) {
	aad := h.marshal()
	type sealed struct {
		buf *[]byte
		n   int
	}
	// Buffers are taken from the pool as the pipeline fills, so that a
	// small record takes one.
	free := make(chan *[]byte, sealBufs)
	taken := 0
	next := func() *[]byte {
		if taken < sealBufs {
			select {
			case b := <-free:
				return b
			default:
				taken++
				return sealPool.Get().(*[]byte)
			}
		}
		return <-free
	}
	work := make(chan sealed, sealBufs)
	var (
		werr   error // set by write, read after wg.Wait
		failed atomic.Bool
		wg     sync.WaitGroup
	)
	write := func(c sealed) {
		if werr == nil {
			p := (*c.buf)[:c.n]
			blobHash.Write(p)
			if _, err := dst.Write(p); err != nil {
				werr = err
				failed.Store(true)
			}
		}
		free <- c.buf
	}
	started := false

	var size int64
	err := func() error {
		defer close(work)
		var nonce [12]byte
		carry, haveCarry := byte(0), false
		counter := uint32(0)
		for first := true; ; first = false {
			if err := ctx.Err(); err != nil {
				return err
			}
			if failed.Load() {
				return errWriterFailed
			}
			buf := next()
			n := 0
			if first {
				n = copy(*buf, aad)
			}
			// Fill the buffer with up to sealChunks chunks, each read to
			// where its sealed form goes: the look-ahead byte lands in
			// the chunk's tag space.
			last := false
			for range sealChunks {
				data := (*buf)[n : n+ChunkSize+tagSize]
				have := 0
				if haveCarry {
					data[0], have = carry, 1
				}
				r, err := io.ReadFull(src, data[have:ChunkSize+1])
				have += r
				switch {
				case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
					last = true
				case err != nil:
					clear(*buf)
					free <- buf
					return fmt.Errorf("read content: %w", err)
				}
				if !last && counter == maxChunks {
					clear(*buf)
					free <- buf
					return fmt.Errorf("%w: content exceeds %d chunks", ErrInvalid, uint64(maxChunks)+1)
				}
				pt := data[:min(have, ChunkSize)]
				if !last {
					// The look-ahead byte starts the next chunk; the
					// tag overwrites it here.
					carry, haveCarry = data[ChunkSize], true
				}
				plainHash.Write(pt)
				ct := aead.Seal(pt[:0], chunkNonce(&nonce, h.prefix, counter, last), pt, aad)
				n += len(ct)
				size += int64(len(pt))
				if last {
					break
				}
				counter++
			}
			switch {
			case started:
				work <- sealed{buf, n}
			case last:
				// The whole blob is in one buffer: nothing to overlap.
				write(sealed{buf, n})
			default:
				started = true
				wg.Go(func() {
					for c := range work {
						write(c)
					}
				})
				work <- sealed{buf, n}
			}
			if last {
				return nil
			}
		}
	}()
	wg.Wait()
	if errors.Is(err, errWriterFailed) || (err == nil && werr != nil) {
		err = werr
	}
	for range taken {
		buf := <-free
		if err != nil {
			clear(*buf)
		}
		sealPool.Put(buf)
	}
	return size, err
}

// blobSize is the size of the blob holding size bytes of plaintext.
func blobSize(recordID string, size int64) int64 {
	chunks := size / ChunkSize
	if size%ChunkSize != 0 || size == 0 {
		chunks++
	}
	return int64(headerFixedSize+len(recordID)+4) + size + chunks*tagSize
}

// blobReader decrypts a blob as it is read. Read returns only plaintext of
// chunks that authenticated; the first failure is sticky and wraps
// ErrCorrupt. Each chunk is decrypted in place in one buffer, which Close
// clears.
type blobReader struct {
	src       io.Reader
	closer    io.Closer
	aead      cipher.AEAD
	aad       []byte
	prefix    [noncePrefixSize]byte
	want      int64 // expected plaintext size, or -1
	total     int64
	counter   uint32
	in        []byte  // a sealed chunk and a byte of look-ahead, then its plaintext
	pooled    *[]byte // in's pool buffer, or nil if in was sized to a small blob
	nonce     [12]byte
	carry     byte   // look-ahead byte that starts the next chunk
	haveCarry bool   // carry is set
	plain     []byte // decrypted, unread plaintext of the current chunk
	done      bool
	err       error
	label     string // "record R version V", for errors
}

// newBlobReader checks the header of the blob in src and returns a reader
// of its plaintext. want is the plaintext size from the index, or -1. A
// blob of less than a chunk gets a buffer of its own size; others share
// pooled chunk buffers.
func newBlobReader(src io.Reader, closer io.Closer, dek []byte, recordID string, version uint32, want int64) (*blobReader, error) {
	aead, err := newAEAD(dek)
	if err != nil {
		return nil, err
	}
	h, aad, err := readHeader(src, recordID, version)
	if err != nil {
		return nil, err
	}
	b := &blobReader{
		label: fmt.Sprintf("record %q version %d", recordID, version),
		src:   src, closer: closer, aead: aead, aad: aad, prefix: h.prefix, want: want,
	}
	if want >= 0 && want < ChunkSize {
		b.in = make([]byte, want+tagSize+1)
	} else {
		b.pooled = readPool.Get().(*[]byte)
		b.in = *b.pooled
	}
	return b, nil
}

func (b *blobReader) Read(p []byte) (int, error) {
	for len(b.plain) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		if b.done {
			return 0, io.EOF
		}
		if b.err = b.next(); b.err != nil {
			b.err = fmt.Errorf("%s: %w", b.label, b.err)
		}
	}
	n := copy(p, b.plain)
	b.plain = b.plain[n:]
	return n, nil
}

// next reads, authenticates and decrypts one chunk into b.plain.
func (b *blobReader) next() error {
	have := 0
	if b.haveCarry {
		b.in[0], have = b.carry, 1
	}
	n, err := io.ReadFull(b.src, b.in[have:])
	have += n
	last := false
	switch {
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		last = true
	case err != nil:
		return fmt.Errorf("read blob: %w", err)
	}
	if !last && len(b.in) < ChunkSize+tagSize+1 {
		// The buffer was sized to the index's plaintext size.
		return corruptf("blob longer than its index entry says")
	}
	sealed := b.in[:min(have, ChunkSize+tagSize)]
	if len(sealed) < tagSize {
		return corruptf("chunk %d truncated", b.counter)
	}
	pt, err := b.aead.Open(sealed[:0], chunkNonce(&b.nonce, b.prefix, b.counter, last), sealed, b.aad)
	if err != nil {
		return corruptf("chunk %d does not authenticate", b.counter)
	}
	if last && len(pt) == 0 && b.counter != 0 {
		return corruptf("empty final chunk %d", b.counter)
	}
	b.total += int64(len(pt))
	if last && b.want >= 0 && b.total != b.want {
		return corruptf("plaintext size %d, index says %d", b.total, b.want)
	}
	if !last {
		if b.counter == maxChunks {
			return corruptf("too many chunks")
		}
		b.counter++
		// The look-ahead byte lies past the plaintext; it moves to the
		// front of the buffer once that plaintext has been read.
		b.carry, b.haveCarry = b.in[ChunkSize+tagSize], true
	}
	b.done = last
	b.plain = pt
	return nil
}

// Close clears the decrypted plaintext from memory and closes the
// underlying blob file.
func (b *blobReader) Close() error {
	b.plain = nil
	if b.in != nil {
		clear(b.in)
		if b.pooled != nil {
			readPool.Put(b.pooled)
		}
		b.in, b.pooled = nil, nil
	}
	if b.err == nil {
		b.err = errors.New("store: read after close")
	}
	if b.closer != nil {
		return b.closer.Close()
	}
	return nil
}
