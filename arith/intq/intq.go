// Package intq is integer affine quantization, x ≈ (q - zeroPoint) * scale,
// for 1 to 8 bits, symmetric or asymmetric, per tensor, per channel and per
// group. It is what the int8 post-training quantizer and ONNX
// QuantizeLinear/DequantizeLinear compute, and it follows QuantizeLinear
// exactly: q = saturate(roundHalfEven(x / scale) + zeroPoint) with the
// division done in float32.
//
// Convention: symmetric quantization uses the signed restricted range
// [-(2^(b-1)-1), 2^(b-1)-1] with zero point 0 (the choice of ONNX Runtime
// and TensorRT for weights: it keeps -x exactly representable); asymmetric
// uses the unsigned range [0, 2^b-1] with a zero point that makes 0.0 exact
// (for activations, e.g. after ReLU).
package intq

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/arith/convert"
	"github.com/frugal-ml/frugal/arith/round"
)

// Range returns the code range for b bits.
func Range(bits int, symmetric bool) (qmin, qmax int32) {
	if symmetric && bits >= 2 {
		m := int32(1)<<(bits-1) - 1
		return -m, m
	}
	return 0, int32(1)<<bits - 1
}

// ChooseParams picks scale and zero point that cover [min, max] (widened to
// contain 0) with b-bit codes. Symmetric needs b >= 2; for b = 1 it falls
// back to the unsigned range. A degenerate range (all zeros) gives scale 1.
func ChooseParams(minV, maxV float32, bits int, symmetric bool) (scale float32, zeroPoint int32) {
	qmin, qmax := Range(bits, symmetric)
	return ChooseParamsRange(minV, maxV, qmin, qmax, symmetric && bits >= 2)
}

// ChooseParamsRange is ChooseParams for an explicit integer range.
func ChooseParamsRange(minV, maxV float32, qmin, qmax int32, symmetric bool) (float32, int32) {
	if minV != minV || maxV != maxV {
		return 1, 0
	}
	minV = min(minV, 0)
	maxV = max(maxV, 0)
	if symmetric {
		amax := max(-minV, maxV)
		if amax == 0 || math.IsInf(float64(amax), 0) {
			return 1, 0
		}
		return amax / float32(qmax), 0
	}
	if maxV == minV || math.IsInf(float64(maxV-minV), 0) {
		return 1, qmin
	}
	scale := (maxV - minV) / float32(qmax-qmin)
	zp := float64(qmin) - float64(minV)/float64(scale)
	zp = min(max(math.RoundToEven(zp), float64(qmin)), float64(qmax))
	return scale, int32(zp)
}

// Quantize is saturate(round(x/scale) + zp) into [qmin, qmax] with the
// given rounding (r: stochastic bits). NaN maps to the zero point.
func Quantize(x, scale float32, zp, qmin, qmax int32, m round.Mode, r uint64) int32 {
	v := x / scale
	if v != v {
		return min(max(zp, qmin), qmax)
	}
	lo, hi := float64(qmin-zp), float64(qmax-zp)
	q := round.Int(min(max(float64(v), lo), hi), m, r)
	return int32(q) + zp
}

// Dequantize is float32(q - zp) * scale.
func Dequantize(q int32, scale float32, zp int32) float32 { return float32(q-zp) * scale }

// Granularity says which elements share a (scale, zero point).
type Granularity uint8

const (
	PerTensor  Granularity = iota
	PerChannel             // one pair per index along Axis
	PerGroup               // one pair per GroupSize consecutive indices along Axis
)

// Config is a quantization scheme.
type Config struct {
	Bits      int
	Symmetric bool
	Gran      Granularity
	Axis      int
	GroupSize int
	Round     round.Options
}

// Tensor is a quantized tensor: integer codes plus the parameters of each
// channel/group, indexed as the Config describes.
type Tensor struct {
	Config
	Shape      []int
	Codes      []int32
	Scales     []float32
	ZeroPoints []int32
}

// layout returns (outer, dim, inner) around the axis and the parameter
// count; element i's parameter index is given by param.
func (c Config) layout(shape []int, n int) (outer, dim, inner, groups int, err error) {
	if c.Bits < 1 || c.Bits > 8 {
		return 0, 0, 0, 0, fmt.Errorf("intq: %d bits, want 1..8", c.Bits)
	}
	if c.Gran == PerTensor {
		return 1, 1, n, 1, nil
	}
	ax := c.Axis
	if ax < 0 {
		ax += len(shape)
	}
	if ax < 0 || ax >= len(shape) {
		return 0, 0, 0, 0, fmt.Errorf("intq: axis %d out of range for shape %v", c.Axis, shape)
	}
	prod := 1
	for _, d := range shape {
		prod *= d
	}
	if prod != n {
		return 0, 0, 0, 0, fmt.Errorf("intq: shape %v has %d elements, data has %d", shape, prod, n)
	}
	outer, dim, inner = 1, shape[ax], 1
	for _, d := range shape[:ax] {
		outer *= d
	}
	for _, d := range shape[ax+1:] {
		inner *= d
	}
	groups = dim
	if c.Gran == PerGroup {
		if c.GroupSize < 1 {
			return 0, 0, 0, 0, fmt.Errorf("intq: group size %d, want >= 1", c.GroupSize)
		}
		groups = (dim + c.GroupSize - 1) / c.GroupSize
	}
	return
}

// paramIndex maps element i to its parameter slot.
func (c Config) paramIndex(i, dim, inner, groups int) int {
	switch c.Gran {
	case PerChannel:
		return (i / inner) % dim
	case PerGroup:
		o := i / (inner * dim)
		ch := (i / inner) % dim
		return (o*groups+ch/c.GroupSize)*inner + i%inner
	}
	return 0
}

// QuantizeTensor chooses parameters from each slice's min and max and
// quantizes x (shape may be nil for per-tensor).
func QuantizeTensor(x []float32, shape []int, c Config) (*Tensor, error) {
	_, dim, inner, groups, err := c.layout(shape, len(x))
	if err != nil {
		return nil, err
	}
	np := 1
	switch c.Gran {
	case PerChannel:
		np = dim
	case PerGroup:
		np = len(x) / max(dim, 1) * groups
		if dim == 0 {
			np = 0
		}
	}
	mins := make([]float32, np)
	maxs := make([]float32, np)
	for i, v := range x {
		if v != v {
			continue
		}
		p := c.paramIndex(i, dim, inner, groups)
		mins[p] = min(mins[p], v)
		maxs[p] = max(maxs[p], v)
	}
	t := &Tensor{Config: c, Shape: append([]int(nil), shape...), Codes: make([]int32, len(x)),
		Scales: make([]float32, np), ZeroPoints: make([]int32, np)}
	for p := range mins {
		t.Scales[p], t.ZeroPoints[p] = ChooseParams(mins[p], maxs[p], c.Bits, c.Symmetric)
	}
	qmin, qmax := Range(c.Bits, c.Symmetric)
	if c.Gran == PerTensor && c.Bits == 8 && c.Round.Mode == round.NearestEven {
		// fast path: the vector int8/uint8 kernels (same results, tested there).
		quantize8(t.Codes, x, t.Scales[0], t.ZeroPoints[0], c.Symmetric)
		return t, nil
	}
	for i, v := range x {
		p := c.paramIndex(i, dim, inner, groups)
		t.Codes[i] = Quantize(v, t.Scales[p], t.ZeroPoints[p], qmin, qmax, c.Round.Mode, c.Round.R(i))
	}
	return t, nil
}

func quantize8(dst []int32, x []float32, scale float32, zp int32, symmetric bool) {
	const chunk = 4096
	var b8 [chunk]int8
	var u8 [chunk]uint8
	for s := 0; s < len(x); s += chunk {
		e := min(s+chunk, len(x))
		if symmetric {
			convert.QuantizeInt8(b8[:e-s], x[s:e], scale, zp)
			for i := s; i < e; i++ {
				dst[i] = max(int32(b8[i-s]), -127) // restricted range
			}
		} else {
			convert.QuantizeUint8(u8[:e-s], x[s:e], scale, zp)
			for i := s; i < e; i++ {
				dst[i] = int32(u8[i-s])
			}
		}
	}
}

// Dequantize reconstructs the float tensor.
func (t *Tensor) Dequantize() []float32 {
	_, dim, inner, groups, _ := t.layout(t.Shape, len(t.Codes))
	out := make([]float32, len(t.Codes))
	for i, q := range t.Codes {
		p := t.paramIndex(i, dim, inner, groups)
		out[i] = Dequantize(q, t.Scales[p], t.ZeroPoints[p])
	}
	return out
}

// QuantizeBias stores a float bias as int32 codes at the accumulator's
// scale sx*sw[c] (sw holds one weight scale, or one per output channel),
// so an int8 layer adds it into its int32 accumulator exactly. Codes round
// half to even and saturate to the int32 range. It returns the codes and
// the per-channel scales used.
func QuantizeBias(b []float32, sx float32, sw []float32) ([]int32, []float32) {
	q := make([]int32, len(b))
	scales := make([]float32, len(b))
	for i, v := range b {
		s := sx * sw[min(i, len(sw)-1)]
		scales[i] = s
		r := math.RoundToEven(float64(v / s))
		q[i] = int32(math.Max(math.MinInt32, math.Min(math.MaxInt32, r)))
	}
	return q, scales
}
