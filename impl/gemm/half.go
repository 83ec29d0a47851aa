package gemm

import (
	"fmt"
	"math"
)

// IEEE binary16 storage: weights kept as fp16 halve their bytes; they are
// widened to float32 (F16C VCVTPH2PS where present) when packed, and the
// FP32 kernels run.

// HalfToFloat32 widens an IEEE half exactly.
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch exp {
	case 0:
		if man == 0 {
			return math.Float32frombits(sign)
		}
		// Subnormal: man * 2^-24.
		f := float32(man) * (1.0 / (1 << 24))
		return math.Float32frombits(sign | math.Float32bits(f))
	case 0x1f:
		if man != 0 { // NaN: quieted, like VCVTPH2PS
			return math.Float32frombits(sign | 0x7fc00000 | man<<13)
		}
		return math.Float32frombits(sign | 0x7f800000)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
}

// HalfFromFloat32 rounds f to the nearest IEEE half (ties to even),
// overflowing to infinity; NaNs stay NaN.
func HalfFromFloat32(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	a := b & 0x7fffffff
	switch {
	case a > 0x7f800000: // NaN: keep the top payload bits, force quiet
		return sign | 0x7e00 | uint16(a>>13)&0x1ff
	case a >= 0x477ff000: // >= 65520 rounds to infinity
		return sign | 0x7c00
	case a < 0x38800000: // below the smallest normal half 2^-14
		// Result is subnormal: round a*2^24 to an integer, ties to even.
		v := math.Float32frombits(a) * (1 << 24)
		return sign | uint16(math.RoundToEven(float64(v)))
	}
	// Normal: rebias the exponent and round the 13 dropped bits.
	h := (a - 0x38000000) >> 13
	rem := a & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++
	}
	return sign | uint16(h)
}

// HalfToFloat32s widens src into dst (F16C when available).
func HalfToFloat32s(dst []float32, src []uint16) {
	if len(dst) < len(src) {
		panic(fmt.Sprintf("gemm: HalfToFloat32s: dst has %d elements, want %d", len(dst), len(src)))
	}
	i := halfToFloat32sAsm(dst, src)
	for ; i < len(src); i++ {
		dst[i] = HalfToFloat32(src[i])
	}
}

// HalfFromFloat32s rounds src into dst (F16C when available).
func HalfFromFloat32s(dst []uint16, src []float32) {
	if len(dst) < len(src) {
		panic(fmt.Sprintf("gemm: HalfFromFloat32s: dst has %d elements, want %d", len(dst), len(src)))
	}
	i := halfFromFloat32sAsm(dst, src)
	for ; i < len(src); i++ {
		dst[i] = HalfFromFloat32(src[i])
	}
}

// PackBHalf packs op(B) given as IEEE halves (fp16 storage) for
// SgemmPacked: the values are widened exactly, so the result equals
// PackB of the widened matrix.
func PackBHalf(transB bool, k, n int, b []uint16, ldb int) *PackedB {
	checkQMat("B", transB, k, n, len(b), ldb)
	rows, cols := k, n
	if transB {
		rows, cols = n, k
	}
	f := make([]float32, rows*cols)
	for i := 0; i < rows; i++ {
		HalfToFloat32s(f[i*cols:(i+1)*cols], b[i*ldb:i*ldb+cols])
	}
	return PackB(transB, k, n, f, max(cols, 1))
}
