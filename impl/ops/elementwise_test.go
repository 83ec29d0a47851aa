package ops

import (
	"math"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

func TestBinaryArithmeticBroadcast(t *testing.T) {
	a := f32s(sh(2, 3), 1, 2, 3, 4, 5, 6)
	b := f32s(sh(3), 10, 20, 30)
	expect(t, "Add", run1(t, mk("Add", 2, 1), 21, a, b), sh(2, 3), []float64{11, 22, 33, 14, 25, 36}, 0)
	expect(t, "Sub", run1(t, mk("Sub", 2, 1), 21, b, a), sh(2, 3), []float64{9, 18, 27, 6, 15, 24}, 0)
	expect(t, "Div", run1(t, mk("Div", 2, 1), 21, a, f32s(sh(2, 1), 2, 4)), sh(2, 3), []float64{0.5, 1, 1.5, 1, 1.25, 1.5}, 0)
	// Integer division truncates; division by zero yields 0 instead of trapping.
	d := run1(t, mk("Div", 2, 1), 21, i64s(sh(3), 7, -7, 5), i64s(sh(3), 2, 2, 0))
	expect(t, "Div int", d, sh(3), []float64{3, -3, 0}, 0)
	u := run1(t, mk("Add", 2, 1), 21, &tensor.Tensor{DType: tensor.Uint8, Shape: []int{1}, Data: []uint8{250}}, &tensor.Tensor{DType: tensor.Uint8, Shape: []int{1}, Data: []uint8{10}})
	if u.U8()[0] != 4 {
		t.Errorf("uint8 add wraps: %v", u.U8())
	}
	expectErr(t, mk("Add", 2, 1), 21, "dtypes differ", a, i64s(sh(1), 1))
	expectErr(t, mk("Add", 2, 1), 21, "broadcast", a, f32s(sh(2), 1, 2))
}

func TestModPowBitShift(t *testing.T) {
	a, b := i64s(sh(4), -7, 7, -7, 7), i64s(sh(4), 3, -3, -3, 3)
	expect(t, "Mod", run1(t, mk("Mod", 2, 1), 21, a, b), sh(4), []float64{2, -2, -1, 1}, 0)
	expect(t, "Mod fmod", run1(t, mk("Mod", 2, 1, graph.AttrI("fmod", 1)), 21, a, b), sh(4), []float64{-1, 1, -1, 1}, 0)
	fm := run1(t, mk("Mod", 2, 1, graph.AttrI("fmod", 1)), 21, f32s(sh(2), -4.5, 5.5), f32s(sh(2), 2, -2))
	expect(t, "fmod float", fm, sh(2), []float64{-0.5, 1.5}, 0)
	p := run1(t, mk("Pow", 2, 1), 21, f32s(sh(3), 2, 4, 9), i64s(sh(3), 3, -1, 0))
	expect(t, "Pow mixed", p, sh(3), []float64{8, 0.25, 1}, 0)
	pi := run1(t, mk("Pow", 2, 1), 21, i64s(sh(2), 3, 2), i64s(sh(2), 4, 62))
	expect(t, "Pow int", pi, sh(2), []float64{81, math.Pow(2, 62)}, 0)
	u := &tensor.Tensor{DType: tensor.Uint32, Shape: []int{2}, Data: []uint32{1, 16}}
	s := &tensor.Tensor{DType: tensor.Uint32, Shape: []int{2}, Data: []uint32{3, 2}}
	l := run1(t, mk("BitShift", 2, 1, graph.AttrS("direction", "LEFT")), 21, u, s)
	r := run1(t, mk("BitShift", 2, 1, graph.AttrS("direction", "RIGHT")), 21, u, s)
	if l.Data.([]uint32)[0] != 8 || r.Data.([]uint32)[1] != 4 {
		t.Errorf("BitShift: %v %v", l.Data, r.Data)
	}
}

func TestComparisonsAndLogic(t *testing.T) {
	a, b := f32s(sh(3), 1, 2, 3), f32s(sh(1), 2)
	for op, want := range map[string][]bool{
		"Equal": {false, true, false}, "Less": {true, false, false}, "LessOrEqual": {true, true, false},
		"Greater": {false, false, true}, "GreaterOrEqual": {false, true, true},
	} {
		got := run1(t, mk(op, 2, 1), 21, a, b).Bools()
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s: %v, want %v", op, got, want)
				break
			}
		}
	}
	x, y := tensor.MustFromSlice([]bool{true, true, false, false}, 4), tensor.MustFromSlice([]bool{true, false, true, false}, 4)
	for op, want := range map[string][]bool{"And": {true, false, false, false}, "Or": {true, true, true, false}, "Xor": {false, true, true, false}} {
		got := run1(t, mk(op, 2, 1), 21, x, y).Bools()
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s: %v, want %v", op, got, want)
				break
			}
		}
	}
	s := run1(t, mk("Equal", 2, 1), 21, tensor.MustFromSlice([]string{"a", "b"}, 2), tensor.MustFromSlice([]string{"a", "c"}, 2)).Bools()
	if !s[0] || s[1] {
		t.Errorf("Equal strings: %v", s)
	}
}

func TestVariadic(t *testing.T) {
	a, b, c := f32s(sh(2), 1, 5), f32s(sh(2), 4, 2), f32s(sh(1), 3)
	expect(t, "Max", run1(t, mk("Max", 3, 1), 21, a, b, c), sh(2), []float64{4, 5}, 0)
	expect(t, "Min", run1(t, mk("Min", 3, 1), 21, a, b, c), sh(2), []float64{1, 2}, 0)
	expect(t, "Sum", run1(t, mk("Sum", 3, 1), 21, a, b, c), sh(2), []float64{8, 10}, 0)
	expect(t, "Mean", run1(t, mk("Mean", 3, 1), 21, a, b, c), sh(2), []float64{8.0 / 3, 10.0 / 3}, 1e-6)
	expect(t, "Max one", run1(t, mk("Max", 1, 1), 21, a), sh(2), []float64{1, 5}, 0)
	nan := run1(t, mk("Max", 2, 1), 21, f32s(sh(1), float32(math.NaN())), f32s(sh(1), 1))
	if v := nan.F32()[0]; v == v {
		t.Errorf("Max propagates NaN, got %v", v)
	}
	pr := run1(t, mk("PRelu", 2, 1), 6, f32s(sh(1, 2, 2), -1, 1, -2, 2), f32s(sh(2), 0.5, 0.25))
	expect(t, "PRelu per channel", pr, sh(1, 2, 2), []float64{-0.5, 1, -0.5, 2}, 0)
}

func TestWhereClip(t *testing.T) {
	c := tensor.MustFromSlice([]bool{true, false}, 2, 1)
	w := run1(t, mk("Where", 3, 1), 21, c, f32s(sh(3), 1, 2, 3), f32s(sh(1), -1))
	expect(t, "Where", w, sh(2, 3), []float64{1, 2, 3, -1, -1, -1}, 0)
	ws := run1(t, mk("Where", 3, 1), 21, c, tensor.MustFromSlice([]string{"a"}, 1), tensor.MustFromSlice([]string{"b"}, 1))
	if s := ws.Strings(); s[0] != "a" || s[1] != "b" {
		t.Errorf("Where strings: %v", s)
	}
	x := f32s(sh(4), -5, -1, 1, 5)
	expect(t, "Clip 13", run1(t, mk("Clip", 3, 1), 13, x, f32s(nil, -2), f32s(nil, 2)), sh(4), []float64{-2, -1, 1, 2}, 0)
	expect(t, "Clip min only", run1(t, mk("Clip", 2, 1), 13, x, f32s(nil, 0)), sh(4), []float64{0, 0, 1, 5}, 0)
	expect(t, "Clip 6", run1(t, mk("Clip", 1, 1, graph.AttrF("min", -1), graph.AttrF("max", 1)), 6, x), sh(4), []float64{-1, -1, 1, 1}, 0)
	ci := run1(t, mk("Clip", 3, 1), 13, i64s(sh(3), -9, 0, 9), i64s(nil, -3), i64s(nil, 3))
	expect(t, "Clip int", ci, sh(3), []float64{-3, 0, 3}, 0)
}

func TestLegacyBroadcastAndOldAttributes(t *testing.T) {
	a := iota32(2, 3)
	b := f32s(sh(2), 10, 20)
	got := run1(t, mk("Add", 2, 1, graph.AttrI("broadcast", 1), graph.AttrI("axis", 0)), 6, a, b)
	expect(t, "Add-6 axis broadcast", got, sh(2, 3), []float64{10, 11, 12, 23, 24, 25}, 0)
	c := run1(t, mk("Concat", 2, 1), 1, a, iota32(2, 1))
	expect(t, "Concat-1 default axis", c, sh(2, 4), []float64{0, 1, 2, 0, 3, 4, 5, 1}, 0)
	cs := run1(t, mk("Cast", 1, 1, graph.AttrS("to", "INT64")), 1, f32s(sh(1), 2.7))
	if cs.DType != tensor.Int64 || cs.I64()[0] != 2 {
		t.Errorf("Cast-1 string to: %v", cs)
	}
}
