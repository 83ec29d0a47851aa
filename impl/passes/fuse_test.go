package passes

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/ops"
	"github.com/frugal-ml/frugal/tensor"
)

// runOpset is the default-domain opset runGraph builds kernels for.
var runOpset int64 = 17

// runGraph executes g node by node (the runtime is not importable here).
func runGraph(t *testing.T, g *graph.Graph, in map[string]*tensor.Tensor) map[string]*tensor.Tensor {
	t.Helper()
	if err := g.Validate(nil); err != nil {
		t.Fatal(err)
	}
	vals := map[string]ops.Value{}
	for k, v := range g.Initializers {
		vals[k] = v
	}
	for k, v := range in {
		vals[k] = v
	}
	for _, n := range g.Nodes {
		args := make([]ops.Value, len(n.Inputs))
		consts := make([]*tensor.Tensor, len(args))
		for i, name := range n.Inputs {
			args[i] = vals[name]
			consts[i] = g.Initializers[name] // lets kernels prepack, as the runtime does
		}
		k, _, err := ops.Build(&ops.BuildInfo{Node: n, Opset: runOpset, Const: consts, InTypes: make([]graph.Type, len(args))})
		if err != nil {
			t.Fatal(err)
		}
		out, err := k.Run(&ops.Ctx{Context: context.Background(), Threads: 1}, args)
		if err != nil {
			t.Fatalf("%s: %v", n.Describe(), err)
		}
		for j, o := range n.Outputs {
			vals[o] = out[j]
		}
	}
	res := map[string]*tensor.Tensor{}
	for _, o := range g.Outputs {
		res[o.Name] = vals[o.Name].(*tensor.Tensor)
	}
	return res
}

func randT(r *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.New(tensor.Float32, shape...)
	for i := range t.F32() {
		t.F32()[i] = float32(r.NormFloat64())
	}
	return t
}

func closeTo(t *testing.T, what string, got, want *tensor.Tensor, tol float64) {
	t.Helper()
	if !tensor.SameShape(got.Shape, want.Shape) {
		t.Fatalf("%s: shape %v, want %v", what, got.Shape, want.Shape)
	}
	for i := range want.F32() {
		if d := math.Abs(float64(got.F32()[i] - want.F32()[i])); d > tol*(1+math.Abs(float64(want.F32()[i]))) {
			t.Fatalf("%s: element %d = %v, want %v", what, i, got.F32()[i], want.F32()[i])
		}
	}
}

// Conv -> BatchNormalization -> Relu becomes one Conv with folded weights
// and a fused Relu, computing the same values.
func TestFoldConvBNAndFuseActivation(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	build := func() *graph.Graph {
		g := graph.New("g")
		g.Inputs = []graph.ValueInfo{graph.TensorInfo("x", tensor.Float32, 1, 3, 5, 5)}
		g.AddInitializer("w", randT(rand.New(rand.NewPCG(1, 1)), 4, 3, 3, 3))
		g.AddInitializer("b", randT(rand.New(rand.NewPCG(2, 2)), 4))
		g.AddInitializer("scale", randT(rand.New(rand.NewPCG(3, 3)), 4))
		g.AddInitializer("beta", randT(rand.New(rand.NewPCG(4, 4)), 4))
		g.AddInitializer("mean", randT(rand.New(rand.NewPCG(5, 5)), 4))
		v := randT(rand.New(rand.NewPCG(6, 6)), 4)
		for i := range v.F32() {
			v.F32()[i] = v.F32()[i]*v.F32()[i] + 0.1
		}
		g.AddInitializer("var", v)
		g.AddNode("Conv", []string{"x", "w", "b"}, []string{"c"}, graph.IntsAttr("pads", 1, 1, 1, 1))
		g.AddNode("BatchNormalization", []string{"c", "scale", "beta", "mean", "var"}, []string{"n"})
		g.AddNode("Relu", []string{"n"}, []string{"y"})
		g.Outputs = []graph.ValueInfo{{Name: "y"}}
		return g
	}
	x := randT(r, 1, 3, 5, 5)
	want := runGraph(t, build(), map[string]*tensor.Tensor{"x": x})["y"]
	g := build()
	if n, err := FoldConvBN(g); err != nil || n != 1 {
		t.Fatalf("FoldConvBN: %d, %v", n, err)
	}
	if n, err := FuseActivation(g); err != nil || n != 1 {
		t.Fatalf("FuseActivation: %d, %v", n, err)
	}
	if _, err := DeadNodes(g); err != nil {
		t.Fatal(err)
	}
	if len(g.Nodes) != 1 || g.Nodes[0].OpType != "Conv" {
		t.Fatalf("nodes after fusion: %d", len(g.Nodes))
	}
	closeTo(t, "fused", runGraph(t, g, map[string]*tensor.Tensor{"x": x})["y"], want, 1e-4)
	// A Conv output that is also a graph output must not be folded away.
	g = build()
	g.Outputs = append(g.Outputs, graph.ValueInfo{Name: "c"})
	if n, _ := FoldConvBN(g); n != 0 {
		t.Fatal("folded a BN whose input is a graph output")
	}
}

func TestFuseClipIntoGemm(t *testing.T) {
	g := graph.New("g")
	g.Inputs = []graph.ValueInfo{graph.TensorInfo("a", tensor.Float32, 1, 2)}
	g.AddInitializer("b", tensor.MustFromSlice([]float32{1, -1, 2, 3}, 2, 2))
	g.AddInitializer("lo", tensor.MustFromSlice([]float32{0}))
	g.AddInitializer("hi", tensor.MustFromSlice([]float32{6}))
	g.AddNode("Gemm", []string{"a", "b"}, []string{"m"})
	g.AddNode("Clip", []string{"m", "lo", "hi"}, []string{"y"})
	g.Outputs = []graph.ValueInfo{{Name: "y"}}
	x := tensor.MustFromSlice([]float32{3, 1}, 1, 2)
	want := runGraph(t, g.Clone(), map[string]*tensor.Tensor{"a": x})["y"]
	if n, _ := FuseActivation(g); n != 1 || len(g.Nodes) != 1 {
		t.Fatalf("fused %d, %d nodes left", n, len(g.Nodes))
	}
	got := runGraph(t, g, map[string]*tensor.Tensor{"a": x})["y"]
	closeTo(t, "Gemm+Clip", got, want, 0)
	if got.F32()[0] != 5 || got.F32()[1] != 0 {
		t.Fatalf("values %v", got.F32())
	}
}

// Shape arithmetic on constants folds to initializers; ops reading graph
// inputs, random ops and quantization stay.
func TestFoldConstants(t *testing.T) {
	g := graph.New("g")
	g.Inputs = []graph.ValueInfo{graph.TensorInfo("x", tensor.Float32, 2, 3)}
	g.AddInitializer("k", tensor.New(tensor.Float32, 3, 2))
	g.AddInitializer("i0", tensor.MustFromSlice([]int64{0}, 1))
	g.AddInitializer("minus1", tensor.MustFromSlice([]int64{-1}, 1))
	g.AddNode("Shape", []string{"k"}, []string{"s"})
	g.AddNode("Gather", []string{"s", "i0"}, []string{"d0"})
	g.AddNode("Concat", []string{"minus1", "d0"}, []string{"target"}, graph.AttrI("axis", 0))
	g.AddNode("Reshape", []string{"x", "target"}, []string{"y"})
	g.AddNode("RandomUniform", nil, []string{"r"}, graph.IntsAttr("shape", 2))
	g.AddInitializer("q", &tensor.Tensor{DType: tensor.Uint8, Shape: []int{2}, Data: []uint8{1, 2}})
	g.AddInitializer("sc", tensor.MustFromSlice([]float32{0.5}))
	g.AddNode("DequantizeLinear", []string{"q", "sc"}, []string{"dq"})
	g.Outputs = []graph.ValueInfo{{Name: "y"}, {Name: "r"}, {Name: "dq"}}
	n, err := FoldConstants(g)
	if err != nil || n != 3 {
		t.Fatalf("folded %d nodes, err %v", n, err)
	}
	if tg := g.Initializers["target"]; tg == nil || tg.I64()[0] != -1 || tg.I64()[1] != 3 {
		t.Fatalf("target %v", tg)
	}
	if len(g.Nodes) != 3 {
		t.Fatalf("%d nodes left, want Reshape, RandomUniform, DequantizeLinear", len(g.Nodes))
	}
	y := runGraph(t, g, map[string]*tensor.Tensor{"x": tensor.New(tensor.Float32, 2, 3)})["y"]
	if !tensor.SameShape(y.Shape, []int{2, 3}) {
		t.Fatalf("reshape to %v", y.Shape)
	}
	// An initializer that is also a graph input can be overridden: not constant.
	h := graph.New("h")
	h.AddInitializer("c", tensor.MustFromSlice([]float32{1}))
	h.Inputs = []graph.ValueInfo{graph.TensorInfo("c", tensor.Float32, 1)}
	h.AddNode("Neg", []string{"c"}, []string{"y"})
	h.Outputs = []graph.ValueInfo{{Name: "y"}}
	if n, _ := FoldConstants(h); n != 0 {
		t.Fatal("folded a node reading an overridable initializer")
	}
}

func TestPreserving(t *testing.T) {
	for _, p := range Preserving(Default) {
		if mergesValues[p.Name] {
			t.Fatalf("Preserving kept %s", p.Name)
		}
	}
	if len(Preserving(Default)) != len(Default)-len(mergesValues) {
		t.Fatal("Preserving dropped other passes")
	}
}
