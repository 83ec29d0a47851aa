package ops

import (
	"testing"

	"github.com/frugal-ml/frugal/tensor"
)

func TestDTypeHelpers(t *testing.T) {
	h, _ := Cast(f32s(sh(3), 1.5, -2, 65504), tensor.Float16, CastOptions{})
	v, err := ToFloat64(h)
	if err != nil || v[0] != 1.5 || v[2] != 65504 {
		t.Fatalf("ToFloat64(float16) = %v, %v", v, err)
	}
	f, conv, err := toF32(h)
	if err != nil || !conv || f.F32()[1] != -2 {
		t.Fatalf("toF32: %v %v %v", f, conv, err)
	}
	if back := fromF32(f, tensor.BFloat16); back.DType != tensor.BFloat16 {
		t.Fatalf("fromF32 dtype %s", back.DType)
	}
	e, err := FromFloat64(tensor.Float8E4M3FN, []float64{1000, 0.5}, []int{2})
	if err != nil {
		t.Fatal(err)
	}
	if ev, _ := ToFloat64(e); ev[0] != 448 || ev[1] != 0.5 {
		t.Fatalf("FromFloat64 e4m3fn saturates: %v", ev)
	}
	i, err := ToInt64(&tensor.Tensor{DType: tensor.Uint16, Shape: []int{1}, Data: []uint16{65535}})
	if err != nil || i[0] != 65535 {
		t.Fatalf("ToInt64 uint16: %v %v", i, err)
	}
	if _, err := ToInt64(h); err == nil {
		t.Fatal("ToInt64 accepted float16")
	}
	n2 := newTensor(Int2, 3)
	if n2.Len() != 3 || n2.Data.([]int8) == nil {
		t.Fatal("newTensor(Int2)")
	}
	tk := takeTensor(f32s(sh(3), 1, 2, 3), []int{2, -1, 0}, []int{3})
	if d := tk.F32(); d[0] != 3 || d[1] != 0 || d[2] != 1 {
		t.Fatalf("takeTensor: %v", d)
	}
	cat := concatData([]any{[]string{"a"}, []string{"b", "c"}}).([]string)
	if len(cat) != 3 || cat[2] != "c" {
		t.Fatalf("concatData: %v", cat)
	}
	if _, err := normAxis(-4, 3); err == nil {
		t.Fatal("normAxis accepted -4 for rank 3")
	}
}

// The float32 fallbacks through viaF32 keep dtypes: a float16 BatchNorm.
func TestViaF32KeepsDType(t *testing.T) {
	x, _ := Cast(f32s(sh(1, 1, 2), 1, 3), tensor.Float16, CastOptions{})
	one, _ := Cast(f32s(sh(1), 1), tensor.Float16, CastOptions{})
	zero, _ := Cast(f32s(sh(1), 0), tensor.Float16, CastOptions{})
	y := run1(t, mk("BatchNormalization", 5, 1), 15, x, one, zero, zero, one)
	if y.DType != tensor.Float16 {
		t.Fatalf("dtype %s", y.DType)
	}
	expect(t, "BatchNorm float16", y, sh(1, 1, 2), []float64{1, 3}, 1e-3)
}
