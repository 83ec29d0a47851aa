package ops

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/tensor"
)

// QuantizeLinear / DequantizeLinear: the affine integer encoding
// q = saturate(round_half_even(x / scale) + zero_point), x = (q - zp) * scale,
// per tensor (scalar scale), per axis (1-D scale along `axis`) or per block
// (opset 21 block_size along `axis`).

func init() {
	Register(Impl{Op: "QuantizeLinear", Name: "ref", DTypes: []tensor.DType{tensor.Float32},
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
			return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
				ts, err := MustTensors(in, 2)
				if err != nil {
					return nil, err
				}
				zp, err := Tensor(in, 2)
				if err != nil {
					return nil, err
				}
				dt := tensor.Uint8
				if zp != nil {
					dt = zp.DType
				} else if outDT != 0 {
					dt = tensor.DType(outDT)
				}
				out, err := QuantizeLinear(ts[0], ts[1], zp, dt, int(axis), int(block))
				if err != nil {
					return nil, err
				}
				return []Value{out}, nil
			}), nil
		}})
	Register(Impl{Op: "DequantizeLinear", Name: "ref", DTypes: []tensor.DType{tensor.Int8, tensor.Uint8, tensor.Int16, tensor.Uint16, tensor.Int32},
		Build: func(b *BuildInfo) (Kernel, error) {
			axis, err := b.Node.Int("axis", 1)
			if err != nil {
				return nil, err
			}
			block, err := b.Node.Int("block_size", 0)
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
				out, err := DequantizeLinear(ts[0], ts[1], zp, int(axis), int(block))
				if err != nil {
					return nil, err
				}
				return []Value{out}, nil
			}), nil
		}})
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
	}
	return 0, 0, false
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

// QuantizeLinear quantizes float32 x to dtype dt.
func QuantizeLinear(x, scale, zp *tensor.Tensor, dt tensor.DType, axis, block int) (*tensor.Tensor, error) {
	if x.DType != tensor.Float32 {
		return nil, fmt.Errorf("QuantizeLinear: input dtype %s, want float32", x.DType)
	}
	if scale.DType != tensor.Float32 {
		return nil, fmt.Errorf("QuantizeLinear: scale dtype %s, want float32", scale.DType)
	}
	lo, hi, ok := IntRange(dt)
	if !ok {
		return nil, fmt.Errorf("QuantizeLinear: output dtype %s is not supported here", dt)
	}
	si, err := newScaleIndex(x, scale, axis, block)
	if err != nil {
		return nil, fmt.Errorf("QuantizeLinear: %w", err)
	}
	if zp != nil && zp.Len() != scale.Len() {
		return nil, fmt.Errorf("QuantizeLinear: zero point has %d elements, scale %d", zp.Len(), scale.Len())
	}
	sd := scale.F32()
	out := tensor.New(dt, x.Shape...)
	xd := x.F32()
	for i, v := range xd {
		k := si.at(i)
		var z int64
		if zp != nil {
			z = int64(zp.Float64At(k))
		}
		q := math.RoundToEven(float64(v/sd[k])) + float64(z)
		var qi int64
		switch {
		case math.IsNaN(q):
			qi = z
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

// DequantizeLinear maps integers back to float32.
func DequantizeLinear(x, scale, zp *tensor.Tensor, axis, block int) (*tensor.Tensor, error) {
	if _, _, ok := IntRange(x.DType); !ok {
		return nil, fmt.Errorf("DequantizeLinear: input dtype %s is not supported here", x.DType)
	}
	if scale.DType != tensor.Float32 {
		return nil, fmt.Errorf("DequantizeLinear: scale dtype %s, want float32", scale.DType)
	}
	si, err := newScaleIndex(x, scale, axis, block)
	if err != nil {
		return nil, fmt.Errorf("DequantizeLinear: %w", err)
	}
	if zp != nil && zp.Len() != scale.Len() {
		return nil, fmt.Errorf("DequantizeLinear: zero point has %d elements, scale %d", zp.Len(), scale.Len())
	}
	if zp != nil && zp.DType != x.DType {
		return nil, fmt.Errorf("DequantizeLinear: zero point dtype %s differs from input %s", zp.DType, x.DType)
	}
	sd := scale.F32()
	out := tensor.New(tensor.Float32, x.Shape...)
	od := out.F32()
	n := x.Len()
	for i := 0; i < n; i++ {
		k := si.at(i)
		var z float64
		if zp != nil {
			z = zp.Float64At(k)
		}
		od[i] = float32((x.Float64At(i) - z)) * sd[k]
	}
	return out, nil
}
