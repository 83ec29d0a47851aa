package ops

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/tensor"
)

// Element types newer than the tensor package's named list, numbered as in
// ONNX TensorProto.DataType and stored as the onnx package decodes them.
const (
	Float8E8M0 tensor.DType = 24 // []uint8 raw bits
	Uint2      tensor.DType = 25 // []uint8, one element per byte
	Int2       tensor.DType = 26 // []int8, one element per byte
)

// floatFormat describes a narrow binary floating-point format stored as raw
// bits (float16, the float8 family, float4, e8m0).
type floatFormat struct {
	exp, man, bias int
	style          fmtStyle
}

type fmtStyle uint8

const (
	styleIEEE     fmtStyle = iota // all-ones exponent: Inf and NaN
	styleFN                       // no Inf; S.1..1.1..1 is NaN (E4M3FN)
	styleUZ                       // no Inf, no -0; 0x80 is the only NaN
	styleNoNaN                    // every code is finite (E2M1)
	styleUnsigned                 // exponent only, 0xFF is NaN (E8M0)
)

var (
	fmtF16      = floatFormat{5, 10, 15, styleIEEE}
	fmtE4M3FN   = floatFormat{4, 3, 7, styleFN}
	fmtE4M3FNUZ = floatFormat{4, 3, 8, styleUZ}
	fmtE5M2     = floatFormat{5, 2, 15, styleIEEE}
	fmtE5M2FNUZ = floatFormat{5, 2, 16, styleUZ}
	fmtE2M1     = floatFormat{2, 1, 1, styleNoNaN}
	fmtE8M0     = floatFormat{8, 0, 127, styleUnsigned}
)

// formatOf returns the bit format of a raw-bits float dtype.
func formatOf(dt tensor.DType) (floatFormat, bool) {
	switch dt {
	case tensor.Float16:
		return fmtF16, true
	case tensor.Float8E4M3FN:
		return fmtE4M3FN, true
	case tensor.Float8E4M3FNUZ:
		return fmtE4M3FNUZ, true
	case tensor.Float8E5M2:
		return fmtE5M2, true
	case tensor.Float8E5M2FNUZ:
		return fmtE5M2FNUZ, true
	case tensor.Float4E2M1:
		return fmtE2M1, true
	case Float8E8M0:
		return fmtE8M0, true
	}
	return floatFormat{}, false
}

func (f floatFormat) signBit() uint32 {
	if f.style == styleUnsigned {
		return 0
	}
	return 1 << (f.exp + f.man)
}

// maxFinite is the largest finite value.
func (f floatFormat) maxFinite() float64 {
	top := 1<<f.exp - 1
	mant := float64(uint32(1)<<f.man-1) / float64(uint32(1)<<f.man)
	switch f.style {
	case styleIEEE:
		top--
	case styleFN:
		mant = float64(uint32(1)<<f.man-2) / float64(uint32(1)<<f.man)
	case styleUnsigned:
		top--
		mant = 0
	}
	return math.Ldexp(1+mant, top-f.bias)
}

// decode returns the value of code c.
func (f floatFormat) decode(c uint32) float64 {
	if f.style == styleUnsigned {
		c &= 0xff
		if c == 0xff {
			return math.NaN()
		}
		return math.Ldexp(1, int(c)-f.bias)
	}
	sb := f.signBit()
	neg := c&sb != 0
	e := int(c>>f.man) & (1<<f.exp - 1)
	m := c & (1<<f.man - 1)
	allE := 1<<f.exp - 1
	var v float64
	switch {
	case f.style == styleIEEE && e == allE:
		if m != 0 {
			return math.NaN()
		}
		v = math.Inf(1)
	case f.style == styleFN && e == allE && m == 1<<f.man-1:
		return math.NaN()
	case f.style == styleUZ && c&(sb|(sb-1)) == sb:
		return math.NaN()
	case e == 0:
		v = math.Ldexp(float64(m), 1-f.bias-f.man)
	default:
		v = math.Ldexp(float64(m|1<<f.man), e-f.bias-f.man)
	}
	if neg {
		v = -v
	}
	return v
}

// nanCode is the canonical NaN.
func (f floatFormat) nanCode() uint32 {
	switch f.style {
	case styleIEEE:
		return uint32(1<<f.exp-1)<<f.man | 1<<(f.man-1)
	case styleFN:
		return uint32(1)<<(f.exp+f.man) - 1
	case styleUZ:
		return f.signBit()
	case styleUnsigned:
		return 0xff
	}
	return f.signBit() // E2M1 has no NaN; ml_dtypes gives -0
}

// encode rounds x to the nearest code (ties to even). With saturate, values
// beyond the finite range (and infinities) become the largest finite value
// of the same sign; without, they become Inf where the format has one and
// NaN otherwise (formats without NaN always saturate).
func (f floatFormat) encode(x float64, saturate bool) uint32 {
	if f.style == styleNoNaN {
		saturate = true
	}
	if math.IsNaN(x) {
		return f.nanCode()
	}
	if f.style == styleUnsigned {
		return f.encodeE8M0(x, saturate)
	}
	var sign uint32
	if math.Signbit(x) {
		sign = f.signBit()
	}
	a := math.Abs(x)
	mx := f.maxFinite()
	if math.IsInf(a, 0) {
		switch {
		case saturate:
			a = mx
		case f.style == styleIEEE:
			return sign | uint32(1<<f.exp-1)<<f.man
		default:
			return f.nanCode()
		}
	}
	if saturate && a > mx {
		a = mx
	}
	emin := 1 - f.bias
	var q float64
	if a == 0 {
		q = 0
	} else {
		_, e := math.Frexp(a)
		e-- // a in [2^e, 2^(e+1))
		if e < emin {
			e = emin
		}
		quantum := math.Ldexp(1, e-f.man)
		q = math.RoundToEven(a/quantum) * quantum
	}
	if q > mx {
		if f.style == styleIEEE {
			return sign | uint32(1<<f.exp-1)<<f.man
		}
		return f.nanCode()
	}
	if q == 0 {
		if f.style == styleUZ {
			return 0
		}
		return sign
	}
	_, e := math.Frexp(q)
	e--
	if e < emin {
		return sign | uint32(q/math.Ldexp(1, emin-f.man))
	}
	m := uint32(q/math.Ldexp(1, e-f.man)) - 1<<f.man
	return sign | uint32(e+f.bias)<<f.man | m
}

// encodeE8M0 rounds a positive value to a power of two (round to nearest,
// ties up, in the exponent's linear domain as ml_dtypes does); zero and
// negative values have no code and become NaN unless saturating.
func (f floatFormat) encodeE8M0(x float64, saturate bool) uint32 {
	if math.IsInf(x, 1) {
		if saturate {
			return 0xfe
		}
		return 0xff
	}
	if x <= 0 {
		if saturate || x == 0 {
			return 0
		}
		return 0xff
	}
	frac, e := math.Frexp(x) // x = frac * 2^e, frac in [0.5,1)
	e--
	frac *= 2 // [1,2)
	if frac > 1 {
		e++
	}
	c := e + f.bias
	if c < 0 {
		return 0
	}
	if c > 254 {
		if saturate {
			return 0xfe
		}
		return 0xff
	}
	return uint32(c)
}

// F32ToF16 converts float32 to IEEE binary16 bits, rounding to nearest even.
func F32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	man := b & 0x7fffff
	if exp == 0xff {
		if man != 0 {
			return sign | 0x7e00 | uint16(man>>13)
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		if e < -10 {
			return sign
		}
		man |= 0x800000
		shift := uint32(14 - e)
		h := man >> shift
		rem := man & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && h&1 != 0) {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 != 0) {
		h++ // may carry into the exponent, up to Inf: correct
	}
	return sign | uint16(h)
}

// F16ToF32 decodes IEEE binary16 bits.
func F16ToF32(h uint16) float32 { return tensor.HalfToFloat32(h) }

// F32ToBF16 converts float32 to bfloat16 bits, rounding to nearest even.
func F32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// BF16ToF32 decodes bfloat16 bits.
func BF16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// isRawFloat reports dtypes whose storage holds the bits of a narrow float.
func isRawFloat(dt tensor.DType) bool {
	switch dt {
	case tensor.Float16, tensor.BFloat16, tensor.Float8E4M3FN, tensor.Float8E4M3FNUZ, tensor.Float8E5M2,
		tensor.Float8E5M2FNUZ, tensor.Float4E2M1, Float8E8M0:
		return true
	}
	return false
}

// isFloat extends DType.IsFloat with e8m0.
func isFloat(dt tensor.DType) bool { return dt.IsFloat() || dt == Float8E8M0 }

// isInt extends DType.IsInt with the 2-bit types.
func isInt(dt tensor.DType) bool { return dt.IsInt() || dt == Int2 || dt == Uint2 }

// newTensor allocates a zero tensor, including the dtypes tensor.New does
// not know (24..26).
func newTensor(dt tensor.DType, shape ...int) *tensor.Tensor {
	switch dt {
	case Float8E8M0, Uint2:
		return &tensor.Tensor{DType: dt, Shape: append([]int{}, shape...), Data: make([]uint8, tensor.NumElems(shape))}
	case Int2:
		return &tensor.Tensor{DType: dt, Shape: append([]int{}, shape...), Data: make([]int8, tensor.NumElems(shape))}
	}
	return tensor.New(dt, shape...)
}

// ToFloat64 returns the elements of a numeric or bool tensor as float64
// (narrow floats decoded exactly).
func ToFloat64(t *tensor.Tensor) ([]float64, error) {
	n := t.Len()
	out := make([]float64, n)
	switch d := t.Data.(type) {
	case []float32:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []float64:
		copy(out, d)
	case []int8:
		conv(out, d)
	case []int16:
		conv(out, d)
	case []int32:
		conv(out, d)
	case []int64:
		conv(out, d)
	case []uint32:
		conv(out, d)
	case []uint64:
		conv(out, d)
	case []bool:
		for i, v := range d {
			if v {
				out[i] = 1
			}
		}
	case []uint16:
		switch t.DType {
		case tensor.Float16:
			for i, v := range d {
				out[i] = float64(tensor.HalfToFloat32(v))
			}
		case tensor.BFloat16:
			for i, v := range d {
				out[i] = float64(BF16ToF32(v))
			}
		default:
			conv(out, d)
		}
	case []uint8:
		if f, ok := formatOf(t.DType); ok {
			for i, v := range d {
				out[i] = f.decode(uint32(v))
			}
		} else {
			conv(out, d)
		}
	default:
		return nil, fmt.Errorf("dtype %s has no numeric value", t.DType)
	}
	return out, nil
}

func conv[D, S Numeric](dst []D, src []S) {
	for i, v := range src {
		dst[i] = D(v)
	}
}

// FromFloat64 builds a floating tensor of dtype dt from float64 values,
// rounding to nearest even (IEEE overflow to Inf; float8 formats saturate
// as ONNX's Cast does by default).
func FromFloat64(dt tensor.DType, vals []float64, shape []int) (*tensor.Tensor, error) {
	t := newTensor(dt, shape...)
	switch d := t.Data.(type) {
	case []float32:
		for i, v := range vals {
			d[i] = float32(v)
		}
	case []float64:
		copy(d, vals)
	case []uint16:
		switch dt {
		case tensor.Float16:
			for i, v := range vals {
				d[i] = uint16(fmtF16.encode(v, false))
			}
		case tensor.BFloat16:
			for i, v := range vals {
				d[i] = F32ToBF16(float32(v))
			}
		default:
			return nil, fmt.Errorf("FromFloat64: %s is not a float type", dt)
		}
	case []uint8:
		f, ok := formatOf(dt)
		if !ok {
			return nil, fmt.Errorf("FromFloat64: %s is not a float type", dt)
		}
		for i, v := range vals {
			d[i] = uint8(f.encode(v, true))
		}
	default:
		return nil, fmt.Errorf("FromFloat64: %s is not a float type", dt)
	}
	return t, nil
}

// toF32 returns a float32 view of a floating tensor: float32 as is, other
// floats converted (the bool result says a conversion happened).
func toF32(t *tensor.Tensor) (*tensor.Tensor, bool, error) {
	switch t.DType {
	case tensor.Float32:
		return t, false, nil
	case tensor.Float16:
		out := tensor.New(tensor.Float32, t.Shape...)
		o := out.F32()
		for i, v := range t.U16() {
			o[i] = tensor.HalfToFloat32(v)
		}
		return out, true, nil
	case tensor.BFloat16:
		out := tensor.New(tensor.Float32, t.Shape...)
		o := out.F32()
		for i, v := range t.U16() {
			o[i] = BF16ToF32(v)
		}
		return out, true, nil
	}
	v, err := ToFloat64(t)
	if err != nil {
		return nil, false, err
	}
	out := tensor.New(tensor.Float32, t.Shape...)
	o := out.F32()
	for i, x := range v {
		o[i] = float32(x)
	}
	return out, true, nil
}

// fromF32 converts a float32 tensor to the floating dtype dt.
func fromF32(t *tensor.Tensor, dt tensor.DType) *tensor.Tensor {
	switch dt {
	case tensor.Float32:
		return t
	case tensor.Float16:
		out := tensor.New(dt, t.Shape...)
		o := out.U16()
		for i, v := range t.F32() {
			o[i] = F32ToF16(v)
		}
		return out
	case tensor.BFloat16:
		out := tensor.New(dt, t.Shape...)
		o := out.U16()
		for i, v := range t.F32() {
			o[i] = F32ToBF16(v)
		}
		return out
	case tensor.Float64:
		out := tensor.New(dt, t.Shape...)
		conv(out.F64(), t.F32())
		return out
	}
	v := make([]float64, t.Len())
	conv(v, t.F32())
	out, err := FromFloat64(dt, v, t.Shape)
	if err != nil {
		return t
	}
	return out
}

// ToInt64 returns the elements of an integer or bool tensor as int64
// (uint64 values wrap).
func ToInt64(t *tensor.Tensor) ([]int64, error) {
	out := make([]int64, t.Len())
	switch d := t.Data.(type) {
	case []int64:
		copy(out, d)
	case []int32:
		conv(out, d)
	case []int16:
		conv(out, d)
	case []int8:
		conv(out, d)
	case []uint8:
		if isRawFloat(t.DType) {
			return nil, fmt.Errorf("dtype %s is not an integer type", t.DType)
		}
		conv(out, d)
	case []uint16:
		if isRawFloat(t.DType) {
			return nil, fmt.Errorf("dtype %s is not an integer type", t.DType)
		}
		conv(out, d)
	case []uint32:
		conv(out, d)
	case []uint64:
		conv(out, d)
	case []bool:
		for i, v := range d {
			if v {
				out[i] = 1
			}
		}
	default:
		return nil, fmt.Errorf("dtype %s is not an integer type", t.DType)
	}
	return out, nil
}

// intsOf reads a small integer tensor (shape/axes/indices inputs).
func intsOf(t *tensor.Tensor, what string) ([]int64, error) {
	if t == nil {
		return nil, nil
	}
	v, err := ToInt64(t)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return v, nil
}

// scalarF64 reads the single element of a numeric tensor.
func scalarF64(t *tensor.Tensor, what string) (float64, error) {
	if t.Len() != 1 {
		return 0, fmt.Errorf("%s must have one element, has shape %v", what, t.Shape)
	}
	v, err := ToFloat64(t)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return v[0], nil
}

// take returns out[i] = src[idx[i]] (the zero value where idx[i] < 0).
func take[S ~[]E, E any](src S, idx []int) S {
	out := make(S, len(idx))
	for i, j := range idx {
		if j >= 0 {
			out[i] = src[j]
		}
	}
	return out
}

// takeData applies take to any storage slice.
func takeData(src any, idx []int) any {
	switch s := src.(type) {
	case []float32:
		return take(s, idx)
	case []float64:
		return take(s, idx)
	case []int8:
		return take(s, idx)
	case []int16:
		return take(s, idx)
	case []int32:
		return take(s, idx)
	case []int64:
		return take(s, idx)
	case []uint8:
		return take(s, idx)
	case []uint16:
		return take(s, idx)
	case []uint32:
		return take(s, idx)
	case []uint64:
		return take(s, idx)
	case []bool:
		return take(s, idx)
	case []string:
		return take(s, idx)
	case []complex64:
		return take(s, idx)
	case []complex128:
		return take(s, idx)
	}
	panic(fmt.Sprintf("takeData: unsupported storage %T", src))
}

// takeTensor gathers src elements by flat index into a tensor of shape.
func takeTensor(src *tensor.Tensor, idx []int, shape []int) *tensor.Tensor {
	return &tensor.Tensor{DType: src.DType, Shape: append([]int{}, shape...), Data: takeData(src.Data, idx)}
}

// fillData sets every element of dst whose idx is negative to the first
// element of fill (same storage type).
func fillData(dst any, idx []int, fill any) {
	switch d := dst.(type) {
	case []float32:
		fillT(d, idx, fill.([]float32))
	case []float64:
		fillT(d, idx, fill.([]float64))
	case []int8:
		fillT(d, idx, fill.([]int8))
	case []int16:
		fillT(d, idx, fill.([]int16))
	case []int32:
		fillT(d, idx, fill.([]int32))
	case []int64:
		fillT(d, idx, fill.([]int64))
	case []uint8:
		fillT(d, idx, fill.([]uint8))
	case []uint16:
		fillT(d, idx, fill.([]uint16))
	case []uint32:
		fillT(d, idx, fill.([]uint32))
	case []uint64:
		fillT(d, idx, fill.([]uint64))
	case []bool:
		fillT(d, idx, fill.([]bool))
	case []string:
		fillT(d, idx, fill.([]string))
	}
}

func fillT[E any](d []E, idx []int, fill []E) {
	if len(fill) == 0 {
		return
	}
	for i, j := range idx {
		if j < 0 {
			d[i] = fill[0]
		}
	}
}

// concatData concatenates storage slices of one type.
func concatData(parts []any) any {
	if len(parts) == 0 {
		return nil
	}
	switch parts[0].(type) {
	case []float32:
		return concatT[[]float32](parts)
	case []float64:
		return concatT[[]float64](parts)
	case []int8:
		return concatT[[]int8](parts)
	case []int16:
		return concatT[[]int16](parts)
	case []int32:
		return concatT[[]int32](parts)
	case []int64:
		return concatT[[]int64](parts)
	case []uint8:
		return concatT[[]uint8](parts)
	case []uint16:
		return concatT[[]uint16](parts)
	case []uint32:
		return concatT[[]uint32](parts)
	case []uint64:
		return concatT[[]uint64](parts)
	case []bool:
		return concatT[[]bool](parts)
	case []string:
		return concatT[[]string](parts)
	case []complex64:
		return concatT[[]complex64](parts)
	case []complex128:
		return concatT[[]complex128](parts)
	}
	panic(fmt.Sprintf("concatData: unsupported storage %T", parts[0]))
}

func concatT[S ~[]E, E any](parts []any) S {
	n := 0
	for _, p := range parts {
		n += len(p.(S))
	}
	out := make(S, 0, n)
	for _, p := range parts {
		out = append(out, p.(S)...)
	}
	return out
}

// sliceData returns data[lo:hi] (sharing storage).
func sliceData(data any, lo, hi int) any {
	switch d := data.(type) {
	case []float32:
		return d[lo:hi]
	case []float64:
		return d[lo:hi]
	case []int8:
		return d[lo:hi]
	case []int16:
		return d[lo:hi]
	case []int32:
		return d[lo:hi]
	case []int64:
		return d[lo:hi]
	case []uint8:
		return d[lo:hi]
	case []uint16:
		return d[lo:hi]
	case []uint32:
		return d[lo:hi]
	case []uint64:
		return d[lo:hi]
	case []bool:
		return d[lo:hi]
	case []string:
		return d[lo:hi]
	case []complex64:
		return d[lo:hi]
	case []complex128:
		return d[lo:hi]
	}
	panic(fmt.Sprintf("sliceData: unsupported storage %T", data))
}

// copyTensor deep-copies a tensor of any dtype.
func copyTensor(t *tensor.Tensor) *tensor.Tensor {
	n := t.Len()
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return takeTensor(t, idx, t.Shape)
}

// normAxis resolves a possibly negative axis against rank.
func normAxis(axis int64, rank int) (int, error) {
	a := int(axis)
	if a < 0 {
		a += rank
	}
	if a < 0 || a >= rank {
		return 0, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	return a, nil
}

// flatIndex walks all positions of shape, calling f with the multi-index.
func forEachIndex(shape []int, f func(pos int, idx []int)) {
	n := tensor.NumElems(shape)
	idx := make([]int, len(shape))
	for p := 0; p < n; p++ {
		f(p, idx)
		for d := len(shape) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
}

// viaF32 wraps a float32-only kernel so it also serves the other float
// dtypes: float inputs that are not float32 are converted to float32, and
// float32 outputs are converted back to the dtype of the first input.
func viaF32(k Kernel) Kernel {
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		if len(in) == 0 {
			return k.Run(ctx, in)
		}
		x, ok := in[0].(*tensor.Tensor)
		if !ok || x == nil || x.DType == tensor.Float32 || !isFloat(x.DType) {
			return k.Run(ctx, in)
		}
		conv := make([]Value, len(in))
		for i, v := range in {
			conv[i] = v
			if t, ok := v.(*tensor.Tensor); ok && t != nil && isFloat(t.DType) && t.DType != tensor.Float32 {
				f, _, err := toF32(t)
				if err != nil {
					return nil, err
				}
				conv[i] = f
			}
		}
		out, err := k.Run(ctx, conv)
		if err != nil {
			return nil, err
		}
		for j, v := range out {
			if t, ok := v.(*tensor.Tensor); ok && t != nil && t.DType == tensor.Float32 {
				out[j] = fromF32(t, x.DType)
			}
		}
		return out, nil
	})
}

// floatMatch accepts nodes whose first input is a float type (or unknown).
func floatMatch(b *BuildInfo) bool {
	dt := b.InDType(0)
	return dt == tensor.Undefined || isFloat(dt)
}
