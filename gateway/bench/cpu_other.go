//go:build !unix

package bench

import "time"

// ProcessCPUTime reports that the CPU time is not known on this platform.
func ProcessCPUTime() (time.Duration, bool) { return 0, false }
