package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// QGemmPackedAC4 against the packed-B GEMM on the same B, materialized
// from the C4 buffer: every output byte equal.
func TestQGemmPackedAC4(t *testing.T) {
	pa0 := PackQA(false, 1, 4, []int8{1, 2, 3, 4}, 4, nil)
	if !QC4Ready(pa0) {
		t.Skip("no C4 kernels on this machine")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, sz := range [][3]int{{64, 576, 100}, {14, 36, 32}, {8, 4, 1}, {29, 1152, 70}, {512, 64, 33}, {3, 8, 64}} {
		m, k, n := sz[0], sz[1], sz[2]
		t.Run(fmt.Sprintf("m%d/k%d/n%d", m, k, n), func(t *testing.T) {
			kg := k / 4
			ncols := roundUp(n, QC4Cols)
			// Groups at random, possibly overlapping, offsets of one buffer.
			buf := randInt8s[uint8](rng, 4*ncols+4*kg*7+64)
			goff := make([]int, kg)
			for g := range goff {
				goff[g] = 4 * rng.IntN((len(buf)-4*ncols)/4)
			}
			b := make([]uint8, k*n)
			for p := 0; p < k; p++ {
				for j := 0; j < n; j++ {
					b[p*n+j] = buf[goff[p/4]+4*j+p%4]
				}
			}
			a := randInt8s[int8](rng, m*k)
			pa := PackQA(false, m, k, a, k, nil)
			ep := QEpilogue{PerRow: true, ZeroPoint: 7, Relu: true, Scale: make([]float32, m), Bias: make([]int32, m)}
			for i := range ep.Scale {
				ep.Scale[i] = 1 / float32(64+rng.IntN(4000))
				ep.Bias[i] = int32(rng.IntN(20000) - 10000)
			}
			zb := int32(rng.IntN(256))
			want := make([]uint8, m*n)
			QGemmPackedAThreads(1, pa, n, b, n, []int32{zb}, want, n, ep)
			// C rows ldc = n + 3 apart; the gaps must stay untouched.
			ldc := n + 3
			got := make([]uint8, m*ldc)
			for i := range got {
				got[i] = 0xa5
			}
			QGemmPackedAC4(pa, n, buf, goff, zb, got, ldc, ep)
			for i := 0; i < m; i++ {
				for j := 0; j < ldc; j++ {
					w := uint8(0xa5)
					if j < n {
						w = want[i*n+j]
					}
					if got[i*ldc+j] != w {
						t.Fatalf("C[%d][%d] = %d, want %d", i, j, got[i*ldc+j], w)
					}
				}
			}
		})
	}
	// Weights with a zero point are not for this path.
	if QC4Ready(PackQA(false, 2, 4, []int8{1, 2, 3, 4, 5, 6, 7, 8}, 4, []int32{0, 3})) {
		t.Error("QC4Ready with nonzero weight zero points")
	}
}
