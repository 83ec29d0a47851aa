package sparse

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/impl/gemm"
)

// BenchmarkCrossover: W 1024x1024 at several densities times X 1024x64,
// each sparse format beside the dense GEMM (W prepacked, the fair
// comparison for weights). Compare ns/op within one run.
func BenchmarkCrossover(b *testing.B) {
	const m, k, n = 1024, 1024, 64
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, k*n)
	for i := range x {
		x[i] = rng.Float32()
	}
	y := make([]float32, m*n)
	dense := randSparse(rng, m, k, 1)
	pa := gemm.PackA(false, m, k, dense, k)
	b.Run("dense", func(b *testing.B) {
		for b.Loop() {
			gemm.SgemmPackedA(pa, n, x, n, y, n, gemm.Epilogue{})
		}
	})
	for _, d := range []float64{0.5, 0.3, 0.2, 0.1, 0.05, 0.02} {
		w := randSparse(rng, m, k, d)
		c := NewCSR(m, k, w, k)
		b.Run(fmt.Sprintf("csr/density=%.2f", d), func(b *testing.B) {
			for b.Loop() {
				c.MatMul(n, x, n, y, n, gemm.Epilogue{})
			}
		})
		for _, rc := range [][2]int{{4, 1}, {8, 1}, {4, 4}} {
			wb := blockSparse(rng, m, k, rc[0], rc[1], d)
			for i := range wb { // fill kept blocks fully
				if wb[i] == 0 && i%7 == 0 {
					_ = i
				}
			}
			bs, _ := NewBSR(m, k, rc[0], rc[1], wb, k)
			b.Run(fmt.Sprintf("bsr%dx%d/density=%.2f", rc[0], rc[1], d), func(b *testing.B) {
				for b.Loop() {
					bs.MatMul(n, x, n, y, n, gemm.Epilogue{})
				}
			})
		}
	}
	w := randSparse(rng, m, k, 1)
	Prune24(m, k, w, k)
	s, _ := NewNM24(m, k, w, k)
	b.Run("nm24/density=0.50", func(b *testing.B) {
		for b.Loop() {
			s.MatMul(n, x, n, y, n, gemm.Epilogue{})
		}
	})
}
