// Package minifloat implements parametric IEEE-754-like binary floating
// point formats: sign, ExpBits exponent bits with a bias, ManBits stored
// mantissa bits, subnormals. One implementation covers fp32, fp16, bf16,
// tf32 and the OCP 8-bit (E4M3, E5M2) and microscaling sub-byte element
// formats (E3M2, E2M3, E2M1), because they differ only in their field
// widths and in what the all-ones exponent means (see NaNStyle).
//
// This is the reference: exact, correctly rounded from float64, slow enough
// to be obviously right. The arith/convert package holds fast kernels for
// fp16/bf16 and is tested against this one.
package minifloat

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/arith/round"
)

// NaNStyle says how a format spends its top exponent code.
type NaNStyle uint8

const (
	// IEEE: the all-ones exponent encodes ±Inf (mantissa 0) and NaN.
	IEEE NaNStyle = iota
	// FN ("finite, NaN"): no infinities; only S.1111.111 is NaN, the rest of
	// the top binade holds normal numbers (OCP FP8 E4M3).
	FN
	// NoNaN: no infinities and no NaN; every code is a finite number (OCP
	// MX FP6 and FP4). Conversion always saturates.
	NoNaN
)

// Spec describes one minifloat format.
type Spec struct {
	Name    string
	ExpBits int // 1..11
	ManBits int // 0..52
	Bias    int
	NaN     NaNStyle
	// SaturateDefault is the overflow behaviour when the caller does not ask
	// for saturation: false means IEEE (overflow to ±Inf) for IEEE formats
	// and NaN for FN formats. NoNaN formats always saturate.
}

// The formats of the field. Bias values are from IEEE 754-2019 (fp32,
// fp16), Google brain float (bf16), NVIDIA TF32 and the OCP 8-bit floating
// point (v1.0) and Microscaling (MX v1.0) specifications.
var (
	FP32    = Spec{"fp32", 8, 23, 127, IEEE}
	FP16    = Spec{"fp16", 5, 10, 15, IEEE}
	BF16    = Spec{"bf16", 8, 7, 127, IEEE}
	TF32    = Spec{"tf32", 8, 10, 127, IEEE}
	E4M3    = Spec{"fp8_e4m3", 4, 3, 7, FN}
	E5M2    = Spec{"fp8_e5m2", 5, 2, 15, IEEE}
	E3M2    = Spec{"fp6_e3m2", 3, 2, 3, NoNaN}
	E2M3    = Spec{"fp6_e2m3", 2, 3, 1, NoNaN}
	E2M1    = Spec{"fp4_e2m1", 2, 1, 1, NoNaN}
	FP64acc = Spec{"fp64", 11, 52, 1023, IEEE}
)

// All lists the named formats, narrowest last.
var All = []Spec{FP32, TF32, BF16, FP16, E5M2, E4M3, E3M2, E2M3, E2M1}

// Bits is the code width: 1 + ExpBits + ManBits.
func (s Spec) Bits() int { return 1 + s.ExpBits + s.ManBits }

// Emin is the exponent of the smallest normal number.
func (s Spec) Emin() int { return 1 - s.Bias }

// Emax is the exponent of the largest finite binade.
func (s Spec) Emax() int {
	top := 1<<s.ExpBits - 1
	if s.NaN == IEEE {
		top--
	}
	return top - s.Bias
}

// MaxFinite is the largest finite magnitude.
func (s Spec) MaxFinite() float64 {
	m := 1<<s.ManBits - 1
	if s.NaN == FN {
		m-- // S.1111.111 is NaN
	}
	return math.Ldexp(float64(1<<s.ManBits+m), s.Emax()-s.ManBits)
}

// MinSubnormal is the smallest positive value.
func (s Spec) MinSubnormal() float64 { return math.Ldexp(1, s.Emin()-s.ManBits) }

// MinNormal is the smallest positive normal value.
func (s Spec) MinNormal() float64 { return math.Ldexp(1, s.Emin()) }

func (s Spec) signBit() uint32 { return 1 << (s.ExpBits + s.ManBits) }

// Mask covers the code bits.
func (s Spec) Mask() uint32 { return uint32(1)<<s.Bits() - 1 }

// HasNaN reports whether the format has a NaN encoding.
func (s Spec) HasNaN() bool { return s.NaN != NoNaN }

// HasInf reports whether the format has infinities.
func (s Spec) HasInf() bool { return s.NaN == IEEE }

// NaNCode is the canonical NaN (quiet, positive); for NoNaN formats it is
// the code of +0, which is what a NaN input encodes to there.
func (s Spec) NaNCode() uint32 {
	switch s.NaN {
	case IEEE:
		e := uint32(1<<s.ExpBits-1) << s.ManBits
		if s.ManBits == 0 {
			return e // degenerate; no NaN possible
		}
		return e | 1<<(s.ManBits-1)
	case FN:
		return s.signBit() - 1
	}
	return 0
}

// maxCode is the code of +MaxFinite.
func (s Spec) maxCode() uint32 {
	switch s.NaN {
	case IEEE:
		return uint32(1<<s.ExpBits-1)<<s.ManBits - 1
	case FN:
		return s.signBit() - 2
	}
	return s.signBit() - 1
}

// IsNaN reports whether code c is a NaN.
func (s Spec) IsNaN(c uint32) bool {
	c &= s.Mask() &^ s.signBit()
	switch s.NaN {
	case IEEE:
		return c > uint32(1<<s.ExpBits-1)<<s.ManBits
	case FN:
		return c == s.signBit()-1
	}
	return false
}

// Decode returns the exact value of code c (bits above Bits() are ignored).
// Every format in this package with ExpBits <= 8 and ManBits <= 23 is a
// subset of float32, so float32(Decode(c)) is exact for them.
func (s Spec) Decode(c uint32) float64 {
	c &= s.Mask()
	neg := c&s.signBit() != 0
	e := int(c>>s.ManBits) & (1<<s.ExpBits - 1)
	m := c & (1<<s.ManBits - 1)
	var v float64
	switch {
	case s.NaN == IEEE && e == 1<<s.ExpBits-1:
		if m != 0 {
			return math.NaN()
		}
		v = math.Inf(1)
	case s.NaN == FN && e == 1<<s.ExpBits-1 && m == 1<<s.ManBits-1:
		return math.NaN()
	case e == 0:
		v = math.Ldexp(float64(m), s.Emin()-s.ManBits)
	default:
		v = math.Ldexp(float64(1<<s.ManBits|m), e-s.Bias-s.ManBits)
	}
	if neg {
		v = -v
	}
	return v
}

// Decode32 is Decode rounded to float32 (exact for formats narrower than fp32).
func (s Spec) Decode32(c uint32) float32 { return float32(s.Decode(c)) }

// Encode rounds x to the nearest code under o.Mode; r are the random bits
// for stochastic rounding (see round.Options.R). Overflow follows the
// format: IEEE formats go to ±Inf (or to ±MaxFinite when truncating, as
// IEEE 754 roundTowardZero does), FN formats go to NaN, NoNaN formats and
// o.Saturate clamp to ±MaxFinite. NaN encodes to NaNCode (with the input's
// sign) or to 0 where no NaN exists.
func (s Spec) Encode(x float64, o round.Options, r uint64) uint32 {
	var sign uint32
	if math.Signbit(x) {
		sign = s.signBit()
	}
	if math.IsNaN(x) {
		if s.NaN == NoNaN {
			return 0
		}
		return sign | s.NaNCode()
	}
	a := math.Abs(x)
	if a == 0 {
		return sign
	}
	if math.IsInf(a, 0) {
		return sign | s.overflow(o, true)
	}
	_, fe := math.Frexp(a)
	exp := fe - 1
	if exp < s.Emin() {
		exp = s.Emin()
	}
	q := exp - s.ManBits
	n := round.Int(math.Ldexp(a, -q), o.Mode, r)
	if n == 0 {
		return sign
	}
	if v := math.Ldexp(n, q); v > s.MaxFinite() {
		return sign | s.overflow(o, false)
	}
	ni := uint64(n)
	if ni >= 2<<s.ManBits { // rounded up into the next binade
		ni >>= 1
		exp++
	}
	if ni < 1<<s.ManBits { // subnormal (exp == Emin)
		return sign | uint32(ni)
	}
	return sign | uint32(exp+s.Bias)<<s.ManBits | uint32(ni-1<<s.ManBits)
}

func (s Spec) overflow(o round.Options, inf bool) uint32 {
	if o.Saturate || s.NaN == NoNaN {
		return s.maxCode()
	}
	if o.Mode == round.TowardZero && !inf {
		return s.maxCode() // truncation never leaves the finite range
	}
	if s.NaN == IEEE {
		return uint32(1<<s.ExpBits-1) << s.ManBits
	}
	return s.NaNCode()
}

// Round returns x rounded to the format and decoded again (one fake-quant).
func (s Spec) Round(x float64, o round.Options, r uint64) float64 {
	return s.Decode(s.Encode(x, o, r))
}

// Next returns the code of the next larger magnitude after the positive
// finite code c (c must be < maxCode).
func (s Spec) Next(c uint32) uint32 { return c + 1 }

// MaxCode exposes the code of +MaxFinite.
func (s Spec) MaxCode() uint32 { return s.maxCode() }

// String describes the layout, e.g. "fp8_e4m3 (1.4.3 bias 7, FN)".
func (s Spec) String() string {
	st := [...]string{"IEEE", "FN", "no NaN/Inf"}[s.NaN]
	return fmt.Sprintf("%s (1.%d.%d bias %d, %s)", s.Name, s.ExpBits, s.ManBits, s.Bias, st)
}

// Quantize fake-quantizes src into dst (dst may alias src): each element is
// encoded and decoded; element i uses random bits o.R(i).
func (s Spec) Quantize(dst, src []float32, o round.Options) {
	for i, x := range src {
		dst[i] = float32(s.Decode(s.Encode(float64(x), o, o.R(i))))
	}
}

// EncodeSlice encodes src into codes.
func (s Spec) EncodeSlice(codes []uint32, src []float32, o round.Options) {
	for i, x := range src {
		codes[i] = s.Encode(float64(x), o, o.R(i))
	}
}
