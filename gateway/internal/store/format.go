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

// encryptStream writes the blob for src to dst: the header, then the
// sealed chunks. plainHash sees every plaintext byte. The last chunk is
// empty only when the whole plaintext is empty. It returns the plaintext
// size. Memory use is two chunk buffers whatever the size of src.
func encryptStream(ctx context.Context, dst io.Writer, src io.Reader, aead cipher.AEAD, h *blobHeader, plainHash hash.Hash) (int64, error) {
	aad := h.marshal()
	if _, err := dst.Write(aad); err != nil {
		return 0, err
	}
	buf := make([]byte, ChunkSize+1) // one byte of look-ahead decides "last"
	out := make([]byte, 0, ChunkSize+tagSize)
	var nonce [12]byte
	var size int64
	have := 0
	for counter := uint32(0); ; counter++ {
		if err := ctx.Err(); err != nil {
			return size, err
		}
		n, err := io.ReadFull(src, buf[have:])
		have += n
		last := false
		switch {
		case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
			last = true
		case err != nil:
			return size, fmt.Errorf("read content: %w", err)
		}
		pt := buf[:min(have, ChunkSize)]
		if !last && counter == maxChunks {
			return size, fmt.Errorf("%w: content exceeds %d chunks", ErrInvalid, uint64(maxChunks)+1)
		}
		plainHash.Write(pt)
		out = aead.Seal(out[:0], chunkNonce(&nonce, h.prefix, counter, last), pt, aad)
		if _, err := dst.Write(out); err != nil {
			return size, err
		}
		size += int64(len(pt))
		if last {
			return size, nil
		}
		buf[0] = buf[ChunkSize]
		have = 1
	}
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
// ErrCorrupt.
type blobReader struct {
	src     io.Reader
	closer  io.Closer
	aead    cipher.AEAD
	aad     []byte
	prefix  [noncePrefixSize]byte
	want    int64 // expected plaintext size, or -1
	total   int64
	counter uint32
	in      []byte // sealed chunk plus one byte of look-ahead
	have    int    // bytes in in
	plain   []byte // decrypted, unread plaintext of the current chunk
	pbuf    []byte
	done    bool
	err     error
	label   string // "record R version V", for errors
}

// newBlobReader checks the header of the blob in src and returns a reader
// of its plaintext. want is the plaintext size from the index, or -1.
func newBlobReader(src io.Reader, closer io.Closer, dek []byte, recordID string, version uint32, want int64) (*blobReader, error) {
	aead, err := newAEAD(dek)
	if err != nil {
		return nil, err
	}
	h, aad, err := readHeader(src, recordID, version)
	if err != nil {
		return nil, err
	}
	return &blobReader{
		label: fmt.Sprintf("record %q version %d", recordID, version),
		src:   src, closer: closer, aead: aead, aad: aad, prefix: h.prefix, want: want,
		in:   make([]byte, ChunkSize+tagSize+1),
		pbuf: make([]byte, 0, ChunkSize),
	}, nil
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
	n, err := io.ReadFull(b.src, b.in[b.have:])
	b.have += n
	last := false
	switch {
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		last = true
	case err != nil:
		return fmt.Errorf("read blob: %w", err)
	}
	sealed := b.in[:min(b.have, ChunkSize+tagSize)]
	if len(sealed) < tagSize {
		return corruptf("chunk %d truncated", b.counter)
	}
	var nonce [12]byte
	pt, err := b.aead.Open(b.pbuf[:0], chunkNonce(&nonce, b.prefix, b.counter, last), sealed, b.aad)
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
		b.in[0] = b.in[ChunkSize+tagSize]
		b.have = 1
	}
	b.done = last
	b.plain = pt
	return nil
}

// Close closes the underlying blob file.
func (b *blobReader) Close() error {
	b.plain = nil
	clear(b.pbuf[:cap(b.pbuf)])
	if b.err == nil {
		b.err = errors.New("store: read after close")
	}
	if b.closer != nil {
		return b.closer.Close()
	}
	return nil
}
