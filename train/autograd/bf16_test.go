package autograd

import (
	"math"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/gemm"
	"github.com/frugal-ml/frugal/tensor"
)

func toBF16(t *tensor.Tensor) *tensor.Tensor {
	for i, v := range t.F32() {
		t.F32()[i] = gemm.BF16ToFloat32(gemm.BF16FromFloat32(v))
	}
	return t
}

// runOnce runs forward and backward (seed dy) and returns the output and
// the gradients of every parameter and of x, by name.
func runOnce(t *testing.T, m *graph.Model, x, dy *tensor.Tensor, bf16 bool) map[string][]float32 {
	t.Helper()
	p, err := Compile(m, Options{InputGrads: []string{"x"}, BF16GEMM: bf16})
	if err != nil {
		t.Fatal(err)
	}
	c := &Ctx{Training: true}
	if err := p.Forward(c, map[string]*tensor.Tensor{"x": x}); err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{"y": append([]float32(nil), p.Value("y").F32()...)}
	if err := p.Backward(c, map[string]*tensor.Tensor{"y": dy}); err != nil {
		t.Fatal(err)
	}
	for _, n := range append(p.Params(), "x") {
		out["d"+n] = append([]float32(nil), p.Grad(n).F32()...)
	}
	return out
}

// maxRelDiff is max |a-b| over max |a|.
func maxRelDiff(a, b []float32) float64 {
	var d, s float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
		s = math.Max(s, math.Abs(float64(a[i])))
	}
	if s == 0 {
		return d
	}
	return d / s
}

// With bfloat16 operands the bf16 GEMMs (VDPBF16PS on AVX512_BF16) compute
// the same products as the fp32 ones: forward values and every gradient
// agree up to summation order. With float32 operands they round them, so
// the results move by about bf16's precision.
func TestBF16GEMMKernels(t *testing.T) {
	type tc struct {
		name string
		x    []int
		make func(b *gb)
	}
	cases := []tc{
		{"conv3x3", []int{2, 3, 8, 8}, func(b *gb) {
			b.param("w", toBF16(b.randT(8, 3, 3, 3)))
			b.param("bias", toBF16(b.randT(8)))
			b.node("Conv", []string{"x", "w", "bias"}, "c", graph.IntsAttr("pads", 1, 1, 1, 1))
			b.node("Relu", []string{"c"}, "y")
		}},
		{"grouped", []int{3, 4, 6, 6}, func(b *gb) {
			b.param("w", toBF16(b.randT(6, 2, 3, 3)))
			b.node("Conv", []string{"x", "w"}, "y", graph.AttrI("group", 2), graph.IntsAttr("strides", 2, 2))
		}},
		{"pointwise", []int{2, 5, 4, 4}, func(b *gb) {
			b.param("w", toBF16(b.randT(7, 5, 1, 1)))
			b.node("Conv", []string{"x", "w"}, "y")
		}},
		{"gemm", []int{6, 40}, func(b *gb) {
			b.param("w", toBF16(b.randT(9, 40)))
			b.param("bias", toBF16(b.randT(9)))
			b.node("Gemm", []string{"x", "w", "bias"}, "y", graph.AttrI("transB", 1))
		}},
		{"gemm-transA", []int{40, 6}, func(b *gb) {
			b.param("w", toBF16(b.randT(40, 9)))
			b.node("Gemm", []string{"x", "w"}, "y", graph.AttrI("transA", 1))
		}},
		{"matmul", []int{2, 5, 33}, func(b *gb) {
			b.param("w", toBF16(b.randT(33, 7)))
			b.node("MatMul", []string{"x", "w"}, "y")
		}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newGB(uint64(i + 1))
			x := toBF16(b.randT(c.x...))
			b.input("x", x)
			c.make(b)
			b.output("y")
			m := b.model()
			p, err := Compile(m, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Forward(&Ctx{Training: true}, map[string]*tensor.Tensor{"x": x}); err != nil {
				t.Fatal(err)
			}
			dy := toBF16(b.randT(p.Value("y").Shape...))
			f32 := runOnce(t, m, x, dy, false)
			bf := runOnce(t, m, x, dy, true)
			for k, want := range f32 {
				if d := maxRelDiff(want, bf[k]); d > 1e-5 {
					t.Errorf("%s: bf16 GEMM differs from fp32 by %.2g relative on bf16 operands", k, d)
				}
			}
			// float32 operands: the bf16 path rounds them.
			x2 := b.randT(c.x...)
			f32 = runOnce(t, m, x2, dy, false)
			bf = runOnce(t, m, x2, dy, true)
			if d := maxRelDiff(f32["y"], bf["y"]); d < 1e-4 || d > 3e-2 {
				t.Errorf("y: bf16 GEMM on float32 inputs differs by %.2g relative, want bf16-sized", d)
			}
		})
	}
}
