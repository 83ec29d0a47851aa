package ops

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/tensor"
)

func init() {
	Register(Impl{Op: "BatchNormalization", Name: "ref", DTypes: floatTypes,
		Match: floatMatch,
		Build: func(b *BuildInfo) (Kernel, error) {
			k, err := buildBatchNorm(b)
			if err != nil {
				return nil, err
			}
			return viaF32(k), nil
		}})
}

func buildBatchNorm(b *BuildInfo) (Kernel, error) {
	n := b.Node
	eps, err := n.Float("epsilon", 1e-5)
	if err != nil {
		return nil, err
	}
	mom, err := n.Float("momentum", 0.9)
	if err != nil {
		return nil, err
	}
	training, err := n.Int("training_mode", 0)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 5)
		if err != nil {
			return nil, err
		}
		x, scale, bias, mean, vr := ts[0], ts[1], ts[2], ts[3], ts[4]
		for i, t := range ts {
			if t.DType != tensor.Float32 {
				return nil, fmt.Errorf("input %d has dtype %s, want float32", i, t.DType)
			}
		}
		if x.Rank() < 2 {
			return nil, fmt.Errorf("input %v: want rank >= 2", x.Shape)
		}
		c := x.Shape[1]
		for i, t := range ts[1:] {
			if t.Len() != c {
				return nil, fmt.Errorf("input %d has %d elements, want %d channels", i+1, t.Len(), c)
			}
		}
		nb := x.Shape[0]
		plane := tensor.NumElems(x.Shape[2:])
		var out *tensor.Tensor
		if training != 0 {
			out = ctx.Empty(tensor.Float32, x.Shape...)
		} else {
			out = ctx.Output(tensor.Float32, x.Shape, x) // per element: y = x*k + off
		}
		xd, od := x.F32(), out.F32()
		m, v := mean.F32(), vr.F32()
		var outs []Value
		if training != 0 {
			// Batch statistics; running stats updated with momentum.
			bm := make([]float32, c)
			bv := make([]float32, c)
			cnt := float64(nb * plane)
			for ch := 0; ch < c; ch++ {
				var s, ss float64
				for i := 0; i < nb; i++ {
					for _, val := range xd[(i*c+ch)*plane : (i*c+ch+1)*plane] {
						s += float64(val)
						ss += float64(val) * float64(val)
					}
				}
				mu := s / cnt
				bm[ch] = float32(mu)
				bv[ch] = float32(ss/cnt - mu*mu)
			}
			m, v = bm, bv
			rm := tensor.New(tensor.Float32, c)
			rv := tensor.New(tensor.Float32, c)
			for ch := 0; ch < c; ch++ {
				rm.F32()[ch] = mean.F32()[ch]*mom + bm[ch]*(1-mom)
				rv.F32()[ch] = vr.F32()[ch]*mom + bv[ch]*(1-mom)
			}
			outs = []Value{out, rm, rv}
		} else {
			outs = []Value{out}
		}
		sc, bi := scale.F32(), bias.F32()
		for ch := 0; ch < c; ch++ {
			k := sc[ch] / float32(math.Sqrt(float64(v[ch])+float64(eps)))
			off := bi[ch] - m[ch]*k
			for i := 0; i < nb; i++ {
				xs := xd[(i*c+ch)*plane : (i*c+ch+1)*plane]
				os := od[(i*c+ch)*plane : (i*c+ch+1)*plane]
				for j, val := range xs {
					os[j] = val*k + off
				}
			}
		}
		return outs, nil
	}), nil
}
