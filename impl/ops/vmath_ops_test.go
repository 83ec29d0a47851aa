package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// withoutImpl runs f with the named implementation disabled.
func withoutImpl(name string, f func()) {
	was := Disabled[name]
	Disabled[name] = true
	defer func() { Disabled[name] = was }()
	f()
}

func normF32(r *rand.Rand, scale float64, shape ...int) *tensor.Tensor {
	t := tensor.New(tensor.Float32, shape...)
	for i := range t.F32() {
		t.F32()[i] = float32(r.NormFloat64() * scale)
	}
	return t
}

// nearF32 fails unless got and want agree within rtol*|want| + atol
// (NaNs must match).
func nearF32(t *testing.T, what string, got, want *tensor.Tensor, rtol, atol float64) {
	t.Helper()
	if !tensor.SameShape(got.Shape, want.Shape) {
		t.Fatalf("%s: shape %v, want %v", what, got.Shape, want.Shape)
	}
	g, w := got.F32(), want.F32()
	for i := range g {
		a, b := float64(g[i]), float64(w[i])
		if math.IsNaN(a) || math.IsNaN(b) {
			if math.IsNaN(a) != math.IsNaN(b) {
				t.Fatalf("%s[%d]: %g, want %g", what, i, a, b)
			}
			continue
		}
		if a == b {
			continue
		}
		if math.Abs(a-b) > rtol*math.Abs(b)+atol {
			t.Fatalf("%s[%d]: %.9g, want %.9g", what, i, a, b)
		}
	}
}

// The vmath kernels agree with the float64 reference kernels they
// outrank (Erf, Exp, Gelu, ai.frugal:Gelu) on ordinary values, special
// ones, a masked tail and a tensor large enough to split over threads.
func TestVmathUnaryOps(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, op := range []struct {
		op, domain string
		scale      float64
	}{{"Erf", "", 2}, {"Exp", "", 20}, {"Gelu", "", 3}, {"Gelu", FrugalDomain, 3}} {
		for _, shape := range [][]int{{3, 37}, {2, 1 << 15}} {
			x := normF32(r, op.scale, shape...)
			copy(x.F32(), []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e-40, 100, -100})
			n := mk(op.op, 1, 1)
			n.Domain = op.domain
			info := &BuildInfo{Node: n, Opset: 20, Const: []*tensor.Tensor{nil}, InTypes: []graph.Type{{DType: tensor.Float32}}}
			im, err := Select(info)
			if err != nil || im.Name != "vmath" {
				t.Fatalf("%s: selected %v, %v; want vmath", op.op, im, err)
			}
			got := run1(t, n, 20, x)
			var want *tensor.Tensor
			withoutImpl("vmath", func() { want = run1(t, n, 20, x) })
			// Erf/Exp within 1.5 ulp; GELU's 1 + erf cancels for x < 0
			// (see vmath.TestGelu), hence its absolute term.
			atol := 1e-37
			if op.op == "Gelu" {
				atol = 1e-6
			}
			nearF32(t, op.domain+":"+op.op, got, want, 2e-7, atol)
		}
	}
	// Other float types go to the reference form of ai.frugal:Gelu.
	n := mk("Gelu", 1, 1)
	n.Domain = FrugalDomain
	y := run1(t, n, 1, f64s(sh(3), -1, 0, 2))
	expect(t, "ai.frugal:Gelu float64", y, sh(3), []float64{-0.15865525393145707, 0, 1.9544997361036416}, 1e-12)
}

// Softmax through vmath matches the reference kernel on the last axis,
// on an inner axis (the strided fallback), with the opset < 13 coercion
// to 2-D, and over enough rows to split over threads.
func TestVmathSoftmax(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	for _, c := range []struct {
		shape []int
		axis  int64
		opset int64
	}{
		{[]int{4, 32, 32}, -1, 13}, {[]int{4, 32, 33}, 2, 13}, {[]int{2, 5, 7}, 1, 13},
		{[]int{2, 5, 7}, 1, 11}, {[]int{2, 5, 7}, 0, 11}, {[]int{512, 100}, -1, 13}, {[]int{17}, 0, 13},
	} {
		x := normF32(r, 4, c.shape...)
		n := mk("Softmax", 1, 1, graph.AttrI("axis", c.axis))
		got := run1(t, n, c.opset, x)
		var want *tensor.Tensor
		withoutImpl("vmath", func() { want = run1(t, n, c.opset, x) })
		nearF32(t, "Softmax", got, want, 2e-6, 1e-30)
	}
}

// MatMul with constant 2-D weights (packed once, leading dimensions of A
// folded into rows) and ai.frugal:MatMulBias (constant or not) match the
// per-batch GEMM plus a broadcast bias.
func TestMatMulConstWeights(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, as := range [][]int{{8}, {5, 8}, {2, 3, 8}, {1, 32, 8}, {0, 8}} {
		a, w, bias := normF32(r, 1, as...), normF32(r, 1, 8, 20), normF32(r, 1, 20)
		want, err := MatMulF32(a, w)
		if err != nil {
			t.Fatal(err)
		}
		for _, withBias := range []bool{false, true} {
			for _, constW := range []bool{false, true} {
				op, in := "MatMul", []Value{a, w}
				if withBias {
					op, in = "MatMulBias", []Value{a, w, bias}
				}
				n := mk(op, len(in), 1)
				if withBias {
					n.Domain = FrugalDomain
				}
				info := &BuildInfo{Node: n, Opset: 17, Const: make([]*tensor.Tensor, len(in)), InTypes: make([]graph.Type, len(in))}
				if constW {
					info.Const[1] = w
				}
				k, _, err := Build(info)
				if err != nil {
					t.Fatal(err)
				}
				out, err := k.Run(&Ctx{Threads: 2}, in)
				if err != nil {
					t.Fatalf("%s %v: %v", op, as, err)
				}
				exp := want.Clone()
				if withBias {
					o := exp.F32()
					for i := range o {
						o[i] += bias.F32()[i%20]
					}
				}
				nearF32(t, op, out[0].(*tensor.Tensor), exp, 1e-5, 1e-5)
			}
		}
	}
}

// Empty operands give empty products (or zeros for an empty inner
// dimension) instead of reaching the GEMM with zero leading dimensions.
func TestMatMulEmpty(t *testing.T) {
	for _, c := range [][3][]int{
		{{2, 3}, {3, 0}, {2, 0}}, {{0, 3}, {3, 4}, {0, 4}}, {{2, 0, 3}, {2, 3, 4}, {2, 0, 4}},
		{{2, 2, 3}, {2, 3, 0}, {2, 2, 0}}, {{2, 0}, {0, 3}, {2, 3}},
	} {
		o, err := MatMulF32(tensor.New(tensor.Float32, c[0]...), tensor.New(tensor.Float32, c[1]...))
		if err != nil || !tensor.SameShape(o.Shape, c[2]) {
			t.Fatalf("%v x %v: %v, %v; want %v", c[0], c[1], o, err, c[2])
		}
		for _, v := range o.F32() {
			if v != 0 {
				t.Fatalf("%v x %v: %v, want zeros", c[0], c[1], o.F32())
			}
		}
	}
}
