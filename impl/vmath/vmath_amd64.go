//go:build amd64 && !purego

package vmath

import "github.com/frugal-ml/frugal/impl/cpu"

//go:noescape
func expAVX512(dst, src *float32, n int)

//go:noescape
func erfAVX512(dst, src *float32, n int)

//go:noescape
func geluAVX512(dst, src *float32, n int)

//go:noescape
func softmaxAVX512(dst, src *float32, rows, n int)

//go:noescape
func layerNormAVX512(y, x, gamma, beta *float32, rows, n int, invn, eps float32)

//go:noescape
func scaleInt32AVX512(dst *float32, acc *int32, mult, bias *float32, n int)

// The vector forms do the whole slice (masked tails) and return how many
// values (or rows) they did: 0 below AVX-512.

func expVec(dst, src []float32) int {
	if len(src) == 0 || cpu.Current() < cpu.AVX512 {
		return 0
	}
	_ = dst[len(src)-1]
	expAVX512(&dst[0], &src[0], len(src))
	return len(src)
}

func erfVec(dst, src []float32) int {
	if len(src) == 0 || cpu.Current() < cpu.AVX512 {
		return 0
	}
	_ = dst[len(src)-1]
	erfAVX512(&dst[0], &src[0], len(src))
	return len(src)
}

func geluVec(dst, src []float32) int {
	if len(src) == 0 || cpu.Current() < cpu.AVX512 {
		return 0
	}
	_ = dst[len(src)-1]
	geluAVX512(&dst[0], &src[0], len(src))
	return len(src)
}

func softmaxVec(dst, src []float32, n int) int {
	if len(src) == 0 || cpu.Current() < cpu.AVX512 {
		return 0
	}
	rows := len(src) / n
	_ = dst[rows*n-1]
	softmaxAVX512(&dst[0], &src[0], rows, n)
	return rows
}

func scaleInt32Vec(dst []float32, acc []int32, mult, bias []float32) int {
	if len(acc) == 0 || cpu.Current() < cpu.AVX512 {
		return 0
	}
	var bp *float32
	if bias != nil {
		bp = &bias[0]
	}
	scaleInt32AVX512(&dst[0], &acc[0], &mult[0], bp, len(acc))
	return len(acc)
}

func layerNormVec(y, x, g, b []float32, n int, eps float32) int {
	if len(x) < n || n == 0 || cpu.Current() < cpu.AVX512 {
		return 0
	}
	rows := len(x) / n
	_ = y[rows*n-1]
	layerNormAVX512(&y[0], &x[0], &g[0], &b[0], rows, n, 1/float32(n), eps)
	return rows
}
