// Package fixed implements signed saturating fixed point Qm.n: one sign
// bit, m integer bits and n fraction bits (the Texas Instruments
// convention, where the sign is not counted in m: Q0.15 is a 16-bit
// number), stored as a (1+m+n)-bit two's complement integer whose value is
// code * 2^-n. Overflow saturates, as DSP fixed-point units do, because a
// wrapped result in a network layer is a catastrophic error while a clipped
// one is a bounded one.
package fixed

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/arith/round"
)

// Q is one fixed-point format.
type Q struct {
	M, N int
}

// New validates the widths: m, n >= 0 and 2 <= 1+m+n <= 32.
func New(m, n int) (Q, error) {
	if m < 0 || n < 0 || 1+m+n < 2 || 1+m+n > 32 {
		return Q{}, fmt.Errorf("fixed: Q%d.%d needs m,n >= 0 and 2 <= 1+m+n <= 32 bits", m, n)
	}
	return Q{m, n}, nil
}

// Name is fixed<M>_<N>.
func (q Q) Name() string { return fmt.Sprintf("fixed%d_%d", q.M, q.N) }

// Bits is 1+M+N.
func (q Q) Bits() int { return 1 + q.M + q.N }

// Range returns the smallest and largest integer codes.
func (q Q) Range() (lo, hi int64) {
	hi = int64(1)<<(q.M+q.N) - 1
	return -hi - 1, hi
}

// Step is the value of one unit in the last place, 2^-N.
func (q Q) Step() float64 { return math.Ldexp(1, -q.N) }

// EncodeInt rounds x to the nearest code with saturation; NaN gives 0.
func (q Q) EncodeInt(x float64, o round.Options, r uint64) int64 {
	if math.IsNaN(x) {
		return 0
	}
	lo, hi := q.Range()
	v := round.Int(math.Ldexp(x, q.N), o.Mode, r)
	return int64(min(max(v, float64(lo)), float64(hi)))
}

// Encode returns the code as a (1+M+N)-bit two's complement pattern.
func (q Q) Encode(x float64, o round.Options, r uint64) uint32 {
	return uint32(q.EncodeInt(x, o, r)) & q.Mask()
}

// Mask covers the code bits.
func (q Q) Mask() uint32 { return uint32(uint64(1)<<q.Bits() - 1) }

// DecodeInt is code * 2^-N.
func (q Q) DecodeInt(c int64) float64 { return math.Ldexp(float64(c), -q.N) }

// Decode sign-extends a code pattern and returns its value.
func (q Q) Decode(c uint32) float64 {
	s := 64 - q.Bits()
	return q.DecodeInt(int64(uint64(c)<<s) >> s)
}

// Quantize fake-quantizes src into dst.
func (q Q) Quantize(dst, src []float32, o round.Options) {
	for i, x := range src {
		dst[i] = float32(q.DecodeInt(q.EncodeInt(float64(x), o, o.R(i))))
	}
}
