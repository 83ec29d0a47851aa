package gemm

import (
	"math/rand/v2"
	"testing"
)

// RequantizeRows equals the scalar Requantize on every dispatch level, for
// both output types, odd sizes, row bias, Relu and a clamp.
func TestRequantizeRows(t *testing.T) {
	forEachQLevel(t, func(t *testing.T, kn *qkern) {
		r := rand.New(rand.NewPCG(6, 6))
		for _, sz := range [][2]int{{1, 1}, {3, 17}, {5, 64}, {7, 33}, {2, 200}} {
			rows, cols := sz[0], sz[1]
			acc := make([]int32, rows*cols)
			for i := range acc {
				acc[i] = int32(r.IntN(200000) - 100000)
			}
			bias := make([]int32, rows)
			scale := make([]float64, rows)
			for i := range bias {
				bias[i] = int32(r.IntN(20000) - 10000)
				scale[i] = 0.0001 + 0.002*r.Float64()
			}
			for _, ep := range []QEpilogue{{ZeroPoint: 3}, {ZeroPoint: 10, Relu: true}, {ZeroPoint: 0, Clamp: true, Lo: -20, Hi: 90}} {
				u := make([]uint8, rows*cols+1)
				s := make([]int8, rows*cols+1)
				u[rows*cols], s[rows*cols] = 77, 77
				RequantizeRows(acc, rows, cols, bias, scale, ep, u[:rows*cols])
				RequantizeRows(acc, rows, cols, bias, scale, ep, s[:rows*cols])
				if u[rows*cols] != 77 || s[rows*cols] != 77 {
					t.Fatal("wrote past the output")
				}
				for i := 0; i < rows; i++ {
					for j := 0; j < cols; j++ {
						v := acc[i*cols+j] + bias[i]
						_, ulo, uhi := outRange[uint8](&ep)
						_, slo, shi := outRange[int8](&ep)
						if want := Requantize(v, scale[i], ep.ZeroPoint, ulo, uhi); int32(u[i*cols+j]) != want {
							t.Fatalf("%dx%d %+v uint8 [%d,%d] = %d, want %d", rows, cols, ep, i, j, u[i*cols+j], want)
						}
						if want := Requantize(v, scale[i], ep.ZeroPoint, slo, shi); int32(s[i*cols+j]) != want {
							t.Fatalf("%dx%d %+v int8 [%d,%d] = %d, want %d", rows, cols, ep, i, j, s[i*cols+j], want)
						}
					}
				}
			}
		}
	})
}
