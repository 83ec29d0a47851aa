package ops

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// Attention (opset 23/24): scaled dot-product attention with 3-D or 4-D
// inputs, grouped-query heads, boolean or additive masks, causal masking,
// KV cache (past/present), nonpad_kv_seqlen, softcap and the
// qk_matmul_output modes. Computes in float64.

func init() {
	Register(Impl{Op: "Attention", DTypes: floatTypes, Build: buildAttention})
	graph.RegisterShape("", "Attention", func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, v int64) ([]graph.Type, error) {
		if len(in) == 0 {
			return nil, nil
		}
		dt := in[0].DType
		return []graph.Type{{DType: dt}, {DType: dt}, {DType: dt}, {DType: dt}}, nil
	})
}

// f64t is a float64 working tensor.
type f64t struct {
	v     []float64
	shape []int
}

func toF64t(t *tensor.Tensor) (f64t, error) {
	v, err := ToFloat64(t)
	return f64t{v, append([]int{}, t.Shape...)}, err
}

// heads4 turns [B, S, H*D] into [B, H, S, D].
func heads4(x f64t, h int) (f64t, error) {
	if len(x.shape) == 4 {
		return x, nil
	}
	if len(x.shape) != 3 || h <= 0 || x.shape[2]%h != 0 {
		return x, fmt.Errorf("input %v cannot be split into %d heads", x.shape, h)
	}
	B, S, D := x.shape[0], x.shape[1], x.shape[2]/h
	out := make([]float64, len(x.v))
	for b := 0; b < B; b++ {
		for s := 0; s < S; s++ {
			for hh := 0; hh < h; hh++ {
				copy(out[((b*h+hh)*S+s)*D:((b*h+hh)*S+s+1)*D], x.v[((b*S+s)*h+hh)*D:((b*S+s)*h+hh+1)*D])
			}
		}
	}
	return f64t{out, []int{B, h, S, D}}, nil
}

// concatSeq joins [B,H,S1,D] and [B,H,S2,D] along S.
func concatSeq(a, b f64t) (f64t, error) {
	if len(a.shape) != 4 || len(b.shape) != 4 || a.shape[0] != b.shape[0] || a.shape[1] != b.shape[1] || a.shape[3] != b.shape[3] {
		return a, fmt.Errorf("cache %v and new %v do not concatenate", a.shape, b.shape)
	}
	B, H, S1, S2, D := a.shape[0], a.shape[1], a.shape[2], b.shape[2], a.shape[3]
	out := make([]float64, 0, B*H*(S1+S2)*D)
	for i := 0; i < B*H; i++ {
		out = append(out, a.v[i*S1*D:(i+1)*S1*D]...)
		out = append(out, b.v[i*S2*D:(i+1)*S2*D]...)
	}
	return f64t{out, []int{B, H, S1 + S2, D}}, nil
}

func buildAttention(b *BuildInfo) (Kernel, error) {
	n := b.Node
	isCausal, err := n.Int("is_causal", 0)
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
	softcap, err := n.Float("softcap", 0)
	if err != nil {
		return nil, err
	}
	mode, err := n.Int("qk_matmul_output_mode", 0)
	if err != nil {
		return nil, err
	}
	hasScale := n.Has("scale")
	scaleAttr, err := n.Float("scale", 0)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 3)
		if err != nil {
			return nil, err
		}
		dt := ts[0].DType
		opt := make([]*tensor.Tensor, 7)
		for i := 3; i < 7; i++ {
			if opt[i], err = Tensor(in, i); err != nil {
				return nil, err
			}
		}
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
		threeD := len(q.shape) == 3
		if threeD {
			if q, err = heads4(q, int(qh)); err != nil {
				return nil, fmt.Errorf("Q: %w", err)
			}
			if k, err = heads4(k, int(kvh)); err != nil {
				return nil, fmt.Errorf("K: %w", err)
			}
			if v, err = heads4(v, int(kvh)); err != nil {
				return nil, fmt.Errorf("V: %w", err)
			}
		}
		if len(q.shape) != 4 || len(k.shape) != 4 || len(v.shape) != 4 {
			return nil, fmt.Errorf("Q %v, K %v, V %v must be 3-D or 4-D", ts[0].Shape, ts[1].Shape, ts[2].Shape)
		}
		pastLen := 0
		if opt[4] != nil {
			pk, err := toF64t(opt[4])
			if err != nil {
				return nil, err
			}
			pastLen = pk.shape[2]
			if k, err = concatSeq(pk, k); err != nil {
				return nil, fmt.Errorf("past_key: %w", err)
			}
		}
		if opt[5] != nil {
			pv, err := toF64t(opt[5])
			if err != nil {
				return nil, err
			}
			if v, err = concatSeq(pv, v); err != nil {
				return nil, fmt.Errorf("past_value: %w", err)
			}
		}
		B, Hq, Sq, D := q.shape[0], q.shape[1], q.shape[2], q.shape[3]
		Hk, Skv, Dv := k.shape[1], k.shape[2], v.shape[3]
		if k.shape[3] != D || v.shape[2] != Skv || v.shape[1] != Hk || k.shape[0] != B || v.shape[0] != B {
			return nil, fmt.Errorf("Q %v, K %v, V %v do not fit", q.shape, k.shape, v.shape)
		}
		if Hk == 0 || Hq%Hk != 0 {
			return nil, fmt.Errorf("%d query heads do not group over %d kv heads", Hq, Hk)
		}
		reps := Hq / Hk
		scale := 1 / math.Sqrt(float64(D))
		if hasScale {
			scale = float64(scaleAttr)
		}
		// Bias [B, Hq, Sq, Skv] from mask, causal and padding.
		bias := make([]float64, B*Hq*Sq*Skv)
		if m := opt[3]; m != nil {
			mv, err := ToFloat64(m)
			if err != nil {
				return nil, err
			}
			if m.Rank() < 2 || m.Rank() > 4 {
				return nil, fmt.Errorf("attn_mask %v must have rank 2..4", m.Shape)
			}
			ms := m.Shape
			mk := ms[len(ms)-1]
			mq := ms[len(ms)-2]
			lead := make([]int, 4-len(ms))
			for i := range lead {
				lead[i] = 1
			}
			full := append(lead, ms...)
			if (full[0] != 1 && full[0] != B) || (full[1] != 1 && full[1] != Hq) || (mq != 1 && mq != Sq) || mk > Skv {
				return nil, fmt.Errorf("attn_mask %v does not broadcast to [%d %d %d %d]", ms, B, Hq, Sq, Skv)
			}
			for bb := 0; bb < B; bb++ {
				for h := 0; h < Hq; h++ {
					for i := 0; i < Sq; i++ {
						for j := 0; j < Skv; j++ {
							var val float64
							if j >= mk {
								val = math.Inf(-1)
							} else {
								mi := ((min(bb, full[0]-1)*full[1]+min(h, full[1]-1))*mq+min(i, mq-1))*mk + j
								val = mv[mi]
								if m.DType == tensor.Bool {
									if val != 0 {
										val = 0
									} else {
										val = math.Inf(-1)
									}
								}
							}
							bias[((bb*Hq+h)*Sq+i)*Skv+j] = val
						}
					}
				}
			}
		}
		var nonpad []int64
		if opt[6] != nil {
			if nonpad, err = intsOf(opt[6], "nonpad_kv_seqlen"); err != nil {
				return nil, err
			}
			if len(nonpad) != B {
				return nil, fmt.Errorf("nonpad_kv_seqlen has %d entries for batch %d", len(nonpad), B)
			}
		}
		if isCausal != 0 {
			for bb := 0; bb < B; bb++ {
				off := pastLen
				if opt[4] == nil && nonpad != nil {
					off = int(nonpad[bb]) - Sq
				}
				for h := 0; h < Hq; h++ {
					for i := 0; i < Sq; i++ {
						for j := 0; j < Skv; j++ {
							if j > i+off {
								bias[((bb*Hq+h)*Sq+i)*Skv+j] = math.Inf(-1)
							}
						}
					}
				}
			}
		}
		if nonpad != nil {
			for bb := 0; bb < B; bb++ {
				for h := 0; h < Hq; h++ {
					for i := 0; i < Sq; i++ {
						for j := int(nonpad[bb]); j < Skv; j++ {
							if j >= 0 {
								bias[((bb*Hq+h)*Sq+i)*Skv+j] = math.Inf(-1)
							}
						}
					}
				}
			}
		}
		qk := make([]float64, B*Hq*Sq*Skv)
		y := make([]float64, B*Hq*Sq*Dv)
		var qkOut []float64
		if mode != 0 || len(n.Outputs) > 3 && n.Outputs[3] != "" {
			qkOut = make([]float64, len(qk))
		}
		row := make([]float64, Skv)
		for bb := 0; bb < B; bb++ {
			for h := 0; h < Hq; h++ {
				kh := h / reps
				qm := q.v[((bb*Hq+h)*Sq)*D:]
				km := k.v[((bb*Hk+kh)*Skv)*D:]
				vm := v.v[((bb*Hk+kh)*Skv)*Dv:]
				for i := 0; i < Sq; i++ {
					base := ((bb*Hq+h)*Sq + i) * Skv
					for j := 0; j < Skv; j++ {
						var s float64
						for d := 0; d < D; d++ {
							s += qm[i*D+d] * km[j*D+d]
						}
						s *= scale
						if softcap > 0 {
							s = float64(softcap) * math.Tanh(s/float64(softcap))
						}
						withBias := s + bias[base+j]
						row[j] = withBias
						if qkOut != nil {
							switch mode {
							case 0:
								qkOut[base+j] = s
							case 1:
								// With a softcap the reference reports the
								// capped scores before the mask.
								if softcap > 0 {
									qkOut[base+j] = s
								} else {
									qkOut[base+j] = s + bias[base+j]
								}
							case 2:
								qkOut[base+j] = withBias
							}
						}
					}
					mx := math.Inf(-1)
					for _, e := range row {
						mx = math.Max(mx, e)
					}
					var sum float64
					for j, e := range row {
						if math.IsInf(mx, -1) {
							row[j] = 0 // a fully masked row attends nowhere
							continue
						}
						row[j] = math.Exp(e - mx)
						sum += row[j]
					}
					for j := range row {
						if sum > 0 {
							row[j] /= sum
						}
						if mode == 3 && qkOut != nil {
							qkOut[base+j] = row[j]
						}
					}
					ob := y[((bb*Hq+h)*Sq+i)*Dv:]
					for d := 0; d < Dv; d++ {
						var s float64
						for j := 0; j < Skv; j++ {
							s += row[j] * vm[j*Dv+d]
						}
						ob[d] = s
					}
				}
			}
		}
		yshape := []int{B, Hq, Sq, Dv}
		if threeD {
			t := make([]float64, len(y))
			for bb := 0; bb < B; bb++ {
				for h := 0; h < Hq; h++ {
					for i := 0; i < Sq; i++ {
						copy(t[((bb*Sq+i)*Hq+h)*Dv:((bb*Sq+i)*Hq+h+1)*Dv], y[((bb*Hq+h)*Sq+i)*Dv:((bb*Hq+h)*Sq+i+1)*Dv])
					}
				}
			}
			y, yshape = t, []int{B, Sq, Hq * Dv}
		}
		yt, err := FromFloat64(dt, y, yshape)
		if err != nil {
			return nil, err
		}
		pk, err := FromFloat64(dt, k.v, k.shape)
		if err != nil {
			return nil, err
		}
		pv, err := FromFloat64(dt, v.v, v.shape)
		if err != nil {
			return nil, err
		}
		outs := []Value{yt, pk, pv}
		if qkOut != nil {
			qt, err := FromFloat64(dt, qkOut, []int{B, Hq, Sq, Skv})
			if err != nil {
				return nil, err
			}
			outs = append(outs, qt)
		}
		return outs, nil
	}), nil
}
