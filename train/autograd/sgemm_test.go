package autograd

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/impl/ref"
)

func TestSgemmGoMatchesRef(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, sz := range [][3]int{{1, 1, 1}, {3, 5, 7}, {6, 25, 784}, {4, 4, 0}, {7, 9, 3}} {
		m, n, k := sz[0], sz[1], sz[2]
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			for _, beta := range []float32{0, 1, 0.5} {
				a := make([]float32, m*k+3)
				b := make([]float32, n*k+3)
				c := make([]float32, m*n+3)
				for i := range a {
					a[i] = float32(r.NormFloat64())
				}
				for i := range b {
					b[i] = float32(r.NormFloat64())
				}
				for i := range c {
					c[i] = float32(r.NormFloat64())
				}
				c2 := append([]float32(nil), c...)
				lda, ldb := k, n
				if tr[0] {
					lda = m
				}
				if tr[1] {
					ldb = k
				}
				ref.Sgemm(tr[0], tr[1], m, n, k, 1.5, a, lda, b, ldb, beta, c, n)
				sgemmGo(tr[0], tr[1], m, n, k, 1.5, a, lda, b, ldb, beta, c2, n)
				for i := range c {
					if math.Abs(float64(c[i]-c2[i])) > 1e-4*(1+math.Abs(float64(c[i]))) {
						t.Fatalf("%v %v beta %v: c[%d] %v vs %v", sz, tr, beta, i, c2[i], c[i])
					}
				}
			}
		}
	}
}
