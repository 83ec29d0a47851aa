package ops

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// Where and Clip: selection and clamping over every element type.

func init() {
	Register(Impl{Op: "Where", DTypes: allTypes, Build: func(b *BuildInfo) (Kernel, error) {
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
			ts, err := MustTensors(in, 3)
			if err != nil {
				return nil, err
			}
			out, err := where(ts[0], ts[1], ts[2])
			if err != nil {
				return nil, err
			}
			return []Value{out}, nil
		}), nil
	}})
	graph.RegisterShape("", "Where", func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, v int64) ([]graph.Type, error) {
		if len(in) < 3 {
			return nil, fmt.Errorf("Where needs 3 inputs")
		}
		t, err := broadcastShape(n, in, c, v)
		if err != nil || len(t) == 0 {
			return t, err
		}
		t[0].DType = in[1].DType
		return t, nil
	})
	Register(Impl{Op: "Clip", DTypes: numericTypes, Build: buildClip})
}

// where selects x where cond holds, else y, with three-way broadcasting.
func where(cond, x, y *tensor.Tensor) (*tensor.Tensor, error) {
	if cond.DType != tensor.Bool {
		return nil, fmt.Errorf("condition has dtype %s, want bool", cond.DType)
	}
	if x.DType != y.DType {
		return nil, fmt.Errorf("X and Y dtypes differ (%s vs %s)", x.DType, y.DType)
	}
	shape, err := tensor.BroadcastShapes(cond.Shape, x.Shape, y.Shape)
	if err != nil {
		return nil, err
	}
	n := tensor.NumElems(shape)
	ic, ix, iy := make([]int, n), make([]int, n), make([]int, n)
	tensor.BroadcastIndex(shape, tensor.BroadcastStrides(cond.Shape, shape), ic)
	tensor.BroadcastIndex(shape, tensor.BroadcastStrides(x.Shape, shape), ix)
	tensor.BroadcastIndex(shape, tensor.BroadcastStrides(y.Shape, shape), iy)
	c := cond.Bools()
	// Encode the source as index into the concatenation [x; y].
	idx := make([]int, n)
	nx := x.Len()
	for i := range idx {
		if c[ic[i]] {
			idx[i] = ix[i]
		} else {
			idx[i] = nx + iy[i]
		}
	}
	both := concatData([]any{x.Data, y.Data})
	return &tensor.Tensor{DType: x.DType, Shape: shape, Data: takeData(both, idx)}, nil
}

func buildClip(b *BuildInfo) (Kernel, error) {
	n := b.Node
	legacy := b.Opset > 0 && b.Opset < 11
	amin, err := n.Float("min", -math.MaxFloat32)
	if err != nil {
		return nil, err
	}
	amax, err := n.Float("max", math.MaxFloat32)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		lo, hi := math.Inf(-1), math.Inf(1)
		loI, hiI := int64(math.MinInt64), int64(math.MaxInt64)
		loU, hiU := uint64(0), uint64(math.MaxUint64)
		if legacy {
			lo, hi = float64(amin), float64(amax)
			if n.Has("min") {
				loI = int64(amin)
			}
			if n.Has("max") {
				hiI = int64(amax)
			}
		} else {
			for k := 1; k <= 2; k++ {
				t, err := Tensor(in, k)
				if err != nil {
					return nil, err
				}
				if t == nil {
					continue
				}
				if t.Len() != 1 {
					return nil, fmt.Errorf("Clip: bound %d must be a scalar, has shape %v", k, t.Shape)
				}
				if t.DType != x.DType {
					return nil, fmt.Errorf("Clip: bound dtype %s differs from input %s", t.DType, x.DType)
				}
				f, err := ToFloat64(t)
				if err != nil {
					return nil, fmt.Errorf("Clip: bound %d: %w", k, err)
				}
				var iv int64
				var uv uint64
				if isInt(t.DType) {
					v, _ := ToInt64(t)
					iv, uv = v[0], uint64(v[0])
				}
				if k == 1 {
					lo, loI, loU = f[0], iv, uv
				} else {
					hi, hiI, hiU = f[0], iv, uv
				}
			}
		}
		u := unaryOp{
			f: func(v float64) float64 {
				if v < lo {
					v = lo
				}
				if v > hi {
					v = hi
				}
				return v
			},
			i: func(v int64) int64 { return min(max(v, loI), hiI) },
			u: func(v uint64) uint64 { return min(max(v, loU), hiU) },
		}
		if x.DType == tensor.Float32 {
			l32, h32 := float32(lo), float32(hi)
			out := ctx.Output(tensor.Float32, x.Shape, x)
			o := out.F32()
			for i, v := range x.F32() {
				if v < l32 {
					v = l32
				}
				if v > h32 {
					v = h32
				}
				o[i] = v
			}
			return []Value{out}, nil
		}
		out, err := u.applyCtx(ctx, x, true)
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}
