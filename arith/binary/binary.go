// Package binary implements 1-bit (binary) and 2-bit (ternary) weight
// quantization with a per-tensor scale.
//
// Binary follows XNOR-Net: q = alpha * sign(x) with alpha = mean|x|, the
// scale that minimises ||x - alpha*sign(x)||^2. Ternary follows Ternary
// Weight Networks: values with |x| <= delta become 0, the rest ±alpha, with
// delta = 0.7 * mean|x| (TWN's approximation of the optimal threshold for
// Gaussian weights) and alpha = mean of |x| over the kept values.
package binary

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/arith/bitpack"
)

// Binary quantization result: Codes[i] is 1 for negative, 0 otherwise.
type Binary struct {
	Scale float32
	Codes []uint32
}

// Binarize computes XNOR-Net's sign and scale (NaN counts as 0, i.e. +).
func Binarize(x []float32) Binary {
	var s float64
	n := 0
	for _, v := range x {
		if v == v {
			s += math.Abs(float64(v))
			n++
		}
	}
	b := Binary{Codes: make([]uint32, len(x))}
	if n > 0 {
		b.Scale = float32(s / float64(n))
	}
	for i, v := range x {
		if v < 0 {
			b.Codes[i] = 1
		}
	}
	return b
}

// Values decodes to ±Scale.
func (b Binary) Values() []float32 {
	out := make([]float32, len(b.Codes))
	for i, c := range b.Codes {
		out[i] = b.Scale
		if c != 0 {
			out[i] = -b.Scale
		}
	}
	return out
}

// Ternary quantization result: codes 0 (zero), 1 (+Scale), 2 (-Scale).
type Ternary struct {
	Scale, Threshold float32
	Codes            []uint32
}

// DefaultThreshold is TWN's delta factor.
const DefaultThreshold = 0.7

// Ternarize uses threshold factor f (delta = f * mean|x|); f <= 0 or NaN
// selects DefaultThreshold.
func Ternarize(x []float32, f float64) Ternary {
	if !(f > 0) {
		f = DefaultThreshold
	}
	var s float64
	n := 0
	for _, v := range x {
		if v == v {
			s += math.Abs(float64(v))
			n++
		}
	}
	t := Ternary{Codes: make([]uint32, len(x))}
	if n == 0 {
		return t
	}
	delta := f * s / float64(n)
	var ks float64
	k := 0
	for i, v := range x {
		a := math.Abs(float64(v))
		if a > delta {
			ks += a
			k++
			t.Codes[i] = 1
			if v < 0 {
				t.Codes[i] = 2
			}
		}
	}
	t.Threshold = float32(delta)
	if k > 0 {
		t.Scale = float32(ks / float64(k))
	}
	return t
}

// Values decodes to {0, +Scale, -Scale}.
func (t Ternary) Values() []float32 {
	out := make([]float32, len(t.Codes))
	for i, c := range t.Codes {
		switch c {
		case 1:
			out[i] = t.Scale
		case 2:
			out[i] = -t.Scale
		}
	}
	return out
}

// Pack stores a float32 scale (little endian) followed by bits-wide codes.
func Pack(scale float32, codes []uint32, bits int) []byte {
	u := math.Float32bits(scale)
	out := []byte{byte(u), byte(u >> 8), byte(u >> 16), byte(u >> 24)}
	return bitpack.Append(out, codes, bits)
}

// Unpack reverses Pack for n codes.
func Unpack(data []byte, n, bits int) (float32, []uint32, error) {
	if len(data) != 4+bitpack.Size(n, bits) {
		return 0, nil, fmt.Errorf("binary: %d bytes for %d codes of %d bits, want %d", len(data), n, bits, 4+bitpack.Size(n, bits))
	}
	scale := math.Float32frombits(uint32(data[0]) | uint32(data[1])<<8 | uint32(data[2])<<16 | uint32(data[3])<<24)
	codes := make([]uint32, n)
	err := bitpack.Unpack(codes, data[4:], bits)
	return scale, codes, err
}
