//go:build !unix

package depthwise

func cpuNanos() int64 { return 0 }
