package walkthrough

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// readyLine is the line dev up prints once every gateway serves.
const readyLine = "ready"

// consortium is a running `medprov dev up` child process.
type consortium struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{} // closed once the process has exited
	// waitErr is cmd.Wait's error, set before done is closed.
	waitErr error
	// env holds each user's settings from the .env files dev up wrote.
	env map[User][]string
}

// startError is a failure of dev up itself, with what it wrote on stderr.
type startError struct {
	msg    string
	stderr string
}

func (e *startError) Error() string { return e.msg }

// startConsortium runs `medprov dev up --dir DIR/consortium --base-port 0`,
// waits until it prints "ready" (at most timeout), and reads the .env file
// it wrote for each user.
func startConsortium(ctx context.Context, medprov, dir string, timeout time.Duration) (*consortium, error) {
	devDir := filepath.Join(dir, "consortium")
	ready := make(chan struct{})
	c := &consortium{stderr: &syncBuffer{}, done: make(chan struct{})}
	c.cmd = exec.Command(medprov, "dev", "up", "--dir", devDir, "--base-port", "0")
	c.cmd.Dir = dir
	c.cmd.Env = environ()
	c.cmd.Stdout = &lineWatcher{want: readyLine, seen: ready}
	c.cmd.Stderr = c.stderr
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("medprov dev up: %w", err)
	}
	go func() {
		c.waitErr = c.cmd.Wait()
		close(c.done)
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-ready:
	case <-c.done:
		return nil, &startError{msg: fmt.Sprintf("medprov dev up exited before it was ready (%v)", c.waitErr), stderr: c.stderr.String()}
	case <-timer.C:
		_ = c.stop(5 * time.Second)
		return nil, &startError{msg: fmt.Sprintf("medprov dev up did not print %q within %v", readyLine, timeout), stderr: c.stderr.String()}
	case <-ctx.Done():
		_ = c.stop(5 * time.Second)
		return nil, ctx.Err()
	}
	env, err := readEnvFiles(devDir)
	if err != nil {
		_ = c.stop(5 * time.Second)
		return nil, err
	}
	c.env = env
	return c, nil
}

// stop sends SIGINT and waits at most timeout for the process to exit; it
// kills the process after that. It returns an error unless the process
// exited 0 after the signal.
func (c *consortium) stop(timeout time.Duration) error {
	select {
	case <-c.done:
		return &startError{msg: fmt.Sprintf("medprov dev up exited before it was stopped (%v)", c.waitErr), stderr: c.stderr.String()}
	default:
	}
	if err := c.cmd.Process.Signal(os.Interrupt); err != nil {
		return fmt.Errorf("sending SIGINT to medprov dev up: %w", err)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-c.done:
	case <-timer.C:
		_ = c.cmd.Process.Kill()
		<-c.done
		return &startError{msg: fmt.Sprintf("medprov dev up did not exit within %v of SIGINT; killed", timeout), stderr: c.stderr.String()}
	}
	if c.waitErr != nil {
		return &startError{msg: fmt.Sprintf("medprov dev up: %v after SIGINT, want exit 0", c.waitErr), stderr: c.stderr.String()}
	}
	return nil
}

// readEnvFiles reads DIR/<MSP>/<user>.env, as dev up and
// test-network/gateways.sh write them, into
// each user's KEY=VALUE settings.
func readEnvFiles(devDir string) (map[User][]string, error) {
	files, err := filepath.Glob(filepath.Join(devDir, "*", "*.env"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no <MSP>/<user>.env file under %s", devDir)
	}
	env := map[User][]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		vars, err := parseEnv(string(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		u := User{MSP: filepath.Base(filepath.Dir(f)), Name: strings.TrimSuffix(filepath.Base(f), ".env")}
		env[u] = vars
	}
	return env, nil
}

// envVars are the variables a .env file must set.
var envVars = []string{"MEDPROV_GATEWAY", "MEDPROV_TLS_CA", "MEDPROV_IDENTITY"}

// parseEnv reads the `export K=V ...` lines of a .env file as a POSIX
// shell would for what dev up writes: words separated by blanks, values
// bare, in single quotes or with backslash escapes; comment lines start
// with '#'. It returns KEY=VALUE strings and requires the three MEDPROV_
// connection variables.
func parseEnv(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for i, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		words, err := shellWords(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		if len(words) < 2 || words[0] != "export" {
			return nil, fmt.Errorf("line %d: want export KEY=VALUE ...", i+1)
		}
		for _, w := range words[1:] {
			k, _, ok := strings.Cut(w, "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("line %d: %q is not KEY=VALUE", i+1, w)
			}
			seen[k] = true
			out = append(out, w)
		}
	}
	for _, k := range envVars {
		if !seen[k] {
			return nil, fmt.Errorf("%s is not set", k)
		}
	}
	return out, nil
}

// shellWords splits a line into words: blanks separate them, single
// quotes keep everything literally, and outside them a backslash keeps
// the next character. Double quotes, $ and ` are refused.
func shellWords(line string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord, quoted, escaped := false, false, false
	for _, r := range line {
		switch {
		case escaped:
			w.WriteRune(r)
			escaped = false
		case quoted && r == '\'':
			quoted = false
		case quoted:
			w.WriteRune(r)
		case r == '\'':
			quoted, inWord = true, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case r == '\\':
			escaped, inWord = true, true
		case r == '"' || r == '$' || r == '`':
			return nil, fmt.Errorf("unsupported shell character %q", r)
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if quoted || escaped {
		return nil, errors.New("unterminated quote or backslash")
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

// lineWatcher is dev up's stdout: it closes seen once a whole line equal
// to want has been written.
type lineWatcher struct {
	want    string
	seen    chan struct{}
	partial []byte
	done    bool
}

// Write is called by one goroutine of exec.Cmd at a time.
func (l *lineWatcher) Write(p []byte) (int, error) {
	if l.done {
		return len(p), nil
	}
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := strings.TrimRight(string(l.partial[:i]), "\r")
		l.partial = l.partial[i+1:]
		if line == l.want {
			l.done = true
			l.partial = nil
			close(l.seen)
			return len(p), nil
		}
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
