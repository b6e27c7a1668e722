package server

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Chunked content on the wire. Uploads (AddRecord, AmendRecord,
// VerifyDocument, and any other client stream shaped like them) are a first
// message that carries metadata in a oneof member, followed by messages
// whose oneof member named "chunk" carries content. Downloads (GetRecord,
// and any server stream shaped like it) are a header message followed by
// chunk messages. The helpers here are shared by every such RPC:
//
//	first, err := recvFirst(stream.Recv, "metadata") // INVALID_ARGUMENT unless the first message sets "metadata"
//	up := newUpload(stream.Recv, "metadata", limit)  // the chunks that follow, as an io.Reader
//	up.expectSHA256("metadata.content_sha256", sum)   // optional: EOF only if the content hashes to sum
//	... consume up (store.Put, anchor.Add, receipt.Check) ...
//	if err := up.err(); err != nil { return err }     // the upload's own failure, a clean status, takes precedence
//
//	n, err := sendChunks(content, func(c []byte) error { return stream.Send(chunkMessage(c)) })
const (
	// sendChunkSize is the size of every content chunk the gateway sends
	// but the last: 64 KiB, the store's chunk size, so that a download
	// holds one decrypted chunk at a time.
	sendChunkSize = 64 << 10
	// maxRecvChunk is the largest content chunk a client may send: 4 MiB,
	// as the proto comments state.
	maxRecvChunk = 4 << 20
)

// chunkField is the name of the oneof member that carries content in every
// chunked message.
const chunkField protoreflect.Name = "chunk"

// errEmptyContent is the upload's failure when the client sent no chunk at
// all; errors.Is matches it (status errors compare by code and message).
var errEmptyContent = status.Error(codes.InvalidArgument, "chunk: want at least 1 byte of content")

// recvFirst receives the first message of a client stream and checks that
// it sets the field named first (the metadata member of the request's
// oneof, such as "metadata" or "target"). It returns INVALID_ARGUMENT
// "<first>: must be the first message" when the stream ends at once or
// starts with anything else, and the stream's own error (wrapped: a
// context or transport error) when Recv fails otherwise.
func recvFirst[M proto.Message](recv func() (M, error), first string) (M, error) {
	var zero M
	m, err := recv()
	if errors.Is(err, io.EOF) {
		return zero, status.Error(codes.InvalidArgument, first+": must be the first message")
	}
	if err != nil {
		return zero, fmt.Errorf("receive %s: %w", first, err)
	}
	fd := m.ProtoReflect().Descriptor().Fields().ByName(protoreflect.Name(first))
	if fd == nil || !m.ProtoReflect().Has(fd) {
		return zero, status.Error(codes.InvalidArgument, first+": must be the first message")
	}
	return m, nil
}

// upload is the content of a client stream after its first message, read
// as an io.Reader: each message must set the "chunk" member of its oneof,
// with 1 byte to 4 MiB; the content ends when the client closes its side
// (Recv returns io.EOF). An upload is not safe for concurrent use.
//
// Read fails, and keeps failing, with an INVALID_ARGUMENT status when a
// later message is not a chunk ("<first>: exactly once, in the first
// message"), a chunk is empty or above 4 MiB ("chunk: want 1 byte to 4
// MiB"), the content exceeds the limit ("chunk: content above the limit of
// N bytes"; detected as soon as the limit is passed, without receiving
// more), the content is empty at its end ("chunk: want at least 1 byte of
// content"), or, when expectSHA256 was called, the content's SHA-256
// differs at its end ("<field>: the content does not hash to it"): so a
// consumer that stores what it reads until io.EOF (store.Put) fails and
// keeps nothing. A failing Recv (the client went away, the call's context
// ended) fails Read with that error, wrapped. None of these messages holds
// content.
//
// A consumer usually wraps Read's error with its own context; err returns
// the upload's own failure unwrapped, so that the handler can return the
// clean status instead.
type upload struct {
	next   func() ([]byte, error)
	first  string
	limit  int64
	n      int64
	buf    []byte
	failed error
	done   bool

	sum      hash.Hash
	want     []byte
	sumField string
}

// newUpload returns the content that follows the first message of a client
// stream (received with recvFirst) as an upload of at most limit bytes.
// recv is the stream's Recv; first names the first message's field, for
// the error about a repeated metadata message.
func newUpload[M proto.Message](recv func() (M, error), first string, limit int64) *upload {
	next := func() ([]byte, error) {
		m, err := recv()
		if err != nil {
			return nil, err
		}
		r := m.ProtoReflect()
		fd := r.Descriptor().Fields().ByName(chunkField)
		if fd == nil || !r.Has(fd) {
			return nil, status.Error(codes.InvalidArgument, first+": exactly once, in the first message; every later message must be a chunk")
		}
		return r.Get(fd).Bytes(), nil
	}
	return &upload{next: next, first: first, limit: limit}
}

// expectSHA256 makes the upload check, at its end, that the content's
// SHA-256 equals sum (32 bytes, checked by the caller); field names the
// request field that carried it, for the error.
func (u *upload) expectSHA256(field string, sum []byte) {
	u.sum = sha256.New()
	u.want = bytes.Clone(sum)
	u.sumField = field
}

// Read implements io.Reader.
func (u *upload) Read(p []byte) (int, error) {
	if u.failed != nil {
		return 0, u.failed
	}
	for len(u.buf) == 0 {
		if u.done {
			return 0, io.EOF
		}
		c, err := u.next()
		if errors.Is(err, io.EOF) {
			if err := u.finish(); err != nil {
				return 0, u.fail(err)
			}
			u.done = true
			return 0, io.EOF
		}
		if err != nil {
			if _, ok := status.FromError(err); ok && status.Code(err) == codes.InvalidArgument {
				return 0, u.fail(err)
			}
			return 0, u.fail(fmt.Errorf("receive chunk: %w", err))
		}
		if len(c) == 0 || len(c) > maxRecvChunk {
			return 0, u.fail(status.Error(codes.InvalidArgument, "chunk: want 1 byte to 4 MiB"))
		}
		if int64(len(c)) > u.limit-u.n {
			return 0, u.fail(status.Error(codes.InvalidArgument, "chunk: content above the limit of "+strconv.FormatInt(u.limit, 10)+" bytes"))
		}
		u.n += int64(len(c))
		if u.sum != nil {
			u.sum.Write(c)
		}
		u.buf = c
	}
	n := copy(p, u.buf)
	u.buf = u.buf[n:]
	return n, nil
}

// finish checks the content at its end.
func (u *upload) finish() error {
	if u.n == 0 {
		return errEmptyContent
	}
	if u.sum != nil && !bytes.Equal(u.sum.Sum(nil), u.want) {
		return status.Error(codes.InvalidArgument, u.sumField+": the content does not hash to it")
	}
	return nil
}

func (u *upload) fail(err error) error {
	u.failed = err
	return err
}

// err returns the upload's own failure (an INVALID_ARGUMENT status, or the
// stream's wrapped error), or nil if it has not failed.
func (u *upload) err() error { return u.failed }

// size returns the number of content bytes received so far.
func (u *upload) size() int64 { return u.n }

// sendChunks reads r to its end and passes its content to send in chunks of
// 64 KiB (the last one shorter; nothing for empty content). send is called
// with a buffer that is reused for the next chunk, which is safe for a gRPC
// stream's Send (it encodes the message before it returns). It returns the
// number of bytes sent, and the first error of r (wrapped with "read
// content") or of send (wrapped with "send chunk").
func sendChunks(r io.Reader, send func(chunk []byte) error) (int64, error) {
	buf := make([]byte, sendChunkSize)
	var total int64
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if serr := send(buf[:n]); serr != nil {
				return total, fmt.Errorf("send chunk: %w", serr)
			}
			total += int64(n)
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return total, nil
		default:
			return total, fmt.Errorf("read content: %w", err)
		}
	}
}
