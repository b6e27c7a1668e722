//go:build linux

package store

import (
	"os"
	"syscall"
)

// syncFileRangeWrite is SYNC_FILE_RANGE_WRITE from <linux/fs.h>: start
// writeback of the range's dirty pages without waiting for it.
const syncFileRangeWrite = 0x2

// startWriteback asks the kernel to start writing the given range of f to
// the disk now, so that the fsync at the end of a Put waits for the tail
// of the file rather than all of it. It is a hint: it makes nothing
// durable (no metadata, no device cache flush) and its errors are ignored;
// the fsync that follows does the durability work and reports failures.
func startWriteback(f *os.File, off, n int64) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = syscall.SyncFileRange(int(fd), off, n, syncFileRangeWrite)
	})
}
