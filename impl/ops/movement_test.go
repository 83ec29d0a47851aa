package ops

import (
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

func iota32(shape ...int) *tensor.Tensor {
	t := tensor.New(tensor.Float32, shape...)
	for i := range t.F32() {
		t.F32()[i] = float32(i)
	}
	return t
}

func floats(n int, f func(i int) float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func TestShapeSizeTranspose(t *testing.T) {
	x := iota32(2, 3, 4)
	expect(t, "Shape", run1(t, mk("Shape", 1, 1), 21, x), sh(3), []float64{2, 3, 4}, 0)
	expect(t, "Shape start/end", run1(t, mk("Shape", 1, 1, graph.AttrI("start", -2), graph.AttrI("end", 10)), 21, x), sh(2), []float64{3, 4}, 0)
	expect(t, "Size", run1(t, mk("Size", 1, 1), 21, x), sh(), []float64{24}, 0)
	tr := run1(t, mk("Transpose", 1, 1, graph.IntsAttr("perm", 2, 0, 1)), 21, x)
	want := floats(24, func(i int) float64 { // out[k][i][j] = x[i][j][k]
		k, r := i/6, i%6
		return float64((r/3)*12 + (r%3)*4 + k)
	})
	expect(t, "Transpose", tr, sh(4, 2, 3), want, 0)
	rev := run1(t, mk("Transpose", 1, 1), 21, iota32(2, 3))
	expect(t, "Transpose default", rev, sh(3, 2), []float64{0, 3, 1, 4, 2, 5}, 0)
	expectErr(t, mk("Transpose", 1, 1, graph.IntsAttr("perm", 0, 0)), 21, "permutation", iota32(2, 2))
}

func TestSqueezeUnsqueezeConcatSplit(t *testing.T) {
	x := iota32(2, 3)
	u := run1(t, mk("Unsqueeze", 2, 1), 21, x, i64s(sh(2), 0, -1))
	if !tensor.SameShape(u.Shape, []int{1, 2, 3, 1}) {
		t.Fatalf("Unsqueeze shape %v", u.Shape)
	}
	u11 := run1(t, mk("Unsqueeze", 1, 1, graph.IntsAttr("axes", 1)), 11, x)
	if !tensor.SameShape(u11.Shape, []int{2, 1, 3}) {
		t.Fatalf("Unsqueeze-11 shape %v", u11.Shape)
	}
	s := run1(t, mk("Squeeze", 1, 1), 21, u)
	if !tensor.SameShape(s.Shape, []int{2, 3}) {
		t.Fatalf("Squeeze shape %v", s.Shape)
	}
	expectErr(t, mk("Squeeze", 2, 1), 21, "cannot squeeze", x, i64s(sh(1), 0))
	c := run1(t, mk("Concat", 2, 1, graph.AttrI("axis", -1)), 21, x, iota32(2, 1))
	expect(t, "Concat", c, sh(2, 4), []float64{0, 1, 2, 0, 3, 4, 5, 1}, 0)
	out, err := exec(mk("Split", 2, 2, graph.AttrI("axis", 1)), 18, x, i64s(sh(2), 1, 2))
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "Split 0", out[0].(*tensor.Tensor), sh(2, 1), []float64{0, 3}, 0)
	expect(t, "Split 1", out[1].(*tensor.Tensor), sh(2, 2), []float64{1, 2, 4, 5}, 0)
	out, err = exec(mk("Split", 1, 2, graph.AttrI("axis", 1), graph.AttrI("num_outputs", 2)), 18, x)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "Split num_outputs", out[1].(*tensor.Tensor), sh(2, 1), []float64{2, 5}, 0)
}

func TestSliceExpandTile(t *testing.T) {
	x := iota32(3, 4)
	s := run1(t, mk("Slice", 5, 1), 21, x, i64s(sh(2), 0, 3), i64s(sh(2), 100, 0), i64s(sh(2), 0, 1), i64s(sh(2), 2, -2))
	expect(t, "Slice steps", s, sh(2, 2), []float64{3, 1, 11, 9}, 0)
	s9 := run1(t, mk("Slice", 1, 1, graph.IntsAttr("starts", 1), graph.IntsAttr("ends", -1), graph.IntsAttr("axes", 1)), 9, x)
	expect(t, "Slice-9", s9, sh(3, 2), []float64{1, 2, 5, 6, 9, 10}, 0)
	e := run1(t, mk("Expand", 2, 1), 21, f32s(sh(3, 1), 1, 2, 3), i64s(sh(3), 2, 1, 2))
	expect(t, "Expand", e, sh(2, 3, 2), []float64{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}, 0)
	tl := run1(t, mk("Tile", 2, 1), 21, f32s(sh(2), 1, 2), i64s(sh(1), 3))
	expect(t, "Tile", tl, sh(6), []float64{1, 2, 1, 2, 1, 2}, 0)
}

func TestPadModes(t *testing.T) {
	x := f32s(sh(1, 3), 1, 2, 3)
	pads := i64s(sh(4), 0, 2, 0, 2)
	for mode, want := range map[string][]float64{
		"constant": {9, 9, 1, 2, 3, 9, 9},
		"edge":     {1, 1, 1, 2, 3, 3, 3},
		"reflect":  {3, 2, 1, 2, 3, 2, 1},
		"wrap":     {2, 3, 1, 2, 3, 1, 2},
	} {
		p := run1(t, mk("Pad", 3, 1, graph.AttrS("mode", mode)), 21, x, pads, f32s(nil, 9))
		expect(t, "Pad "+mode, p, sh(1, 7), want, 0)
	}
	crop := run1(t, mk("Pad", 2, 1), 21, x, i64s(sh(4), 0, -1, 0, 0))
	expect(t, "Pad negative", crop, sh(1, 2), []float64{2, 3}, 0)
	axes := run1(t, mk("Pad", 4, 1), 21, x, i64s(sh(2), 1, 0), f32s(nil, 0), i64s(sh(1), 1))
	expect(t, "Pad axes", axes, sh(1, 4), []float64{0, 1, 2, 3}, 0)
	old := run1(t, mk("Pad", 1, 1, graph.IntsAttr("pads", 1, 0, 0, 0), graph.AttrF("value", 5)), 2, x)
	expect(t, "Pad-2", old, sh(2, 3), []float64{5, 5, 5, 1, 2, 3}, 0)
}

func TestDepthSpaceTriluReverse(t *testing.T) {
	x := iota32(1, 4, 1, 1)
	d := run1(t, mk("DepthToSpace", 1, 1, graph.AttrI("blocksize", 2)), 21, x)
	expect(t, "DepthToSpace DCR", d, sh(1, 1, 2, 2), []float64{0, 1, 2, 3}, 0)
	back := run1(t, mk("SpaceToDepth", 1, 1, graph.AttrI("blocksize", 2)), 21, d)
	expect(t, "SpaceToDepth", back, sh(1, 4, 1, 1), []float64{0, 1, 2, 3}, 0)
	tri := run1(t, mk("Trilu", 2, 1, graph.AttrI("upper", 0)), 21, iota32(3, 3), i64s(nil, 0))
	expect(t, "Trilu lower", tri, sh(3, 3), []float64{0, 0, 0, 3, 4, 0, 6, 7, 8}, 0)
	up := run1(t, mk("Trilu", 2, 1), 21, iota32(3, 3), i64s(nil, 1))
	expect(t, "Trilu upper k=1", up, sh(3, 3), []float64{0, 1, 2, 0, 0, 5, 0, 0, 0}, 0)
	rs := run1(t, mk("ReverseSequence", 2, 1, graph.AttrI("batch_axis", 0), graph.AttrI("time_axis", 1)), 21, iota32(2, 3), i64s(sh(2), 2, 3))
	expect(t, "ReverseSequence", rs, sh(2, 3), []float64{1, 0, 2, 5, 4, 3}, 0)
	cc := run1(t, mk("CenterCropPad", 2, 1), 21, iota32(3, 3), i64s(sh(2), 1, 5))
	expect(t, "CenterCropPad", cc, sh(1, 5), []float64{0, 3, 4, 5, 0}, 0)
}

func TestReshapeAttributeForm(t *testing.T) {
	r := run1(t, mk("Reshape", 1, 1, graph.IntsAttr("shape", 3, -1)), 4, iota32(2, 3))
	if !tensor.SameShape(r.Shape, []int{3, 2}) {
		t.Fatalf("Reshape-4 shape %v", r.Shape)
	}
}
