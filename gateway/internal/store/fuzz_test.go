package store

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// FuzzOpenBlob feeds arbitrary bytes to the blob decoder as the blob of a
// known record version and data key. Unless the input is the genuine blob,
// decoding must fail with ErrCorrupt without returning a single byte: the
// genuine blob is one chunk, so no prefix of a forgery can authenticate.
func FuzzOpenBlob(f *testing.F) {
	const id = "rec-fuzz"
	dek := bytes.Repeat([]byte{7}, DEKSize)
	plain := []byte("synthetic document v1, one chunk")
	aead, err := newAEAD(dek)
	if err != nil {
		f.Fatal(err)
	}
	h := blobHeader{prefix: [noncePrefixSize]byte{1, 2, 3, 4, 5, 6, 7}, recordID: id, version: 3}
	var genuine bytes.Buffer
	if _, err := encryptStream(context.Background(), &genuine, bytes.NewReader(plain), aead, &h, discardHash{}, discardHash{}); err != nil {
		f.Fatal(err)
	}
	g := genuine.Bytes()
	f.Add(bytes.Clone(g))
	f.Add(g[:len(g)-1])
	f.Add(append(bytes.Clone(g), 0))
	f.Add(g[:headerFixedSize+len(id)+4])
	f.Add([]byte{})
	f.Add([]byte(blobMagic))
	f.Fuzz(func(t *testing.T, blob []byte) {
		for _, want := range []int64{int64(len(plain)), -1} {
			br, err := newBlobReader(bytes.NewReader(blob), nil, dek, id, 3, want)
			var got []byte
			if err == nil {
				got, err = readUntilError(br)
			}
			if bytes.Equal(blob, g) {
				if err != nil || !bytes.Equal(got, plain) {
					t.Fatalf("genuine blob: %q, %v", got, err)
				}
				continue
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("forged blob: err = %v, want ErrCorrupt", err)
			}
			if len(got) != 0 {
				t.Fatalf("forged blob: returned %d bytes of plaintext", len(got))
			}
		}
	})
}

type discardHash struct{}

func (discardHash) Write(p []byte) (int, error) { return len(p), nil }
func (discardHash) Sum(b []byte) []byte         { return b }
func (discardHash) Reset()                      {}
func (discardHash) Size() int                   { return 0 }
func (discardHash) BlockSize() int              { return 1 }
