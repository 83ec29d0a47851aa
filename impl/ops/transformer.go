package ops

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// Transformer building blocks beyond Attention: RotaryEmbedding,
// LinearAttention (linear / gated / delta / gated-delta recurrences),
// CausalConvWithState and ai.onnx.preview FlexAttention with its score_mod,
// mask_mod and prob_mod subgraphs.

func init() {
	Register(Impl{Op: "RotaryEmbedding", DTypes: floatTypes, Build: buildRotary})
	graph.RegisterShape("", "RotaryEmbedding", sameShape)
	Register(Impl{Op: "LinearAttention", DTypes: floatTypes, Build: buildLinearAttention})
	graph.RegisterShape("", "LinearAttention", func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, v int64) ([]graph.Type, error) {
		return []graph.Type{{DType: in[0].DType}, {}}, nil
	})
	Register(Impl{Op: "CausalConvWithState", DTypes: floatTypes, Build: buildCausalConv})
	graph.RegisterShape("", "CausalConvWithState", func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, v int64) ([]graph.Type, error) {
		return []graph.Type{{DType: in[0].DType}, {DType: in[0].DType}}, nil
	})
	Register(Impl{Op: "FlexAttention", Domain: "ai.onnx.preview", DTypes: floatTypes, Build: buildFlexAttention})
	graph.RegisterShape("ai.onnx.preview", "FlexAttention", func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, v int64) ([]graph.Type, error) {
		return []graph.Type{{DType: in[0].DType}}, nil
	})
}

func buildRotary(b *BuildInfo) (Kernel, error) {
	n := b.Node
	inter, err := n.Int("interleaved", 0)
	if err != nil {
		return nil, err
	}
	rdim, err := n.Int("rotary_embedding_dim", 0)
	if err != nil {
		return nil, err
	}
	nh, err := n.Int("num_heads", 0)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 3)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		pos, err := Tensor(in, 3)
		if err != nil {
			return nil, err
		}
		xv, err := ToFloat64(x)
		if err != nil {
			return nil, err
		}
		cv, err := ToFloat64(ts[1])
		if err != nil {
			return nil, err
		}
		sv, err := ToFloat64(ts[2])
		if err != nil {
			return nil, err
		}
		// View x as [B, S, H, D] through strides.
		var B, S, H, D int
		var st [4]int
		switch x.Rank() {
		case 4: // [B, H, S, D]
			B, H, S, D = x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
			st = [4]int{H * S * D, D, S * D, 1}
		case 3: // [B, S, H*D]
			if nh <= 0 || x.Shape[2]%int(nh) != 0 {
				return nil, fmt.Errorf("input %v needs num_heads dividing the hidden size", x.Shape)
			}
			B, S, H = x.Shape[0], x.Shape[1], int(nh)
			D = x.Shape[2] / H
			st = [4]int{S * H * D, H * D, D, 1}
		default:
			return nil, fmt.Errorf("input %v must be rank 3 or 4", x.Shape)
		}
		rd := int(rdim)
		if rd == 0 {
			rd = D
		}
		half := rd / 2
		if ts[1].Rank() == 0 || ts[2].Rank() == 0 || rd > D || ts[1].Shape[ts[1].Rank()-1] != half || ts[2].Len() != ts[1].Len() {
			return nil, fmt.Errorf("cos_cache %v does not have %d columns", ts[1].Shape, half)
		}
		var pv []int64
		if pos != nil {
			if pv, err = intsOf(pos, "position_ids"); err != nil {
				return nil, err
			}
			if len(pv) != B*S {
				return nil, fmt.Errorf("position_ids %v do not match batch %d x sequence %d", pos.Shape, B, S)
			}
		} else if len(cv) != B*S*half {
			return nil, fmt.Errorf("cos_cache %v does not match batch %d x sequence %d", ts[1].Shape, B, S)
		}
		out := append([]float64{}, xv...)
		for bb := 0; bb < B; bb++ {
			for s := 0; s < S; s++ {
				row := bb*S + s
				if pv != nil {
					row = int(pv[bb*S+s])
					if row < 0 || (row+1)*half > len(cv) {
						return nil, fmt.Errorf("position id %d out of range", row)
					}
				}
				c, sn := cv[row*half:(row+1)*half], sv[row*half:(row+1)*half]
				for h := 0; h < H; h++ {
					base := bb*st[0] + s*st[1] + h*st[2]
					for i := 0; i < half; i++ {
						var i1, i2 int
						if inter != 0 {
							i1, i2 = base+2*i, base+2*i+1
						} else {
							i1, i2 = base+i, base+half+i
						}
						x1, x2 := xv[i1], xv[i2]
						out[i1] = c[i]*x1 - sn[i]*x2
						out[i2] = sn[i]*x1 + c[i]*x2
					}
				}
			}
		}
		o, err := FromFloat64(x.DType, out, x.Shape)
		if err != nil {
			return nil, err
		}
		return []Value{o}, nil
	}), nil
}

func buildLinearAttention(b *BuildInfo) (Kernel, error) {
	n := b.Node
	rule, err := n.String("update_rule", "gated_delta")
	if err != nil {
		return nil, err
	}
	qh, err := n.Int("q_num_heads", 0)
	if err != nil {
		return nil, err
	}
	kvh, err := n.Int("kv_num_heads", 0)
	if err != nil {
		return nil, err
	}
	scaleA, err := n.Float("scale", 0)
	if err != nil {
		return nil, err
	}
	gating := rule == "gated" || rule == "gated_delta"
	delta := rule == "delta" || rule == "gated_delta"
	if !gating && !delta && rule != "linear" {
		return nil, fmt.Errorf("unknown update_rule %q", rule)
	}
	if qh <= 0 || kvh <= 0 || qh%kvh != 0 {
		return nil, fmt.Errorf("q_num_heads %d must be a positive multiple of kv_num_heads %d", qh, kvh)
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 3)
		if err != nil {
			return nil, err
		}
		opt := make([]*tensor.Tensor, 7)
		for i := 3; i < 7; i++ {
			if opt[i], err = Tensor(in, i); err != nil {
				return nil, err
			}
		}
		for i, t := range ts {
			if t.Rank() != 3 {
				return nil, fmt.Errorf("input %d %v must be rank 3", i, t.Shape)
			}
		}
		if gating && opt[4] == nil || delta && opt[5] == nil {
			return nil, fmt.Errorf("update_rule %q needs its decay/beta inputs", rule)
		}
		HQ, HK := int(qh), int(kvh)
		B, T := ts[0].Shape[0], ts[0].Shape[1]
		dk := ts[0].Shape[2] / HQ
		dv := ts[2].Shape[2] / HK
		grp := HQ / HK
		q, err := toF64t(ts[0])
		if err != nil {
			return nil, err
		}
		k, err := toF64t(ts[1])
		if err != nil {
			return nil, err
		}
		v, err := toF64t(ts[2])
		if err != nil {
			return nil, err
		}
		f32 := func(x []float64) {
			for i := range x {
				x[i] = float64(float32(x[i]))
			}
		}
		state := make([]float64, B*HK*dk*dv)
		stateDT := ts[0].DType
		if opt[3] != nil {
			if !tensor.SameShape(opt[3].Shape, []int{B, HK, dk, dv}) {
				return nil, fmt.Errorf("past_state %v, want [%d %d %d %d]", opt[3].Shape, B, HK, dk, dv)
			}
			if state, err = ToFloat64(opt[3]); err != nil {
				return nil, err
			}
			stateDT = opt[3].DType
		}
		var decay, beta, erase []float64
		decayPerDim, betaHeads := false, 1
		if gating {
			if decay, err = ToFloat64(opt[4]); err != nil {
				return nil, err
			}
			switch opt[4].Shape[2] {
			case HK:
			case HK * dk:
				decayPerDim = true
			default:
				return nil, fmt.Errorf("decay %v: last dim must be %d or %d", opt[4].Shape, HK, HK*dk)
			}
		}
		if delta {
			if beta, err = ToFloat64(opt[5]); err != nil {
				return nil, err
			}
			betaHeads = opt[5].Shape[2]
			if betaHeads != HK && betaHeads != 1 {
				return nil, fmt.Errorf("beta %v: last dim must be %d or 1", opt[5].Shape, HK)
			}
			if opt[6] != nil {
				if erase, err = ToFloat64(opt[6]); err != nil {
					return nil, err
				}
			}
		}
		scale := 1 / math.Sqrt(float64(dk))
		if scaleA != 0 {
			scale = float64(scaleA)
		}
		out := make([]float64, B*T*HQ*dv)
		ret := make([]float64, dv)
		for bb := 0; bb < B; bb++ {
			for t := 0; t < T; t++ {
				for h := 0; h < HK; h++ {
					S := state[(bb*HK+h)*dk*dv : (bb*HK+h+1)*dk*dv]
					kt := k.v[((bb*T+t)*HK+h)*dk : ((bb*T+t)*HK+h+1)*dk]
					vt := append([]float64{}, v.v[((bb*T+t)*HK+h)*dv:((bb*T+t)*HK+h+1)*dv]...)
					if gating {
						for d := 0; d < dk; d++ {
							var g float64
							if decayPerDim {
								g = decay[((bb*T+t)*HK+h)*dk+d]
							} else {
								g = decay[(bb*T+t)*HK+h]
							}
							e := math.Exp(g)
							for m := 0; m < dv; m++ {
								S[d*dv+m] *= e
							}
						}
					}
					if delta {
						for m := range ret {
							ret[m] = 0
						}
						for d := 0; d < dk; d++ {
							ke := kt[d]
							if erase != nil {
								ke *= erase[((bb*T+t)*HK+h)*dk+d]
							}
							for m := 0; m < dv; m++ {
								ret[m] += S[d*dv+m] * ke
							}
						}
						bi := h
						if betaHeads == 1 {
							bi = 0
						}
						bt := beta[(bb*T+t)*betaHeads+bi]
						for m := range vt {
							vt[m] = bt * (vt[m] - ret[m])
						}
					}
					for d := 0; d < dk; d++ {
						for m := 0; m < dv; m++ {
							S[d*dv+m] += kt[d] * vt[m]
						}
					}
					f32(S)
				}
				for h := 0; h < HQ; h++ {
					S := state[(bb*HK+h/grp)*dk*dv:]
					qt := q.v[((bb*T+t)*HQ+h)*dk : ((bb*T+t)*HQ+h+1)*dk]
					o := out[((bb*T+t)*HQ+h)*dv : ((bb*T+t)*HQ+h+1)*dv]
					for m := 0; m < dv; m++ {
						var s float64
						for d := 0; d < dk; d++ {
							s += qt[d] * S[d*dv+m]
						}
						o[m] = scale * s
					}
				}
			}
		}
		ot, err := FromFloat64(ts[0].DType, out, []int{B, T, HQ * dv})
		if err != nil {
			return nil, err
		}
		st, err := FromFloat64(stateDT, state, []int{B, HK, dk, dv})
		if err != nil {
			return nil, err
		}
		return []Value{ot, st}, nil
	}), nil
}

func buildCausalConv(b *BuildInfo) (Kernel, error) {
	act, err := b.Node.String("activation", "none")
	if err != nil {
		return nil, err
	}
	switch act {
	case "none", "silu", "swish":
	default:
		return nil, fmt.Errorf("unknown activation %q", act)
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 2)
		if err != nil {
			return nil, err
		}
		x, w := ts[0], ts[1]
		bias, err := Tensor(in, 2)
		if err != nil {
			return nil, err
		}
		past, err := Tensor(in, 3)
		if err != nil {
			return nil, err
		}
		if x.Rank() != 3 || w.Rank() != 3 {
			return nil, fmt.Errorf("input %v and weight %v must be rank 3", x.Shape, w.Shape)
		}
		B, C, L := x.Shape[0], x.Shape[1], x.Shape[2]
		K := w.Shape[2]
		if w.Shape[0] != C || w.Shape[1] != 1 || K < 1 {
			return nil, fmt.Errorf("weight %v, want [%d 1 k]", w.Shape, C)
		}
		xv, _ := ToFloat64(x)
		wv, _ := ToFloat64(w)
		var bv []float64
		if bias != nil {
			if bv, err = ToFloat64(bias); err != nil {
				return nil, err
			}
		}
		pad := make([]float64, B*C*(K-1))
		if past != nil {
			if !tensor.SameShape(past.Shape, []int{B, C, K - 1}) {
				return nil, fmt.Errorf("past_state %v, want [%d %d %d]", past.Shape, B, C, K-1)
			}
			if pad, err = ToFloat64(past); err != nil {
				return nil, err
			}
		}
		P := L + K - 1
		padded := make([]float64, B*C*P)
		for i := 0; i < B*C; i++ {
			copy(padded[i*P:], pad[i*(K-1):(i+1)*(K-1)])
			copy(padded[i*P+K-1:], xv[i*L:(i+1)*L])
		}
		out := make([]float64, B*C*L)
		for i := 0; i < B*C; i++ {
			c := i % C
			for t := 0; t < L; t++ {
				var s float64
				if bv != nil {
					s = bv[c]
				}
				for j := 0; j < K; j++ {
					s += padded[i*P+t+j] * wv[c*K+j]
				}
				if act != "none" {
					s32 := float64(float32(s))
					s = s32 * (1 / (1 + math.Exp(-s32)))
				}
				out[i*L+t] = s
			}
		}
		state := make([]float64, B*C*(K-1))
		for i := 0; i < B*C; i++ {
			copy(state[i*(K-1):], padded[i*P+P-(K-1):(i+1)*P])
		}
		ot, err := FromFloat64(x.DType, out, x.Shape)
		if err != nil {
			return nil, err
		}
		st, err := FromFloat64(x.DType, state, []int{B, C, K - 1})
		if err != nil {
			return nil, err
		}
		return []Value{ot, st}, nil
	}), nil
}

func buildFlexAttention(b *BuildInfo) (Kernel, error) {
	n := b.Node
	hasScale := n.Has("scale")
	scaleA, err := n.Float("scale", 0)
	if err != nil {
		return nil, err
	}
	sub := func(name string) *graph.Graph {
		if a, ok := n.Attrs[name]; ok {
			return a.G
		}
		return nil
	}
	scoreMod, maskMod, probMod := sub("score_mod"), sub("mask_mod"), sub("prob_mod")
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 3)
		if err != nil {
			return nil, err
		}
		dt := ts[0].DType
		q, err := toF64t(ts[0])
		if err != nil {
			return nil, err
		}
		k, err := toF64t(ts[1])
		if err != nil {
			return nil, err
		}
		v, err := toF64t(ts[2])
		if err != nil {
			return nil, err
		}
		if len(q.shape) != 4 || len(k.shape) != 4 || len(v.shape) != 4 {
			return nil, fmt.Errorf("Q, K, V must be 4-D")
		}
		B, Hq, L, D := q.shape[0], q.shape[1], q.shape[2], q.shape[3]
		Hk, S, Dv := k.shape[1], k.shape[2], v.shape[3]
		if Hk == 0 || Hq%Hk != 0 || k.shape[3] != D || v.shape[2] != S {
			return nil, fmt.Errorf("Q %v, K %v, V %v do not fit", q.shape, k.shape, v.shape)
		}
		reps := Hq / Hk
		scale := 1 / math.Sqrt(float64(D))
		if hasScale {
			scale = float64(scaleA)
		}
		scores := make([]float64, B*Hq*L*S)
		for bb := 0; bb < B; bb++ {
			for h := 0; h < Hq; h++ {
				qm := q.v[(bb*Hq+h)*L*D:]
				km := k.v[(bb*Hk+h/reps)*S*D:]
				for i := 0; i < L; i++ {
					for j := 0; j < S; j++ {
						var s float64
						for d := 0; d < D; d++ {
							s += qm[i*D+d] * km[j*D+d]
						}
						scores[((bb*Hq+h)*L+i)*S+j] = s * scale
					}
				}
			}
		}
		shape := []int{B, Hq, L, S}
		apply := func(g *graph.Graph, vals []float64, masking bool) ([]float64, error) {
			if g == nil {
				return vals, nil
			}
			t, err := FromFloat64(dt, vals, shape)
			if err != nil {
				return nil, err
			}
			out, err := runBody(ctx, g, []Value{t})
			if err != nil {
				return nil, err
			}
			if len(out) == 0 {
				return nil, fmt.Errorf("subgraph %q has no output", g.Name)
			}
			ot, ok := out[0].(*tensor.Tensor)
			if !ok {
				return nil, fmt.Errorf("subgraph %q returned %T", g.Name, out[0])
			}
			if masking && ot.DType == tensor.Bool {
				mv, err := broadcastTo(mapT(ot.Bools(), func(b bool) float64 {
					if b {
						return 1
					}
					return 0
				}), ot.Shape, shape)
				if err != nil {
					return nil, err
				}
				res := append([]float64{}, vals...)
				for i, m := range mv {
					if m == 0 {
						res[i] = math.Inf(-1)
					}
				}
				return res, nil
			}
			ov, err := ToFloat64(ot)
			if err != nil {
				return nil, err
			}
			return broadcastTo(ov, ot.Shape, shape)
		}
		if scores, err = apply(scoreMod, scores, false); err != nil {
			return nil, fmt.Errorf("score_mod: %w", err)
		}
		if scores, err = apply(maskMod, scores, true); err != nil {
			return nil, fmt.Errorf("mask_mod: %w", err)
		}
		for r := 0; r < B*Hq*L; r++ {
			row := scores[r*S : (r+1)*S]
			mx := math.Inf(-1)
			for _, e := range row {
				mx = math.Max(mx, e)
			}
			var sum float64
			for j, e := range row {
				if math.IsInf(mx, -1) {
					row[j] = 0
					continue
				}
				row[j] = math.Exp(e - mx)
				sum += row[j]
			}
			for j := range row {
				if sum > 0 {
					row[j] /= sum
				}
			}
		}
		if scores, err = apply(probMod, scores, false); err != nil {
			return nil, fmt.Errorf("prob_mod: %w", err)
		}
		y := make([]float64, B*Hq*L*Dv)
		for bb := 0; bb < B; bb++ {
			for h := 0; h < Hq; h++ {
				vm := v.v[(bb*Hk+h/reps)*S*Dv:]
				for i := 0; i < L; i++ {
					p := scores[((bb*Hq+h)*L+i)*S:]
					o := y[((bb*Hq+h)*L+i)*Dv:]
					for d := 0; d < Dv; d++ {
						var s float64
						for j := 0; j < S; j++ {
							s += p[j] * vm[j*Dv+d]
						}
						o[d] = s
					}
				}
			}
		}
		yt, err := FromFloat64(dt, y, []int{B, Hq, L, Dv})
		if err != nil {
			return nil, err
		}
		return []Value{yt}, nil
	}), nil
}
