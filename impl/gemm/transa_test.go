package gemm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSgemmPackedTransACols checks column ranges (starting inside a panel
// or on one) of the turned-around GEMM against a float64 reference, with a
// column bias and a clamp; columns outside the range must stay untouched.
func TestSgemmPackedTransACols(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, s := range [][3]int{{49, 160, 96}, {13, 48, 7}, {30, 80, 600}, {1, 16, 3}} {
		m, n, k := s[0], s[1], s[2]
		at := make([]float32, k*m) // A^T, k x m
		bm := make([]float32, k*n)
		bias := make([]float32, n)
		for _, v := range [][]float32{at, bm, bias} {
			for i := range v {
				v[i] = float32(r.NormFloat64())
			}
		}
		pb := PackB(false, k, n, bm, n)
		vec := pb.Vec()
		for n0 := 0; n0 < n; n0 += vec {
			for n1 := n0 + 1; n1 <= n; n1 += vec {
				c := make([]float32, m*n)
				for i := range c {
					c[i] = 7
				}
				SgemmPackedTransACols(m, at, m, pb, n0, n1, c, n, Epilogue{ColBias: bias, Act: ActClip, Min: -1, Max: 2})
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						got := c[i*n+j]
						if j < n0 || j >= n1 {
							if got != 7 {
								t.Fatalf("%v [%d,%d): c[%d][%d] written", s, n0, n1, i, j)
							}
							continue
						}
						var want float64
						for p := 0; p < k; p++ {
							want += float64(at[p*m+i]) * float64(bm[p*n+j])
						}
						want = math.Min(math.Max(want+float64(bias[j]), -1), 2)
						if math.Abs(float64(got)-want) > 1e-4*(1+math.Abs(want))*math.Sqrt(float64(k)) {
							t.Fatalf("%v [%d,%d): c[%d][%d] = %v, want %v", s, n0, n1, i, j, got, want)
						}
					}
				}
			}
		}
	}
}

// TestSgemmPackedCols is TestSgemmPackedTransACols for a plain row-major A.
func TestSgemmPackedCols(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, s := range [][3]int{{49, 160, 96}, {13, 48, 7}, {30, 80, 600}, {1, 16, 3}} {
		m, n, k := s[0], s[1], s[2]
		a := make([]float32, m*k)
		bm := make([]float32, k*n)
		bias := make([]float32, n)
		for _, v := range [][]float32{a, bm, bias} {
			for i := range v {
				v[i] = float32(r.NormFloat64())
			}
		}
		pb := PackB(false, k, n, bm, n)
		vec := pb.Vec()
		for n0 := 0; n0 < n; n0 += vec {
			for n1 := n0 + 1; n1 <= n; n1 += vec {
				c := make([]float32, m*n)
				for i := range c {
					c[i] = 7
				}
				SgemmPackedCols(m, a, k, pb, n0, n1, c, n, Epilogue{ColBias: bias, Act: ActClip, Min: -1, Max: 2, Beta: 1})
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						got := c[i*n+j]
						if j < n0 || j >= n1 {
							if got != 7 {
								t.Fatalf("%v [%d,%d): c[%d][%d] written", s, n0, n1, i, j)
							}
							continue
						}
						want := 7.0
						for p := 0; p < k; p++ {
							want += float64(a[i*k+p]) * float64(bm[p*n+j])
						}
						want = math.Min(math.Max(want+float64(bias[j]), -1), 2)
						if math.Abs(float64(got)-want) > 1e-4*(1+math.Abs(want))*math.Sqrt(float64(k)) {
							t.Fatalf("%v [%d,%d): c[%d][%d] = %v, want %v", s, n0, n1, i, j, got, want)
						}
					}
				}
			}
		}
	}
}
