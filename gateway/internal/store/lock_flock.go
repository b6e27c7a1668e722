//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDir takes an exclusive, non-blocking flock(2) on <dir>/LOCK (created
// if needed, never removed) and returns the open file that holds it. The
// lock belongs to the open file description, so it conflicts with a second
// lockDir on the same directory in this process as well as in another one,
// and the kernel releases it when the file is closed or the process dies.
// The store targets Linux; flock is advisory and may not work on network
// file systems.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s is held)", ErrLocked, lockFile)
		}
		return nil, fmt.Errorf("lock %s: %w", lockFile, err)
	}
	return f, nil
}
