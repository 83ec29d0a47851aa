package autograd

import (
	"math"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/ref"
	"github.com/frugal-ml/frugal/tensor"
)

func TestIm2ColMatchesRef(t *testing.T) {
	b := newGB(7)
	for _, c := range []struct {
		h, w int
		p    ref.Conv2D
	}{
		{5, 5, ref.Conv2D{KH: 3, KW: 3, SH: 1, SW: 1, PT: 1, PL: 1, PB: 1, PR: 1, DH: 1, DW: 1}},
		{7, 6, ref.Conv2D{KH: 2, KW: 3, SH: 2, SW: 1, PT: 1, PL: 0, PB: 0, PR: 2, DH: 2, DW: 1}},
		{6, 9, ref.Conv2D{KH: 3, KW: 3, SH: 2, SW: 3, PT: 2, PL: 2, PB: 1, PR: 2, DH: 1, DW: 2}},
		{4, 4, ref.Conv2D{KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1}},
		{3, 3, ref.Conv2D{KH: 5, KW: 5, SH: 1, SW: 1, PT: 2, PL: 2, PB: 2, PR: 2, DH: 1, DW: 1}},
		{1, 9, ref.Conv2D{KH: 1, KW: 4, SH: 1, SW: 2, PL: 3, PR: 1, DH: 1, DW: 3}},
	} {
		const ch = 2
		oh, ow := c.p.Out(c.h, c.w)
		x := b.randT(ch * c.h * c.w).F32()
		n := ch * c.p.KH * c.p.KW * oh * ow
		a, r := make([]float32, n), make([]float32, n)
		for i := range a {
			a[i] = 99 // must be overwritten
		}
		im2col(x, ch, c.h, c.w, c.p, a)
		ref.Im2Col(x, ch, c.h, c.w, c.p, r)
		for i := range a {
			if a[i] != r[i] {
				t.Fatalf("%+v: im2col[%d] = %v, ref %v", c, i, a[i], r[i])
			}
		}
		col := b.randT(n).F32()
		d1, d2 := b.randT(ch*c.h*c.w).F32(), make([]float32, ch*c.h*c.w)
		copy(d2, d1)
		col2im(col, ch, c.h, c.w, c.p, d1)
		ref.Col2Im(col, ch, c.h, c.w, c.p, d2)
		for i := range d1 {
			if d := d1[i] - d2[i]; d > 1e-6 || d < -1e-6 {
				t.Fatalf("%+v: col2im[%d] = %v, ref %v", c, i, d1[i], d2[i])
			}
		}
	}
}

func TestDepthwiseDirectMatchesIm2Col(t *testing.T) {
	for _, relu := range []bool{false, true} {
		b := newGB(11)
		b.input("x", b.randT(2, 3, 9, 8))
		b.param("w", b.randT(6, 1, 3, 3))
		b.param("b", b.randT(6))
		b.node("Conv", []string{"x", "w", "b"}, "c", graph.AttrI("group", 3), graph.IntsAttr("pads", 1, 0, 2, 1), graph.IntsAttr("strides", 2, 1))
		out := "c"
		if relu {
			b.node("Relu", []string{"c"}, "r")
			out = "r"
		}
		b.output(out)
		run := func(direct bool) map[string][]float32 {
			directDepthwise = direct
			defer func() { directDepthwise = true }()
			p, err := Compile(b.model(), Options{InputGrads: []string{"x"}})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Forward(nil, b.inputs); err != nil {
				t.Fatal(err)
			}
			y := p.Value(out)
			seed := b.randT(y.Shape...)
			if err := p.Backward(nil, map[string]*tensor.Tensor{out: seed}); err != nil {
				t.Fatal(err)
			}
			return map[string][]float32{"y": append([]float32(nil), y.F32()...), "dx": append([]float32(nil), p.Grad("x").F32()...),
				"dw": append([]float32(nil), p.Grad("w").F32()...), "db": append([]float32(nil), p.Grad("b").F32()...)}
		}
		b.rng = newGB(12).rng
		d := run(true)
		b.rng = newGB(12).rng
		r := run(false)
		for k, v := range r {
			for i := range v {
				if diff := math.Abs(float64(v[i] - d[k][i])); diff > 1e-5*(1+math.Abs(float64(v[i]))) {
					t.Fatalf("relu=%v %s[%d]: direct %v, im2col %v", relu, k, i, d[k][i], v[i])
				}
			}
		}
	}
}
