// Package convert holds the fast fp32 <-> fp16 / bf16 / int8 conversion
// kernels: the hot loops of mixed-precision storage and int8 quantization.
//
// Each kernel has a pure-Go version (always available, branch-light) and,
// on amd64, an assembly version (F16C VCVTPS2PH/VCVTPH2PS for fp16, AVX2
// integer rounding for bf16, AVX2 divide/round/pack for int8). The choice is
// made once at start-up from the CPU features; the `purego` build tag or the
// environment variable FRUGAL_NOASM=1 force pure Go, and SetImpl forces any
// available path (tests run every path against the minifloat / intq
// reference semantics).
//
// Semantics (bit-exact between all paths): round to nearest even; fp16
// overflow to ±Inf; subnormals kept (no flush to zero); int8 quantization is
// ONNX QuantizeLinear: saturate(roundHalfEven(x / scale) + zeroPoint), with
// NaN mapping to the zero point. NaN payloads are not specified: a NaN
// input gives some NaN of the same sign.
package convert

import (
	"fmt"
	"math"
	"os"
	"sort"
)

type kernels struct {
	f32ToF16  func(dst []uint16, src []float32)
	f16ToF32  func(dst []float32, src []uint16)
	f32ToBF16 func(dst []uint16, src []float32)
	bf16ToF32 func(dst []float32, src []uint16)
	quantI8   func(dst []int8, src []float32, scale float32, zp int32)
	quantU8   func(dst []uint8, src []float32, scale float32, zp int32)
	dequantI8 func(dst []float32, src []int8, scale float32, zp int32)
	dequantU8 func(dst []float32, src []uint8, scale float32, zp int32)
}

var (
	registry = map[string]kernels{"go": goKernels}
	current  kernels
	curName  string
)

var goKernels = kernels{f32ToF16Go, f16ToF32Go, f32ToBF16Go, bf16ToF32Go, quantI8Go, quantU8Go, dequantI8Go, dequantU8Go}

func init() {
	best := "go"
	if os.Getenv("FRUGAL_NOASM") != "1" {
		best = registerAsm(registry)
	}
	current, curName = registry[best], best
}

// Impls lists the kernel sets usable on this machine ("go" always).
func Impls() []string {
	var out []string
	for k := range registry {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Impl names the kernel set in use.
func Impl() string { return curName }

// SetImpl switches to a kernel set by name; it is meant for tests and
// benchmarks and is not safe to call concurrently with conversions.
func SetImpl(name string) error {
	k, ok := registry[name]
	if !ok {
		return fmt.Errorf("convert: kernel set %q not available here (have %v)", name, Impls())
	}
	current, curName = k, name
	return nil
}

func check(a, b int) {
	if a < b {
		panic(fmt.Sprintf("convert: destination length %d < source length %d", a, b))
	}
}

// F32ToF16 converts src to IEEE binary16 bit patterns.
func F32ToF16(dst []uint16, src []float32) { check(len(dst), len(src)); current.f32ToF16(dst, src) }

// F16ToF32 widens binary16 bit patterns (exact).
func F16ToF32(dst []float32, src []uint16) { check(len(dst), len(src)); current.f16ToF32(dst, src) }

// F32ToBF16 converts src to bfloat16 bit patterns.
func F32ToBF16(dst []uint16, src []float32) { check(len(dst), len(src)); current.f32ToBF16(dst, src) }

// BF16ToF32 widens bfloat16 bit patterns (exact).
func BF16ToF32(dst []float32, src []uint16) { check(len(dst), len(src)); current.bf16ToF32(dst, src) }

// QuantizeInt8 computes saturate(roundHalfEven(x/scale)+zp) into [-128,127].
func QuantizeInt8(dst []int8, src []float32, scale float32, zp int32) {
	check(len(dst), len(src))
	current.quantI8(dst, src, scale, zp)
}

// QuantizeUint8 computes saturate(roundHalfEven(x/scale)+zp) into [0,255].
func QuantizeUint8(dst []uint8, src []float32, scale float32, zp int32) {
	check(len(dst), len(src))
	current.quantU8(dst, src, scale, zp)
}

// DequantizeInt8 computes float32(q-zp)*scale.
func DequantizeInt8(dst []float32, src []int8, scale float32, zp int32) {
	check(len(dst), len(src))
	current.dequantI8(dst, src, scale, zp)
}

// DequantizeUint8 computes float32(q-zp)*scale.
func DequantizeUint8(dst []float32, src []uint8, scale float32, zp int32) {
	check(len(dst), len(src))
	current.dequantU8(dst, src, scale, zp)
}

// F32ToF16One converts one value (pure Go).
func F32ToF16One(f float32) uint16 { return f32ToF16(math.Float32bits(f)) }

// F16ToF32One widens one value (pure Go).
func F16ToF32One(h uint16) float32 { return math.Float32frombits(f16ToF32(h)) }

// F32ToBF16One converts one value (pure Go).
func F32ToBF16One(f float32) uint16 { return f32ToBF16(math.Float32bits(f)) }

// f32ToF16 is the rounding recipe of F. Giesen's float_to_half_fast3_rtne:
// the subnormal range is rounded by the FPU itself (adding a magic constant
// aligns the mantissa so the hardware's RNE does the work), the normal range
// by integer RNE (add 0xfff plus the odd bit).
func f32ToF16(f uint32) uint16 {
	const (
		f32Inf     = 255 << 23
		f16MaxExp  = (127 + 16) << 23
		denormMag  = ((127 - 15) + (23 - 10) + 1) << 23
		minNormExp = 113 << 23
	)
	sign := f & 0x80000000
	f ^= sign
	var o uint32
	switch {
	case f >= f16MaxExp:
		o = 0x7c00
		if f > f32Inf {
			o = 0x7e00 | (f>>13)&0x1ff
		}
	case f < minNormExp:
		v := math.Float32frombits(f) + math.Float32frombits(denormMag)
		o = math.Float32bits(v) - denormMag
	default:
		odd := (f >> 13) & 1
		f = f - (127-15)<<23 + 0xfff + odd
		o = f >> 13
	}
	return uint16(o | sign>>16)
}

func f16ToF32(h uint16) uint32 {
	const shiftedExp = 0x7c00 << 13
	o := uint32(h&0x7fff) << 13
	exp := o & shiftedExp
	o += (127 - 15) << 23
	switch exp {
	case shiftedExp:
		o += (128 - 16) << 23
	case 0:
		o += 1 << 23
		o = math.Float32bits(math.Float32frombits(o) - math.Float32frombits(113<<23))
	}
	return o | uint32(h&0x8000)<<16
}

func f32ToBF16(x uint32) uint16 {
	if x&0x7fffffff > 0x7f800000 {
		return uint16(x>>16) | 0x40
	}
	return uint16((x + 0x7fff + (x>>16)&1) >> 16)
}

func f32ToF16Go(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	for i, f := range src {
		dst[i] = f32ToF16(math.Float32bits(f))
	}
}

func f16ToF32Go(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	for i, h := range src {
		dst[i] = math.Float32frombits(f16ToF32(h))
	}
}

func f32ToBF16Go(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	for i, f := range src {
		dst[i] = f32ToBF16(math.Float32bits(f))
	}
}

func bf16ToF32Go(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	for i, h := range src {
		dst[i] = math.Float32frombits(uint32(h) << 16)
	}
}

// quantOne is the scalar definition the vector kernels reproduce.
func quantOne(x, scale float32, lo, hi float32) int32 {
	v := x / scale
	if v != v {
		v = 0
	}
	v = min(max(v, lo), hi)
	return int32(math.RoundToEven(float64(v)))
}

func quantI8Go(dst []int8, src []float32, scale float32, zp int32) {
	dst = dst[:len(src)]
	lo, hi := float32(-128-zp), float32(127-zp)
	for i, x := range src {
		dst[i] = int8(quantOne(x, scale, lo, hi) + zp)
	}
}

func quantU8Go(dst []uint8, src []float32, scale float32, zp int32) {
	dst = dst[:len(src)]
	lo, hi := float32(0-zp), float32(255-zp)
	for i, x := range src {
		dst[i] = uint8(quantOne(x, scale, lo, hi) + zp)
	}
}

func dequantI8Go(dst []float32, src []int8, scale float32, zp int32) {
	dst = dst[:len(src)]
	for i, q := range src {
		dst[i] = float32(int32(q)-zp) * scale
	}
}

func dequantU8Go(dst []float32, src []uint8, scale float32, zp int32) {
	dst = dst[:len(src)]
	for i, q := range src {
		dst[i] = float32(int32(q)-zp) * scale
	}
}
