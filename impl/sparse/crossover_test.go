package sparse

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/frugal-ml/frugal/impl/gemm"
)

func threadCPU() time.Duration {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 3, uintptr(unsafe.Pointer(&ts)), 0)
	return time.Duration(ts.Nano())
}

// cpuTime returns the CPU time per call of f on one locked thread.
func cpuTime(reps int, f func()) time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	f()
	t0 := threadCPU()
	for i := 0; i < reps; i++ {
		f()
	}
	return (threadCPU() - t0) / time.Duration(reps)
}

// TestCrossoverTable prints single-thread CPU times of each format against
// dense at several densities (FRUGAL_RATES=1 go test -run CrossoverTable -v).
func TestCrossoverTable(t *testing.T) {
	if os.Getenv("FRUGAL_RATES") == "" {
		t.Skip("set FRUGAL_RATES=1")
	}
	const m, k, n = 1024, 1024, 64
	gemm.SetThreads(1)
	defer gemm.SetThreads(0)
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, k*n)
	for i := range x {
		x[i] = rng.Float32()
	}
	y := make([]float32, m*n)
	dense := randSparse(rng, m, k, 1)
	pa := gemm.PackA(false, m, k, dense, k)
	td := cpuTime(50, func() { gemm.SgemmPackedA(pa, n, x, n, y, n, gemm.Epilogue{}) })
	td2 := cpuTime(50, func() { gemm.Sgemm(false, false, m, n, k, 1, dense, k, x, n, 0, y, n) })
	fmt.Printf("dense packedA %v, Sgemm %v\n", td, td2)
	for _, d := range []float64{0.5, 0.3, 0.2, 0.1, 0.05, 0.02} {
		w := randSparse(rng, m, k, d)
		c := NewCSR(m, k, w, k)
		tc := cpuTime(50, func() { c.MatMul(n, x, n, y, n, gemm.Epilogue{}) })
		line := fmt.Sprintf("density %.2f: csr %v (%.2fx)", d, tc, float64(td)/float64(tc))
		for _, rc := range [][2]int{{4, 1}, {8, 1}, {4, 4}} {
			wb := blockSparse(rng, m, k, rc[0], rc[1], d)
			bs, _ := NewBSR(m, k, rc[0], rc[1], wb, k)
			tb := cpuTime(50, func() { bs.MatMul(n, x, n, y, n, gemm.Epilogue{}) })
			line += fmt.Sprintf("  bsr%dx%d %v (%.2fx)", rc[0], rc[1], tb, float64(td)/float64(tb))
		}
		fmt.Println(line)
	}
	w := randSparse(rng, m, k, 1)
	Prune24(m, k, w, k)
	s, _ := NewNM24(m, k, w, k)
	ts := cpuTime(50, func() { s.MatMul(n, x, n, y, n, gemm.Epilogue{}) })
	c := NewCSR(m, k, w, k)
	tc := cpuTime(50, func() { c.MatMul(n, x, n, y, n, gemm.Epilogue{}) })
	fmt.Printf("2:4: nm24 %v (%.2fx), same weights as csr %v (%.2fx)\n", ts, float64(td)/float64(ts), tc, float64(td)/float64(tc))
}
