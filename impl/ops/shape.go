package ops

import (
	"fmt"

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
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
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
	for _, op := range []string{"Softmax", "LogSoftmax"} {
		op := op
		Register(Impl{Op: op, Name: "ref", DTypes: []tensor.DType{tensor.Float32}, Build: func(b *BuildInfo) (Kernel, error) {
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
				if err := CheckDType(x, "input", tensor.Float32); err != nil {
					return nil, err
				}
				out, err := SoftmaxF32(x, int(ax), legacy, op == "LogSoftmax")
				if err != nil {
					return nil, err
				}
				return []Value{out}, nil
			}), nil
		}})
	}
}

// SoftmaxF32 computes (log-)softmax along axis. legacy selects the opset < 13
// rule: the input is coerced to 2-D at axis and normalised over the trailing
// block.
func SoftmaxF32(x *tensor.Tensor, axis int, legacy, log bool) (*tensor.Tensor, error) {
	r := x.Rank()
	if axis < 0 {
		axis += r
	}
	if r == 0 {
		axis = 0
	} else if axis < 0 || axis >= r {
		return nil, fmt.Errorf("axis %d out of range for shape %v", axis, x.Shape)
	}
	out := tensor.New(tensor.Float32, x.Shape...)
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
