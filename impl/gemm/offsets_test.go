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

// SgemmPackedAOffsetsCols must equal SgemmPackedAThreads on B materialized
// through the column map, for maps narrower and wider than a panel, with
// and without the assembly packers, panels ending flush with the source.
func TestSgemmPackedAOffsetsCols(t *testing.T) {
	oldMin := minMACsPerThread
	defer func() { minMACsPerThread = oldMin }()
	minMACsPerThread = 100
	forEachLevel(t, func(t *testing.T, kn *fkern) {
		rng := rand.New(rand.NewPCG(23, uint64(kn.mr)))
		for _, sz := range [][4]int{{112, 113, 5, 27}, {56, 57, 9, 40}, {33, 35, 7, 20}, {7, 9, 4, 12}, {31, 40, 3, 9}, {40, 41, 2, 9}, {1, 3, 6, 5}} {
			ow, wq, rows, k := sz[0], sz[1], sz[2], sz[3]
			n := rows * ow
			for _, asm := range []bool{true, false} {
				t.Run(fmt.Sprintf("ow%d/wq%d/rows%d/k%d/asm=%v", ow, wq, rows, k, asm), func(t *testing.T) {
					defer func(v bool) { noAsmPack = v }(noAsmPack)
					noAsmPack = !asm
					span := (rows-1)*wq + ow
					src := make([]float32, span+k*3)
					for i := range src {
						src[i] = float32(rng.NormFloat64())
					}
					off := make([]int, k)
					for p := range off {
						off[p] = rng.IntN(len(src) - span + 1)
					}
					off[k-1] = len(src) - span // the last row ends flush
					m := 20
					a := make([]float32, m*k)
					for i := range a {
						a[i] = float32(rng.NormFloat64())
					}
					pa := PackA(false, m, k, a, k)
					b := make([]float32, k*n)
					for p, o := range off {
						for j := 0; j < n; j++ {
							b[p*n+j] = src[o+j/ow*wq+j%ow]
						}
					}
					ep := Epilogue{Act: ActRelu}
					want := make([]float32, m*n)
					got := make([]float32, m*n)
					SgemmPackedAThreads(2, pa, n, b, n, want, n, ep)
					SgemmPackedAOffsetsCols(2, pa, n, src, off, ow, wq, got, n, ep)
					for i := range want {
						if math.Abs(float64(got[i]-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
							t.Fatalf("C[%d][%d] = %v, want %v", i/n, i%n, got[i], want[i])
						}
					}
				})
			}
		}
	})
}
