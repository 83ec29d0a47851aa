//go:build amd64 && !purego

package ops

import "github.com/frugal-ml/frugal/impl/cpu"

//go:noescape
func reluAVX512(dst, src *float32, n int)

// reluVec does the whole 16-value blocks of ReluF32 with AVX-512 and
// returns how many values it did.
func reluVec(x, out []float32) int {
	n := len(x) &^ 15
	if n == 0 || cpu.Current() < cpu.AVX512 {
		return 0
	}
	_ = out[n-1]
	reluAVX512(&out[0], &x[0], n)
	return n
}
