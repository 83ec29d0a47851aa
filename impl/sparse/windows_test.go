package sparse

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/impl/gemm"
)

// MatMulWindows equals MatMul on the explicit matrix X[k][j] = x[k+j]
// (same kernels, same order: bit for bit), on every dispatch level, with
// guards around Y.
func TestMatMulWindows(t *testing.T) {
	old := minPerSlab
	defer func() { minPerSlab = old }()
	for _, mps := range []float64{0, 1e9} { // K slabs always / never (CSR)
		minPerSlab = mps
		forEachLevel(t, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 3))
			for _, mk := range [][2]int{{1, 1}, {7, 13}, {16, 64}, {37, 100}} {
				m, k := mk[0], mk[1]
				for _, n := range []int{1, 15, 16, 17, 48, 49, 64, 65, 130} {
					x := make([]float32, k-1+n)
					for i := range x {
						x[i] = float32(rng.IntN(17)-8) / 8
					}
					xe := make([]float32, k*n)
					for p := 0; p < k; p++ {
						copy(xe[p*n:(p+1)*n], x[p:p+n])
					}
					type mat interface {
						MatMul(n int, x []float32, ldx int, y []float32, ldy int, ep gemm.Epilogue)
						MatMulWindows(n int, x []float32, y []float32, ldy int, ep gemm.Epilogue)
					}
					var mats []mat
					var names []string
					w := randSparse(rng, m, k, 0.3)
					mats = append(mats, NewCSR(m, k, w, k))
					names = append(names, "CSR")
					for _, r := range []int{1, 2, 4, 8} {
						b, err := NewBSR(m, k, r, 1, blockSparse(rng, m, k, r, 1, 0.4), k)
						if err != nil {
							t.Fatal(err)
						}
						mats = append(mats, b)
						names = append(names, fmt.Sprintf("BSR%dx1", r))
					}
					for i, a := range mats {
						ldy := n + rng.IntN(3)
						ep := gemm.Epilogue{Beta: float32(rng.IntN(2)), RowBias: make([]float32, m), Act: gemm.ActRelu}
						for j := range ep.RowBias {
							ep.RowBias[j] = float32(j%3) - 1
						}
						const g = 16
						ny := (m-1)*ldy + n
						want := make([]float32, ny)
						buf := make([]float32, ny+2*g)
						for j := range buf {
							buf[j] = -7777
						}
						y := buf[g : g+ny : g+ny]
						for r := 0; r < m; r++ {
							for j := 0; j < n; j++ {
								y[r*ldy+j] = float32(rng.IntN(5) - 2)
								want[r*ldy+j] = y[r*ldy+j]
							}
						}
						a.MatMul(n, xe, n, want, ldy, ep)
						a.MatMulWindows(n, x, y, ldy, ep)
						for j, v := range buf {
							rel := j - g
							if rel < 0 || rel >= ny || rel%ldy >= n {
								if v != -7777 {
									t.Fatalf("%s m=%d k=%d n=%d: guard %d overwritten", names[i], m, k, n, rel)
								}
								continue
							}
							if v != want[rel] {
								t.Fatalf("%s m=%d k=%d n=%d: Y[%d] = %v, want %v", names[i], m, k, n, rel, v, want[rel])
							}
						}
					}
				}
			}
		})
	}
}

func TestMatMulWindowsChecks(t *testing.T) {
	c := NewCSR(2, 4, []float32{1, 0, 0, 2, 0, 3, 0, 0}, 4)
	windowsMustPanic(t, "short x", func() { c.MatMulWindows(5, make([]float32, 7), make([]float32, 10), 5, gemm.Epilogue{}) })
	b, _ := NewBSR(2, 4, 2, 2, []float32{1, 0, 0, 2, 0, 3, 0, 0}, 4)
	windowsMustPanic(t, "2x2 blocks", func() { b.MatMulWindows(1, make([]float32, 4), make([]float32, 2), 1, gemm.Epilogue{}) })
	c.MatMulWindows(5, make([]float32, 8), make([]float32, 10), 5, gemm.Epilogue{})
}

func windowsMustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", what)
		}
	}()
	f()
}
