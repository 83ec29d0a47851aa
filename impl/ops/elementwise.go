package ops

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/tensor"
)

// Numeric is the set of Go element types arithmetic kernels are generic over.
type Numeric interface {
	~float32 | ~float64 | ~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

func init() {
	for _, op := range []string{"Add", "Sub", "Mul", "Div"} {
		op := op
		Register(Impl{Op: op, Name: "ref", DTypes: []tensor.DType{tensor.Float32, tensor.Float64, tensor.Int8, tensor.Int16, tensor.Int32, tensor.Int64, tensor.Uint8, tensor.Uint16, tensor.Uint32, tensor.Uint64},
			Build: func(b *BuildInfo) (Kernel, error) {
				return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
					ts, err := MustTensors(in, 2)
					if err != nil {
						return nil, err
					}
					out, err := arith(op, ts[0], ts[1])
					if err != nil {
						return nil, err
					}
					return []Value{out}, nil
				}), nil
			}})
	}
	Register(Impl{Op: "Relu", Name: "ref", DTypes: []tensor.DType{tensor.Float32, tensor.Float64, tensor.Int8, tensor.Int32, tensor.Int64},
		Build: func(b *BuildInfo) (Kernel, error) {
			return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
				ts, err := MustTensors(in, 1)
				if err != nil {
					return nil, err
				}
				x := ts[0]
				out := tensor.New(x.DType, x.Shape...)
				switch x.DType {
				case tensor.Float32:
					ReluF32(x.F32(), out.F32())
				case tensor.Float64:
					relu(x.F64(), out.F64())
				case tensor.Int8:
					relu(x.I8(), out.I8())
				case tensor.Int32:
					relu(x.I32(), out.I32())
				case tensor.Int64:
					relu(x.I64(), out.I64())
				default:
					return nil, fmt.Errorf("Relu: unsupported dtype %s", x.DType)
				}
				return []Value{out}, nil
			}), nil
		}})
	Register(Impl{Op: "Identity", Name: "ref", Build: func(b *BuildInfo) (Kernel, error) {
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) { return []Value{in[0]}, nil }), nil
	}})
}

// ReluF32 writes max(x, 0) into out (NaN stays NaN).
func ReluF32(x, out []float32) {
	for i, v := range x {
		if v < 0 {
			v = 0
		}
		out[i] = v
	}
}

func relu[T Numeric](x, out []T) {
	for i, v := range x {
		if v < 0 {
			v = 0
		}
		out[i] = v
	}
}

// arith applies a broadcasting arithmetic op to two tensors of one dtype.
func arith(op string, a, b *tensor.Tensor) (*tensor.Tensor, error) {
	if a.DType != b.DType {
		return nil, fmt.Errorf("%s: input dtypes differ (%s vs %s)", op, a.DType, b.DType)
	}
	switch a.DType {
	case tensor.Float32:
		return arithT(op, a, b, a.F32(), b.F32())
	case tensor.Float64:
		return arithT(op, a, b, a.F64(), b.F64())
	case tensor.Int8:
		return arithT(op, a, b, a.I8(), b.I8())
	case tensor.Int16:
		return arithT(op, a, b, a.Data.([]int16), b.Data.([]int16))
	case tensor.Int32:
		return arithT(op, a, b, a.I32(), b.I32())
	case tensor.Int64:
		return arithT(op, a, b, a.I64(), b.I64())
	case tensor.Uint8:
		return arithT(op, a, b, a.U8(), b.U8())
	case tensor.Uint16:
		return arithT(op, a, b, a.U16(), b.U16())
	case tensor.Uint32:
		return arithT(op, a, b, a.Data.([]uint32), b.Data.([]uint32))
	case tensor.Uint64:
		return arithT(op, a, b, a.Data.([]uint64), b.Data.([]uint64))
	}
	return nil, fmt.Errorf("%s: unsupported dtype %s", op, a.DType)
}

func arithT[T Numeric](op string, at, bt *tensor.Tensor, a, b []T) (*tensor.Tensor, error) {
	var f func(x, y T) T
	isInt := !at.DType.IsFloat()
	switch op {
	case "Add":
		f = func(x, y T) T { return x + y }
	case "Sub":
		f = func(x, y T) T { return x - y }
	case "Mul":
		f = func(x, y T) T { return x * y }
	case "Div":
		if isInt {
			f = func(x, y T) T {
				if y == 0 {
					return 0
				}
				return x / y
			}
		} else {
			f = func(x, y T) T { return x / y }
		}
	default:
		return nil, fmt.Errorf("unknown arithmetic op %s", op)
	}
	out, shape, err := tensor.Binary(a, at.Shape, b, bt.Shape, f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return &tensor.Tensor{DType: at.DType, Shape: shape, Data: out}, nil
}

var _ = math.Inf
