package ops

import (
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

func TestGatherFamily(t *testing.T) {
	x := iota32(3, 2)
	g := run1(t, mk("Gather", 2, 1), 21, x, i64s(sh(2, 1), 2, -3))
	expect(t, "Gather", g, sh(2, 1, 2), []float64{4, 5, 0, 1}, 0)
	g1 := run1(t, mk("Gather", 2, 1, graph.AttrI("axis", 1)), 21, x, i64s(nil, 1))
	expect(t, "Gather axis1 scalar", g1, sh(3), []float64{1, 3, 5}, 0)
	expectErr(t, mk("Gather", 2, 1), 21, "out of range", x, i64s(sh(1), 3))
	ge := run1(t, mk("GatherElements", 2, 1, graph.AttrI("axis", 1)), 21, x, i64s(sh(3, 1), 1, 0, 1))
	expect(t, "GatherElements", ge, sh(3, 1), []float64{1, 2, 5}, 0)
	gn := run1(t, mk("GatherND", 2, 1), 21, x, i64s(sh(2, 2), 0, 1, 2, 0))
	expect(t, "GatherND", gn, sh(2), []float64{1, 4}, 0)
	gb := run1(t, mk("GatherND", 2, 1, graph.AttrI("batch_dims", 1)), 21, x, i64s(sh(3, 1), 1, 0, 1))
	expect(t, "GatherND batch", gb, sh(3), []float64{1, 2, 5}, 0)
}

func TestScatterFamily(t *testing.T) {
	x := tensor.New(tensor.Float32, 2, 3)
	se := run1(t, mk("ScatterElements", 3, 1, graph.AttrI("axis", 1)), 21, x, i64s(sh(1, 2), 2, 0), f32s(sh(1, 2), 7, 8))
	expect(t, "ScatterElements", se, sh(2, 3), []float64{8, 0, 7, 0, 0, 0}, 0)
	add := run1(t, mk("ScatterElements", 3, 1, graph.AttrI("axis", 1), graph.AttrS("reduction", "add")), 21, f32s(sh(1, 2), 1, 1), i64s(sh(1, 3), 1, 1, 0), f32s(sh(1, 3), 2, 3, 4))
	expect(t, "ScatterElements add", add, sh(1, 2), []float64{5, 6}, 0)
	nd := run1(t, mk("ScatterND", 3, 1), 21, iota32(2, 2), i64s(sh(1, 1), 1), f32s(sh(1, 2), 9, 9))
	expect(t, "ScatterND", nd, sh(2, 2), []float64{0, 1, 9, 9}, 0)
	mx := run1(t, mk("ScatterND", 3, 1, graph.AttrS("reduction", "max")), 21, iota32(2, 2), i64s(sh(2, 2), 0, 0, 1, 1), f32s(sh(2), -5, 5))
	expect(t, "ScatterND max", mx, sh(2, 2), []float64{0, 1, 2, 5}, 0)
}

func TestCompressNonZeroOneHot(t *testing.T) {
	x := iota32(2, 3)
	c := run1(t, mk("Compress", 2, 1, graph.AttrI("axis", 1)), 21, x, tensor.MustFromSlice([]bool{true, false, true}, 3))
	expect(t, "Compress", c, sh(2, 2), []float64{0, 2, 3, 5}, 0)
	cf := run1(t, mk("Compress", 2, 1), 21, x, tensor.MustFromSlice([]bool{false, true}, 2))
	expect(t, "Compress flat", cf, sh(1), []float64{1}, 0)
	nz := run1(t, mk("NonZero", 1, 1), 21, f32s(sh(2, 2), 0, 1, 1, 0))
	expect(t, "NonZero", nz, sh(2, 2), []float64{0, 1, 1, 0}, 0)
	oh := run1(t, mk("OneHot", 3, 1), 21, i64s(sh(2), 1, -1), f32s(nil, 3), f32s(sh(2), 0, 5))
	expect(t, "OneHot", oh, sh(2, 3), []float64{0, 5, 0, 0, 0, 5}, 0)
	oh0 := run1(t, mk("OneHot", 3, 1, graph.AttrI("axis", 0)), 21, i64s(sh(2), 0, 2), i64s(nil, 3), i64s(sh(2), 0, 1))
	expect(t, "OneHot axis 0", oh0, sh(3, 2), []float64{1, 0, 0, 0, 0, 1}, 0)
}
