package ops

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSumRows checks the SIMD row sums (every tail length, 1 to 3 rows)
// against float64 sums, and the Go fallback likewise.
func TestSumRows(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for n := 0; n <= 70; n++ {
		for rows := 1; rows <= 3; rows++ {
			src := make([]float32, rows*n+1) // one extra value the sums must not read
			for i := range src {
				src[i] = float32(r.NormFloat64())
			}
			src[len(src)-1] = 1e30
			got := make([]float32, rows)
			goSum := make([]float32, rows)
			sumRows(got, src[:rows*n], n)
			sumRowsGo(goSum, src[:rows*n], n)
			for i := 0; i < rows; i++ {
				var want float64
				for _, v := range src[i*n : (i+1)*n] {
					want += float64(v)
				}
				for name, v := range map[string]float32{"simd": got[i], "go": goSum[i]} {
					if math.Abs(float64(v)-want) > 1e-5*(1+math.Abs(want))*float64(n+1) {
						t.Fatalf("%s n=%d row %d: %v, want %v", name, n, i, v, want)
					}
				}
			}
		}
	}
}

func BenchmarkGlobalAvgPool(b *testing.B) {
	x := make([]float32, 1280*49)
	out := make([]float32, 1280)
	for _, th := range []int{1, 2} {
		b.Run(map[int]string{1: "t1", 2: "t2"}[th], func(b *testing.B) {
			for b.Loop() {
				globalAvgPool(th, x, out, 49)
			}
		})
	}
}
