package command

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	"github.com/medprov/medprov/chaincode/ledger"
)

// chunkSize is the size of the content chunks the CLI uploads.
const chunkSize = 64 << 10

// outFlags are the --out and --force flags of a command that writes a file.
type outFlags struct {
	out   string
	force bool
}

func (f *outFlags) register(c *cobra.Command, what string) {
	c.Flags().StringVar(&f.out, "out", "", what)
	c.Flags().BoolVar(&f.force, "force", false, "replace --out if it exists")
}

// toStdout says whether --out names stdout.
func (f *outFlags) toStdout() bool { return f.out == "-" }

// write calls fill with where --out sends the content: stdout when --out is
// empty or "-", else an atomicFile on --out that is committed when fill
// succeeds and dropped when it fails, so that --out is never left partial.
// toFile reports whether --out names a file. Errors are fill's and those of
// createAtomic and commit.
func (f *outFlags) write(stdout io.Writer, fill func(io.Writer) error) (toFile bool, err error) {
	if f.out == "" || f.toStdout() {
		return false, fill(stdout)
	}
	af, err := createAtomic("--out", f.out, f.force)
	if err != nil {
		return true, err
	}
	if err := fill(af); err != nil {
		af.abort()
		return true, err
	}
	return true, af.commit()
}

// atomicFile is a file written through a temporary file in the target's
// folder, synced and renamed into place by commit, so that the target
// either does not change or holds the whole content.
type atomicFile struct {
	f     *os.File
	path  string
	force bool
}

// createAtomic starts writing path (mode 0600). Unless force is set, an
// existing path is an error, checked now and again at commit.
func createAtomic(flag, path string, force bool) (*atomicFile, error) {
	if err := checkAbsent(flag, path, force); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".medprov-*")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return &atomicFile{f: f, path: path, force: force}, nil
}

func checkAbsent(flag, path string, force bool) error {
	st, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("%s: %w", flag, err)
	case st.IsDir():
		return fmt.Errorf("%s: %s is a folder; want a file name", flag, path)
	case !force:
		return fmt.Errorf("%s: %s already exists; refusing to replace it without --force", flag, path)
	}
	return nil
}

func (a *atomicFile) Write(p []byte) (int, error) { return a.f.Write(p) }

// abort drops the temporary file; the target is untouched.
func (a *atomicFile) abort() {
	a.f.Close()
	os.Remove(a.f.Name())
}

// commit syncs the temporary file, renames it to the target and syncs the
// folder. On error the temporary file is gone and the target untouched.
func (a *atomicFile) commit() error {
	if err := a.f.Sync(); err != nil {
		a.abort()
		return fmt.Errorf("writing %s: %w", a.path, err)
	}
	if err := a.f.Close(); err != nil {
		os.Remove(a.f.Name())
		return fmt.Errorf("writing %s: %w", a.path, err)
	}
	if err := checkAbsent("--out", a.path, a.force); err != nil {
		os.Remove(a.f.Name())
		return err
	}
	if err := os.Rename(a.f.Name(), a.path); err != nil {
		os.Remove(a.f.Name())
		return fmt.Errorf("writing %s: %w", a.path, err)
	}
	if d, err := os.Open(filepath.Dir(a.path)); err == nil {
		_ = d.Sync() // best effort: not every file system syncs folders
		d.Close()
	}
	return nil
}

// localFile is a file to upload, with the SHA-256 and size it had when it
// was hashed.
type localFile struct {
	path string
	sum  [sha256.Size]byte
	size int64
}

// hashFile reads a file through SHA-256 and returns it with its sum and
// size.
func hashFile(path string) (localFile, error) {
	lf := localFile{path: path}
	f, err := os.Open(path)
	if err != nil {
		return lf, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return lf, fmt.Errorf("reading %s: %w", path, err)
	}
	copy(lf.sum[:], h.Sum(nil))
	lf.size = n
	return lf, nil
}

// checkUploadFile checks that path is a regular, non-empty file.
func checkUploadFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", path)
	}
	if st.Size() == 0 {
		return fmt.Errorf("%s: empty; a record needs content", path)
	}
	return nil
}

// uploadFile opens a client stream with open, with no deadline unless
// --timeout was given, and sends first and then the content of f through
// it with upload, drawing a progress bar on stderr when showProgress.
// Gateway errors come back as *RPCError; see upload for the others.
func uploadFile[Req, Resp any](ctx context.Context, deps Deps, g *globals, open func(context.Context, ...grpc.CallOption) (grpc.ClientStreamingClient[Req, Resp], error), first *Req, chunk func([]byte) *Req, f localFile, showProgress bool) (*Resp, error) {
	ctx, cancel := g.transferCtx(ctx)
	defer cancel()
	stream, err := open(ctx)
	if err != nil {
		return nil, rpcError(err)
	}
	prog := newProgress(deps, showProgress, filepath.Base(f.path), f.size)
	defer prog.finish()
	return upload(ctx, stream, cancel, first, chunk, f.path, f.sum, prog)
}

// upload sends first, then the content of path in chunkSize chunks, and
// returns the gateway's answer. It hashes the content again as it sends
// and, if that differs from sum (the file changed since it was hashed),
// cancels the call before the upload completes, so the gateway anchors
// nothing. Gateway errors come back as *RPCError.
func upload[Req, Resp any](ctx context.Context, stream grpc.ClientStreamingClient[Req, Resp], cancel context.CancelFunc, first *Req, chunk func([]byte) *Req, path string, sum [sha256.Size]byte, prog *progress) (*Resp, error) {
	f, err := os.Open(path)
	if err != nil {
		cancel()
		return nil, err
	}
	defer f.Close()
	if err := stream.Send(first); err != nil {
		return closeUpload(stream, cancel, err)
	}
	h := sha256.New()
	r := bufio.NewReaderSize(f, chunkSize)
	for {
		buf := make([]byte, chunkSize) // a new buffer each time: gRPC may hold a sent message
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			h.Write(buf[:n])
			if err := stream.Send(chunk(buf[:n])); err != nil {
				return closeUpload(stream, cancel, err)
			}
			prog.add(int64(n))
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			cancel()
			return nil, fmt.Errorf("reading %s: %w", path, rerr)
		}
		if err := ctx.Err(); err != nil {
			cancel()
			return nil, rpcError(err)
		}
	}
	if got := h.Sum(nil); string(got) != string(sum[:]) {
		cancel()
		return nil, fmt.Errorf("%s changed while it was being sent (SHA-256 %s, was %s); the upload was cancelled", path, hex.EncodeToString(got), hex.EncodeToString(sum[:]))
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return nil, rpcError(err)
	}
	return resp, nil
}

// closeUpload handles a failed Send: io.EOF means the gateway ended the
// call, and its status is what CloseAndRecv returns.
func closeUpload[Req, Resp any](stream grpc.ClientStreamingClient[Req, Resp], cancel context.CancelFunc, sendErr error) (*Resp, error) {
	if !errors.Is(sendErr, io.EOF) {
		cancel()
		return nil, rpcError(sendErr)
	}
	_, err := stream.CloseAndRecv()
	if err == nil {
		err = errors.New("the gateway ended the upload early without an error")
	}
	return nil, rpcError(err)
}

// confirm asks on stderr for the answer want to be typed on stdin. Without
// a terminal on stdin it refuses with a usage error naming --yes.
func confirm(deps Deps, question, want string) error {
	if !deps.StdinTerminal {
		return usagef("--yes", "required when stdin is not a terminal, to confirm")
	}
	fmt.Fprintf(deps.Stderr, "%s\nType %s to confirm: ", question, want)
	line, err := bufio.NewReader(deps.Stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("reading the confirmation: %w", err)
	}
	if strings.TrimSpace(line) != want {
		return errors.New("not confirmed; nothing was changed")
	}
	return nil
}

// checkArg validates a flag or argument value with a ledger check; a
// missing or bad value is a usage error naming it and what is expected.
func checkArg(name string, check func(arg, s string) error, s string) error {
	if s == "" {
		return usagef(name, "required")
	}
	if err := check(name, s); err != nil {
		var le *ledger.Error
		if errors.As(err, &le) {
			return &UsageError{Err: errors.New(le.Message)}
		}
		return &UsageError{Err: err}
	}
	return nil
}

// maxVersion is the highest record version the ledger accepts.
const maxVersion = 1_000_000

// checkVersion validates a --version flag; 0 means the latest.
func checkVersion(v uint32) error {
	if v > maxVersion {
		return usagef("--version", "want 1 to %d, or 0 for the latest", maxVersion)
	}
	return nil
}
