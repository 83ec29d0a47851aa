package ops

import (
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// The float32 LayerNormalization kernel matches the float64 reference
// within float32 rounding: rows of 128 and odd lengths, one and two
// normalised axes, a single-value scale, no bias, a mean far from zero,
// in place, and enough rows to split over threads.
func TestLayerNormF32(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, c := range []struct {
		shape      []int
		axis       int64
		scaleShape []int
		bias       bool
		offset     float64
	}{
		{[]int{1, 32, 128}, -1, []int{128}, true, 0},
		{[]int{1, 32, 128}, -1, []int{128}, true, 100},
		{[]int{3, 7, 13}, -1, []int{13}, false, 1},
		{[]int{3, 7, 13}, -2, []int{7, 13}, true, 0},
		{[]int{3, 7, 13}, 1, []int{1}, true, 0},
		{[]int{600, 64}, -1, []int{64}, true, -3},
	} {
		x := normF32(r, 2, c.shape...)
		for i := range x.F32() {
			x.F32()[i] += float32(c.offset)
		}
		sc := normF32(r, 1, c.scaleShape...)
		in := []Value{x, sc}
		nin := 2
		if c.bias {
			in = append(in, normF32(r, 1, c.scaleShape...))
			nin = 3
		}
		n := mk("LayerNormalization", nin, 1, graph.AttrI("axis", c.axis))
		info := &BuildInfo{Node: n, Opset: 17, Const: make([]*tensor.Tensor, nin), InTypes: make([]graph.Type, nin)}
		info.InTypes[0] = graph.Type{DType: tensor.Float32}
		if im, err := Select(info); err != nil || im.Name != "f32" {
			t.Fatalf("selected %v, %v; want f32", im, err)
		}
		got := run1(t, n, 17, in...)
		var want *tensor.Tensor
		withoutImpl("f32", func() { want = run1(t, n, 17, in...) })
		nearF32(t, "LayerNormalization", got, want, 2e-5, 2e-5)
	}
}
