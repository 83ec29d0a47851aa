package ops

import (
	"math"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// attentionNaive computes softmax(QK^T*scale + bias) V for one head.
func attentionNaive(q, k, v [][]float64, scale float64, mask func(i, j int) bool) [][]float64 {
	out := make([][]float64, len(q))
	for i := range q {
		s := make([]float64, len(k))
		mx := math.Inf(-1)
		for j := range k {
			for d := range q[i] {
				s[j] += q[i][d] * k[j][d]
			}
			s[j] *= scale
			if mask != nil && !mask(i, j) {
				s[j] = math.Inf(-1)
			}
			mx = math.Max(mx, s[j])
		}
		var sum float64
		for j := range s {
			s[j] = math.Exp(s[j] - mx)
			sum += s[j]
		}
		out[i] = make([]float64, len(v[0]))
		for j := range s {
			for d := range v[j] {
				out[i][d] += s[j] / sum * v[j][d]
			}
		}
	}
	return out
}

func TestAttentionCausalGQA(t *testing.T) {
	// Q: 2 heads, K/V: 1 head (grouped), 3 positions, head size 2.
	q := f32s(sh(1, 2, 3, 2), 1, 0, 0, 1, 1, 1, 0.5, 0, 0, 0.5, 1, -1)
	k := f32s(sh(1, 1, 3, 2), 1, 0, 0, 1, 1, 1)
	v := f32s(sh(1, 1, 3, 2), 1, 2, 3, 4, 5, 6)
	out, err := exec(mk("Attention", 3, 1, graph.AttrI("is_causal", 1)), 23, q, k, v)
	if err != nil {
		t.Fatal(err)
	}
	rows := func(tt *tensor.Tensor, h, n, d int) [][]float64 {
		vals, _ := ToFloat64(tt)
		var r [][]float64
		for i := 0; i < n; i++ {
			r = append(r, vals[(h*n+i)*d:(h*n+i+1)*d])
		}
		return r
	}
	var want []float64
	for h := 0; h < 2; h++ {
		o := attentionNaive(rows(q, h, 3, 2), rows(k, 0, 3, 2), rows(v, 0, 3, 2), 1/math.Sqrt2, func(i, j int) bool { return j <= i })
		for _, r := range o {
			want = append(want, r...)
		}
	}
	expect(t, "Attention", out[0].(*tensor.Tensor), sh(1, 2, 3, 2), want, 1e-5)
	// A fully masked row attends nowhere and yields zeros.
	mask := tensor.MustFromSlice([]bool{false, false, false}, 1, 3)
	y := run1(t, mk("Attention", 4, 1), 23, q, k, v, mask)
	for _, e := range y.F32() {
		if e != 0 {
			t.Fatalf("fully masked output %v", y.F32())
		}
	}
}
