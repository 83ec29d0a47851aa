package sparse

import (
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/impl/gemm"
)

func BenchmarkCSR10(b *testing.B) {
	const m, k, n = 1024, 1024, 64
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, k*n)
	y := make([]float32, m*n)
	w := randSparse(rng, m, k, 0.1)
	c := NewCSR(m, k, w, k)
	gemm.SetThreads(1)
	defer gemm.SetThreads(0)
	for b.Loop() {
		c.MatMul(n, x, n, y, n, gemm.Epilogue{})
	}
	b.ReportMetric(float64(c.NNZ())*n*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
}
