//go:build amd64 && !purego

package ops

import "github.com/frugal-ml/frugal/impl/cpu"

//go:noescape
func sumRowsAVX512(dst, src *float32, rows, n int)

// sumRows sets dst[i] to the sum of row i of src (len(dst) rows of n).
func sumRows(dst, src []float32, n int) {
	if len(dst) == 0 {
		return
	}
	if n == 0 || cpu.Current() < cpu.AVX512 {
		sumRowsGo(dst, src, n)
		return
	}
	_ = src[len(dst)*n-1]
	sumRowsAVX512(&dst[0], &src[0], len(dst), n)
}
