package gemm

import "testing"

// Serial GEMM calls (small problems, or callers that split the work
// themselves) must not allocate: Winograd issues hundreds per convolution.
func TestSerialCallsDoNotAllocate(t *testing.T) {
	const m, n, k = 56, 64, 64
	a := make([]float32, m*k)
	b := make([]float32, k*n)
	c := make([]float32, m*n)
	pb := PackB(false, k, n, b, n)
	pa := PackA(false, m, k, a, k)
	ep := Epilogue{Act: ActRelu}
	for name, f := range map[string]func(){
		"SgemmPacked":         func() { SgemmPacked(m, a, k, pb, c, n, ep) },
		"SgemmPackedAThreads": func() { SgemmPackedAThreads(1, pa, n, b, n, c, n, ep) },
		"Sgemm":               func() { Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n) },
	} {
		f()
		if allocs := testing.AllocsPerRun(20, f); allocs > 0 {
			t.Errorf("%s allocates %.1f objects per call", name, allocs)
		}
	}
}
