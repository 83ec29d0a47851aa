// Package mx implements the OCP Microscaling (MX v1.0) block formats and
// generic block floating point (BFP).
//
// An MX block is 32 elements that share one E8M0 scale X = 2^(code-127)
// (code 255 is NaN). Following the spec (section 6.3), the shared exponent
// is floor(log2(max|V_i|)) - emax_elem, where emax_elem is the exponent of
// the element format's largest normal number; elements are V_i/X rounded to
// the element format, and values beyond its range saturate. This rule
// wastes part of the top binade when max|V_i| has a large mantissa (it may
// clip), which is the spec's choice, reproduced here as is.
//
// BFP is the older, parametric idea: a shared 8-bit exponent per block of B
// elements and sign-magnitude integer mantissas of M bits, scaled so the
// block maximum fits without clipping.
//
// Packed layout (both): per block one scale byte, then the element codes
// bit-packed LSB-first (arith/bitpack). A final partial block stores only
// its elements. MXFP4 therefore costs (8 + 32*4)/32 = 4.25 bits per element.
package mx

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/arith/bitpack"
	"github.com/frugal-ml/frugal/arith/minifloat"
	"github.com/frugal-ml/frugal/arith/round"
)

// Codec is a block format: what Quantize, Pack and Unpack need.
type Codec interface {
	Name() string
	BlockSize() int
	ElemBits() int
	// EncodeBlock encodes up to BlockSize values; o.Offset is the index of
	// src[0] in the whole tensor (for stochastic rounding).
	EncodeBlock(codes []uint32, src []float32, o round.Options) (scale uint8)
	DecodeBlock(dst []float32, scale uint8, codes []uint32)
	// ScaleValue is the multiplier a scale code stands for.
	ScaleValue(scale uint8) float64
}

// ScaleNaN is the E8M0 NaN code.
const ScaleNaN = 0xff

// E8M0 returns 2^(code-127), NaN for 255.
func E8M0(code uint8) float64 {
	if code == ScaleNaN {
		return math.NaN()
	}
	return math.Ldexp(1, int(code)-127)
}

// Format is an MX format: 32 elements of a minifloat (or INT8) with an E8M0 scale.
type Format struct {
	name string
	Elem minifloat.Spec // element format (unused for INT8)
	Int8 bool           // MXINT8: two's complement int8 with implicit scale 2^-6
}

// The six MX v1.0 concrete formats.
var (
	MXFP8E4M3 = Format{"mxfp8_e4m3", minifloat.E4M3, false}
	MXFP8E5M2 = Format{"mxfp8_e5m2", minifloat.E5M2, false}
	MXFP6E3M2 = Format{"mxfp6_e3m2", minifloat.E3M2, false}
	MXFP6E2M3 = Format{"mxfp6_e2m3", minifloat.E2M3, false}
	MXFP4     = Format{"mxfp4", minifloat.E2M1, false}
	MXINT8    = Format{"mxint8", minifloat.Spec{}, true}
	All       = []Format{MXFP8E4M3, MXFP8E5M2, MXFP6E3M2, MXFP6E2M3, MXFP4, MXINT8}
)

// BlockK is the MX block size.
const BlockK = 32

func (f Format) Name() string   { return f.name }
func (f Format) BlockSize() int { return BlockK }

// ElemBits is the element code width.
func (f Format) ElemBits() int {
	if f.Int8 {
		return 8
	}
	return f.Elem.Bits()
}

// EmaxElem is the exponent of the element format's largest normal
// (E4M3 8, E5M2 15, E3M2 4, E2M3 2, E2M1 2, INT8 0).
func (f Format) EmaxElem() int {
	if f.Int8 {
		return 0
	}
	return f.Elem.Emax()
}

func (f Format) ScaleValue(s uint8) float64 { return E8M0(s) }

// SharedExp applies the spec's rule to a block maximum: floor(log2(amax)) -
// emax_elem, clamped to the E8M0 range [-127, 127]; -127 for an all-zero block.
func (f Format) SharedExp(amax float64) int {
	if amax == 0 {
		return -127
	}
	_, e := math.Frexp(amax)
	return min(max(e-1-f.EmaxElem(), -127), 127)
}

func blockMax(src []float32) (amax float64, special bool) {
	for _, x := range src {
		a := math.Abs(float64(x))
		if math.IsNaN(a) || math.IsInf(a, 0) {
			special = true
		}
		amax = max(amax, a)
	}
	return
}

// EncodeBlock implements Codec.
func (f Format) EncodeBlock(codes []uint32, src []float32, o round.Options) uint8 {
	amax, special := blockMax(src)
	if special {
		clear(codes[:len(src)])
		return ScaleNaN
	}
	se := f.SharedExp(amax)
	eo := o
	eo.Saturate = true
	for i, x := range src {
		v := math.Ldexp(float64(x), -se)
		if f.Int8 {
			q := round.Int(v*64, o.Mode, o.R(i))
			q = min(max(q, -128), 127)
			codes[i] = uint32(int32(q)) & 0xff
		} else {
			codes[i] = f.Elem.Encode(v, eo, o.R(i))
		}
	}
	return uint8(se + 127)
}

// ElemValue decodes one element code (without the shared scale).
func (f Format) ElemValue(c uint32) float64 {
	if f.Int8 {
		return float64(int8(uint8(c))) / 64
	}
	return f.Elem.Decode(c)
}

// DecodeBlock implements Codec.
func (f Format) DecodeBlock(dst []float32, scale uint8, codes []uint32) {
	if scale == ScaleNaN {
		for i := range codes {
			dst[i] = float32(math.NaN())
		}
		return
	}
	se := int(scale) - 127
	for i, c := range codes {
		dst[i] = float32(math.Ldexp(f.ElemValue(c), se))
	}
}

// BFP is generic block floating point: Block elements share an 8-bit
// exponent (stored like E8M0) and keep sign + Man magnitude bits each.
type BFP struct {
	Block, Man int
}

// NewBFP validates the parameters (block 1..4096, mantissa 1..24 bits).
func NewBFP(block, man int) (BFP, error) {
	if block < 1 || block > 4096 {
		return BFP{}, fmt.Errorf("bfp: block size %d out of range 1..4096", block)
	}
	if man < 1 || man > 24 {
		return BFP{}, fmt.Errorf("bfp: mantissa bits %d out of range 1..24", man)
	}
	return BFP{block, man}, nil
}

func (b BFP) Name() string   { return fmt.Sprintf("bfp_m%d_b%d", b.Man, b.Block) }
func (b BFP) BlockSize() int { return b.Block }
func (b BFP) ElemBits() int  { return 1 + b.Man }

// ScaleValue is the weight of the mantissa's least significant bit.
func (b BFP) ScaleValue(s uint8) float64 {
	if s == ScaleNaN {
		return math.NaN()
	}
	return math.Ldexp(1, int(s)-127-(b.Man-1))
}

// EncodeBlock implements Codec: the shared exponent is floor(log2(amax)),
// so the largest magnitude lands in [2^(M-1), 2^M) units and only rounding
// can clip it (to 2^M - 1).
func (b BFP) EncodeBlock(codes []uint32, src []float32, o round.Options) uint8 {
	amax, special := blockMax(src)
	if special {
		clear(codes[:len(src)])
		return ScaleNaN
	}
	e := -127
	if amax > 0 {
		_, fe := math.Frexp(amax)
		e = min(max(fe-1, -127), 127)
	}
	lim := float64(uint32(1)<<b.Man - 1)
	for i, x := range src {
		v := math.Ldexp(math.Abs(float64(x)), b.Man-1-e)
		q := min(round.Int(v, o.Mode, o.R(i)), lim)
		c := uint32(q)
		if x < 0 && c != 0 {
			c |= 1 << b.Man
		}
		codes[i] = c
	}
	return uint8(e + 127)
}

// DecodeBlock implements Codec.
func (b BFP) DecodeBlock(dst []float32, scale uint8, codes []uint32) {
	w := b.ScaleValue(scale)
	for i, c := range codes {
		v := float64(c&(1<<b.Man-1)) * w
		if c>>b.Man&1 != 0 {
			v = -v
		}
		dst[i] = float32(v)
	}
}

// PackedSize is the byte size of n values packed with codec c.
func PackedSize(c Codec, n int) int {
	B := c.BlockSize()
	full := n / B
	size := full * (1 + bitpack.Size(B, c.ElemBits()))
	if r := n % B; r > 0 {
		size += 1 + bitpack.Size(r, c.ElemBits())
	}
	return size
}

// BitsPerElement is the storage cost of a full block per element.
func BitsPerElement(c Codec) float64 {
	return float64(8*PackedSize(c, c.BlockSize())) / float64(c.BlockSize())
}

// Quantize fake-quantizes src block by block into dst.
func Quantize(c Codec, dst, src []float32, o round.Options) {
	B := c.BlockSize()
	codes := make([]uint32, B)
	for s := 0; s < len(src); s += B {
		e := min(s+B, len(src))
		bo := o
		bo.Offset = o.Offset + uint64(s)
		sc := c.EncodeBlock(codes, src[s:e], bo)
		c.DecodeBlock(dst[s:e], sc, codes[:e-s])
	}
}

// Blocks encodes src and returns each block's scale code and all element codes.
func Blocks(c Codec, src []float32, o round.Options) (scales []uint8, codes []uint32) {
	B := c.BlockSize()
	codes = make([]uint32, len(src))
	for s := 0; s < len(src); s += B {
		e := min(s+B, len(src))
		bo := o
		bo.Offset = o.Offset + uint64(s)
		scales = append(scales, c.EncodeBlock(codes[s:e], src[s:e], bo))
	}
	return scales, codes
}

// Pack encodes src into the packed byte layout.
func Pack(c Codec, src []float32, o round.Options) []byte {
	B := c.BlockSize()
	out := make([]byte, 0, PackedSize(c, len(src)))
	codes := make([]uint32, B)
	for s := 0; s < len(src); s += B {
		e := min(s+B, len(src))
		bo := o
		bo.Offset = o.Offset + uint64(s)
		sc := c.EncodeBlock(codes, src[s:e], bo)
		out = append(out, sc)
		out = bitpack.Append(out, codes[:e-s], c.ElemBits())
	}
	return out
}

// Unpack decodes len(dst) values from data.
func Unpack(c Codec, dst []float32, data []byte) error {
	if need := PackedSize(c, len(dst)); len(data) != need {
		return fmt.Errorf("%s: %d bytes for %d values, want %d", c.Name(), len(data), len(dst), need)
	}
	B := c.BlockSize()
	codes := make([]uint32, B)
	p := 0
	for s := 0; s < len(dst); s += B {
		e := min(s+B, len(dst))
		sc := data[p]
		p++
		nb := bitpack.Size(e-s, c.ElemBits())
		if err := bitpack.Unpack(codes[:e-s], data[p:p+nb], c.ElemBits()); err != nil {
			return err
		}
		p += nb
		c.DecodeBlock(dst[s:e], sc, codes[:e-s])
	}
	return nil
}
