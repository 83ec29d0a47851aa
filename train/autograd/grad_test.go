package autograd

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// gb builds small test graphs.
type gb struct {
	g      *graph.Graph
	rng    *rand.Rand
	inputs map[string]*tensor.Tensor
	wrt    []string
	opset  int64
}

func newGB(seed uint64) *gb {
	return &gb{g: graph.New("t"), rng: rand.New(rand.NewPCG(seed, 1)), inputs: map[string]*tensor.Tensor{}, opset: 17}
}

func (b *gb) randT(shape ...int) *tensor.Tensor {
	t := tensor.New(tensor.Float32, shape...)
	for i := range t.F32() {
		t.F32()[i] = float32(b.rng.Float64()*2 - 1)
	}
	return t
}

// input adds a graph input with random data whose gradient is checked.
func (b *gb) input(name string, t *tensor.Tensor) {
	b.g.Inputs = append(b.g.Inputs, graph.TensorInfo(name, tensor.Float32, t.Shape...))
	b.inputs[name] = t
	b.wrt = append(b.wrt, name)
}

func (b *gb) param(name string, t *tensor.Tensor) { b.g.AddInitializer(name, t) }

func (b *gb) node(op string, in []string, out string, attrs ...*graph.Attr) {
	b.g.AddNode(op, in, []string{out}, attrs...)
}

func (b *gb) output(names ...string) {
	for _, n := range names {
		b.g.Outputs = append(b.g.Outputs, graph.ValueInfo{Name: n, Type: graph.Type{DType: tensor.Float32}})
	}
}

func (b *gb) model() *graph.Model {
	return &graph.Model{Graph: b.g, Opsets: []graph.OpsetImport{{Version: b.opset}}}
}

func (b *gb) check(t *testing.T, o CheckOptions) {
	t.Helper()
	if err := CheckGrads(b.model(), b.inputs, b.wrt, o); err != nil {
		t.Fatal(err)
	}
}

// distinct fills t with a permutation of well-separated values (so max-pool
// and ReLU have no ties or kinks within the finite-difference step).
func (b *gb) distinct(t *tensor.Tensor, offset float32) *tensor.Tensor {
	d := t.F32()
	perm := b.rng.Perm(len(d))
	for i := range d {
		d[i] = float32(perm[i])*0.1 - float32(len(d))*0.05 + offset
	}
	return t
}

func ints(v ...int64) []int64 { return v }

func TestConvGrad(t *testing.T) {
	cases := []struct {
		name     string
		x, w     []int
		attrs    []*graph.Attr
		bias     bool
		training bool
	}{
		{"3x3pad1", []int{2, 3, 5, 5}, []int{4, 3, 3, 3}, []*graph.Attr{graph.IntsAttr("pads", 1, 1, 1, 1)}, true, false},
		{"stride2dil2", []int{2, 2, 7, 6}, []int{3, 2, 2, 3}, []*graph.Attr{graph.IntsAttr("strides", 2, 1), graph.IntsAttr("dilations", 2, 1), graph.IntsAttr("pads", 1, 0, 0, 2)}, true, false},
		{"group2", []int{1, 4, 5, 5}, []int{6, 2, 3, 3}, []*graph.Attr{graph.AttrI("group", 2), graph.IntsAttr("pads", 1, 1, 1, 1)}, true, false},
		{"depthwise", []int{2, 3, 6, 6}, []int{3, 1, 3, 3}, []*graph.Attr{graph.AttrI("group", 3), graph.IntsAttr("strides", 2, 2), graph.IntsAttr("pads", 1, 1, 1, 1)}, false, false},
		{"depthwise-mult2-dil", []int{1, 2, 7, 7}, []int{4, 1, 3, 3}, []*graph.Attr{graph.AttrI("group", 2), graph.IntsAttr("dilations", 2, 1), graph.IntsAttr("strides", 1, 2), graph.IntsAttr("pads", 2, 1, 0, 1)}, true, false},
		{"depthwise-5x5", []int{2, 4, 6, 6}, []int{4, 1, 5, 5}, []*graph.Attr{graph.AttrI("group", 4), graph.IntsAttr("pads", 2, 2, 2, 2)}, true, false},
		{"pointwise", []int{2, 3, 4, 4}, []int{5, 3, 1, 1}, nil, true, false},
		{"conv1d", []int{2, 3, 9}, []int{2, 3, 3}, []*graph.Attr{graph.IntsAttr("strides", 2), graph.IntsAttr("pads", 1, 1)}, true, false},
		{"autopad", []int{1, 2, 5, 5}, []int{2, 2, 3, 3}, []*graph.Attr{graph.AttrS("auto_pad", "SAME_UPPER"), graph.IntsAttr("strides", 2, 2)}, true, false},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newGB(uint64(i))
			b.input("x", b.randT(c.x...))
			b.param("w", b.randT(c.w...))
			in := []string{"x", "w"}
			if c.bias {
				b.param("b", b.randT(c.w[0]))
				in = append(in, "b")
			}
			b.node("Conv", in, "y", c.attrs...)
			b.output("y")
			b.check(t, CheckOptions{})
		})
	}
}

func TestGemmGrad(t *testing.T) {
	for i, c := range []struct {
		ta, tb      int64
		alpha, beta float32
		c           []int
	}{
		{0, 0, 1, 1, []int{5}},
		{0, 1, 1, 1, []int{3, 5}},
		{1, 0, 0.5, 2, []int{1, 5}},
		{1, 1, 1.5, 0.5, []int{3, 1}},
		{0, 1, 1, 1, nil},
		{0, 0, 1, 1, []int{}},
	} {
		b := newGB(uint64(i))
		m, n, k := 3, 5, 4
		as, bs := []int{m, k}, []int{k, n}
		if c.ta != 0 {
			as = []int{k, m}
		}
		if c.tb != 0 {
			bs = []int{n, k}
		}
		b.input("a", b.randT(as...))
		b.param("b", b.randT(bs...))
		in := []string{"a", "b"}
		if c.c != nil {
			b.param("c", b.randT(c.c...))
			in = append(in, "c")
		}
		b.node("Gemm", in, "y", graph.AttrI("transA", c.ta), graph.AttrI("transB", c.tb), graph.AttrF("alpha", c.alpha), graph.AttrF("beta", c.beta))
		b.output("y")
		b.check(t, CheckOptions{})
	}
}

func TestMatMulGrad(t *testing.T) {
	for i, c := range [][2][]int{
		{{3, 4}, {4, 5}},
		{{2, 3, 4}, {4, 5}},
		{{2, 1, 3, 4}, {3, 4, 2}},
		{{4}, {2, 4, 3}},
		{{2, 3, 4}, {4}},
	} {
		b := newGB(uint64(i))
		b.input("a", b.randT(c[0]...))
		b.param("b", b.randT(c[1]...))
		b.node("MatMul", []string{"a", "b"}, "y")
		b.output("y")
		b.check(t, CheckOptions{})
	}
}

func TestBinaryGrad(t *testing.T) {
	for _, op := range []string{"Add", "Sub", "Mul", "Div"} {
		for i, c := range [][2][]int{
			{{2, 3}, {2, 3}},
			{{2, 3, 4}, {3, 1}},
			{{2, 1, 4}, {3, 1}},
			{{3}, {}},
			{{}, {2, 3}},
			{{2, 3, 2, 2}, {3, 1, 1}},
		} {
			t.Run(op, func(t *testing.T) {
				b := newGB(uint64(i))
				b.input("a", b.randT(c[0]...))
				bt := b.randT(c[1]...)
				if op == "Div" {
					for j, v := range bt.F32() {
						if v < 0 {
							bt.F32()[j] = v - 0.5
						} else {
							bt.F32()[j] = v + 0.5
						}
					}
				}
				b.param("b", bt)
				b.node(op, []string{"a", "b"}, "y")
				b.output("y")
				b.check(t, CheckOptions{})
			})
		}
	}
	// The same value on both sides: gradients from both operands add up.
	b := newGB(9)
	b.param("a", b.randT(3, 4))
	b.node("Mul", []string{"a", "a"}, "y")
	b.output("y")
	b.check(t, CheckOptions{})
}

func TestReluGrad(t *testing.T) {
	b := newGB(1)
	b.input("x", b.distinct(tensor.New(tensor.Float32, 2, 3, 4), 0.05))
	b.node("Relu", []string{"x"}, "y")
	b.output("y")
	b.check(t, CheckOptions{})
}

func TestPoolGrad(t *testing.T) {
	cases := []struct {
		op    string
		x     []int
		attrs []*graph.Attr
	}{
		{"MaxPool", []int{2, 2, 6, 6}, []*graph.Attr{graph.IntsAttr("kernel_shape", 2, 2), graph.IntsAttr("strides", 2, 2)}},
		{"MaxPool", []int{1, 2, 7, 7}, []*graph.Attr{graph.IntsAttr("kernel_shape", 3, 3), graph.IntsAttr("strides", 2, 2), graph.IntsAttr("pads", 1, 1, 1, 1)}},
		{"MaxPool", []int{1, 1, 6, 6}, []*graph.Attr{graph.IntsAttr("kernel_shape", 3, 3), graph.IntsAttr("strides", 2, 2), graph.AttrI("ceil_mode", 1)}},
		{"MaxPool", []int{2, 2, 9}, []*graph.Attr{graph.IntsAttr("kernel_shape", 3), graph.IntsAttr("strides", 2)}},
		{"AveragePool", []int{2, 2, 6, 6}, []*graph.Attr{graph.IntsAttr("kernel_shape", 2, 2), graph.IntsAttr("strides", 2, 2)}},
		{"AveragePool", []int{1, 2, 5, 5}, []*graph.Attr{graph.IntsAttr("kernel_shape", 3, 3), graph.IntsAttr("pads", 1, 1, 1, 1)}},
		{"AveragePool", []int{1, 2, 5, 5}, []*graph.Attr{graph.IntsAttr("kernel_shape", 3, 3), graph.IntsAttr("strides", 2, 2), graph.IntsAttr("pads", 1, 1, 1, 1), graph.AttrI("count_include_pad", 1)}},
		{"GlobalAveragePool", []int{2, 3, 4, 5}, nil},
	}
	for i, c := range cases {
		t.Run(c.op, func(t *testing.T) {
			b := newGB(uint64(i))
			b.input("x", b.distinct(tensor.New(tensor.Float32, c.x...), 0))
			b.node(c.op, []string{"x"}, "y", c.attrs...)
			b.output("y")
			b.check(t, CheckOptions{})
		})
	}
}

func TestBatchNormGrad(t *testing.T) {
	for _, training := range []bool{true, false} {
		for i, x := range [][]int{{4, 3, 3, 3}, {5, 2}} {
			b := newGB(uint64(i))
			c := x[1]
			b.input("x", b.randT(x...))
			b.param("scale", b.randT(c))
			b.param("bias", b.randT(c))
			mean := b.randT(c)
			vr := b.randT(c)
			for j := range vr.F32() {
				vr.F32()[j] = vr.F32()[j]*0.4 + 1
			}
			b.param("mean", mean)
			b.param("var", vr)
			b.node("BatchNormalization", []string{"x", "scale", "bias", "mean", "var"}, "y", graph.AttrF("epsilon", 1e-3))
			b.output("y")
			p, err := Compile(b.model(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(p.Params(), ","); got != "scale,bias" {
				t.Fatalf("params %s, want scale,bias (running stats are state)", got)
			}
			b.check(t, CheckOptions{Training: training})
		}
	}
}

func TestBatchNormRunningStats(t *testing.T) {
	b := newGB(3)
	x := b.randT(8, 2, 3, 3)
	b.input("x", x)
	b.param("scale", b.randT(2))
	b.param("bias", b.randT(2))
	b.param("mean", tensor.New(tensor.Float32, 2))
	v := tensor.New(tensor.Float32, 2)
	v.F32()[0], v.F32()[1] = 1, 1
	b.param("var", v)
	b.node("BatchNormalization", []string{"x", "scale", "bias", "mean", "var"}, "y", graph.AttrF("momentum", 0.5))
	b.output("y")
	p, err := Compile(b.model(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Forward(&Ctx{Training: true}, b.inputs); err != nil {
		t.Fatal(err)
	}
	st := p.State()
	if st["mean"] == nil || st["var"] == nil {
		t.Fatalf("state %v", st)
	}
	// channel 0 batch mean
	var s float64
	xd := x.F32()
	for i := 0; i < 8; i++ {
		for _, v := range xd[(i*2)*9 : (i*2+1)*9] {
			s += float64(v)
		}
	}
	want := float32(s/72) * 0.5
	if d := st["mean"].F32()[0] - want; d > 1e-6 || d < -1e-6 {
		t.Fatalf("running mean %v, want %v", st["mean"].F32()[0], want)
	}
	// Eval mode leaves state alone.
	if err := p.Forward(&Ctx{}, b.inputs); err != nil {
		t.Fatal(err)
	}
	if len(p.State()) != 0 {
		t.Fatalf("eval forward reported state")
	}
}

func TestShapeAndSoftmaxGrad(t *testing.T) {
	b := newGB(1)
	b.input("x", b.randT(2, 3, 4))
	b.node("Flatten", []string{"x"}, "f", graph.AttrI("axis", 2))
	b.param("shape", tensor.MustFromSlice([]int64{3, -1}, 2))
	b.node("Reshape", []string{"f", "shape"}, "r")
	b.node("Identity", []string{"r"}, "i")
	b.node("Softmax", []string{"i"}, "s")
	b.node("LogSoftmax", []string{"x"}, "ls", graph.AttrI("axis", 1))
	b.node("Softmax", []string{"x"}, "s1", graph.AttrI("axis", 0))
	b.output("s", "ls", "s1")
	b.check(t, CheckOptions{})

	// legacy (opset < 13): coerced to 2-D at axis
	b = newGB(2)
	b.opset = 11
	b.input("x", b.randT(2, 3, 4))
	b.node("Softmax", []string{"x"}, "s", graph.AttrI("axis", 1))
	b.node("LogSoftmax", []string{"x"}, "l")
	b.output("s", "l")
	b.check(t, CheckOptions{})
}

// A small network end to end, in training mode with batch norm.
func TestNetworkGrad(t *testing.T) {
	b := newGB(5)
	b.input("x", b.randT(3, 2, 8, 8))
	b.param("w1", b.randT(4, 2, 3, 3))
	b.param("b1", b.randT(4))
	b.node("Conv", []string{"x", "w1", "b1"}, "c1", graph.IntsAttr("pads", 1, 1, 1, 1))
	b.param("s", b.randT(4))
	b.param("bb", b.randT(4))
	b.param("m", tensor.New(tensor.Float32, 4))
	v := tensor.New(tensor.Float32, 4)
	for i := range v.F32() {
		v.F32()[i] = 1
	}
	b.param("v", v)
	b.node("BatchNormalization", []string{"c1", "s", "bb", "m", "v"}, "bn")
	b.node("Relu", []string{"bn"}, "r1")
	b.node("MaxPool", []string{"r1"}, "p1", graph.IntsAttr("kernel_shape", 2, 2), graph.IntsAttr("strides", 2, 2))
	b.node("Add", []string{"p1", "p1"}, "a1")
	b.node("GlobalAveragePool", []string{"a1"}, "g")
	b.node("Flatten", []string{"g"}, "f")
	b.param("w2", b.randT(5, 4))
	b.param("b2", b.randT(5))
	b.node("Gemm", []string{"f", "w2", "b2"}, "y", graph.AttrI("transB", 1))
	b.node("LogSoftmax", []string{"y"}, "out")
	b.output("out")
	// ReLU and max-pool kinks make a few finite differences unreliable; a
	// smaller step keeps them away.
	b.check(t, CheckOptions{Training: true, Eps: 5e-4, ATol: 3e-3})
}

// The checker must catch a wrong VJP.
type badRelu struct{ reluK }

func (k *badRelu) Backward(c *Ctx, in, out, gout, gin []*tensor.Tensor) error {
	dx, dy := gin[0].F32(), gout[0].F32()
	for i, v := range dy {
		dx[i] += v // forgets the mask
	}
	return nil
}

func TestCheckerCatchesWrongVJP(t *testing.T) {
	RegisterGrad("TestBadRelu", func(b *BuildInfo) (Kernel, error) { return &badRelu{reluK{b: b}}, nil })
	b := newGB(1)
	b.input("x", b.distinct(tensor.New(tensor.Float32, 2, 8), 0.05))
	b.node("TestBadRelu", []string{"x"}, "y")
	b.output("y")
	if err := CheckGrads(b.model(), b.inputs, b.wrt, CheckOptions{}); err == nil {
		t.Fatal("gradient check accepted a wrong VJP")
	}
}

func TestNoGradientError(t *testing.T) {
	b := newGB(1)
	b.param("w", b.randT(3))
	b.node("NoSuchOp", []string{"w"}, "y")
	b.output("y")
	if _, err := Compile(b.model(), Options{}); err == nil || !strings.Contains(err.Error(), "NoSuchOp") {
		t.Fatalf("err = %v", err)
	}
}
