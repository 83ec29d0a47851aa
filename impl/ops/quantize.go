package ops

import (
	"fmt"
	"github.com/frugal-ml/frugal/arith/convert"
	"math"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// QuantizeLinear / DequantizeLinear (opsets 10-25): the linear encoding
// y = saturate(round_half_even(x / scale) + zero_point) and its inverse
// x = (y - zero_point) * scale, per tensor (scalar scale), per axis (1-D
// scale along `axis`) or per block (opset 21 block_size along `axis`).
//
// Quantized types: int8/uint8, int16/uint16, int4/uint4, int2/uint2 (clamped
// to their range), the four float8 formats and float4e2m1 (rounded to
// nearest even; `saturate` (opset 19+, default 1) clamps out-of-range float8
// values to the largest finite value, otherwise they become Inf or NaN as in
// Cast; float4e2m1 has neither and always saturates). Zero points of the
// float types enter the formula as values; a zero one is not added, so -0
// keeps its sign as Cast keeps it (ONNX's reference implementation ignores
// float8 zero points altogether, which agrees whenever they are zero, the
// usual case). int32 is accepted both ways (DequantizeLinear reads it per
// the spec; QuantizeLinear writing it is an extension kept from earlier
// versions).
//
// Precision. QuantizeLinear divides in the `precision` attribute's type
// (opset 23+) or, without it, in the type of y_scale, as the operator spec
// says; x and y_scale are first rounded to that type. An int32 or float8e8m0
// scale cannot hold a quotient: they divide in float32. DequantizeLinear
// multiplies in its output type (`output_dtype`, opset 23+, else the type of
// x_scale): (x - zero_point) and x_scale are rounded to it and the product
// is rounded once.

func init() {
	Register(Impl{Op: "QuantizeLinear", Name: "ref",
		DTypes: []tensor.DType{tensor.Float32, tensor.Float16, tensor.BFloat16, tensor.Int32},
		Build: func(b *BuildInfo) (Kernel, error) {
			opt, err := quantizeOptions(b.Node)
			if err != nil {
				return nil, err
			}
			return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
				ts, err := MustTensors(in, 2)
				if err != nil {
					return nil, err
				}
				zp, err := Tensor(in, 2)
				if err != nil {
					return nil, err
				}
				if out := parallelQuantize(ctx, ts[0], ts[1], zp, opt); out != nil {
					return []Value{out}, nil
				}
				out, err := QuantizeLinearOpts(ts[0], ts[1], zp, opt)
				if err != nil {
					return nil, err
				}
				return []Value{out}, nil
			}), nil
		}})
	Register(Impl{Op: "DequantizeLinear", Name: "ref",
		DTypes: []tensor.DType{tensor.Int8, tensor.Uint8, tensor.Int16, tensor.Uint16, tensor.Int32,
			tensor.Int4, tensor.Uint4, Int2, Uint2, tensor.Float8E4M3FN, tensor.Float8E4M3FNUZ,
			tensor.Float8E5M2, tensor.Float8E5M2FNUZ, tensor.Float4E2M1},
		Build: func(b *BuildInfo) (Kernel, error) {
			axis, err := b.Node.Int("axis", 1)
			if err != nil {
				return nil, err
			}
			block, err := b.Node.Int("block_size", 0)
			if err != nil {
				return nil, err
			}
			outDT, err := b.Node.Int("output_dtype", 0)
			if err != nil {
				return nil, err
			}
			if err := checkDTypeAttr("output_dtype", outDT); err != nil {
				return nil, err
			}
			if block < 0 {
				return nil, fmt.Errorf("DequantizeLinear: block_size %d must not be negative", block)
			}
			return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
				ts, err := MustTensors(in, 2)
				if err != nil {
					return nil, err
				}
				zp, err := Tensor(in, 2)
				if err != nil {
					return nil, err
				}
				if outDT == 0 || tensor.DType(outDT) == tensor.Float32 {
					if out := parallelDequantize(ctx, ts[0], ts[1], zp); out != nil {
						return []Value{out}, nil
					}
				}
				out, err := DequantizeLinearTo(ts[0], ts[1], zp, int(axis), int(block), tensor.DType(outDT))
				if err != nil {
					return nil, err
				}
				return []Value{out}, nil
			}), nil
		}})
	// Supersedes graph's DequantizeLinear shape function, which predates
	// output_dtype (opset 23): downstream kernels select on this dtype.
	graph.RegisterShape("", "DequantizeLinear", func(n *graph.Node, in []graph.Type, _ []*tensor.Tensor, _ int64) ([]graph.Type, error) {
		if len(in) == 0 {
			return nil, nil
		}
		out := in[0]
		out.DType = tensor.Float32
		if len(in) > 1 && in[1].DType != tensor.Undefined {
			out.DType = in[1].DType
		}
		if dt, err := n.Int("output_dtype", 0); err != nil {
			return nil, err
		} else if dt != 0 {
			out.DType = tensor.DType(dt)
		}
		return []graph.Type{out}, nil
	})
}

// QuantizeOptions are QuantizeLinear's attributes.
type QuantizeOptions struct {
	Axis      int          // quantization axis for per-axis and blocked scales (default 1)
	Block     int          // block_size; 0 = per tensor or per axis
	OutDType  tensor.DType // output_dtype; Undefined = from the zero point, else uint8
	Saturate  bool         // float8 outputs: clamp out-of-range values (default true)
	Precision tensor.DType // type of the division; Undefined = the type of y_scale
}

func quantizeOptions(n *graph.Node) (QuantizeOptions, error) {
	names := []string{"axis", "block_size", "output_dtype", "saturate", "precision"}
	defs := []int64{1, 0, 0, 1, 0}
	v := make([]int64, len(names))
	for i, name := range names {
		var err error
		if v[i], err = n.Int(name, defs[i]); err != nil {
			return QuantizeOptions{}, err
		}
	}
	if v[1] < 0 {
		return QuantizeOptions{}, fmt.Errorf("QuantizeLinear: block_size %d must not be negative", v[1])
	}
	if err := checkDTypeAttr("output_dtype", v[2]); err != nil {
		return QuantizeOptions{}, err
	}
	if err := checkDTypeAttr("precision", v[4]); err != nil {
		return QuantizeOptions{}, err
	}
	return QuantizeOptions{Axis: int(v[0]), Block: int(v[1]), OutDType: tensor.DType(v[2]), Saturate: v[3] != 0, Precision: tensor.DType(v[4])}, nil
}

// checkDTypeAttr rejects a dtype attribute outside TensorProto's numbering.
func checkDTypeAttr(name string, v int64) error {
	if v < 0 || v > 255 {
		return fmt.Errorf("%s %d is not a TensorProto data type", name, v)
	}
	return nil
}

// IntRange returns the representable range of an integer dtype.
func IntRange(dt tensor.DType) (lo, hi int64, ok bool) {
	switch dt {
	case tensor.Int8:
		return -128, 127, true
	case tensor.Uint8:
		return 0, 255, true
	case tensor.Int16:
		return -32768, 32767, true
	case tensor.Uint16:
		return 0, 65535, true
	case tensor.Int32:
		return math.MinInt32, math.MaxInt32, true
	case tensor.Int4:
		return -8, 7, true
	case tensor.Uint4:
		return 0, 15, true
	case Int2:
		return -2, 1, true
	case Uint2:
		return 0, 3, true
	}
	return 0, 0, false
}

// quantFloatOut reports the float formats QuantizeLinear can produce.
func quantFloatOut(dt tensor.DType) (floatFormat, bool) {
	switch dt {
	case tensor.Float8E4M3FN, tensor.Float8E4M3FNUZ, tensor.Float8E5M2, tensor.Float8E5M2FNUZ, tensor.Float4E2M1:
		return formatOf(dt)
	}
	return floatFormat{}, false
}

// scaleIndex maps each element index of x to the index of its scale: 0 for
// per-tensor, the coordinate along axis for per-axis, the block for blocked.
type scaleIndex struct {
	perTensor   bool
	outer, dim  int // elements before axis, size of axis
	inner       int // elements after axis
	block       int
	scaleLen    int
	scaleAxisSz int
}

func newScaleIndex(x, scale *tensor.Tensor, axis, block int) (scaleIndex, error) {
	si := scaleIndex{}
	if scale.Len() == 1 && block == 0 {
		si.perTensor = true
		return si, nil
	}
	r := x.Rank()
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis >= r {
		return si, fmt.Errorf("axis %d out of range for shape %v", axis, x.Shape)
	}
	si.outer = tensor.NumElems(x.Shape[:axis])
	si.dim = x.Shape[axis]
	si.inner = tensor.NumElems(x.Shape[axis+1:])
	si.scaleLen = scale.Len()
	if block > 0 {
		si.block = block
		nb := (si.dim + block - 1) / block
		want := append([]int{}, x.Shape...)
		want[axis] = nb
		if !tensor.SameShape(scale.Shape, want) {
			return si, fmt.Errorf("blocked scale shape %v, want %v (block_size %d on axis %d)", scale.Shape, want, block, axis)
		}
		si.scaleAxisSz = nb
		return si, nil
	}
	if scale.Rank() != 1 || scale.Len() != si.dim {
		return si, fmt.Errorf("per-axis scale shape %v does not match dim %d of %v on axis %d", scale.Shape, si.dim, x.Shape, axis)
	}
	return si, nil
}

func (s scaleIndex) at(i int) int {
	if s.perTensor {
		return 0
	}
	o := i / (s.dim * s.inner)
	a := (i / s.inner) % s.dim
	in := i % s.inner
	if s.block > 0 {
		return (o*s.scaleAxisSz+a/s.block)*s.inner + in
	}
	return a
}

// fmtBF16 is bfloat16 as a floatFormat, for rounding float64 values to it
// in one step.
var fmtBF16 = floatFormat{8, 7, 127, styleIEEE}

// roundTo rounds v to the nearest value of the float dtype dt (ties to
// even; float64 and other dtypes leave v as is).
func roundTo(dt tensor.DType, v float64) float64 {
	switch dt {
	case tensor.Float32:
		return float64(float32(v))
	case tensor.Float16:
		return fmtF16.decode(fmtF16.encode(v, false))
	case tensor.BFloat16:
		return fmtBF16.decode(fmtBF16.encode(v, false))
	}
	return v
}

// elemReader returns a function reading element i of t as float64 (narrow
// floats decoded exactly, through a table for the 8-bit formats).
func elemReader(t *tensor.Tensor) (func(i int) float64, error) {
	switch d := t.Data.(type) {
	case []float32:
		return func(i int) float64 { return float64(d[i]) }, nil
	case []float64:
		return func(i int) float64 { return d[i] }, nil
	case []int8:
		return func(i int) float64 { return float64(d[i]) }, nil
	case []int16:
		return func(i int) float64 { return float64(d[i]) }, nil
	case []int32:
		return func(i int) float64 { return float64(d[i]) }, nil
	case []int64:
		return func(i int) float64 { return float64(d[i]) }, nil
	case []uint32:
		return func(i int) float64 { return float64(d[i]) }, nil
	case []uint16:
		switch t.DType {
		case tensor.Float16:
			return func(i int) float64 { return float64(tensor.HalfToFloat32(d[i])) }, nil
		case tensor.BFloat16:
			return func(i int) float64 { return float64(BF16ToF32(d[i])) }, nil
		}
		return func(i int) float64 { return float64(d[i]) }, nil
	case []uint8:
		if f, ok := formatOf(t.DType); ok {
			var lut [256]float64
			for c := range lut {
				lut[c] = f.decode(uint32(c))
			}
			return func(i int) float64 { return lut[d[i]] }, nil
		}
		return func(i int) float64 { return float64(d[i]) }, nil
	}
	return nil, fmt.Errorf("dtype %s has no numeric value", dtypeName(t.DType))
}

// QuantizeLinear quantizes x to dtype dt with the default attributes
// (saturate, division in the type of scale).
func QuantizeLinear(x, scale, zp *tensor.Tensor, dt tensor.DType, axis, block int) (*tensor.Tensor, error) {
	if zp != nil && zp.DType != dt {
		return nil, fmt.Errorf("QuantizeLinear: zero point dtype %s differs from output %s", dtypeName(zp.DType), dtypeName(dt))
	}
	return QuantizeLinearOpts(x, scale, zp, QuantizeOptions{Axis: axis, Block: block, OutDType: dt, Saturate: true})
}

// QuantizeLinearOpts is QuantizeLinear with every attribute of opset 25.
func QuantizeLinearOpts(x, scale, zp *tensor.Tensor, o QuantizeOptions) (*tensor.Tensor, error) {
	dt := o.OutDType
	if zp != nil {
		if dt != tensor.Undefined && dt != zp.DType {
			return nil, fmt.Errorf("QuantizeLinear: output_dtype %s does not match the zero point's %s", dtypeName(dt), dtypeName(zp.DType))
		}
		dt = zp.DType
	}
	if dt == tensor.Undefined {
		dt = tensor.Uint8
	}
	lo, hi, isIntOut := IntRange(dt)
	ff, isFloatOut := quantFloatOut(dt)
	if !isIntOut && !isFloatOut {
		return nil, fmt.Errorf("QuantizeLinear: output dtype %s is not a quantized type", dtypeName(dt))
	}
	switch x.DType {
	case tensor.Float32, tensor.Float16, tensor.BFloat16, tensor.Int32:
	default:
		return nil, fmt.Errorf("QuantizeLinear: input dtype %s, want float32, float16, bfloat16 or int32", dtypeName(x.DType))
	}
	prec := o.Precision
	if prec == tensor.Undefined {
		prec = scale.DType
		switch prec {
		case tensor.Float32, tensor.Float16, tensor.BFloat16:
		case tensor.Int32, Float8E8M0:
			prec = tensor.Float32
		default:
			return nil, fmt.Errorf("QuantizeLinear: scale dtype %s, want float32, float16, bfloat16, int32 or float8e8m0", dtypeName(scale.DType))
		}
	}
	switch prec {
	case tensor.Float32, tensor.Float16, tensor.BFloat16, tensor.Float64:
	default:
		return nil, fmt.Errorf("QuantizeLinear: precision %s is not a float type", dtypeName(prec))
	}
	si, err := newScaleIndex(x, scale, o.Axis, o.Block)
	if err != nil {
		return nil, fmt.Errorf("QuantizeLinear: %w", err)
	}
	if zp != nil && zp.Len() != scale.Len() {
		return nil, fmt.Errorf("QuantizeLinear: zero point has %d elements, scale %d", zp.Len(), scale.Len())
	}
	sv, err := ToFloat64(scale)
	if err != nil {
		return nil, fmt.Errorf("QuantizeLinear: scale: %w", err)
	}
	for k, s := range sv {
		sv[k] = roundTo(prec, s)
	}
	var zv []float64
	if zp != nil {
		if zv, err = ToFloat64(zp); err != nil {
			return nil, fmt.Errorf("QuantizeLinear: zero point: %w", err)
		}
	}
	// Per-tensor float32 -> 8 bits, the common case (a model's input, the
	// activations between float ops): arith/convert's SIMD loop computes
	// the same saturate(roundHalfEven(x / scale) + zp), NaN giving zp.
	if xd, ok := x.Data.([]float32); ok && prec == tensor.Float32 && scale.DType == tensor.Float32 && scale.Len() == 1 && (dt == tensor.Uint8 || dt == tensor.Int8) {
		var z int32
		if zv != nil {
			z = int32(zv[0])
		}
		out := newTensor(dt, x.Shape...)
		quantize8(1, out, xd, scale.F32()[0], z)
		return out, nil
	}
	out := newTensor(dt, x.Shape...)
	n := x.Len()

	// quotient returns x[i] / scale[k] rounded to the precision type.
	var quotient func(i, k int) float64
	if xd, ok := x.Data.([]float32); ok && prec == tensor.Float32 && scale.DType == tensor.Float32 {
		sd := scale.F32()
		quotient = func(i, k int) float64 { return float64(xd[i] / sd[k]) }
	} else {
		rx, err := elemReader(x)
		if err != nil {
			return nil, fmt.Errorf("QuantizeLinear: %w", err)
		}
		quotient = func(i, k int) float64 { return roundTo(prec, roundTo(prec, rx(i))/sv[k]) }
	}

	if isIntOut {
		for i := 0; i < n; i++ {
			k := si.at(i)
			var z float64
			if zv != nil {
				z = zv[k]
			}
			q := math.RoundToEven(quotient(i, k)) + z
			var qi int64
			switch {
			case math.IsNaN(q):
				qi = int64(z) // undefined in ONNX; the zero point is the least surprising code
			case q > float64(hi):
				qi = hi
			case q < float64(lo):
				qi = lo
			default:
				qi = int64(q)
			}
			setInt(out, i, qi)
		}
		return out, nil
	}
	od := out.Data.([]uint8)
	for i := 0; i < n; i++ {
		k := si.at(i)
		q := quotient(i, k)
		if zv != nil && zv[k] != 0 {
			q += zv[k] // a zero zero point is skipped so -0 keeps its sign
		}
		od[i] = uint8(ff.encode(q, o.Saturate))
	}
	return out, nil
}

func setInt(t *tensor.Tensor, i int, v int64) {
	switch d := t.Data.(type) {
	case []int8:
		d[i] = int8(v)
	case []uint8:
		d[i] = uint8(v)
	case []int16:
		d[i] = int16(v)
	case []uint16:
		d[i] = uint16(v)
	case []int32:
		d[i] = int32(v)
	}
}

// DequantizeLinear maps quantized values back to the dtype of scale.
func DequantizeLinear(x, scale, zp *tensor.Tensor, axis, block int) (*tensor.Tensor, error) {
	return DequantizeLinearTo(x, scale, zp, axis, block, tensor.Undefined)
}

// DequantizeLinearTo maps quantized values to dtype outDT (Undefined: the
// dtype of scale), multiplying in that dtype.
func DequantizeLinearTo(x, scale, zp *tensor.Tensor, axis, block int, outDT tensor.DType) (*tensor.Tensor, error) {
	_, _, isInt := IntRange(x.DType)
	if _, isFloat := quantFloatOut(x.DType); !isInt && !isFloat {
		return nil, fmt.Errorf("DequantizeLinear: input dtype %s is not a quantized type", dtypeName(x.DType))
	}
	switch scale.DType {
	case tensor.Float32, tensor.Float16, tensor.BFloat16, Float8E8M0:
	default:
		return nil, fmt.Errorf("DequantizeLinear: scale dtype %s, want float32, float16, bfloat16 or float8e8m0", dtypeName(scale.DType))
	}
	if outDT == tensor.Undefined {
		outDT = scale.DType
	}
	switch outDT {
	case tensor.Float32, tensor.Float16, tensor.BFloat16:
	default:
		return nil, fmt.Errorf("DequantizeLinear: output dtype %s, want float32, float16 or bfloat16 (a float8e8m0 scale needs output_dtype)", dtypeName(outDT))
	}
	si, err := newScaleIndex(x, scale, axis, block)
	if err != nil {
		return nil, fmt.Errorf("DequantizeLinear: %w", err)
	}
	if zp != nil && zp.Len() != scale.Len() {
		return nil, fmt.Errorf("DequantizeLinear: zero point has %d elements, scale %d", zp.Len(), scale.Len())
	}
	if zp != nil && zp.DType != x.DType {
		return nil, fmt.Errorf("DequantizeLinear: zero point dtype %s differs from input %s", dtypeName(zp.DType), dtypeName(x.DType))
	}
	sv, err := ToFloat64(scale)
	if err != nil {
		return nil, fmt.Errorf("DequantizeLinear: scale: %w", err)
	}
	for k, s := range sv {
		sv[k] = roundTo(outDT, s)
	}
	var zv []float64
	if zp != nil {
		if zv, err = ToFloat64(zp); err != nil {
			return nil, fmt.Errorf("DequantizeLinear: zero point: %w", err)
		}
	}
	out := tensor.New(outDT, x.Shape...)
	// (x - zp) is exact in float64 (integers below 2^33, narrow floats);
	// rounding it and the scale to the output type and then their float64
	// product (exact: at most 2x24 significant bits) gives the output
	// type's correctly rounded multiplication.
	value := func(d float64, k int) float64 {
		if zv != nil && zv[k] != 0 {
			d -= zv[k]
		}
		return roundTo(outDT, d) * sv[k]
	}
	store := storeFloat(out)
	// A per-tensor scale over one-byte codes: a table of the 256 results.
	if dec := byteDecoder(x); dec != nil && si.perTensor {
		lut := tensor.New(outDT, 256)
		st := storeFloat(lut)
		for c := range 256 {
			st(c, value(dec(uint8(c)), 0))
		}
		switch od := out.Data.(type) {
		case []float32:
			gatherCodes(od, lut.F32(), x.Data)
		case []uint16:
			gatherCodes(od, lut.U16(), x.Data)
		}
		return out, nil
	}
	rx, err := elemReader(x)
	if err != nil {
		return nil, fmt.Errorf("DequantizeLinear: %w", err)
	}
	n := x.Len()
	for i := 0; i < n; i++ {
		store(i, value(rx(i), si.at(i)))
	}
	return out, nil
}

// storeFloat returns a writer of element i of a float32, float16 or
// bfloat16 tensor from a value already rounded to its type.
func storeFloat(t *tensor.Tensor) func(i int, v float64) {
	switch od := t.Data.(type) {
	case []float32:
		return func(i int, v float64) { od[i] = float32(v) }
	case []uint16:
		f := fmtF16
		if t.DType == tensor.BFloat16 {
			f = fmtBF16
		}
		return func(i int, v float64) { od[i] = uint16(f.encode(v, false)) }
	}
	panic("storeFloat: " + dtypeName(t.DType))
}

// byteDecoder returns the decoder of t's one-byte codes (int8 storage
// reinterpreted as uint8), or nil when t is not stored in bytes.
func byteDecoder(t *tensor.Tensor) func(uint8) float64 {
	switch t.Data.(type) {
	case []uint8:
		if f, ok := formatOf(t.DType); ok {
			return func(c uint8) float64 { return f.decode(uint32(c)) }
		}
		return func(c uint8) float64 { return float64(c) }
	case []int8:
		return func(c uint8) float64 { return float64(int8(c)) }
	}
	return nil
}

// gatherCodes sets dst[i] = lut[code i] for byte-stored codes.
func gatherCodes[O float32 | uint16](dst, lut []O, codes any) {
	switch d := codes.(type) {
	case []uint8:
		for i, c := range d {
			dst[i] = lut[c]
		}
	case []int8:
		for i, c := range d {
			dst[i] = lut[uint8(c)]
		}
	}
}

// parallelChunk is the work one goroutine converts at a time in the
// per-tensor paths below (smaller tensors run on the caller alone); their
// output comes from the Run's arena.
const parallelChunk = 32 << 10

// parallelQuantize is QuantizeLinear's per-tensor float32 -> 8-bit case
// (a model's input, the activations between float ops) split over the
// threads, with the same SIMD loop QuantizeLinearOpts uses; nil when the
// case does not apply (QuantizeLinearOpts then handles it, errors
// included).
func parallelQuantize(ctx *Ctx, x, scale, zp *tensor.Tensor, o QuantizeOptions) *tensor.Tensor {
	xd, ok := x.Data.([]float32)
	if !ok || scale.DType != tensor.Float32 || scale.Len() != 1 ||
		(o.Precision != tensor.Undefined && o.Precision != tensor.Float32) || o.Block != 0 {
		return nil
	}
	dt := o.OutDType
	var z int32
	if zp != nil {
		if zp.Len() != 1 || (dt != tensor.Undefined && dt != zp.DType) {
			return nil
		}
		dt = zp.DType
		z = int32(zp.Float64At(0))
	}
	if dt == tensor.Undefined {
		dt = tensor.Uint8
	}
	if dt != tensor.Uint8 && dt != tensor.Int8 {
		return nil
	}
	out := ctx.Empty(dt, x.Shape...)
	quantize8(ctx.Threads, out, xd, scale.F32()[0], z)
	return out
}

// quantize8 fills out (uint8 or int8 codes) with xd quantized per tensor
// (scale s, zero point z) by arith/convert's SIMD loop, in chunks over
// threads: saturate(roundHalfEven(x / s) + z), NaN giving z.
func quantize8(threads int, out *tensor.Tensor, xd []float32, s float32, z int32) {
	Parallel(threads, (len(xd)+parallelChunk-1)/parallelChunk, func(c0, c1 int) {
		i0, i1 := c0*parallelChunk, min(len(xd), c1*parallelChunk)
		if out.DType == tensor.Uint8 {
			convert.QuantizeUint8(out.U8()[i0:i1], xd[i0:i1], s, z)
		} else {
			convert.QuantizeInt8(out.I8()[i0:i1], xd[i0:i1], s, z)
		}
	})
}

// parallelDequantize is DequantizeLinear's per-tensor 8-bit -> float32
// case split over the threads: (x - zp) * scale in float32, which is what
// DequantizeLinearTo computes; nil when the case does not apply.
func parallelDequantize(ctx *Ctx, x, scale, zp *tensor.Tensor) *tensor.Tensor {
	if scale.DType != tensor.Float32 || scale.Len() != 1 ||
		(x.DType != tensor.Uint8 && x.DType != tensor.Int8) || (zp != nil && (zp.Len() != 1 || zp.DType != x.DType)) {
		return nil
	}
	var z int32
	if zp != nil {
		z = int32(zp.Float64At(0))
	}
	s := scale.F32()[0]
	out := ctx.Empty(tensor.Float32, x.Shape...)
	o := out.F32()
	n := x.Len()
	Parallel(ctx.Threads, (n+parallelChunk-1)/parallelChunk, func(c0, c1 int) {
		i0, i1 := c0*parallelChunk, min(n, c1*parallelChunk)
		if x.DType == tensor.Uint8 {
			convert.DequantizeUint8(o[i0:i1], x.U8()[i0:i1], s, z)
		} else {
			convert.DequantizeInt8(o[i0:i1], x.I8()[i0:i1], s, z)
		}
	})
	return out
}
