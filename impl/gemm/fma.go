package gemm

import "math"

// fma32 returns x*y+z rounded once to float32.
func fma32(x, y, z float32) float32 {
	return float32(math.FMA(float64(x), float64(y), float64(z)))
}
