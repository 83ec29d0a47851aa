package autograd

import (
	"math"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

func TestActivationGrads(t *testing.T) {
	cases := []struct {
		op    string
		attrs []*graph.Attr
	}{
		{"Sigmoid", nil}, {"Tanh", nil}, {"LeakyRelu", []*graph.Attr{graph.AttrF("alpha", 0.1)}},
		{"Elu", nil}, {"Softplus", nil}, {"HardSigmoid", nil}, {"HardSwish", nil},
		{"Swish", nil}, {"Gelu", nil}, {"Gelu", []*graph.Attr{graph.AttrS("approximate", "tanh")}},
		{"Neg", nil}, {"Exp", nil}, {"Abs", nil},
	}
	for i, c := range cases {
		t.Run(c.op, func(t *testing.T) {
			b := newGB(uint64(i))
			x := b.distinct(tensor.New(tensor.Float32, 2, 3, 5), 0.05)
			// spread over [-4, 4] so the hard ops see every branch
			for j := range x.F32() {
				x.F32()[j] *= 2.6
			}
			b.input("x", x)
			b.node(c.op, []string{"x"}, "y", c.attrs...)
			b.output("y")
			b.check(t, CheckOptions{Eps: 1e-3})
		})
	}
	for _, op := range []string{"Log", "Sqrt"} {
		b := newGB(3)
		x := b.randT(4, 3)
		for j := range x.F32() {
			x.F32()[j] = x.F32()[j]*0.4 + 1
		}
		b.input("x", x)
		b.node(op, []string{"x"}, "y")
		b.output("y")
		b.check(t, CheckOptions{Eps: 1e-3})
	}
}

func TestClipGrad(t *testing.T) {
	// ReLU6 as Clip(0, 6), opset 13 (min/max inputs)
	b := newGB(1)
	x := b.distinct(tensor.New(tensor.Float32, 3, 30), 0.03)
	for j := range x.F32() {
		x.F32()[j] = x.F32()[j]*2 + 3
	}
	b.input("x", x)
	b.param("lo", tensor.Scalar(float32(0)))
	b.param("hi", tensor.Scalar(float32(6)))
	b.node("Clip", []string{"x", "lo", "hi"}, "y")
	b.output("y")
	b.check(t, CheckOptions{Eps: 1e-3})
	// opset 6: attributes
	b = newGB(2)
	b.opset = 6
	b.input("x", b.distinct(tensor.New(tensor.Float32, 40), 0.03))
	b.node("Clip", []string{"x"}, "y", graph.AttrF("min", -0.5), graph.AttrF("max", 0.7))
	b.output("y")
	b.check(t, CheckOptions{Eps: 1e-3})
}

func TestDropoutGrad(t *testing.T) {
	b := newGB(1)
	b.input("x", b.randT(4, 50))
	b.param("ratio", tensor.Scalar(float32(0.3)))
	b.g.AddNode("Dropout", []string{"x", "ratio"}, []string{"y", "mask"})
	b.output("y")
	b.check(t, CheckOptions{Training: true})
	b.check(t, CheckOptions{Training: false})

	// The mask drops about ratio of the elements and scales the rest.
	p, err := Compile(b.model(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Forward(&Ctx{Training: true}, b.inputs); err != nil {
		t.Fatal(err)
	}
	kept := 0
	for i, m := range p.Value("mask").Bools() {
		y, x := p.Value("y").F32()[i], b.inputs["x"].F32()[i]
		if m {
			kept++
			if d := y - x/0.7; d > 1e-6 || d < -1e-6 {
				t.Fatalf("kept element %d: %v, want %v", i, y, x/0.7)
			}
		} else if y != 0 {
			t.Fatalf("dropped element %d is %v", i, y)
		}
	}
	if kept < 110 || kept > 170 {
		t.Fatalf("kept %d of 200 at ratio 0.3", kept)
	}
}

func TestLayerNormGrad(t *testing.T) {
	for i, c := range []struct {
		x     []int
		axis  int64
		bias  bool
		scale []int
	}{
		{[]int{3, 4, 6}, -1, true, []int{6}},
		{[]int{2, 3, 4}, 1, true, []int{3, 4}},
		{[]int{5, 7}, -1, false, []int{7}},
	} {
		b := newGB(uint64(i))
		b.input("x", b.randT(c.x...))
		b.param("s", b.randT(c.scale...))
		in := []string{"x", "s"}
		if c.bias {
			b.param("b", b.randT(c.scale...))
			in = append(in, "b")
		}
		b.node("LayerNormalization", in, "y", graph.AttrI("axis", c.axis))
		b.output("y")
		b.check(t, CheckOptions{})
	}
}

func TestTensorOpGrads(t *testing.T) {
	b := newGB(1)
	b.input("x", b.randT(2, 3, 4))
	b.param("w", b.randT(2, 2, 4))
	b.node("Concat", []string{"x", "w", "x"}, "c", graph.AttrI("axis", 1))
	b.node("Transpose", []string{"c"}, "t", graph.IntsAttr("perm", 2, 0, 1))
	b.node("Transpose", []string{"x"}, "t2")
	b.param("ax", tensor.MustFromSlice([]int64{0, 3}, 2))
	b.node("Unsqueeze", []string{"t2", "ax"}, "u")
	b.param("ax2", tensor.MustFromSlice([]int64{0}, 1))
	b.node("Squeeze", []string{"u", "ax2"}, "sq")
	b.param("rax", tensor.MustFromSlice([]int64{1}, 1))
	b.node("ReduceSum", []string{"sq", "rax"}, "rs")
	b.node("ReduceMean", []string{"c"}, "rm", graph.IntsAttr("axes", 0, 2), graph.AttrI("keepdims", 0))
	b.output("t", "rs", "rm")
	b.opset = 13
	// ReduceMean with attribute axes is opset < 18; ReduceSum takes input axes from 13.
	b.check(t, CheckOptions{})
}

func TestGatherGrad(t *testing.T) {
	b := newGB(1)
	b.param("emb", b.randT(7, 5))
	b.param("ids", tensor.MustFromSlice([]int64{3, 0, 3, -1, 6, 2}, 2, 3))
	b.node("Gather", []string{"emb", "ids"}, "e")
	b.param("ids1", tensor.MustFromSlice([]int64{4, 4, 1}, 3))
	b.node("Gather", []string{"emb", "ids1"}, "e1", graph.AttrI("axis", 1))
	b.output("e", "e1")
	b.check(t, CheckOptions{})
	// out of range index is an error, not a panic
	b = newGB(2)
	b.param("emb", b.randT(3, 2))
	b.param("ids", tensor.MustFromSlice([]int64{3}, 1))
	b.node("Gather", []string{"emb", "ids"}, "e")
	b.output("e")
	p, err := Compile(b.model(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Forward(nil, nil); err == nil {
		t.Fatal("index 3 of 3 accepted")
	}
}

// attention appends a multi-head self-attention block (pre-norm transformer
// layer: LN, QKV projections, scaled dot-product attention, output
// projection, residual, LN, GELU MLP, residual) over x [B, T, D].
func attention(b *gb, x string, bt, tt, d, heads int) string {
	dh := d / heads
	b.param("ln1.s", b.randT(d))
	b.param("ln1.b", b.randT(d))
	b.node("LayerNormalization", []string{x, "ln1.s", "ln1.b"}, "h")
	b.param("shape.bthd", tensor.MustFromSlice([]int64{int64(bt), int64(tt), int64(heads), int64(dh)}, 4))
	for _, p := range []string{"q", "k", "v"} {
		b.param("w"+p, b.randT(d, d))
		b.param("b"+p, b.randT(d))
		b.node("MatMul", []string{"h", "w" + p}, p+"0")
		b.node("Add", []string{p + "0", "b" + p}, p+"1")
		b.node("Reshape", []string{p + "1", "shape.bthd"}, p+"2")
		perm := []int64{0, 2, 1, 3} // [B, H, T, dh]
		if p == "k" {
			perm = []int64{0, 2, 3, 1} // [B, H, dh, T]
		}
		b.node("Transpose", []string{p + "2"}, p, graph.IntsAttr("perm", perm...))
	}
	b.node("MatMul", []string{"q", "k"}, "scores0")
	b.param("scale", tensor.Scalar(float32(1/float32(dh))))
	b.node("Mul", []string{"scores0", "scale"}, "scores")
	b.node("Softmax", []string{"scores"}, "attn", graph.AttrI("axis", -1))
	b.node("MatMul", []string{"attn", "v"}, "ctx0") // [B, H, T, dh]
	b.node("Transpose", []string{"ctx0"}, "ctx1", graph.IntsAttr("perm", 0, 2, 1, 3))
	b.param("shape.btd", tensor.MustFromSlice([]int64{int64(bt), int64(tt), int64(d)}, 3))
	b.node("Reshape", []string{"ctx1", "shape.btd"}, "ctx")
	b.param("wo", b.randT(d, d))
	b.node("MatMul", []string{"ctx", "wo"}, "o")
	b.node("Add", []string{x, "o"}, "r1")
	b.param("ln2.s", b.randT(d))
	b.node("LayerNormalization", []string{"r1", "ln2.s"}, "h2")
	b.param("w1", b.randT(d, 2*d))
	b.node("MatMul", []string{"h2", "w1"}, "m1")
	b.node("Gelu", []string{"m1"}, "g1")
	b.param("w2", b.randT(2*d, d))
	b.node("MatMul", []string{"g1", "w2"}, "m2")
	b.node("Add", []string{"r1", "m2"}, "r2")
	return "r2"
}

func TestAttentionBlockGrad(t *testing.T) {
	b := newGB(4)
	b.opset = 20
	const bt, tt, d, heads, vocab = 2, 3, 8, 2, 11
	b.param("emb", b.randT(vocab, d))
	b.param("ids", tensor.MustFromSlice([]int64{1, 5, 9, 0, 5, 10}, bt, tt))
	b.node("Gather", []string{"emb", "ids"}, "x0")
	b.input("pos", b.randT(tt, d))
	b.node("Add", []string{"x0", "pos"}, "x")
	y := attention(b, "x", bt, tt, d, heads)
	b.output(y)
	b.check(t, CheckOptions{Eps: 1e-3, ATol: 2e-3})
}

// An op with only a VJP registered runs its forward on the inference kernel
// of impl/ops.
func TestRegisterVJPUsesRuntimeForward(t *testing.T) {
	RegisterVJP("Softsign", func(n *graph.Node, in, out, gout, gin []*tensor.Tensor) error {
		if gin[0] == nil {
			return nil
		}
		x, dy, dx := in[0].F32(), gout[0].F32(), gin[0].F32()
		for i, v := range x {
			a := 1 + float32(math.Abs(float64(v)))
			dx[i] += dy[i] / (a * a)
		}
		return nil
	})
	b := newGB(1)
	b.input("x", b.distinct(tensor.New(tensor.Float32, 3, 7), 0.05))
	b.param("w", b.randT(7, 4))
	b.node("MatMul", []string{"x", "w"}, "h")
	b.node("Softsign", []string{"h"}, "y")
	b.output("y")
	p, err := Compile(b.model(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.steps[1].k.(*rtKernel); !ok {
		t.Fatalf("Softsign runs on %T, want the runtime kernel", p.steps[1].k)
	}
	b.check(t, CheckOptions{Eps: 1e-3})
}
