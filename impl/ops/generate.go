package ops

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// Tensor generators: ConstantOfShape, Range, EyeLike.

func init() {
	Register(Impl{Op: "ConstantOfShape", DTypes: allTypes, Build: func(b *BuildInfo) (Kernel, error) {
		val, err := b.Node.Tensor("value")
		if err != nil {
			return nil, err
		}
		if val == nil {
			val = tensor.MustFromSlice([]float32{0}, 1)
		}
		if val.Len() != 1 {
			return nil, fmt.Errorf("value must have one element, has shape %v", val.Shape)
		}
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
			ts, err := MustTensors(in, 1)
			if err != nil {
				return nil, err
			}
			s, err := intsOf(ts[0], "shape")
			if err != nil {
				return nil, err
			}
			shape := make([]int, len(s))
			for i, d := range s {
				if d < 0 {
					return nil, fmt.Errorf("shape %v has a negative dimension", s)
				}
				shape[i] = int(d)
			}
			idx := make([]int, tensor.NumElems(shape))
			return []Value{takeTensor(val, idx, shape)}, nil
		}), nil
	}})
	graph.RegisterShape("", "ConstantOfShape", func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, _ int64) ([]graph.Type, error) {
		dt := tensor.Float32
		if v, _ := n.Tensor("value"); v != nil {
			dt = v.DType
		}
		out := graph.Type{DType: dt}
		if len(c) > 0 && c[0] != nil {
			if s, err := ToInt64(c[0]); err == nil {
				out.Shape, out.HasShape = graph.ConcreteShape(toInts(s)...), true
			}
		}
		return []graph.Type{out}, nil
	})
	Register(Impl{Op: "Range", DTypes: numericTypes, Build: func(b *BuildInfo) (Kernel, error) {
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
			ts, err := MustTensors(in, 3)
			if err != nil {
				return nil, err
			}
			dt := ts[0].DType
			for _, t := range ts {
				if t.Len() != 1 {
					return nil, fmt.Errorf("start, limit and delta must be scalars, got shape %v", t.Shape)
				}
				if t.DType != dt {
					return nil, fmt.Errorf("start, limit and delta dtypes differ")
				}
			}
			if isInt(dt) {
				s, _ := ToInt64(ts[0])
				l, _ := ToInt64(ts[1])
				d, _ := ToInt64(ts[2])
				if d[0] == 0 {
					return nil, fmt.Errorf("delta is 0")
				}
				n := int64(0)
				if (d[0] > 0 && l[0] > s[0]) || (d[0] < 0 && l[0] < s[0]) {
					n = (l[0] - s[0] + d[0] - sgn(d[0])) / d[0]
				}
				v := make([]int64, n)
				for i := range v {
					v[i] = s[0] + int64(i)*d[0]
				}
				out, err := fromInt64(dt, v, []int{int(n)})
				if err != nil {
					return nil, err
				}
				return []Value{out}, nil
			}
			s, _ := ToFloat64(ts[0])
			l, _ := ToFloat64(ts[1])
			d, _ := ToFloat64(ts[2])
			if d[0] == 0 {
				return nil, fmt.Errorf("delta is 0")
			}
			n := int(math.Max(math.Ceil((l[0]-s[0])/d[0]), 0))
			if n > 1<<31 {
				return nil, fmt.Errorf("range of %d elements is too large", n)
			}
			v := make([]float64, n)
			if dt == tensor.Float32 {
				// Accumulate in float32 as the reference does (start + i*delta).
				s32, d32 := float32(s[0]), float32(d[0])
				for i := range v {
					v[i] = float64(s32 + float32(i)*d32)
				}
			} else {
				for i := range v {
					v[i] = s[0] + float64(i)*d[0]
				}
			}
			out, err := FromFloat64(dt, v, []int{n})
			if err != nil {
				return nil, err
			}
			return []Value{out}, nil
		}), nil
	}})
	graph.RegisterShape("", "Range", dtypeOnly)
	Register(Impl{Op: "EyeLike", DTypes: append(append([]tensor.DType{}, numericTypes...), tensor.Bool), Build: func(b *BuildInfo) (Kernel, error) {
		dtA, err := b.Node.Int("dtype", 0)
		if err != nil {
			return nil, err
		}
		k, err := b.Node.Int("k", 0)
		if err != nil {
			return nil, err
		}
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
			ts, err := MustTensors(in, 1)
			if err != nil {
				return nil, err
			}
			x := ts[0]
			if x.Rank() != 2 {
				return nil, fmt.Errorf("input %v must be rank 2", x.Shape)
			}
			dt := x.DType
			if dtA != 0 {
				dt = tensor.DType(dtA)
			}
			R, C := x.Shape[0], x.Shape[1]
			v := make([]float64, R*C)
			for i := 0; i < R; i++ {
				j := i + int(k)
				if j >= 0 && j < C {
					v[i*C+j] = 1
				}
			}
			out, err := floatsTo(dt, v, x.Shape, CastOptions{Saturate: true})
			if err != nil {
				return nil, err
			}
			return []Value{out}, nil
		}), nil
	}})
	graph.RegisterShape("", "EyeLike", func(n *graph.Node, in []graph.Type, _ []*tensor.Tensor, _ int64) ([]graph.Type, error) {
		if len(in) == 0 {
			return nil, nil
		}
		t := in[0]
		if dt, _ := n.Int("dtype", 0); dt != 0 {
			t.DType = tensor.DType(dt)
		}
		return []graph.Type{t}, nil
	})
}

func sgn(v int64) int64 {
	if v < 0 {
		return -1
	}
	return 1
}
