package ops

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// Normalisations beyond BatchNormalization: LayerNormalization,
// RMSNormalization, GroupNormalization, InstanceNormalization,
// LpNormalization, MeanVarianceNormalization, LRN. Statistics accumulate in
// float64; outputs take the input's dtype.

func init() {
	reg := func(op string, build func(b *BuildInfo) (Kernel, error)) {
		Register(Impl{Op: op, DTypes: floatTypes, Match: floatMatch, Build: build})
	}
	reg("LayerNormalization", func(b *BuildInfo) (Kernel, error) { return buildLayerNorm(b, false) })
	reg("RMSNormalization", func(b *BuildInfo) (Kernel, error) { return buildLayerNorm(b, true) })
	reg("GroupNormalization", buildGroupNorm)
	reg("InstanceNormalization", buildInstanceNorm)
	reg("LpNormalization", buildLpNorm)
	reg("MeanVarianceNormalization", buildMVN)
	reg("LRN", buildLRN)
	for _, op := range []string{"LpNormalization", "MeanVarianceNormalization", "LRN", "RMSNormalization"} {
		graph.RegisterShape("", op, sameShape)
	}
	graph.RegisterShape("", "LayerNormalization", func(n *graph.Node, in []graph.Type, _ []*tensor.Tensor, _ int64) ([]graph.Type, error) {
		if len(in) == 0 {
			return nil, nil
		}
		st, _ := n.Int("stash_type", 1)
		sdt := tensor.DType(st)
		if st == 1 {
			sdt = tensor.Float32
		}
		return []graph.Type{in[0], {DType: sdt}, {DType: sdt}}, nil
	})
}

// floatsOf returns a float tensor's values as float64.
func floatsOf(t *tensor.Tensor, what string) ([]float64, error) {
	if t == nil {
		return nil, nil
	}
	if !isFloat(t.DType) {
		return nil, fmt.Errorf("%s has dtype %s, want a float type", what, t.DType)
	}
	return ToFloat64(t)
}

// broadcastTo returns v (of shape vs) expanded to shape os as float64.
func broadcastTo(v []float64, vs, os []int) ([]float64, error) {
	if tensor.SameShape(vs, os) {
		return v, nil
	}
	bs, err := tensor.BroadcastShapes(vs, os)
	if err != nil || !tensor.SameShape(bs, os) {
		return nil, fmt.Errorf("shape %v does not broadcast to %v", vs, os)
	}
	idx := make([]int, tensor.NumElems(os))
	tensor.BroadcastIndex(os, tensor.BroadcastStrides(vs, os), idx)
	return take(v, idx), nil
}

func buildLayerNorm(b *BuildInfo, rms bool) (Kernel, error) {
	n := b.Node
	axis, err := n.Int("axis", -1)
	if err != nil {
		return nil, err
	}
	eps, err := n.Float("epsilon", 1e-5)
	if err != nil {
		return nil, err
	}
	stash, err := n.Int("stash_type", 1)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 2)
		if err != nil {
			return nil, err
		}
		x, sc := ts[0], ts[1]
		bias, err := Tensor(in, 2)
		if err != nil {
			return nil, err
		}
		ax, err := normAxis(axis, x.Rank())
		if err != nil {
			return nil, err
		}
		xv, err := floatsOf(x, "X")
		if err != nil {
			return nil, err
		}
		inner := x.Shape[ax:]
		m := tensor.NumElems(inner)
		rows := tensor.NumElems(x.Shape[:ax])
		sv, err := floatsOf(sc, "scale")
		if err != nil {
			return nil, err
		}
		if sv, err = broadcastTo(sv, sc.Shape, inner); err != nil {
			return nil, fmt.Errorf("scale: %w", err)
		}
		var bv []float64
		if bias != nil {
			if bv, err = floatsOf(bias, "B"); err != nil {
				return nil, err
			}
			if bv, err = broadcastTo(bv, bias.Shape, inner); err != nil {
				return nil, fmt.Errorf("B: %w", err)
			}
		}
		// Stash precision: float32 statistics round like the reference.
		round := func(v float64) float64 { return v }
		if stash == 1 && x.DType != tensor.Float64 {
			round = func(v float64) float64 { return float64(float32(v)) }
		}
		y := make([]float64, len(xv))
		mean := make([]float64, rows)
		inv := make([]float64, rows)
		for r := 0; r < rows; r++ {
			row := xv[r*m : (r+1)*m]
			var mu float64
			if !rms {
				for _, v := range row {
					mu += v
				}
				mu = round(mu / float64(m))
			}
			var ss float64
			for _, v := range row {
				d := v - mu
				ss += d * d
			}
			is := round(1 / math.Sqrt(round(ss/float64(m))+float64(eps)))
			mean[r], inv[r] = mu, is
			for j, v := range row {
				o := (v - mu) * is * sv[j]
				if bv != nil {
					o += bv[j]
				}
				y[r*m+j] = o
			}
		}
		yt, err := FromFloat64(x.DType, y, x.Shape)
		if err != nil {
			return nil, err
		}
		if rms {
			return []Value{yt}, nil
		}
		sshape := append([]int{}, x.Shape...)
		for i := ax; i < len(sshape); i++ {
			sshape[i] = 1
		}
		sdt := tensor.Float32
		if stash != 1 {
			sdt = tensor.DType(stash)
		}
		if stash == 1 && x.DType == tensor.Float64 {
			sdt = tensor.Float32
		}
		mt, err := FromFloat64(sdt, mean, sshape)
		if err != nil {
			return nil, err
		}
		it, err := FromFloat64(sdt, inv, sshape)
		if err != nil {
			return nil, err
		}
		return []Value{yt, mt, it}, nil
	}), nil
}

// normalizeGroups normalises x viewed as [groups][m] with per-element
// scale/bias functions of (group, index-in-group).
func normalizeGroups(xv []float64, groups, m int, eps float64, affine func(g, j int, v float64) float64) []float64 {
	y := make([]float64, len(xv))
	for g := 0; g < groups; g++ {
		row := xv[g*m : (g+1)*m]
		var mu float64
		for _, v := range row {
			mu += v
		}
		mu /= float64(m)
		var ss float64
		for _, v := range row {
			d := v - mu
			ss += d * d
		}
		is := 1 / math.Sqrt(ss/float64(m)+eps)
		for j, v := range row {
			y[g*m+j] = affine(g, j, (v-mu)*is)
		}
	}
	return y
}

func buildGroupNorm(b *BuildInfo) (Kernel, error) {
	n := b.Node
	eps, err := n.Float("epsilon", 1e-5)
	if err != nil {
		return nil, err
	}
	ng, err := n.Int("num_groups", 0)
	if err != nil {
		return nil, err
	}
	if ng <= 0 {
		return nil, fmt.Errorf("num_groups %d must be positive", ng)
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 3)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		if x.Rank() < 2 {
			return nil, fmt.Errorf("input %v must have rank >= 2", x.Shape)
		}
		N, C := x.Shape[0], x.Shape[1]
		G := int(ng)
		if C%G != 0 {
			return nil, fmt.Errorf("%d channels do not split into %d groups", C, G)
		}
		xv, err := floatsOf(x, "X")
		if err != nil {
			return nil, err
		}
		sv, err := floatsOf(ts[1], "scale")
		if err != nil {
			return nil, err
		}
		bv, err := floatsOf(ts[2], "bias")
		if err != nil {
			return nil, err
		}
		perChannel := len(sv) == C
		if !perChannel && len(sv) != G || len(bv) != len(sv) {
			return nil, fmt.Errorf("scale/bias have %d/%d elements; want %d channels or %d groups", len(sv), len(bv), C, G)
		}
		sp := tensor.NumElems(x.Shape[2:])
		cpg := C / G
		m := cpg * sp
		y := normalizeGroups(xv, N*G, m, float64(eps), func(g, j int, v float64) float64 {
			k := g % G
			if perChannel {
				k = (g%G)*cpg + j/sp
			}
			return v*sv[k] + bv[k]
		})
		out, err := FromFloat64(x.DType, y, x.Shape)
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}

func buildInstanceNorm(b *BuildInfo) (Kernel, error) {
	eps, err := b.Node.Float("epsilon", 1e-5)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 3)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		if x.Rank() < 2 {
			return nil, fmt.Errorf("input %v must have rank >= 2", x.Shape)
		}
		C := x.Shape[1]
		xv, err := floatsOf(x, "X")
		if err != nil {
			return nil, err
		}
		sv, err := floatsOf(ts[1], "scale")
		if err != nil {
			return nil, err
		}
		bv, err := floatsOf(ts[2], "B")
		if err != nil {
			return nil, err
		}
		if len(sv) != C || len(bv) != C {
			return nil, fmt.Errorf("scale/B have %d/%d elements, want %d", len(sv), len(bv), C)
		}
		sp := tensor.NumElems(x.Shape[2:])
		y := normalizeGroups(xv, x.Shape[0]*C, sp, float64(eps), func(g, j int, v float64) float64 {
			return v*sv[g%C] + bv[g%C]
		})
		out, err := FromFloat64(x.DType, y, x.Shape)
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}

func buildLpNorm(b *BuildInfo) (Kernel, error) {
	axis, err := b.Node.Int("axis", -1)
	if err != nil {
		return nil, err
	}
	p, err := b.Node.Int("p", 2)
	if err != nil {
		return nil, err
	}
	if p != 1 && p != 2 {
		return nil, fmt.Errorf("p = %d; only 1 and 2 are defined", p)
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		ax, err := normAxis(axis, x.Rank())
		if err != nil {
			return nil, err
		}
		xv, err := floatsOf(x, "input")
		if err != nil {
			return nil, err
		}
		dim := x.Shape[ax]
		outer := tensor.NumElems(x.Shape[:ax])
		inner := tensor.NumElems(x.Shape[ax+1:])
		y := make([]float64, len(xv))
		for o := 0; o < outer; o++ {
			for k := 0; k < inner; k++ {
				var s float64
				for j := 0; j < dim; j++ {
					v := xv[(o*dim+j)*inner+k]
					if p == 1 {
						s += math.Abs(v)
					} else {
						s += v * v
					}
				}
				if p == 2 {
					s = math.Sqrt(s)
				}
				for j := 0; j < dim; j++ {
					i := (o*dim+j)*inner + k
					if s == 0 {
						y[i] = 0
					} else {
						y[i] = xv[i] / s
					}
				}
			}
		}
		out, err := FromFloat64(x.DType, y, x.Shape)
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}

func buildMVN(b *BuildInfo) (Kernel, error) {
	axes, err := b.Node.Ints("axes", []int64{0, 2, 3})
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		p, err := planReduce(x.Shape, axes, true)
		if err != nil {
			return nil, err
		}
		xv, err := floatsOf(x, "X")
		if err != nil {
			return nil, err
		}
		nout := tensor.NumElems(p.outShape)
		mean := make([]float64, nout)
		sq := make([]float64, nout)
		for i, o := range p.outIdx {
			mean[o] += xv[i]
			sq[o] += xv[i] * xv[i]
		}
		for o := range mean {
			mean[o] /= float64(p.count)
			sq[o] = sq[o]/float64(p.count) - mean[o]*mean[o]
		}
		y := make([]float64, len(xv))
		for i, o := range p.outIdx {
			y[i] = (xv[i] - mean[o]) / (math.Sqrt(math.Max(sq[o], 0)) + 1e-9)
		}
		out, err := FromFloat64(x.DType, y, x.Shape)
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}

func buildLRN(b *BuildInfo) (Kernel, error) {
	n := b.Node
	alpha, err := n.Float("alpha", 1e-4)
	if err != nil {
		return nil, err
	}
	beta, err := n.Float("beta", 0.75)
	if err != nil {
		return nil, err
	}
	bias, err := n.Float("bias", 1)
	if err != nil {
		return nil, err
	}
	size, err := n.Int("size", 0)
	if err != nil {
		return nil, err
	}
	if size <= 0 {
		return nil, fmt.Errorf("size %d must be positive", size)
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		if x.Rank() < 2 {
			return nil, fmt.Errorf("input %v must have rank >= 2", x.Shape)
		}
		xv, err := floatsOf(x, "X")
		if err != nil {
			return nil, err
		}
		C := x.Shape[1]
		sp := tensor.NumElems(x.Shape[2:])
		lo := int(size-1) / 2
		hi := int(size) - 1 - lo
		y := make([]float64, len(xv))
		for nb := 0; nb < x.Shape[0]; nb++ {
			for c := 0; c < C; c++ {
				for s := 0; s < sp; s++ {
					var sum float64
					for cc := max(0, c-lo); cc <= min(C-1, c+hi); cc++ {
						v := xv[(nb*C+cc)*sp+s]
						sum += v * v
					}
					i := (nb*C+c)*sp + s
					y[i] = xv[i] / math.Pow(float64(bias)+float64(alpha)/float64(size)*sum, float64(beta))
				}
			}
		}
		out, err := FromFloat64(x.DType, y, x.Shape)
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}
