package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// SgemmPackedAOffsets must equal SgemmPackedAThreads on the same B
// materialized row by row, at every level, for tails in m, n and k.
func TestSgemmPackedAOffsets(t *testing.T) {
	oldMin := minMACsPerThread
	defer func() { minMACsPerThread = oldMin }()
	minMACsPerThread = 100
	forEachLevel(t, func(t *testing.T, kn *fkern) {
		rng := rand.New(rand.NewPCG(21, uint64(kn.mr)))
		for _, sz := range [][4]int{{9, 7, 70, 1}, {33, 64, 3*kn.nr + 5, 2}, {5, 300, 2*kn.nr + 1, 1}, {1, 1, 1, 1}, {20, 17, kn.nr, 2}} {
			m, k, n, threads := sz[0], sz[1], sz[2], sz[3]
			t.Run(fmt.Sprintf("m%d/k%d/n%d/t%d", m, k, n, threads), func(t *testing.T) {
				src := make([]float32, 4*n+k*7+64)
				for i := range src {
					src[i] = float32(rng.NormFloat64())
				}
				off := make([]int, k)
				for p := range off {
					off[p] = rng.IntN(len(src) - n + 1)
				}
				a := make([]float32, m*k)
				for i := range a {
					a[i] = float32(rng.NormFloat64())
				}
				pa := PackA(false, m, k, a, k)
				b := make([]float32, k*n)
				for p, o := range off {
					copy(b[p*n:(p+1)*n], src[o:o+n])
				}
				bias := make([]float32, m)
				for i := range bias {
					bias[i] = float32(i) / 7
				}
				ep := Epilogue{RowBias: bias, Act: ActRelu}
				want := make([]float32, m*n)
				got := make([]float32, m*n)
				SgemmPackedAThreads(threads, pa, n, b, n, want, n, ep)
				SgemmPackedAOffsets(threads, pa, n, src, off, got, n, ep)
				for i := range want {
					if math.Abs(float64(got[i]-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
						t.Fatalf("C[%d][%d] = %v, want %v", i/n, i%n, got[i], want[i])
					}
				}
			})
		}
	})
}
