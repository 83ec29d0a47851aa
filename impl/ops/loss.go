package ops

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// Losses: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss with
// optional class weights, ignore_index and none/sum/mean reduction.

func init() {
	Register(Impl{Op: "NegativeLogLikelihoodLoss", DTypes: floatTypes, Build: func(b *BuildInfo) (Kernel, error) {
		red, ign, hasIgn, err := lossAttrs(b.Node)
		if err != nil {
			return nil, err
		}
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
			ts, err := MustTensors(in, 2)
			if err != nil {
				return nil, err
			}
			w, err := Tensor(in, 2)
			if err != nil {
				return nil, err
			}
			x, err := floatsOf(ts[0], "input")
			if err != nil {
				return nil, err
			}
			loss, shape, err := nll(x, ts[0].Shape, ts[1], w, red, ign, hasIgn)
			if err != nil {
				return nil, err
			}
			out, err := FromFloat64(ts[0].DType, loss, shape)
			if err != nil {
				return nil, err
			}
			return []Value{out}, nil
		}), nil
	}})
	Register(Impl{Op: "SoftmaxCrossEntropyLoss", DTypes: floatTypes, Build: func(b *BuildInfo) (Kernel, error) {
		red, ign, hasIgn, err := lossAttrs(b.Node)
		if err != nil {
			return nil, err
		}
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
			ts, err := MustTensors(in, 2)
			if err != nil {
				return nil, err
			}
			w, err := Tensor(in, 2)
			if err != nil {
				return nil, err
			}
			sc := ts[0]
			if sc.Rank() < 2 {
				return nil, fmt.Errorf("scores %v must have rank >= 2", sc.Shape)
			}
			lp, err := softmaxAny("LogSoftmax", sc, 1, false)
			if err != nil {
				return nil, err
			}
			x, err := ToFloat64(lp)
			if err != nil {
				return nil, err
			}
			loss, shape, err := nll(x, sc.Shape, ts[1], w, red, ign, hasIgn)
			if err != nil {
				return nil, err
			}
			out, err := FromFloat64(sc.DType, loss, shape)
			if err != nil {
				return nil, err
			}
			return []Value{out, lp}, nil
		}), nil
	}})
	for _, op := range []string{"NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss"} {
		graph.RegisterShape("", op, func(n *graph.Node, in []graph.Type, _ []*tensor.Tensor, _ int64) ([]graph.Type, error) {
			if len(in) == 0 {
				return nil, nil
			}
			return []graph.Type{{DType: in[0].DType}, in[0]}, nil
		})
	}
}

func lossAttrs(n *graph.Node) (string, int64, bool, error) {
	red, err := n.String("reduction", "mean")
	if err != nil {
		return "", 0, false, err
	}
	switch red {
	case "none", "sum", "mean":
	default:
		return "", 0, false, fmt.Errorf("unknown reduction %q", red)
	}
	ign, err := n.Int("ignore_index", 0)
	return red, ign, n.Has("ignore_index"), err
}

// nll computes the negative log-likelihood of log-probabilities x (shape
// [N, C, d...]) at target (shape [N, d...]).
func nll(x []float64, xs []int, target, weight *tensor.Tensor, red string, ign int64, hasIgn bool) ([]float64, []int, error) {
	if len(xs) < 2 {
		return nil, nil, fmt.Errorf("input %v must have rank >= 2", xs)
	}
	N, C := xs[0], xs[1]
	sp := tensor.NumElems(xs[2:])
	tshape := append([]int{N}, xs[2:]...)
	if !tensor.SameShape(target.Shape, tshape) {
		return nil, nil, fmt.Errorf("target shape %v, want %v", target.Shape, tshape)
	}
	tv, err := intsOf(target, "target")
	if err != nil {
		return nil, nil, err
	}
	var wv []float64
	if weight != nil {
		if wv, err = ToFloat64(weight); err != nil {
			return nil, nil, err
		}
		if len(wv) != C {
			return nil, nil, fmt.Errorf("weight has %d elements, want %d", len(wv), C)
		}
	}
	loss := make([]float64, len(tv))
	var wsum float64
	for i, t := range tv {
		if hasIgn && t == ign {
			continue
		}
		if t < 0 || t >= int64(C) {
			return nil, nil, fmt.Errorf("target %d out of range [0, %d)", t, C)
		}
		n, s := i/sp, i%sp
		w := 1.0
		if wv != nil {
			w = wv[t]
		}
		loss[i] = -x[(n*C+int(t))*sp+s] * w
		wsum += w
	}
	switch red {
	case "none":
		return loss, tshape, nil
	case "sum":
		var s float64
		for _, v := range loss {
			s += v
		}
		return []float64{s}, []int{}, nil
	}
	var s float64
	for _, v := range loss {
		s += v
	}
	if wsum == 0 {
		return []float64{math.NaN()}, []int{}, nil
	}
	return []float64{s / wsum}, []int{}, nil
}
