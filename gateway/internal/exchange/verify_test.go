package exchange

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"

	domain "github.com/medprov/medprov/chaincode/ledger"
)

// synthetic returns n bytes of reproducible synthetic content (no patient
// data).
func synthetic(n int, seed byte) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{seed})
	_, _ = r.Read(b)
	return b
}

func testSalt(seed byte) []byte {
	return bytes.Repeat([]byte{seed}, domain.SaltSize)
}

func commitmentOf(salt, content []byte) string {
	return domain.Commitment(salt, sha256.Sum256(content))
}

// endless yields zero bytes forever.
type endless struct{}

func (endless) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestVerifyingReader(t *testing.T) {
	content := synthetic(100_000, 1)
	salt := testSalt(7)
	good := commitmentOf(salt, content)
	tampered := bytes.Clone(content)
	tampered[len(tampered)/2] ^= 0x01
	errBoom := errors.New("boom")

	tests := map[string]struct {
		r       io.Reader
		salt    []byte
		want    string
		size    uint64
		wantErr error // nil: ReadAll succeeds and returns the content
	}{
		"the exact content passes through":                    {bytes.NewReader(content), salt, good, uint64(len(content)), nil},
		"content read one byte at a time passes through":      {iotest.OneByteReader(bytes.NewReader(content)), salt, good, uint64(len(content)), nil},
		"content whose last read also says EOF passes":        {iotest.DataErrReader(bytes.NewReader(content)), salt, good, uint64(len(content)), nil},
		"empty content with its commitment passes":            {strings.NewReader(""), salt, commitmentOf(salt, nil), 0, nil},
		"a tampered byte fails the commitment":                {bytes.NewReader(tampered), salt, good, uint64(len(content)), ErrCommitmentMismatch},
		"another salt fails the commitment":                   {bytes.NewReader(content), testSalt(8), good, uint64(len(content)), ErrCommitmentMismatch},
		"an upper-case commitment never matches":              {bytes.NewReader(content), salt, strings.ToUpper(good), uint64(len(content)), ErrCommitmentMismatch},
		"an empty content with a wrong commitment fails":      {strings.NewReader(""), salt, good, 0, ErrCommitmentMismatch},
		"a short content is a size mismatch":                  {bytes.NewReader(content[:len(content)-1]), salt, good, uint64(len(content)), ErrSizeMismatch},
		"a short content with a final EOF is a size mismatch": {iotest.DataErrReader(bytes.NewReader(content[:10])), salt, good, uint64(len(content)), ErrSizeMismatch},
		"a long content is a size mismatch":                   {bytes.NewReader(append(bytes.Clone(content), 0)), salt, good, uint64(len(content)), ErrSizeMismatch},
		"any byte of an empty content is a size mismatch":     {strings.NewReader("x"), salt, commitmentOf(salt, nil), 0, ErrSizeMismatch},
		"an error of the source passes through":               {io.MultiReader(bytes.NewReader(content[:10]), iotest.ErrReader(errBoom)), salt, good, uint64(len(content)), errBoom},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			v := NewVerifyingReader(tc.r, tc.salt, tc.want, tc.size)
			got, err := io.ReadAll(v)
			if tc.wantErr == nil {
				if err != nil || !bytes.Equal(got, content[:tc.size]) {
					t.Fatalf("ReadAll = %d bytes, %v; want the %d bytes of content", len(got), err, tc.size)
				}
				if n, err := v.Read(make([]byte, 1)); n != 0 || err != io.EOF {
					t.Errorf("Read after the end = %d, %v; want 0, EOF", n, err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ReadAll error = %v, want %v", err, tc.wantErr)
			}
			if n, err2 := v.Read(make([]byte, 1)); n != 0 || !errors.Is(err2, tc.wantErr) {
				t.Errorf("Read after the error = %d, %v; want the same error", n, err2)
			}
		})
	}
}

func TestVerifyingReaderFailsAtOnceBeyondSize(t *testing.T) {
	content := synthetic(1000, 2)
	salt := testSalt(3)
	v := NewVerifyingReader(io.MultiReader(bytes.NewReader(content), endless{}), salt, commitmentOf(salt, content), uint64(len(content)))
	// io.ReadAll would never end on an endless source if the reader
	// waited for EOF.
	if _, err := io.ReadAll(v); !errors.Is(err, ErrSizeMismatch) {
		t.Fatalf("ReadAll = %v, want ErrSizeMismatch", err)
	}
}

func TestVerifyingReaderWithholdsTheEndOfTamperedContent(t *testing.T) {
	content := synthetic(1000, 4)
	salt := testSalt(5)
	good := commitmentOf(salt, content)
	tampered := bytes.Clone(content)
	tampered[0] ^= 0x80
	// io.ReadFull stops after size bytes and drops an error that comes
	// with the last of them, so the reader must not deliver them.
	buf := make([]byte, len(content))
	n, err := io.ReadFull(NewVerifyingReader(bytes.NewReader(tampered), salt, good, uint64(len(content))), buf)
	if !errors.Is(err, ErrCommitmentMismatch) {
		t.Fatalf("ReadFull = %d, %v; want ErrCommitmentMismatch", n, err)
	}
	if n == len(content) {
		t.Error("ReadFull delivered the whole tampered content")
	}
	// The genuine content is delivered whole by ReadFull.
	if n, err := io.ReadFull(NewVerifyingReader(bytes.NewReader(content), salt, good, uint64(len(content))), buf); err != nil || n != len(content) {
		t.Errorf("ReadFull of the genuine content = %d, %v", n, err)
	}
}

func TestVerifyingReaderKeepsItsOwnCopyOfTheSalt(t *testing.T) {
	content := synthetic(10, 6)
	salt := testSalt(9)
	good := commitmentOf(salt, content)
	v := NewVerifyingReader(bytes.NewReader(content), salt, good, uint64(len(content)))
	salt[0] ^= 0xff // the caller reuses its buffer
	if _, err := io.ReadAll(v); err != nil {
		t.Fatalf("ReadAll = %v, want success", err)
	}
}
