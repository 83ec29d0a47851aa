// Package round defines the rounding modes shared by every frugal number
// format and the counter-based random bits that make stochastic rounding
// reproducible.
//
// Stochastic rounding (SR) must give the same answer for the same seed no
// matter how a tensor is split across goroutines, so the random bits for an
// element are a pure function of (seed, element index) — a counter-based
// hash in the style of Philox/Threefry/SplitMix — never the next draw of a
// shared generator.
package round

import (
	"fmt"
	"math"
	"strings"
)

// Mode selects how a value that falls between two representable numbers is
// resolved.
type Mode uint8

const (
	// NearestEven rounds to the nearest representable value and breaks ties
	// toward the value whose last code bit is zero (IEEE 754 default).
	NearestEven Mode = iota
	// TowardZero truncates the magnitude (IEEE roundTowardZero).
	TowardZero
	// Stochastic rounds up with probability equal to the distance from the
	// lower neighbour divided by the gap, which makes the rounding unbiased
	// in expectation: E[round(x)] = x.
	Stochastic
)

// String returns the CLI spelling of the mode.
func (m Mode) String() string {
	switch m {
	case NearestEven:
		return "rne"
	case TowardZero:
		return "rtz"
	case Stochastic:
		return "sr"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// ParseMode accepts rne, rtz or sr (and a few long spellings).
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "rne", "nearest", "nearest-even", "":
		return NearestEven, nil
	case "rtz", "zero", "toward-zero", "trunc":
		return TowardZero, nil
	case "sr", "stochastic":
		return Stochastic, nil
	}
	return 0, fmt.Errorf("unknown rounding mode %q (want rne, rtz or sr)", s)
}

// Options carries the rounding mode and, for stochastic rounding, the seed.
// Element i of a tensor draws its random bits from Bits(Seed, Offset+i).
type Options struct {
	Mode   Mode
	Seed   uint64
	Offset uint64
	// Saturate clamps overflow to the largest finite value instead of the
	// format's overflow result (infinity or NaN). Formats without
	// infinities and NaN (FP6, FP4, fixed, int) always saturate.
	Saturate bool
}

// RNE is the default option set: round to nearest even, no saturation.
var RNE = Options{}

// R returns the random bits for element i under these options (0 unless
// the mode is stochastic, so callers may call it unconditionally).
func (o Options) R(i int) uint64 {
	if o.Mode != Stochastic {
		return 0
	}
	return Bits(o.Seed, o.Offset+uint64(i))
}

func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Bits returns 64 pseudo-random bits that depend only on seed and index.
// It is two rounds of the SplitMix64 finaliser over a Weyl sequence keyed by
// the seed; it passes the usual avalanche checks and costs a few
// multiplications, which is cheap next to the rounding it drives.
func Bits(seed, index uint64) uint64 {
	return mix(mix(seed^0x6a09e667f3bcc909) + (index+1)*0x9e3779b97f4a7c15)
}

// Int rounds x to an integer value under mode m; r supplies the random bits
// for stochastic rounding. For |x| < 2^52 the result of SR is exactly
// unbiased up to 2^-53 of the gap: x rounds up iff r>>11 < frac(x)*2^53.
func Int(x float64, m Mode, r uint64) float64 {
	switch m {
	case TowardZero:
		return math.Trunc(x)
	case Stochastic:
		f := math.Floor(x)
		frac := x - f
		if frac != 0 && float64(r>>11) < frac*(1<<53) {
			return f + 1
		}
		return f
	}
	return math.RoundToEven(x)
}

// Up reports, for stochastic rounding between two neighbours lo < x < hi,
// whether to take hi; p = (x-lo)/(hi-lo) is the exact probability to round up.
func Up(p float64, r uint64) bool { return float64(r>>11) < p*(1<<53) }
