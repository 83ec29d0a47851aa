package ops

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// Training ops: the ai.onnx.preview.training optimizers (Adagrad, Momentum,
// Adam) and the ai.frugal helpers the runtime's Gradient expansion emits
// (OnesLike, ZerosLike, ReduceToShapeOf).

const trainingDomain = "ai.onnx.preview.training"

func init() {
	for _, op := range []string{"Adagrad", "Momentum", "Adam"} {
		op := op
		Register(Impl{Op: op, Domain: trainingDomain, DTypes: []tensor.DType{tensor.Float32, tensor.Float64},
			Build: func(b *BuildInfo) (Kernel, error) { return buildOptimizer(op, b) }})
	}
	Register(Impl{Op: "OnesLike", Domain: FrugalDomain, DTypes: numericTypes, Build: func(b *BuildInfo) (Kernel, error) {
		return likeKernel(1), nil
	}})
	Register(Impl{Op: "ZerosLike", Domain: FrugalDomain, DTypes: numericTypes, Build: func(b *BuildInfo) (Kernel, error) {
		return likeKernel(0), nil
	}})
	graph.RegisterShape(FrugalDomain, "OnesLike", sameShape)
	graph.RegisterShape(FrugalDomain, "ZerosLike", sameShape)
	Register(Impl{Op: "ReduceToShapeOf", Domain: FrugalDomain, DTypes: numericTypes, Build: func(b *BuildInfo) (Kernel, error) {
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
			ts, err := MustTensors(in, 2)
			if err != nil {
				return nil, err
			}
			out, err := reduceToShape(ts[0], ts[1].Shape)
			if err != nil {
				return nil, err
			}
			return []Value{out}, nil
		}), nil
	}})
	graph.RegisterShape(FrugalDomain, "ReduceToShapeOf", func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, v int64) ([]graph.Type, error) {
		if len(in) < 2 {
			return nil, nil
		}
		t := in[1]
		t.DType = in[0].DType
		return []graph.Type{t}, nil
	})
}

func likeKernel(v float64) Kernel {
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		vals := make([]float64, ts[0].Len())
		for i := range vals {
			vals[i] = v
		}
		out, err := floatsTo(ts[0].DType, vals, ts[0].Shape, CastOptions{Saturate: true})
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	})
}

// reduceToShape sums g over the dimensions broadcasting added to reach it
// from shape (the adjoint of broadcasting).
func reduceToShape(g *tensor.Tensor, shape []int) (*tensor.Tensor, error) {
	if tensor.SameShape(g.Shape, shape) {
		return g, nil
	}
	bs, err := tensor.BroadcastShapes(shape, g.Shape)
	if err != nil || !tensor.SameShape(bs, g.Shape) {
		return nil, fmt.Errorf("shape %v does not broadcast to %v", shape, g.Shape)
	}
	off := g.Rank() - len(shape)
	var axes []int64
	for i := range g.Shape {
		if i < off || shape[i-off] == 1 && g.Shape[i] != 1 {
			axes = append(axes, int64(i))
		}
	}
	if len(axes) == 0 {
		return g.Reshaped(shape...)
	}
	r, err := Reduce("ReduceSum", g, axes, true)
	if err != nil {
		return nil, err
	}
	return r.Reshaped(shape...)
}

func buildOptimizer(op string, b *BuildInfo) (Kernel, error) {
	n := b.Node
	f := func(name string, def float32) float64 {
		v, _ := n.Float(name, def)
		return float64(v)
	}
	decay, eps := f("decay_factor", 0), f("epsilon", 1e-6)
	normC, normPost := f("norm_coefficient", 0), f("norm_coefficient_post", 0)
	alpha, beta := f("alpha", 0.9), f("beta", 0.999)
	if op == "Momentum" {
		alpha, beta = f("alpha", 0), f("beta", 0)
	}
	mode, err := n.String("mode", "standard")
	if err != nil {
		return nil, err
	}
	groups := map[string]int{"Adagrad": 3, "Momentum": 3, "Adam": 4}[op]
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, len(in))
		if err != nil {
			return nil, err
		}
		if len(ts) < 2 || (len(ts)-2)%groups != 0 {
			return nil, fmt.Errorf("%s: %d inputs do not form R, T and %d groups", op, len(ts), groups)
		}
		r, err := scalarF64(ts[0], "R")
		if err != nil {
			return nil, err
		}
		tv, err := intsOf(ts[1], "T")
		if err != nil || len(tv) != 1 {
			return nil, fmt.Errorf("T must be one integer")
		}
		T := float64(tv[0])
		k := (len(ts) - 2) / groups
		get := func(g, i int) ([]float64, *tensor.Tensor, error) {
			t := ts[2+g*k+i]
			v, err := ToFloat64(t)
			return v, t, err
		}
		outs := make([]Value, groups-1)
		res := make([][]Value, groups-1)
		for i := 0; i < k; i++ {
			x, xt, err := get(0, i)
			if err != nil {
				return nil, err
			}
			g, _, err := get(1, i)
			if err != nil {
				return nil, err
			}
			if len(g) != len(x) {
				return nil, fmt.Errorf("gradient %d has %d elements, X %d", i, len(g), len(x))
			}
			s1, _, err := get(2, i)
			if err != nil {
				return nil, err
			}
			var s2 []float64
			if groups == 4 {
				if s2, _, err = get(3, i); err != nil {
					return nil, err
				}
			}
			nx := make([]float64, len(x))
			n1 := make([]float64, len(x))
			n2 := make([]float64, len(x))
			for j := range x {
				gr := normC*x[j] + g[j]
				switch op {
				case "Adagrad":
					rr := r / (1 + T*decay)
					h := s1[j] + gr*gr
					n1[j] = h
					nx[j] = x[j] - rr*gr/(math.Sqrt(h)+eps)
				case "Momentum":
					ba := beta
					if T <= 0 {
						ba = 1
					}
					v := alpha*s1[j] + ba*gr
					n1[j] = v
					if mode == "nesterov" {
						nx[j] = x[j] - r*(gr+alpha*v)
					} else {
						nx[j] = x[j] - r*v
					}
				case "Adam":
					v := alpha*s1[j] + (1-alpha)*gr
					h := beta*s2[j] + (1-beta)*gr*gr
					n1[j], n2[j] = v, h
					ra := r
					if T > 0 {
						ra = r * math.Sqrt(1-math.Pow(beta, T)) / (1 - math.Pow(alpha, T))
					}
					nx[j] = (1 - normPost) * (x[j] - ra*v/(math.Sqrt(h)+eps))
				}
			}
			for gi, v := range [][]float64{nx, n1, n2}[:groups-1] {
				t, err := FromFloat64(xt.DType, v, xt.Shape)
				if err != nil {
					return nil, err
				}
				res[gi] = append(res[gi], t)
			}
		}
		outs = outs[:0]
		for _, g := range res {
			outs = append(outs, g...)
		}
		return outs, nil
	}), nil
}
