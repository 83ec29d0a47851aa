//go:build unix

package depthwise

import "syscall"

// cpuNanos is the process's user + system CPU time: on a shared machine it
// counts the work done, not the time spent waiting for a core.
func cpuNanos() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
