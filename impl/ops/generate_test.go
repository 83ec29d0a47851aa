package ops

import (
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

func TestGenerators(t *testing.T) {
	c := run1(t, mk("ConstantOfShape", 1, 1, graph.AttrT("value", i64s(sh(1), 7))), 21, i64s(sh(2), 2, 1))
	if c.DType != tensor.Int64 {
		t.Fatalf("dtype %s", c.DType)
	}
	expect(t, "ConstantOfShape", c, sh(2, 1), []float64{7, 7}, 0)
	z := run1(t, mk("ConstantOfShape", 1, 1), 21, i64s(sh(1), 3))
	expect(t, "ConstantOfShape default", z, sh(3), []float64{0, 0, 0}, 0)
	r := run1(t, mk("Range", 3, 1), 21, i64s(nil, 10), i64s(nil, 2), i64s(nil, -3))
	expect(t, "Range int", r, sh(3), []float64{10, 7, 4}, 0)
	rf := run1(t, mk("Range", 3, 1), 21, f32s(nil, 0), f32s(nil, 1), f32s(nil, 0.25))
	expect(t, "Range float", rf, sh(4), []float64{0, 0.25, 0.5, 0.75}, 0)
	expectErr(t, mk("Range", 3, 1), 21, "delta is 0", i64s(nil, 0), i64s(nil, 1), i64s(nil, 0))
	e := run1(t, mk("EyeLike", 1, 1, graph.AttrI("k", 1), graph.AttrI("dtype", int64(tensor.Int32))), 21, tensor.New(tensor.Float32, 2, 3))
	if e.DType != tensor.Int32 {
		t.Fatalf("EyeLike dtype %s", e.DType)
	}
	expect(t, "EyeLike", e, sh(2, 3), []float64{0, 1, 0, 0, 0, 1}, 0)
}
