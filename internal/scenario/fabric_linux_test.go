package scenario_test

import "syscall"

// On Linux a gateway process gets SIGKILL when the test process dies
// without running its cleanups (killed, or interrupted), so that no
// gateway outlives the test.
func init() { gatewayProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
