package ops

import (
	"math"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

func TestUnaryMath(t *testing.T) {
	x := []float64{-2, -0.5, 0, 0.5, 2}
	xt := f32s(sh(5), -2, -0.5, 0, 0.5, 2)
	for op, f := range map[string]func(float64) float64{
		"Abs": math.Abs, "Neg": func(v float64) float64 { return -v }, "Exp": math.Exp,
		"Sin": math.Sin, "Cos": math.Cos, "Tanh": math.Tanh, "Atan": math.Atan, "Erf": math.Erf,
		"Floor": math.Floor, "Ceil": math.Ceil, "Sigmoid": func(v float64) float64 { return 1 / (1 + math.Exp(-v)) },
		"Softsign":  func(v float64) float64 { return v / (1 + math.Abs(v)) },
		"Softplus":  func(v float64) float64 { return math.Log(1 + math.Exp(v)) },
		"HardSwish": func(v float64) float64 { return v * math.Max(0, math.Min(1, v/6+0.5)) },
		"Sign":      func(v float64) float64 { return float64(map[bool]int{true: 1}[v > 0] - map[bool]int{true: 1}[v < 0]) },
	} {
		want := make([]float64, len(x))
		for i, v := range x {
			want[i] = f(v)
		}
		expect(t, op, run1(t, mk(op, 1, 1), 21, xt), sh(5), want, 1e-6)
	}
	// Round is half to even.
	expect(t, "Round", run1(t, mk("Round", 1, 1), 21, f32s(sh(4), 0.5, 1.5, 2.5, -0.5)), sh(4), []float64{0, 2, 2, 0}, 0)
	// Integer paths.
	ai := run1(t, mk("Abs", 1, 1), 21, i64s(sh(3), -3, 0, 4))
	expect(t, "Abs int64", ai, sh(3), []float64{3, 0, 4}, 0)
	bn := run1(t, mk("BitwiseNot", 1, 1), 21, &tensor.Tensor{DType: tensor.Uint8, Shape: []int{2}, Data: []uint8{0, 0xf0}})
	if d := bn.U8(); d[0] != 0xff || d[1] != 0x0f {
		t.Errorf("BitwiseNot: %v", d)
	}
	// Float16 goes through float32.
	h, _ := Cast(xt, tensor.Float16, CastOptions{})
	eh := run1(t, mk("Exp", 1, 1), 21, h)
	if eh.DType != tensor.Float16 {
		t.Fatalf("Exp float16 output %s", eh.DType)
	}
	expect(t, "Exp float16", eh, sh(5), []float64{math.Exp(-2), math.Exp(-0.5), 1, math.Exp(0.5), math.Exp(2)}, 1e-3)
	expectErr(t, mk("Sqrt", 1, 1), 21, "not supported", i64s(sh(1), 4))
}

func TestActivationsWithAttributes(t *testing.T) {
	xt := f32s(sh(4), -2, -0.5, 0.5, 2)
	cases := []struct {
		op    string
		attrs []*graph.Attr
		want  []float64
	}{
		{"Elu", []*graph.Attr{graph.AttrF("alpha", 2)}, []float64{2 * (math.Exp(-2) - 1), 2 * (math.Exp(-0.5) - 1), 0.5, 2}},
		{"LeakyRelu", []*graph.Attr{graph.AttrF("alpha", 0.1)}, []float64{-0.2, -0.05, 0.5, 2}},
		{"HardSigmoid", nil, []float64{0.1, 0.4, 0.6, 0.9}},
		{"ThresholdedRelu", []*graph.Attr{graph.AttrF("alpha", 1)}, []float64{0, 0, 0, 2}},
		{"Shrink", []*graph.Attr{graph.AttrF("lambd", 1), graph.AttrF("bias", 0.5)}, []float64{-1.5, 0, 0, 1.5}},
		{"Celu", nil, []float64{math.Exp(-2) - 1, math.Exp(-0.5) - 1, 0.5, 2}},
		{"Gelu", nil, []float64{-2 * 0.5 * (1 + math.Erf(-2/math.Sqrt2)), -0.5 * 0.5 * (1 + math.Erf(-0.5/math.Sqrt2)), 0.5 * 0.5 * (1 + math.Erf(0.5/math.Sqrt2)), 2 * 0.5 * (1 + math.Erf(2/math.Sqrt2))}},
		{"Swish", []*graph.Attr{graph.AttrF("alpha", 1)}, []float64{-2 / (1 + math.Exp(2)), -0.5 / (1 + math.Exp(0.5)), 0.5 / (1 + math.Exp(-0.5)), 2 / (1 + math.Exp(-2))}},
		{"Relu", nil, []float64{0, 0, 0.5, 2}},
	}
	for _, c := range cases {
		expect(t, c.op, run1(t, mk(c.op, 1, 1, c.attrs...), 21, xt), sh(4), c.want, 1e-5)
	}
	selu := run1(t, mk("Selu", 1, 1), 21, xt)
	a, g := 1.67326319217681884765625, 1.05070102214813232421875
	expect(t, "Selu", selu, sh(4), []float64{g * (a*math.Exp(-2) - a), g * (a*math.Exp(-0.5) - a), g * 0.5, g * 2}, 1e-5)
	expectErr(t, mk("Gelu", 1, 1, graph.AttrS("approximate", "cubic")), 21, "approximate", xt)
}

func TestPredicates(t *testing.T) {
	x := f32s(sh(4), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1)
	nan := run1(t, mk("IsNaN", 1, 1), 21, x).Bools()
	if !nan[0] || nan[1] || nan[3] {
		t.Errorf("IsNaN: %v", nan)
	}
	inf := run1(t, mk("IsInf", 1, 1, graph.AttrI("detect_negative", 0)), 21, x).Bools()
	if inf[0] || !inf[1] || inf[2] || inf[3] {
		t.Errorf("IsInf positive only: %v", inf)
	}
	not := run1(t, mk("Not", 1, 1), 21, tensor.MustFromSlice([]bool{true, false}, 2)).Bools()
	if not[0] || !not[1] {
		t.Errorf("Not: %v", not)
	}
}
