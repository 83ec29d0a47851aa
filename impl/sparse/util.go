package sparse

import "math"

var inf = math.Inf(1)

func fma32(x, y, z float32) float32 {
	return float32(math.FMA(float64(x), float64(y), float64(z)))
}
