package ops

import (
	"math"
	"testing"
)

// TestReluF32 checks the SIMD blocks and the tail against max(x, 0),
// NaN included, for every length up to 40.
func TestReluF32(t *testing.T) {
	for n := 0; n <= 40; n++ {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(i%7) - 3.5
		}
		if n > 20 {
			x[17] = float32(math.NaN())
		}
		out := make([]float32, n)
		ReluF32(x, out)
		for i, v := range x {
			want := max(v, 0)
			if out[i] != want && !(math.IsNaN(float64(out[i])) && math.IsNaN(float64(want))) {
				t.Fatalf("n=%d: relu(%v) = %v, want %v", n, v, out[i], want)
			}
		}
	}
}
