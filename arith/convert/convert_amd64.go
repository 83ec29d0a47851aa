//go:build amd64 && !purego

package convert

import "github.com/frugal-ml/frugal/arith/internal/cpu"

// Assembly kernels process n elements, n a multiple of 16; Go finishes the tail.
//
//go:noescape
func f32ToF16F16C(dst *uint16, src *float32, n int)

//go:noescape
func f16ToF32F16C(dst *float32, src *uint16, n int)

//go:noescape
func f32ToBF16AVX2(dst *uint16, src *float32, n int)

//go:noescape
func bf16ToF32AVX2(dst *float32, src *uint16, n int)

//go:noescape
func quantI8AVX2(dst *int8, src *float32, n int, scale, lo, hi float32, zp int32)

//go:noescape
func quantU8AVX2(dst *uint8, src *float32, n int, scale, lo, hi float32, zp int32)

//go:noescape
func dequantI8AVX2(dst *float32, src *int8, n int, scale float32, zp int32)

//go:noescape
func dequantU8AVX2(dst *float32, src *uint8, n int, scale float32, zp int32)

//go:noescape
func dequantI8AVX512(dst *float32, src *int8, n int, scale float32, zp int32)

//go:noescape
func dequantU8AVX512(dst *float32, src *uint8, n int, scale float32, zp int32)

func registerAsm(r map[string]kernels) string {
	if !(cpu.AVX2 && cpu.F16C) {
		return "go"
	}
	r["avx2"] = kernels{
		f32ToF16: func(dst []uint16, src []float32) {
			n := len(src) &^ 15
			if n > 0 {
				f32ToF16F16C(&dst[0], &src[0], n)
			}
			f32ToF16Go(dst[n:], src[n:])
		},
		f16ToF32: func(dst []float32, src []uint16) {
			n := len(src) &^ 15
			if n > 0 {
				f16ToF32F16C(&dst[0], &src[0], n)
			}
			f16ToF32Go(dst[n:], src[n:])
		},
		f32ToBF16: func(dst []uint16, src []float32) {
			n := len(src) &^ 15
			if n > 0 {
				f32ToBF16AVX2(&dst[0], &src[0], n)
			}
			f32ToBF16Go(dst[n:], src[n:])
		},
		bf16ToF32: func(dst []float32, src []uint16) {
			n := len(src) &^ 15
			if n > 0 {
				bf16ToF32AVX2(&dst[0], &src[0], n)
			}
			bf16ToF32Go(dst[n:], src[n:])
		},
		quantI8: func(dst []int8, src []float32, scale float32, zp int32) {
			n := len(src) &^ 15
			if n > 0 {
				quantI8AVX2(&dst[0], &src[0], n, scale, float32(-128-zp), float32(127-zp), zp)
			}
			quantI8Go(dst[n:], src[n:], scale, zp)
		},
		quantU8: func(dst []uint8, src []float32, scale float32, zp int32) {
			n := len(src) &^ 15
			if n > 0 {
				quantU8AVX2(&dst[0], &src[0], n, scale, float32(-zp), float32(255-zp), zp)
			}
			quantU8Go(dst[n:], src[n:], scale, zp)
		},
		dequantI8: func(dst []float32, src []int8, scale float32, zp int32) {
			n := len(src) &^ 15
			if n > 0 {
				dequantI8AVX2(&dst[0], &src[0], n, scale, zp)
			}
			dequantI8Go(dst[n:], src[n:], scale, zp)
		},
		dequantU8: func(dst []float32, src []uint8, scale float32, zp int32) {
			n := len(src) &^ 15
			if n > 0 {
				dequantU8AVX2(&dst[0], &src[0], n, scale, zp)
			}
			dequantU8Go(dst[n:], src[n:], scale, zp)
		},
	}
	if !cpu.AVX512F {
		return "avx2"
	}
	// AVX-512: the AVX2 set with 16-lane dequantization (the int8
	// depthwise path widens every input code through it).
	k := r["avx2"]
	k.dequantI8 = func(dst []float32, src []int8, scale float32, zp int32) {
		n := len(src) &^ 15
		if n > 0 {
			dequantI8AVX512(&dst[0], &src[0], n, scale, zp)
		}
		dequantI8Go(dst[n:], src[n:], scale, zp)
	}
	k.dequantU8 = func(dst []float32, src []uint8, scale float32, zp int32) {
		n := len(src) &^ 15
		if n > 0 {
			dequantU8AVX512(&dst[0], &src[0], n, scale, zp)
		}
		dequantU8Go(dst[n:], src[n:], scale, zp)
	}
	r["avx512"] = k
	return "avx512"
}
