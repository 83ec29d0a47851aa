package ops

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/ref"
	"github.com/frugal-ml/frugal/tensor"
)

// Constant 3x3 stride-1 convolutions pick the winograd implementation and
// match the direct reference; shapes where Winograd does not pay (known at
// build or only at run time) use im2col; FusedConv adds its residual.
func TestWinogradConvInRegistry(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	type cs struct {
		n, cin, h, w, cout, pt, pl, pb, pr int
		knownShape, fused                  bool
		relu                               bool
		wantImpl                           string
	}
	for ci, c := range []cs{
		{1, 16, 28, 28, 16, 1, 1, 1, 1, true, false, true, "winograd"},
		{1, 64, 56, 56, 64, 1, 1, 1, 1, true, true, true, "winograd"},
		{2, 32, 14, 14, 48, 1, 1, 1, 1, false, false, false, "winograd"},
		{1, 24, 17, 23, 8, 0, 2, 1, 0, true, true, false, "winograd"},
		{1, 3, 32, 32, 16, 1, 1, 1, 1, true, false, true, "im2col-gemm"}, // cin < 8: Pays says no
		{1, 3, 32, 32, 16, 1, 1, 1, 1, false, false, true, "winograd"},   // decided at run: falls back inside
		{1, 128, 7, 7, 128, 1, 1, 1, 1, true, true, true, "winograd"},
	} {
		x := randT(r, c.n, c.cin, c.h, c.w)
		w := randT(r, c.cout, c.cin, 3, 3)
		bias := randT(r, c.cout)
		p := ref.Conv2D{KH: 3, KW: 3, SH: 1, SW: 1, PT: c.pt, PL: c.pl, PB: c.pb, PR: c.pr, DH: 1, DW: 1}
		oh, ow := p.Out(c.h, c.w)
		op, dom, nin := "Conv", "", 3
		var z *tensor.Tensor
		if c.fused {
			op, dom, nin = "FusedConv", FrugalDomain, 4
			z = randT(r, c.n, c.cout, oh, ow)
		}
		nd := node(op, nin, graph.IntsAttr("pads", int64(c.pt), int64(c.pl), int64(c.pb), int64(c.pr)))
		nd.Domain = dom
		if c.relu {
			nd.SetAttr(graph.AttrS("activation", "Relu"))
		}
		in := []Value{x, w, bias}
		if z != nil {
			in = append(in, z)
		}
		info := &BuildInfo{Node: nd, Opset: 17, Const: []*tensor.Tensor{nil, w, bias, nil}[:nin], InTypes: make([]graph.Type, nin)}
		info.InTypes[0] = graph.Type{DType: tensor.Float32}
		if c.knownShape {
			info.InTypes[0].Shape, info.InTypes[0].HasShape = graph.ConcreteShape(x.Shape...), true
		}
		k, impl, err := Build(info)
		if err != nil {
			t.Fatal(err)
		}
		if impl.Name != c.wantImpl {
			t.Fatalf("case %d: chose %s, want %s", ci, impl.Name, c.wantImpl)
		}
		out, err := k.Run(&Ctx{Context: context.Background(), Threads: 2}, in)
		if err != nil {
			t.Fatalf("case %d: %v", ci, err)
		}
		got := out[0].(*tensor.Tensor)
		want := make([]float32, c.n*c.cout*oh*ow)
		ref.ConvDirect(x.F32(), c.n, c.cin, c.h, c.w, w.F32(), c.cout, 1, bias.F32(), p, want)
		maxAbs := 0.0
		for i := range want {
			if z != nil {
				want[i] += z.F32()[i]
			}
			if c.relu {
				want[i] = max(want[i], 0)
			}
			maxAbs = max(maxAbs, math.Abs(float64(want[i])))
		}
		if !tensor.SameShape(got.Shape, []int{c.n, c.cout, oh, ow}) {
			t.Fatalf("case %d: shape %v", ci, got.Shape)
		}
		// Winograd F(4x4)'s error is relative to the output's magnitude,
		// not to each element (impl/winograd measures <= 1.5e-5).
		for i, v := range got.F32() {
			if d := math.Abs(float64(v - want[i])); d > 1e-4*maxAbs || v != v {
				t.Fatalf("case %d %+v: out[%d] = %g, want %g (max |out| %g)", ci, c, i, v, want[i], maxAbs)
			}
		}
	}
}
