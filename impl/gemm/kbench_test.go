package gemm

import (
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/frugal-ml/frugal/impl/cpu"
)

// threadCPU returns the calling thread's CPU time (user+system); with
// LockOSThread it times single-threaded work even on a busy machine.
func threadCPU() time.Duration {
	var ts syscall.Timespec
	// clock_gettime(CLOCK_THREAD_CPUTIME_ID): nanosecond resolution.
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 3, uintptr(unsafe.Pointer(&ts)), 0)
	return time.Duration(ts.Nano())
}

// cpuRate runs f reps times on a locked thread and returns ops per CPU second.
func cpuRate(reps int, ops float64, f func()) float64 {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	f()
	t0 := threadCPU()
	for i := 0; i < reps; i++ {
		f()
	}
	return ops * float64(reps) / (threadCPU() - t0).Seconds()
}

// TestKernelRates logs single-thread CPU-time rates of the micro-kernels
// (go test -run KernelRates -v); it asserts nothing.
func TestKernelRates(t *testing.T) {
	if os.Getenv("FRUGAL_RATES") == "" {
		t.Skip("set FRUGAL_RATES=1 to log kernel rates")
	}
	kn := kernelFor(cpu.HWLevel)
	k := kn.kc
	a := alignedFloats(kn.mr * k)
	bb := alignedFloats(kn.nr * k)
	c := alignedFloats(kn.mr * kn.nr)
	var ep kargs
	r := cpuRate(200000, 2*float64(kn.mr*kn.nr*k), func() {
		kn.tile(kn, kn.mr, kn.nr, k, &a[0], &bb[0], kn.nr, &c[0], kn.nr, &ep)
	})
	t.Logf("fp32 %s k=%d: %.1f GFLOP/s per core", kn.name, k, r/1e9)
	qk := qkernelFor(cpu.HWLevel)
	kg := 256
	qa := alignedBytes(qk.mr * kg * qk.g * qk.esize())
	qb := alignedBytes(qk.nr * kg * qk.g * qk.esize())
	tile := alignedInt32(qk.mr * qk.nr)
	r = cpuRate(100000, 2*float64(qk.mr*qk.nr*kg*qk.g), func() {
		qk.kern(qk, true, qk.mr, qk.nr, kg, unsafe.Pointer(&qa[0]), unsafe.Pointer(&qb[0]), &tile[0])
	})
	t.Logf("int8 %s k=%d: %.1f GOP/s per core", qk.name, kg*qk.g, r/1e9)
	for _, s := range []int{256, 512, 1024} {
		A, B, C := benchMats(s, s, s)
		SetThreads(1)
		r := cpuRate(max(4, 1e11/int(2*s*s*s)), 2*float64(s*s*s), func() { Sgemm(false, false, s, s, s, 1, A, s, B, s, 0, C, s) })
		qA := make([]uint8, s*s)
		qB := make([]int8, s*s)
		qC := make([]int32, s*s)
		rq := cpuRate(max(4, 3e11/int(2*s*s*s)), 2*float64(s*s*s), func() { GemmU8S8(s, s, s, qA, s, qB, s, qC, s) })
		pb := PackQB(false, s, s, qB, s, nil)
		rp := cpuRate(max(4, 3e11/int(2*s*s*s)), 2*float64(s*s*s), func() { QGemmPackedB(s, qA, s, nil, pb, qC, s, QEpilogue{}) })
		SetThreads(0)
		t.Logf("%d^3 single thread: Sgemm %.1f GFLOP/s, GemmU8S8 %.1f GOP/s, packed-B %.1f GOP/s", s, r/1e9, rq/1e9, rp/1e9)
	}
}
