package passes

import (
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// pwdwGraph is x -> Conv 1x1 (cin -> c) -> Relu6 -> depthwise 3x3 Conv
// (stride s) -> Relu6 -> y, after fuse-activation.
func pwdwGraph(t *testing.T, cin, c, h, w, s int) *graph.Graph {
	r := rand.New(rand.NewPCG(11, 12))
	g := graph.New("g")
	g.Inputs = []graph.ValueInfo{graph.TensorInfo("x", tensor.Float32, 1, cin, h, w)}
	g.AddInitializer("wa", randT(r, c, cin, 1, 1))
	g.AddInitializer("ba", randT(r, c))
	g.AddInitializer("wb", randT(r, c, 1, 3, 3))
	g.AddInitializer("lo", tensor.MustFromSlice([]float32{0}))
	g.AddInitializer("hi", tensor.MustFromSlice([]float32{6}))
	g.AddNode("Conv", []string{"x", "wa", "ba"}, []string{"e0"})
	g.AddNode("Clip", []string{"e0", "lo", "hi"}, []string{"e"})
	dw := g.AddNode("Conv", []string{"e", "wb"}, []string{"d0"})
	dw.SetAttr(graph.AttrI("group", int64(c)))
	dw.SetAttr(graph.IntsAttr("pads", 1, 1, 1, 1))
	dw.SetAttr(graph.IntsAttr("strides", int64(s), int64(s)))
	g.AddNode("Relu", []string{"d0"}, []string{"y"})
	g.Outputs = []graph.ValueInfo{{Name: "y"}}
	if n, err := FuseActivation(g); err != nil || n != 2 {
		t.Fatalf("FuseActivation: %d rewrites, %v", n, err)
	}
	return g
}

// An expand + depthwise pair whose intermediate exceeds the threshold
// becomes one FusedPwDw computing the same values (stride 1 and 2).
func TestFusePwDw(t *testing.T) {
	defer func(v int) { pwdwMinBytes = v }(pwdwMinBytes)
	pwdwMinBytes = 1 << 10
	for _, s := range []int{1, 2} {
		r := rand.New(rand.NewPCG(uint64(s), 3))
		in := map[string]*tensor.Tensor{"x": randT(r, 1, 4, 13, 10)}
		g := pwdwGraph(t, 4, 24, 13, 10, s)
		want := runGraph(t, g.Clone(), in)["y"]
		if n, err := FusePwDw(g); err != nil || n != 1 {
			t.Fatalf("stride %d: FusePwDw: %d rewrites, %v", s, n, err)
		}
		if _, err := DeadNodes(g); err != nil {
			t.Fatal(err)
		}
		if len(g.Nodes) != 1 || g.Nodes[0].OpType != "FusedPwDw" || g.Nodes[0].Domain != "ai.frugal" {
			t.Fatalf("nodes after fusion: %v", g.Nodes)
		}
		f := g.Nodes[0]
		if k, _ := f.String("pw_activation", ""); k != "Clip" {
			t.Fatalf("pw_activation %q", k)
		}
		if k, _ := f.String("activation", ""); k != "Relu" {
			t.Fatalf("activation %q", k)
		}
		if st, _ := f.Ints("dw_strides", nil); len(st) != 2 || st[0] != int64(s) {
			t.Fatalf("dw_strides %v", st)
		}
		closeTo(t, "fused", runGraph(t, g, in)["y"], want, 1e-5)
		// The shape function types the fused node's output.
		types, err := graph.InferShapes(g, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if sh, ok := types["y"].Known(); !ok || !tensor.SameShape(sh, want.Shape) {
			t.Fatalf("inferred %v, want %v", types["y"], want.Shape)
		}
	}
}

// No fusion when the intermediate has a second reader, is a graph output,
// is small, or has an unknown shape.
func TestFusePwDwSkips(t *testing.T) {
	defer func(v int) { pwdwMinBytes = v }(pwdwMinBytes)
	pwdwMinBytes = 1 << 10
	check := func(name string, g *graph.Graph) {
		t.Helper()
		if n, err := FusePwDw(g); err != nil || n != 0 {
			t.Fatalf("%s: FusePwDw: %d rewrites, %v", name, n, err)
		}
	}
	g := pwdwGraph(t, 4, 24, 13, 10, 2)
	g.AddNode("Neg", []string{"e"}, []string{"z"})
	g.Outputs = append(g.Outputs, graph.ValueInfo{Name: "z"})
	check("second reader", g)

	g = pwdwGraph(t, 4, 24, 13, 10, 2)
	g.Outputs = append(g.Outputs, graph.ValueInfo{Name: "e"})
	check("graph output", g)

	pwdwMinBytes = 2 << 20
	check("small", pwdwGraph(t, 4, 24, 13, 10, 2))
	pwdwMinBytes = 1 << 10

	g = pwdwGraph(t, 4, 24, 13, 10, 2)
	g.Inputs = []graph.ValueInfo{{Name: "x", Type: graph.Type{DType: tensor.Float32}}}
	check("unknown shape", g)

	g = pwdwGraph(t, 4, 24, 13, 10, 2)
	g.Nodes[1].SetAttr(graph.IntsAttr("pads", 0, 0, 0, 0))
	check("unpadded depthwise", g)
}

// Above the default threshold: MobileNetV2's features.2 geometry fuses.
func TestFusePwDwThreshold(t *testing.T) {
	g := pwdwGraph(t, 16, 96, 112, 112, 2)
	if n, err := FusePwDw(g); err != nil || n != 1 {
		t.Fatalf("FusePwDw: %d rewrites, %v", n, err)
	}
	g = pwdwGraph(t, 24, 144, 56, 56, 1) // 1.8 MB: measured not to pay
	if n, err := FusePwDw(g); err != nil || n != 0 {
		t.Fatalf("FusePwDw on 144x56x56: %d rewrites, %v", n, err)
	}
}
