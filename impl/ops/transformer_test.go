package ops

import (
	"math"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

func TestRotaryEmbedding(t *testing.T) {
	x := f32s(sh(1, 1, 1, 2), 1, 0) // [B, H, S, D]
	c := f32s(sh(1, 1), float32(math.Cos(0.5)))
	s := f32s(sh(1, 1), float32(math.Sin(0.5)))
	r := run1(t, mk("RotaryEmbedding", 4, 1), 23, x, c, s, i64s(sh(1, 1), 0))
	expect(t, "RotaryEmbedding", r, sh(1, 1, 1, 2), []float64{math.Cos(0.5), math.Sin(0.5)}, 1e-6)
}

func TestLinearAttentionLinearRule(t *testing.T) {
	// One head, d_k = d_v = 1: o_t = scale * q_t * sum_{s<=t} k_s v_s.
	q := f32s(sh(1, 2, 1), 1, 2)
	k := f32s(sh(1, 2, 1), 3, 4)
	v := f32s(sh(1, 2, 1), 5, 6)
	out, err := exec(mk("LinearAttention", 3, 2, graph.AttrS("update_rule", "linear"), graph.AttrI("q_num_heads", 1), graph.AttrI("kv_num_heads", 1), graph.AttrF("scale", 1)), 25, q, k, v)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "LinearAttention", out[0].(*tensor.Tensor), sh(1, 2, 1), []float64{15, 2 * (15 + 24)}, 1e-6)
	expect(t, "state", out[1].(*tensor.Tensor), sh(1, 1, 1, 1), []float64{39}, 1e-6)
}

func TestCausalConvWithState(t *testing.T) {
	x := f32s(sh(1, 1, 3), 1, 2, 3)
	w := f32s(sh(1, 1, 2), 1, 10)
	out, err := exec(mk("CausalConvWithState", 4, 2), 25, x, w, nil, f32s(sh(1, 1, 1), 7))
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "output", out[0].(*tensor.Tensor), sh(1, 1, 3), []float64{17, 21, 32}, 0)
	expect(t, "present_state", out[1].(*tensor.Tensor), sh(1, 1, 1), []float64{3}, 0)
}
