//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package store

import (
	"errors"
	"os"
)

// lockDir is not implemented on this platform: the store relies on
// flock(2) to keep a second process out of its directory.
func lockDir(dir string) (*os.File, error) {
	return nil, errors.New("store: directory lock (flock) not supported on this platform")
}
