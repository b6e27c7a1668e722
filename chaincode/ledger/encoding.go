package ledger

import "encoding/binary"

// encoder builds the canonical byte strings that patients sign: a domain
// separation prefix, then each field in a fixed order as a 4-byte big-endian
// length and its bytes, lists as a 4-byte count and their elements, numbers
// as 8-byte big-endian integers. The encoding is unambiguous, so two
// different documents never sign the same bytes.
type encoder struct{ buf []byte }

func (e *encoder) raw(s string) { e.buf = append(e.buf, s...) }

func (e *encoder) str(s string) {
	e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(len(s)))
	e.buf = append(e.buf, s...)
}

func (e *encoder) list(xs []string) {
	e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(len(xs)))
	for _, x := range xs {
		e.str(x)
	}
}

func (e *encoder) u64(n uint64) { e.buf = binary.BigEndian.AppendUint64(e.buf, n) }

func (e *encoder) boolean(b bool) {
	if b {
		e.buf = append(e.buf, 1)
	} else {
		e.buf = append(e.buf, 0)
	}
}
