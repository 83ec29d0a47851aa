package ops

import (
	"math"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

func TestReductions(t *testing.T) {
	x := f32s(sh(2, 3), 1, -2, 3, 4, 5, -6)
	axes := i64s(sh(1), 1)
	for op, want := range map[string][]float64{
		"ReduceSum":       {2, 3},
		"ReduceMean":      {2.0 / 3, 1},
		"ReduceMax":       {3, 5},
		"ReduceMin":       {-2, -6},
		"ReduceProd":      {-6, -120},
		"ReduceL1":        {6, 15},
		"ReduceL2":        {math.Sqrt(14), math.Sqrt(77)},
		"ReduceSumSquare": {14, 77},
		"ReduceLogSumExp": {math.Log(math.Exp(1) + math.Exp(-2) + math.Exp(3)), math.Log(math.Exp(4) + math.Exp(5) + math.Exp(-6))},
	} {
		expect(t, op, run1(t, mk(op, 2, 1), 18, x, axes), sh(2, 1), want, 1e-6)
	}
	// Old opsets take axes as an attribute; keepdims=0 drops the axis.
	s := run1(t, mk("ReduceSum", 1, 1, graph.IntsAttr("axes", 0), graph.AttrI("keepdims", 0)), 11, x)
	expect(t, "ReduceSum-11", s, sh(3), []float64{5, 3, -3}, 0)
	all := run1(t, mk("ReduceMax", 1, 1, graph.AttrI("keepdims", 0)), 13, x)
	expect(t, "ReduceMax all", all, sh(), []float64{5}, 0)
	noop := run1(t, mk("ReduceSum", 2, 1, graph.AttrI("noop_with_empty_axes", 1)), 13, x, i64s(sh(0)))
	expect(t, "noop", noop, sh(2, 3), []float64{1, -2, 3, 4, 5, -6}, 0)
	empty := run1(t, mk("ReduceMin", 2, 1), 18, tensor.New(tensor.Float32, 2, 0), i64s(sh(1), 1))
	expect(t, "empty min", empty, sh(2, 1), []float64{math.Inf(1), math.Inf(1)}, 0)
	ints := run1(t, mk("ReduceSum", 2, 1), 18, i64s(sh(2), 1<<53, 1), i64s(sh(1), 0))
	if ints.I64()[0] != 1<<53+1 {
		t.Errorf("int64 ReduceSum is not exact: %v", ints.I64())
	}
	b := run1(t, mk("ReduceMax", 2, 1), 20, tensor.MustFromSlice([]bool{false, true, false, false}, 2, 2), i64s(sh(1), 1))
	if bb := b.Bools(); !bb[0] || bb[1] {
		t.Errorf("ReduceMax bool: %v", bb)
	}
}

func TestArgAndCum(t *testing.T) {
	x := f32s(sh(2, 3), 1, 3, 3, 2, 0, 2)
	am := run1(t, mk("ArgMax", 1, 1, graph.AttrI("axis", 1)), 13, x)
	expect(t, "ArgMax", am, sh(2, 1), []float64{1, 0}, 0)
	al := run1(t, mk("ArgMax", 1, 1, graph.AttrI("axis", 1), graph.AttrI("select_last_index", 1), graph.AttrI("keepdims", 0)), 13, x)
	expect(t, "ArgMax last", al, sh(2), []float64{2, 2}, 0)
	an := run1(t, mk("ArgMin", 1, 1), 13, x)
	expect(t, "ArgMin", an, sh(1, 3), []float64{0, 1, 1}, 0)
	v := f64s(sh(4), 1, 2, 3, 4)
	expect(t, "CumSum", run1(t, mk("CumSum", 2, 1), 14, v, i64s(nil, 0)), sh(4), []float64{1, 3, 6, 10}, 0)
	expect(t, "CumSum excl rev", run1(t, mk("CumSum", 2, 1, graph.AttrI("exclusive", 1), graph.AttrI("reverse", 1)), 14, v, i64s(nil, 0)), sh(4), []float64{9, 7, 4, 0}, 0)
	expect(t, "CumProd", run1(t, mk("CumProd", 2, 1), 26, v, i64s(nil, 0)), sh(4), []float64{1, 2, 6, 24}, 0)
}
