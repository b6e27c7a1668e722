package exchange

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"io"

	domain "github.com/medprov/medprov/chaincode/ledger"
)

// Sentinels of the requester's checks of a received copy; match them with
// errors.Is.
var (
	// ErrCommitmentMismatch: the content does not match the commitment it
	// should (the copy is not the anchored record version).
	ErrCommitmentMismatch = errors.New("exchange: content does not match the commitment")
	// ErrSizeMismatch: the content is shorter or longer than announced.
	ErrSizeMismatch = errors.New("exchange: content size differs from the announced size")
)

// NewVerifyingReader returns a reader that passes r's bytes through while
// it hashes them, and accepts them only if there are exactly size bytes
// and domain.Commitment(salt, SHA-256(content)) equals wantCommitment (64
// lowercase hex digits, as on the ledger; any other text never matches).
// The comparison runs in constant time.
//
// It fails, instead of returning io.EOF, so that a consumer that keeps
// content only on success (the record store's Put) keeps nothing:
//
//   - with ErrSizeMismatch as soon as r yields a byte beyond size, without
//     waiting for r's end, and at r's end if it yielded fewer than size
//     bytes;
//   - with ErrCommitmentMismatch when the size-th byte arrives and the
//     commitment differs (or at r's end, for size 0). The read that
//     completes the content returns no bytes with this error, so even a
//     consumer that stops after size bytes (io.ReadFull) sees it.
//
// After the size-th byte the reader still requires r's end: more bytes are
// ErrSizeMismatch. r's own errors pass through unchanged. Errors are
// sticky: later reads return the same error.
func NewVerifyingReader(r io.Reader, salt []byte, wantCommitment string, size uint64) io.Reader {
	return &verifyingReader{r: r, salt: append([]byte(nil), salt...), want: wantCommitment, size: size, h: sha256.New()}
}

type verifyingReader struct {
	r       io.Reader
	salt    []byte
	want    string
	size    uint64
	n       uint64
	h       hash.Hash
	checked bool
	err     error
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.r.Read(p)
	if n > 0 {
		if uint64(n) > v.size-v.n {
			v.err = fmt.Errorf("%w: more than the announced %d bytes", ErrSizeMismatch, v.size)
			return 0, v.err
		}
		v.h.Write(p[:n])
		v.n += uint64(n)
		if v.n == v.size {
			if err := v.check(); err != nil {
				return 0, err
			}
		}
	}
	switch {
	case err == io.EOF:
		if v.n < v.size {
			v.err = fmt.Errorf("%w: %d bytes, announced %d", ErrSizeMismatch, v.n, v.size)
			return 0, v.err
		}
		if err := v.check(); err != nil { // size 0: nothing checked yet
			return 0, err
		}
		v.err = io.EOF
	case err != nil:
		v.err = err
	}
	return n, err
}

// check compares the commitment once, when the content is complete.
func (v *verifyingReader) check() error {
	if v.checked {
		return nil
	}
	v.checked = true
	var sum [sha256.Size]byte
	v.h.Sum(sum[:0])
	got := domain.Commitment(v.salt, sum)
	if subtle.ConstantTimeCompare([]byte(got), []byte(v.want)) != 1 {
		v.err = ErrCommitmentMismatch
		return v.err
	}
	return nil
}
