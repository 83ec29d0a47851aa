package ops

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

func init() {
	Register(Impl{Op: "Flatten", Name: "ref", Build: func(b *BuildInfo) (Kernel, error) {
		ax, err := b.Node.Int("axis", 1)
		if err != nil {
			return nil, err
		}
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
			ts, err := MustTensors(in, 1)
			if err != nil {
				return nil, err
			}
			x := ts[0]
			a := int(ax)
			if a < 0 {
				a += x.Rank()
			}
			if a < 0 || a > x.Rank() {
				return nil, fmt.Errorf("axis %d out of range for shape %v", ax, x.Shape)
			}
			out, err := x.Reshaped(tensor.NumElems(x.Shape[:a]), tensor.NumElems(x.Shape[a:]))
			if err != nil {
				return nil, err
			}
			return []Value{out}, nil
		}), nil
	}})
	Register(Impl{Op: "Reshape", Name: "ref", Build: func(b *BuildInfo) (Kernel, error) {
		az, err := b.Node.Int("allowzero", 0)
		if err != nil {
			return nil, err
		}
		attrShape, err := b.Node.Ints("shape", nil)
		if err != nil {
			return nil, err
		}
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
			if len(in) < 2 && attrShape != nil {
				// Reshape-1..4 took the target shape as an attribute.
				x, err := Tensor(in, 0)
				if err != nil || x == nil {
					return nil, fmt.Errorf("Reshape needs an input")
				}
				shape, err := graph.ResolveReshape(x.Shape, attrShape, false)
				if err != nil {
					return nil, err
				}
				out, err := x.Reshaped(shape...)
				if err != nil {
					return nil, err
				}
				return []Value{out}, nil
			}
			ts, err := MustTensors(in, 2)
			if err != nil {
				return nil, err
			}
			x, s := ts[0], ts[1]
			if s.DType != tensor.Int64 {
				return nil, fmt.Errorf("shape input has dtype %s, want int64", s.DType)
			}
			shape, err := graph.ResolveReshape(x.Shape, s.I64(), az != 0)
			if err != nil {
				return nil, err
			}
			out, err := x.Reshaped(shape...)
			if err != nil {
				return nil, err
			}
			return []Value{out}, nil
		}), nil
	}})
	for _, op := range []string{"Softmax", "LogSoftmax", "Hardmax"} {
		op := op
		Register(Impl{Op: op, Name: "ref", DTypes: floatTypes, Match: floatMatch, Build: func(b *BuildInfo) (Kernel, error) {
			def := int64(-1)
			if b.Opset > 0 && b.Opset < 13 {
				def = 1
			}
			ax, err := b.Node.Int("axis", def)
			if err != nil {
				return nil, err
			}
			legacy := b.Opset > 0 && b.Opset < 13
			return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
				ts, err := MustTensors(in, 1)
				if err != nil {
					return nil, err
				}
				x := ts[0]
				if x.DType == tensor.Float32 && op != "Hardmax" {
					out, err := softmaxF32(ctx, x, int(ax), legacy, op == "LogSoftmax")
					if err != nil {
						return nil, err
					}
					return []Value{out}, nil
				}
				out, err := softmaxAny(op, x, int(ax), legacy)
				if err != nil {
					return nil, err
				}
				return []Value{out}, nil
			}), nil
		}})
	}
	graph.RegisterShape("", "Hardmax", func(n *graph.Node, in []graph.Type, _ []*tensor.Tensor, _ int64) ([]graph.Type, error) {
		if len(in) == 0 {
			return nil, nil
		}
		return []graph.Type{in[0]}, nil
	})
}

// softmaxAny computes Softmax, LogSoftmax or Hardmax in float64 for any
// float dtype.
func softmaxAny(op string, x *tensor.Tensor, axis int, legacy bool) (*tensor.Tensor, error) {
	r := x.Rank()
	if axis < 0 {
		axis += r
	}
	if r == 0 {
		axis = 0
	} else if axis < 0 || axis >= r {
		return nil, fmt.Errorf("axis %d out of range for shape %v", axis, x.Shape)
	}
	v, err := ToFloat64(x)
	if err != nil {
		return nil, err
	}
	n, inner := 1, 1
	if r > 0 {
		if legacy {
			n = tensor.NumElems(x.Shape[axis:])
		} else {
			n = x.Shape[axis]
			inner = tensor.NumElems(x.Shape[axis+1:])
		}
	}
	out := make([]float64, len(v))
	if n > 0 {
		block := n * inner
		for base := 0; base+block <= len(v); base += block {
			for j := 0; j < inner; j++ {
				mx, arg := math.Inf(-1), 0
				for i := 0; i < n; i++ {
					if e := v[base+i*inner+j]; e > mx {
						mx, arg = e, i
					}
				}
				if op == "Hardmax" {
					out[base+arg*inner+j] = 1
					continue
				}
				var sum float64
				for i := 0; i < n; i++ {
					sum += math.Exp(v[base+i*inner+j] - mx)
				}
				for i := 0; i < n; i++ {
					k := base + i*inner + j
					if op == "LogSoftmax" {
						out[k] = v[k] - mx - math.Log(sum)
					} else {
						out[k] = math.Exp(v[k]-mx) / sum
					}
				}
			}
		}
	}
	return FromFloat64(x.DType, out, x.Shape)
}

// SoftmaxF32 computes (log-)softmax along axis. legacy selects the opset < 13
// rule: the input is coerced to 2-D at axis and normalised over the trailing
// block.
func SoftmaxF32(x *tensor.Tensor, axis int, legacy, log bool) (*tensor.Tensor, error) {
	return softmaxF32(nil, x, axis, legacy, log)
}

func softmaxF32(ctx *Ctx, x *tensor.Tensor, axis int, legacy, log bool) (*tensor.Tensor, error) {
	r := x.Rank()
	if axis < 0 {
		axis += r
	}
	if r == 0 {
		axis = 0
	} else if axis < 0 || axis >= r {
		return nil, fmt.Errorf("axis %d out of range for shape %v", axis, x.Shape)
	}
	out := ctx.Empty(tensor.Float32, x.Shape...) // every row is written
	if r == 0 {
		SoftmaxRows(x.F32(), out.F32(), 1, 1, log)
		return out, nil
	}
	if legacy {
		n := tensor.NumElems(x.Shape[axis:])
		SoftmaxRows(x.F32(), out.F32(), n, 1, log)
		return out, nil
	}
	n := x.Shape[axis]
	inner := tensor.NumElems(x.Shape[axis+1:])
	SoftmaxRows(x.F32(), out.F32(), n, inner, log)
	return out, nil
}

// SoftmaxRows normalises groups of n elements spaced inner apart.
func SoftmaxRows(x, out []float32, n, inner int, log bool) {
	if n == 0 {
		return
	}
	if inner == 1 {
		softmaxContig(x, out, n, log)
		return
	}
	buf := make([]float32, n)
	ob := make([]float32, n)
	block := n * inner
	for base := 0; base+block <= len(x); base += block {
		for j := 0; j < inner; j++ {
			for i := 0; i < n; i++ {
				buf[i] = x[base+i*inner+j]
			}
			softmaxContig(buf, ob, n, log)
			for i := 0; i < n; i++ {
				out[base+i*inner+j] = ob[i]
			}
		}
	}
}
