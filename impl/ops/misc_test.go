package ops

import (
	"math"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

func TestTopKUnique(t *testing.T) {
	x := f32s(sh(2, 3), 3, 1, 3, 0, 5, 2)
	out, err := exec(mk("TopK", 2, 2), 11, x, i64s(sh(1), 2))
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "TopK values", out[0].(*tensor.Tensor), sh(2, 2), []float64{3, 3, 5, 2}, 0)
	expect(t, "TopK indices (ties keep order)", out[1].(*tensor.Tensor), sh(2, 2), []float64{0, 2, 1, 2}, 0)
	small, _ := exec(mk("TopK", 2, 2, graph.AttrI("largest", 0), graph.AttrI("axis", 0)), 11, x, i64s(sh(1), 1))
	expect(t, "TopK smallest", small[0].(*tensor.Tensor), sh(1, 3), []float64{0, 1, 2}, 0)
	u, err := exec(mk("Unique", 1, 4), 11, f32s(sh(5), 2, 1, 2, 3, 1))
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "Unique Y", u[0].(*tensor.Tensor), sh(3), []float64{1, 2, 3}, 0)
	expect(t, "Unique indices", u[1].(*tensor.Tensor), sh(3), []float64{1, 0, 3}, 0)
	expect(t, "Unique inverse", u[2].(*tensor.Tensor), sh(5), []float64{1, 0, 1, 2, 0}, 0)
	expect(t, "Unique counts", u[3].(*tensor.Tensor), sh(3), []float64{2, 2, 1}, 0)
	un, _ := exec(mk("Unique", 1, 1, graph.AttrI("sorted", 0)), 11, f32s(sh(3), 2, 1, 2))
	expect(t, "Unique unsorted", un[0].(*tensor.Tensor), sh(2), []float64{2, 1}, 0)
}

func TestEinsum(t *testing.T) {
	a := iota32(2, 3)
	b := iota32(3, 2)
	mm := run1(t, mk("Einsum", 2, 1, graph.AttrS("equation", "ij,jk->ik")), 12, a, b)
	expect(t, "matmul", mm, sh(2, 2), []float64{10, 13, 28, 40}, 0)
	tr := run1(t, mk("Einsum", 1, 1, graph.AttrS("equation", "ii")), 12, iota32(3, 3))
	expect(t, "trace", tr, sh(), []float64{12}, 0)
	bt := run1(t, mk("Einsum", 1, 1, graph.AttrS("equation", "...ij->...ji")), 12, iota32(2, 1, 2))
	expect(t, "ellipsis transpose", bt, sh(2, 2, 1), []float64{0, 1, 2, 3}, 0)
	implicit := run1(t, mk("Einsum", 2, 1, graph.AttrS("equation", "i,i")), 12, f32s(sh(3), 1, 2, 3), f32s(sh(3), 4, 5, 6))
	expect(t, "dot", implicit, sh(), []float64{32}, 0)
}

func TestBitCastDetSwiGLU(t *testing.T) {
	bc := run1(t, mk("BitCast", 1, 1, graph.AttrI("to", int64(tensor.Int32))), 26, f32s(sh(1), 1))
	if bc.I32()[0] != int32(math.Float32bits(1)) {
		t.Errorf("BitCast: %v", bc.I32())
	}
	expectErr(t, mk("BitCast", 1, 1, graph.AttrI("to", int64(tensor.Int64))), 26, "element size", f32s(sh(1), 1))
	det := run1(t, mk("Det", 1, 1), 11, f32s(sh(2, 2, 2), 1, 2, 3, 4, 0, 1, 1, 0))
	expect(t, "Det", det, sh(2), []float64{-2, -1}, 1e-6)
	sw := run1(t, mk("SwiGLU", 2, 1), 28, f32s(sh(1), 2), f32s(sh(1), 3))
	expect(t, "SwiGLU", sw, sh(1), []float64{2 / (1 + math.Exp(-2)) * 3}, 1e-6)
}

func TestTensorScatterAndDynamicQuantize(t *testing.T) {
	cache := tensor.New(tensor.Float32, 2, 4, 1)
	upd := f32s(sh(2, 2, 1), 1, 2, 3, 4)
	lin := run1(t, mk("TensorScatter", 3, 1), 24, cache, upd, i64s(sh(2), 0, 2))
	expect(t, "TensorScatter", lin, sh(2, 4, 1), []float64{1, 2, 0, 0, 0, 0, 3, 4}, 0)
	circ := run1(t, mk("TensorScatter", 3, 1, graph.AttrS("mode", "circular")), 24, cache, upd, i64s(sh(2), 3, 3))
	expect(t, "TensorScatter circular", circ, sh(2, 4, 1), []float64{2, 0, 0, 1, 4, 0, 0, 3}, 0)
	expectErr(t, mk("TensorScatter", 3, 1), 24, "out of range", cache, upd, i64s(sh(2), 3, 0))
	out, err := exec(mk("DynamicQuantizeLinear", 1, 3), 11, f32s(sh(3), 0, 2, -1))
	if err != nil {
		t.Fatal(err)
	}
	if s := out[1].(*tensor.Tensor).F32()[0]; math.Abs(float64(s)-3.0/255) > 1e-7 {
		t.Errorf("scale %v", s)
	}
	if zp := out[2].(*tensor.Tensor).U8()[0]; zp != 85 {
		t.Errorf("zero point %v", zp)
	}
	if y := out[0].(*tensor.Tensor).U8(); y[0] != 85 || y[1] != 255 || y[2] != 0 {
		t.Errorf("y %v", y)
	}
}
