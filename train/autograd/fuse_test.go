package autograd

import (
	"math"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/ref"
	"github.com/frugal-ml/frugal/tensor"
)

func fusedNet(seed uint64) *gb {
	b := newGB(seed)
	b.input("x", b.randT(3, 2, 6, 6))
	b.param("w1", b.randT(4, 2, 3, 3))
	b.param("b1", b.randT(4))
	b.node("Conv", []string{"x", "w1", "b1"}, "c1", graph.IntsAttr("pads", 1, 1, 1, 1))
	b.node("Relu", []string{"c1"}, "r1")
	b.param("w2", b.randT(4, 4, 1, 1))
	b.node("Conv", []string{"r1", "w2"}, "c2") // pointwise, no bias
	b.node("Relu", []string{"c2"}, "r2")
	b.node("Flatten", []string{"r2"}, "f")
	b.param("w3", b.randT(5, 144))
	b.param("b3", b.randT(5))
	b.node("Gemm", []string{"f", "w3", "b3"}, "g", graph.AttrI("transB", 1))
	b.node("Relu", []string{"g"}, "y")
	b.output("y")
	return b
}

func TestFusedReluGrad(t *testing.T) {
	for _, packed := range []bool{true, false} {
		packedConv = packed
		b := fusedNet(1)
		p, err := Compile(b.model(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		ops := ""
		for _, st := range p.steps {
			ops += st.node.OpType + " "
		}
		if ops != "Conv Conv Flatten Gemm " {
			t.Fatalf("fused program runs %q", ops)
		}
		b.check(t, CheckOptions{Eps: 1e-3, ATol: 2e-3})
	}
	packedConv = true
}

func TestFusionPreservesValues(t *testing.T) {
	b := fusedNet(2)
	run := func(opts Options) (*Program, map[string][]float32) {
		p, err := Compile(b.model(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Forward(nil, b.inputs); err != nil {
			t.Fatal(err)
		}
		seed := tensor.New(tensor.Float32, p.Value("y").Shape...)
		for i := range seed.F32() {
			seed.F32()[i] = float32(i%7) - 3
		}
		if err := p.Backward(nil, map[string]*tensor.Tensor{"y": seed}); err != nil {
			t.Fatal(err)
		}
		out := map[string][]float32{"y": append([]float32(nil), p.Value("y").F32()...)}
		for _, n := range p.Params() {
			out[n] = append([]float32(nil), p.Grad(n).F32()...)
		}
		return p, out
	}
	_, a := run(Options{})
	pu, u := run(Options{NoFuse: true})
	if pu.Value("c1") == nil {
		t.Fatal("unfused program lost c1")
	}
	for k, v := range u {
		for i := range v {
			if d := math.Abs(float64(v[i] - a[k][i])); d > 1e-4*(1+math.Abs(float64(v[i]))) {
				t.Fatalf("%s[%d]: fused %v, unfused %v", k, i, a[k][i], v[i])
			}
		}
	}
	// Keep prevents fusing a value away.
	pk, err := Compile(b.model(), Options{Keep: []string{"c1"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := pk.Forward(nil, b.inputs); err != nil || pk.Value("c1") == nil {
		t.Fatalf("Keep: c1 = %v, err %v", pk.Value("c1"), err)
	}
}

func TestMaxPool2x2MatchesRef(t *testing.T) {
	b := newGB(3)
	for _, hw := range [][2]int{{6, 6}, {7, 5}, {2, 2}, {9, 8}} {
		x := b.randT(hw[0] * hw[1])
		oh, ow := hw[0]/2, hw[1]/2
		o1, o2 := make([]float32, oh*ow), make([]float32, oh*ow)
		a1, a2 := make([]int32, oh*ow), make([]int32, oh*ow)
		maxPool2x2(x.F32(), hw[1], oh, ow, o1, a1)
		refMaxPool(x.F32(), hw[0], hw[1], oh, ow, o2, a2)
		for i := range o1 {
			if o1[i] != o2[i] || a1[i] != a2[i] {
				t.Fatalf("%v [%d]: %v@%d vs ref %v@%d", hw, i, o1[i], a1[i], o2[i], a2[i])
			}
		}
	}
}

func refMaxPool(x []float32, h, w, oh, ow int, out []float32, arg []int32) {
	ref.MaxPool2D(x, h, w, ref.Conv2D{KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1}, oh, ow, out, arg)
}
