// Package lns implements a logarithmic number system: a sign bit and a
// two's complement fixed-point log2 of the magnitude with F fraction bits,
// B bits in all. Multiplication is exact addition of logs, which is why
// LNS hardware is cheap for multiply-heavy work; addition needs the
// Gaussian logarithm log2(1 + 2^d) and is rounded.
//
// Code layout: bit B-1 is the sign; the low B-1 bits are L, the log2
// magnitude times 2^F. The most negative L encodes zero (with sign 0) and
// NaN (with sign 1). Rounding is done in the log domain: round-to-nearest
// picks the nearest log (ties, which only arise at the geometric mean of
// neighbours, go to even L), toward-zero floors the log, and stochastic
// rounding picks between neighbours with probability proportional to the
// linear distance, so that it stays unbiased in value. Magnitudes beyond
// the range saturate; magnitudes whose log rounds below the smallest code
// become zero.
package lns

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/arith/round"
)

// Format is lns<B>_<F>.
type Format struct {
	B, F int
}

// New validates 2 <= B <= 32 and 0 <= F <= B-2.
func New(b, f int) (Format, error) {
	if b < 2 || b > 32 || f < 0 || f > b-2 {
		return Format{}, fmt.Errorf("lns: %d bits with %d fraction bits: want 2 <= B <= 32, 0 <= F <= B-2", b, f)
	}
	return Format{b, f}, nil
}

// DefaultFrac is the fraction width lns<B> uses when none is given: the
// integer part of the log keeps 4 bits with its sign up to B = 8 (range
// 2^±8) and 5 bits beyond (range 2^±16), or all bits for tiny B.
func DefaultFrac(b int) int {
	ib := 4
	if b > 8 {
		ib = 5
	}
	return max(b-1-ib, 0)
}

// Name is lns<B>_<F>.
func (f Format) Name() string { return fmt.Sprintf("lns%d_%d", f.B, f.F) }

func (f Format) lRange() (lo, hi int64) {
	hi = int64(1)<<(f.B-2) - 1
	return -hi, hi // -hi-1 is reserved for zero/NaN
}

func (f Format) zeroL() int64 { return -(int64(1) << (f.B - 2)) }

// Mask covers the code bits.
func (f Format) Mask() uint32 { return uint32(uint64(1)<<f.B - 1) }

func (f Format) code(neg bool, l int64) uint32 {
	c := uint32(l) & (f.Mask() >> 1)
	if neg {
		c |= 1 << (f.B - 1)
	}
	return c
}

// ZeroCode and NaNCode are the two special codes.
func (f Format) ZeroCode() uint32 { return f.code(false, f.zeroL()) }
func (f Format) NaNCode() uint32  { return f.code(true, f.zeroL()) }

// L returns the sign and log code of c.
func (f Format) L(c uint32) (neg bool, l int64) {
	s := 64 - (f.B - 1)
	l = int64(uint64(c&(f.Mask()>>1))<<s) >> s
	return c>>(f.B-1)&1 != 0, l
}

// Decode returns ±2^(L/2^F), 0 or NaN.
func (f Format) Decode(c uint32) float64 {
	neg, l := f.L(c)
	if l == f.zeroL() {
		if neg {
			return math.NaN()
		}
		return 0
	}
	v := math.Exp2(float64(l) / float64(int64(1)<<f.F))
	if neg {
		v = -v
	}
	return v
}

// Encode rounds x to the nearest code in the log domain (see package doc).
func (f Format) Encode(x float64, o round.Options, r uint64) uint32 {
	if math.IsNaN(x) {
		return f.NaNCode()
	}
	if x == 0 {
		return f.ZeroCode()
	}
	neg := x < 0
	a := math.Abs(x)
	lo, hi := f.lRange()
	t := math.Log2(a) * float64(int64(1)<<f.F)
	if t >= float64(hi) || math.IsInf(a, 0) {
		return f.code(neg, hi)
	}
	var l float64
	switch o.Mode {
	case round.TowardZero:
		l = math.Floor(t)
	case round.Stochastic:
		l = math.Floor(t)
		vlo := math.Exp2(l / float64(int64(1)<<f.F))
		vhi := math.Exp2((l + 1) / float64(int64(1)<<f.F))
		if l < float64(lo) {
			vlo = 0
			l = float64(lo) - 1
		}
		if round.Up((a-vlo)/(vhi-vlo), r) {
			l++
		}
	default:
		l = math.RoundToEven(t)
	}
	if l < float64(lo) {
		return f.ZeroCode()
	}
	return f.code(neg, int64(l))
}

// Quantize fake-quantizes src into dst.
func (f Format) Quantize(dst, src []float32, o round.Options) {
	for i, x := range src {
		dst[i] = float32(f.Decode(f.Encode(float64(x), o, o.R(i))))
	}
}

// Mul multiplies two codes exactly (log addition, saturating).
func (f Format) Mul(a, b uint32) uint32 {
	na, la := f.L(a)
	nb, lb := f.L(b)
	z := f.zeroL()
	if (la == z && na) || (lb == z && nb) {
		return f.NaNCode()
	}
	if la == z || lb == z {
		return f.ZeroCode()
	}
	lo, hi := f.lRange()
	l := la + lb
	if l < lo {
		return f.ZeroCode()
	}
	return f.code(na != nb, min(l, hi))
}
