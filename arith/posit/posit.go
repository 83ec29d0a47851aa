// Package posit implements posit<n,es> arithmetic formats (Gustafson's
// type III unums) for 2 <= n <= 32 and 0 <= es <= 4, following the 2022
// Standard for Posit Arithmetic: es = 2 is the standard's choice for every
// n; other es values are the pre-2022 drafts' and remain useful in
// research, so they are supported too.
//
// A posit is a sign, a run-length-encoded regime k, up to es exponent bits
// and a fraction; its value is (-1)^s * 2^(k*2^es + e) * 1.f, and negation is
// two's complement of the whole code. There is one zero, one NaR (not a
// real, 100...0), no overflow to infinity and no underflow to zero: values
// beyond maxpos round to maxpos and tiny non-zero values to minpos.
//
// Rounding is defined, as in the standard, on the bit string: a real that
// lies between two adjacent n-bit posits is compared with the (n+1)-bit
// posit between them; ties go to the posit whose last bit is 0. When the
// regime leaves no room for all exponent bits this midpoint is not the
// arithmetic mean, which is deliberate (it keeps rounding monotone in
// the code).
//
// The Quire type is the standard's exact accumulator (16n bits for es = 2)
// for fused dot products: sums of products are exact and rounded once.
package posit

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/frugal-ml/frugal/arith/round"
)

// Config is one posit format.
type Config struct {
	N, ES int
}

// New validates n and es.
func New(n, es int) (Config, error) {
	if n < 2 || n > 32 {
		return Config{}, fmt.Errorf("posit: n = %d out of range 2..32", n)
	}
	if es < 0 || es > 4 {
		return Config{}, fmt.Errorf("posit: es = %d out of range 0..4", es)
	}
	return Config{n, es}, nil
}

// Standard 2022 formats.
var (
	Posit8  = Config{8, 2}
	Posit16 = Config{16, 2}
	Posit32 = Config{32, 2}
)

// Name is posit<N>_<ES>.
func (c Config) Name() string { return fmt.Sprintf("posit%d_%d", c.N, c.ES) }

// Mask covers the n code bits.
func (c Config) Mask() uint32 { return uint32(uint64(1)<<c.N - 1) }

// NaR is the code of Not-a-Real.
func (c Config) NaR() uint32 { return 1 << (c.N - 1) }

// MaxPos is the code of the largest positive posit.
func (c Config) MaxPos() uint32 { return c.NaR() - 1 }

// MaxScale is log2(maxpos) = (n-2) * 2^es; minpos = 2^-MaxScale.
func (c Config) MaxScale() int { return (c.N - 2) << c.ES }

// Decode returns the exact value (NaN for NaR). float64 holds every posit
// value here exactly: at most 29 fraction bits and |scale| <= 480.
func (c Config) Decode(p uint32) float64 { return decode(c.N, c.ES, uint64(p)) }

// decode works for n up to 63, which the tests use to build (n+1)-bit midpoints.
func decode(n, es int, p uint64) float64 {
	mask := uint64(1)<<n - 1
	p &= mask
	if p == 0 {
		return 0
	}
	if p == 1<<(n-1) {
		return math.NaN()
	}
	neg := p>>(n-1) != 0
	if neg {
		p = -p & mask
	}
	neg2, scale, frac := fields(n, es, p)
	_ = neg2
	v := math.Ldexp(1+float64(frac>>11)/(1<<53), scale)
	if neg {
		v = -v
	}
	return v
}

// fields splits a positive code into its scale and the fraction, left
// aligned in a uint64 (value = 2^scale * (1 + frac/2^64)).
func fields(n, es int, p uint64) (bool, int, uint64) {
	x := p << (65 - n) // drop the sign; body bits now start at bit 63
	var m, k int
	if x>>63 != 0 {
		m = bits.LeadingZeros64(^x)
		k = m - 1
	} else {
		m = bits.LeadingZeros64(x)
		k = -m
	}
	if m > n-1 {
		m = n - 1
		if k >= 0 {
			k = m - 1
		} else {
			k = -m
		}
	}
	rest := x << (m + 1) // Go shifts >= 64 give 0
	if m+1 >= 64 {
		rest = 0
	}
	e := 0
	if es > 0 {
		e = int(rest >> (64 - es))
	}
	return false, k<<es + e, rest << es
}

// Parts returns sign, scale and the 1.f significand of a finite non-zero
// code as an integer with the leading one at bit 63.
func (c Config) Parts(p uint32) (neg bool, scale int, sig uint64) {
	q := uint64(p) & uint64(c.Mask())
	neg = q>>(c.N-1) != 0
	if neg {
		q = -q & uint64(c.Mask())
	}
	_, scale, frac := fields(c.N, c.ES, q)
	return neg, scale, 1<<63 | frac>>1
}

// IsNaR reports whether p is NaR.
func (c Config) IsNaR(p uint32) bool { return p&c.Mask() == c.NaR() }

// Encode rounds x to a posit. RNE is the standard's rounding; RTZ truncates
// the bit string (but, as the standard requires of every rounding, never
// yields zero from a non-zero value); stochastic rounding picks between the
// two neighbours with probability proportional to the distance in value,
// so it is unbiased. NaN and ±Inf encode to NaR.
func (c Config) Encode(x float64, o round.Options, r uint64) uint32 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return c.NaR()
	}
	if x == 0 {
		return 0
	}
	fr, e := math.Frexp(math.Abs(x)) // |x| = fr * 2^e, fr in [0.5, 1)
	sig := math.Float64bits(fr)<<11 | 1<<63
	return c.encodeParts(x < 0, e-1, sig<<1, false, o, r, math.Abs(x))
}

// encodeParts rounds 2^scale * (1 + frac/2^64) (+ a sticky remainder) to a
// code. abs is the magnitude as a float64, used only by stochastic rounding.
func (c Config) encodeParts(neg bool, scale int, frac uint64, sticky bool, o round.Options, r uint64, abs float64) uint32 {
	n, es := c.N, c.ES
	var body uint64
	max := c.MaxScale()
	switch {
	case scale >= max:
		body = uint64(c.MaxPos())
	case scale < -max:
		body = 1 // minpos
	default:
		k := scale >> es // floor division
		e := uint64(scale - k<<es)
		var reg uint64
		var rl int
		if k >= 0 {
			rl = k + 2
			reg = (uint64(1)<<(k+1) - 1) << 1
		} else {
			rl = -k + 1
			reg = 1
		}
		avail := n - 1 - rl
		// tail: es exponent bits then the fraction, left aligned.
		sticky = sticky || frac&0xf != 0
		t := (e<<60 | frac>>4) << (64 - es - 60)
		if avail < 0 { // only when k = n-2, handled above; defensive
			avail = 0
		}
		body = reg << avail
		if avail > 0 {
			body |= t >> (64 - avail)
		}
		guard := (t>>(63-avail))&1 != 0
		if avail+1 < 64 {
			sticky = sticky || t<<(avail+1) != 0
		}
		switch o.Mode {
		case round.NearestEven:
			if guard && (sticky || body&1 != 0) {
				body++
			}
		case round.Stochastic:
			if guard || sticky {
				lo := decode(n, es, body)
				hi := decode(n, es, body+1)
				if round.Up((abs-lo)/(hi-lo), r) {
					body++
				}
			}
		}
	}
	p := uint32(body)
	if neg {
		p = -p & c.Mask()
	}
	return p
}

// Round returns x rounded to the posit format.
func (c Config) Round(x float64, o round.Options, r uint64) float64 {
	return c.Decode(c.Encode(x, o, r))
}

// Quantize fake-quantizes src into dst.
func (c Config) Quantize(dst, src []float32, o round.Options) {
	for i, x := range src {
		dst[i] = float32(c.Decode(c.Encode(float64(x), o, o.R(i))))
	}
}
