package ops

import (
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

func TestMatMulAnyTypes(t *testing.T) {
	a := i64s(sh(2, 2), 1, 2, 3, 4)
	b := i64s(sh(2), 5, 6)
	expect(t, "MatMul int64 matrix-vector", run1(t, mk("MatMul", 2, 1), 13, a, b), sh(2), []float64{17, 39}, 0)
	ad, _ := Cast(a, tensor.Float64, CastOptions{})
	batched := run1(t, mk("MatMul", 2, 1), 13, f64s(sh(2, 1, 2), 1, 0, 0, 1), ad)
	expect(t, "MatMul float64 batch broadcast", batched, sh(2, 1, 2), []float64{1, 2, 3, 4}, 0)
	ah, _ := Cast(a, tensor.Float16, CastOptions{})
	h := run1(t, mk("MatMul", 2, 1), 13, ah, ah)
	if h.DType != tensor.Float16 {
		t.Fatalf("float16 MatMul returned %s", h.DType)
	}
	expect(t, "MatMul float16", h, sh(2, 2), []float64{7, 10, 15, 22}, 0)
	u8 := func(v ...uint8) *tensor.Tensor {
		return &tensor.Tensor{DType: tensor.Uint8, Shape: []int{len(v)}, Data: v}
	}
	a8, _ := u8(3, 4, 5, 6).Reshaped(2, 2)
	b8, _ := u8(1, 2, 3, 4).Reshaped(2, 2)
	mi := run1(t, mk("MatMulInteger", 4, 1), 10, a8, b8, u8(1), u8(1))
	if mi.DType != tensor.Int32 {
		t.Fatalf("MatMulInteger dtype %s", mi.DType)
	}
	// (A-1)(B-1) = [[2,3],[4,5]] x [[0,1],[2,3]]
	expect(t, "MatMulInteger", mi, sh(2, 2), []float64{6, 11, 10, 19}, 0)
	g := run1(t, mk("Gemm", 3, 1, graph.AttrI("transA", 1), graph.AttrF("alpha", 2), graph.AttrF("beta", 0.5)), 13, ad, ad, f64s(sh(1), 2))
	expect(t, "Gemm float64", g, sh(2, 2), []float64{2*10 + 1, 2*14 + 1, 2*14 + 1, 2*20 + 1}, 0)
	gi := run1(t, mk("Gemm", 2, 1), 13, a, a)
	expect(t, "Gemm int64", gi, sh(2, 2), []float64{7, 10, 15, 22}, 0)
}
