package arith

import (
	"encoding/binary"
	"fmt"
	"math"

	bin "github.com/frugal-ml/frugal/arith/binary"
	"github.com/frugal-ml/frugal/arith/bitpack"
	"github.com/frugal-ml/frugal/arith/convert"
	"github.com/frugal-ml/frugal/arith/intq"
	"github.com/frugal-ml/frugal/arith/mx"
	"github.com/frugal-ml/frugal/arith/round"
)

// scalar adapts any per-element encoder/decoder.
type scalar struct {
	name, desc string
	bits       int
	enc        func(x float64, o round.Options, r uint64) uint32
	dec        func(c uint32) float64
	kernels    []string
	// fast, when set, fake-quantizes with a vector kernel for RNE, non-saturating.
	fast func(dst, src []float32)
}

func (s *scalar) Name() string         { return s.name }
func (s *scalar) Kind() Kind           { return Scalar }
func (s *scalar) Bits() int            { return s.bits }
func (s *scalar) BlockSize() int       { return 1 }
func (s *scalar) PackedSize(n int) int { return bitpack.Size(n, s.bits) }
func (s *scalar) Kernels() []string    { return s.kernels }
func (s *scalar) Describe() string     { return s.desc }

func (s *scalar) EncodeValue(x float64, o round.Options, r uint64) uint32 { return s.enc(x, o, r) }
func (s *scalar) DecodeValue(c uint32) float64                            { return s.dec(c) }

func (s *scalar) Quantize(dst, src []float32, o round.Options) error {
	if err := checkLen(len(dst), len(src)); err != nil {
		return err
	}
	if s.fast != nil && o.Mode == round.NearestEven && !o.Saturate {
		s.fast(dst[:len(src)], src)
		return nil
	}
	for i, x := range src {
		dst[i] = float32(s.dec(s.enc(float64(x), o, o.R(i))))
	}
	return nil
}

func (s *scalar) Encode(src []float32, o round.Options) (*Encoded, error) {
	e := &Encoded{Codes: make([]uint32, len(src)), Values: make([]float32, len(src)), BlockSize: 1}
	for i, x := range src {
		e.Codes[i] = s.enc(float64(x), o, o.R(i))
		e.Values[i] = float32(s.dec(e.Codes[i]))
	}
	return e, nil
}

func (s *scalar) Pack(src []float32, o round.Options) ([]byte, error) {
	e, _ := s.Encode(src, o)
	return bitpack.Append(make([]byte, 0, s.PackedSize(len(src))), e.Codes, s.bits), nil
}

func (s *scalar) Unpack(dst []float32, data []byte) error {
	if len(data) != s.PackedSize(len(dst)) {
		return fmt.Errorf("%s: %d bytes for %d values, want %d", s.name, len(data), len(dst), s.PackedSize(len(dst)))
	}
	codes := make([]uint32, len(dst))
	if err := bitpack.Unpack(codes, data, s.bits); err != nil {
		return err
	}
	for i, c := range codes {
		dst[i] = float32(s.dec(c))
	}
	return nil
}

// fastF16 and fastBF16 fake-quantize through the vector kernels in chunks.
func fastVia(enc func([]uint16, []float32), dec func([]float32, []uint16)) func(dst, src []float32) {
	return func(dst, src []float32) {
		var buf [2048]uint16
		for s := 0; s < len(src); s += len(buf) {
			e := min(s+len(buf), len(src))
			enc(buf[:e-s], src[s:e])
			dec(dst[s:e], buf[:e-s])
		}
	}
}

// block adapts an mx.Codec.
type block struct {
	c       mx.Codec
	desc    string
	kernels []string
}

func (b *block) Name() string         { return b.c.Name() }
func (b *block) Kind() Kind           { return Block }
func (b *block) Bits() int            { return b.c.ElemBits() }
func (b *block) BlockSize() int       { return b.c.BlockSize() }
func (b *block) PackedSize(n int) int { return mx.PackedSize(b.c, n) }
func (b *block) Kernels() []string    { return b.kernels }
func (b *block) Describe() string     { return b.desc }

func (b *block) Quantize(dst, src []float32, o round.Options) error {
	if err := checkLen(len(dst), len(src)); err != nil {
		return err
	}
	mx.Quantize(b.c, dst, src, o)
	return nil
}

func (b *block) Encode(src []float32, o round.Options) (*Encoded, error) {
	scales, codes := mx.Blocks(b.c, src, o)
	e := &Encoded{Codes: codes, Values: make([]float32, len(src)), BlockSize: b.c.BlockSize()}
	B := b.c.BlockSize()
	for k, sc := range scales {
		s, end := k*B, min((k+1)*B, len(src))
		b.c.DecodeBlock(e.Values[s:end], sc, codes[s:end])
		e.Scales = append(e.Scales, Scale{Code: uint32(sc), CodeBits: 8, Value: b.c.ScaleValue(sc)})
	}
	return e, nil
}

func (b *block) Pack(src []float32, o round.Options) ([]byte, error) {
	return mx.Pack(b.c, src, o), nil
}

func (b *block) Unpack(dst []float32, data []byte) error { return mx.Unpack(b.c, dst, data) }

// integer is int<B>: per-tensor symmetric affine quantization.
// Packed layout: float32 scale, int32 zero point (little endian), codes
// offset by -qmin as unsigned B-bit fields.
type integer struct {
	bits int
	sym  bool
}

func (f *integer) Name() string {
	if f.sym {
		return fmt.Sprintf("int%d", f.bits)
	}
	return fmt.Sprintf("uint%d", f.bits)
}
func (f *integer) Kind() Kind           { return Tensor }
func (f *integer) Bits() int            { return f.bits }
func (f *integer) BlockSize() int       { return 0 }
func (f *integer) PackedSize(n int) int { return 8 + bitpack.Size(n, f.bits) }
func (f *integer) Kernels() []string {
	if f.bits == 8 {
		return []string{"convert.QuantizeInt8/Uint8 (" + convert.Impl() + ")", "convert.DequantizeInt8/Uint8"}
	}
	return nil
}
func (f *integer) Describe() string {
	lo, hi := intq.Range(f.bits, f.sym)
	kind := "symmetric, zero point 0"
	if !f.sym {
		kind = "asymmetric, zero point chosen so 0.0 is exact"
	}
	return fmt.Sprintf("per-tensor affine integer in [%d, %d], %s; x = (q - zp) * scale, ONNX QuantizeLinear rounding", lo, hi, kind)
}

func (f *integer) quant(src []float32, o round.Options) (*intq.Tensor, error) {
	return intq.QuantizeTensor(src, nil, intq.Config{Bits: f.bits, Symmetric: f.sym, Round: o})
}

func (f *integer) Quantize(dst, src []float32, o round.Options) error {
	if err := checkLen(len(dst), len(src)); err != nil {
		return err
	}
	t, err := f.quant(src, o)
	if err != nil {
		return err
	}
	copy(dst, t.Dequantize())
	return nil
}

func (f *integer) Encode(src []float32, o round.Options) (*Encoded, error) {
	t, err := f.quant(src, o)
	if err != nil {
		return nil, err
	}
	e := &Encoded{Values: t.Dequantize(), BlockSize: len(src)}
	for _, c := range t.Codes {
		e.Codes = append(e.Codes, uint32(c)&(1<<f.bits-1))
	}
	e.Scales = []Scale{{Code: math.Float32bits(t.Scales[0]), CodeBits: 32, Value: float64(t.Scales[0]), ZeroPoint: t.ZeroPoints[0]}}
	return e, nil
}

func (f *integer) Pack(src []float32, o round.Options) ([]byte, error) {
	t, err := f.quant(src, o)
	if err != nil {
		return nil, err
	}
	qmin, _ := intq.Range(f.bits, f.sym)
	out := binary.LittleEndian.AppendUint32(nil, math.Float32bits(t.Scales[0]))
	out = binary.LittleEndian.AppendUint32(out, uint32(t.ZeroPoints[0]))
	codes := make([]uint32, len(t.Codes))
	for i, c := range t.Codes {
		codes[i] = uint32(c - qmin)
	}
	return bitpack.Append(out, codes, f.bits), nil
}

func (f *integer) Unpack(dst []float32, data []byte) error {
	if len(data) != f.PackedSize(len(dst)) {
		return fmt.Errorf("%s: %d bytes for %d values, want %d", f.Name(), len(data), len(dst), f.PackedSize(len(dst)))
	}
	scale := math.Float32frombits(binary.LittleEndian.Uint32(data))
	zp := int32(binary.LittleEndian.Uint32(data[4:]))
	codes := make([]uint32, len(dst))
	if err := bitpack.Unpack(codes, data[8:], f.bits); err != nil {
		return err
	}
	qmin, _ := intq.Range(f.bits, f.sym)
	for i, c := range codes {
		dst[i] = intq.Dequantize(int32(c)+qmin, scale, zp)
	}
	return nil
}

// binTer is binary (1 bit) or ternary (2 bits) with a float32 scale.
type binTer struct{ ternary bool }

func (f *binTer) Name() string {
	if f.ternary {
		return "ternary"
	}
	return "binary"
}
func (f *binTer) Kind() Kind           { return Tensor }
func (f *binTer) Bits() int            { return map[bool]int{false: 1, true: 2}[f.ternary] }
func (f *binTer) BlockSize() int       { return 0 }
func (f *binTer) PackedSize(n int) int { return 4 + bitpack.Size(n, f.Bits()) }
func (f *binTer) Kernels() []string    { return nil }
func (f *binTer) Describe() string {
	if f.ternary {
		return "{-a, 0, +a}: |x| <= 0.7 mean|x| -> 0, a = mean of the rest (TWN); 2-bit codes 0, 1=+a, 2=-a"
	}
	return "sign(x) * a with a = mean|x| (XNOR-Net); 1-bit codes, 1 = negative"
}

func (f *binTer) Encode(src []float32, o round.Options) (*Encoded, error) {
	e := &Encoded{BlockSize: len(src)}
	var scale float32
	if f.ternary {
		t := bin.Ternarize(src, 0)
		e.Codes, e.Values, scale = t.Codes, t.Values(), t.Scale
	} else {
		b := bin.Binarize(src)
		e.Codes, e.Values, scale = b.Codes, b.Values(), b.Scale
	}
	e.Scales = []Scale{{Code: math.Float32bits(scale), CodeBits: 32, Value: float64(scale)}}
	return e, nil
}

func (f *binTer) Quantize(dst, src []float32, o round.Options) error {
	if err := checkLen(len(dst), len(src)); err != nil {
		return err
	}
	e, _ := f.Encode(src, o)
	copy(dst, e.Values)
	return nil
}

func (f *binTer) Pack(src []float32, o round.Options) ([]byte, error) {
	e, _ := f.Encode(src, o)
	return bin.Pack(float32(e.Scales[0].Value), e.Codes, f.Bits()), nil
}

func (f *binTer) Unpack(dst []float32, data []byte) error {
	scale, codes, err := bin.Unpack(data, len(dst), f.Bits())
	if err != nil {
		return err
	}
	for i, c := range codes {
		switch {
		case !f.ternary && c == 0, f.ternary && c == 1:
			dst[i] = scale
		case !f.ternary && c == 1, f.ternary && c == 2:
			dst[i] = -scale
		default:
			dst[i] = 0
		}
	}
	return nil
}
