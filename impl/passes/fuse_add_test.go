package passes

import (
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// Residual joins Add(Conv(x), z) -> Relu become one FusedConv with a fused
// Relu, computing the same values, whichever side of the Add the Conv is
// on, for grouped and depthwise convolutions and for an addend that
// broadcasts.
func TestFuseConvAdd(t *testing.T) {
	type cs struct {
		name       string
		group      int
		convLeft   bool
		zShape     []int
		wantFusion bool
	}
	for _, c := range []cs{
		{"left", 1, true, []int{1, 4, 6, 6}, true},
		{"right", 1, false, []int{1, 4, 6, 6}, true},
		{"grouped", 2, true, []int{1, 4, 6, 6}, true},
		{"depthwise", 4, false, []int{1, 4, 6, 6}, true},
		{"broadcast", 1, true, []int{1, 4, 1, 6}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			build := func() *graph.Graph {
				r := rand.New(rand.NewPCG(5, 6))
				g := graph.New("g")
				g.Inputs = []graph.ValueInfo{graph.TensorInfo("x", tensor.Float32, 1, 4, 6, 6), graph.TensorInfo("z0", tensor.Float32, c.zShape...)}
				g.AddInitializer("w", randT(r, 4, 4/c.group, 3, 3))
				g.AddInitializer("b", randT(r, 4))
				conv := g.AddNode("Conv", []string{"x", "w", "b"}, []string{"c"})
				conv.SetAttr(graph.IntsAttr("pads", 1, 1, 1, 1))
				conv.SetAttr(graph.AttrI("group", int64(c.group)))
				g.AddNode("Neg", []string{"z0"}, []string{"z"})
				if c.convLeft {
					g.AddNode("Add", []string{"c", "z"}, []string{"s"})
				} else {
					g.AddNode("Add", []string{"z", "c"}, []string{"s"})
				}
				g.AddNode("Relu", []string{"s"}, []string{"y"})
				g.Outputs = []graph.ValueInfo{{Name: "y"}}
				return g
			}
			r := rand.New(rand.NewPCG(9, 9))
			in := map[string]*tensor.Tensor{"x": randT(r, 1, 4, 6, 6), "z0": randT(r, c.zShape...)}
			want := runGraph(t, build(), in)["y"]
			g := build()
			if n, err := FuseConvAdd(g); err != nil || n != 1 {
				t.Fatalf("FuseConvAdd: %d rewrites, %v", n, err)
			}
			if n, err := FuseActivation(g); err != nil || n != 1 {
				t.Fatalf("FuseActivation after FuseConvAdd: %d rewrites, %v", n, err)
			}
			if len(g.Nodes) != 2 || g.Nodes[1].OpType != "FusedConv" || g.Nodes[1].Domain != "ai.frugal" {
				t.Fatalf("nodes after fusion: %v", g.Nodes)
			}
			closeTo(t, "fused", runGraph(t, g, in)["y"], want, 1e-5)
		})
	}
}

// A Conv whose output has another reader, or whose addend is a constant,
// stays as it is.
func TestFuseConvAddSkips(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	g := graph.New("g")
	g.Inputs = []graph.ValueInfo{graph.TensorInfo("x", tensor.Float32, 1, 2, 4, 4), graph.TensorInfo("z", tensor.Float32, 1, 2, 4, 4)}
	g.AddInitializer("w", randT(r, 2, 2, 1, 1))
	g.AddInitializer("k", randT(r, 1, 2, 4, 4))
	g.AddNode("Conv", []string{"x", "w"}, []string{"c"})
	g.AddNode("Add", []string{"c", "z"}, []string{"s"})
	g.AddNode("Add", []string{"c", "k"}, []string{"u"}) // second reader of c
	g.AddNode("Conv", []string{"x", "w"}, []string{"c2"})
	g.AddNode("Add", []string{"c2", "k"}, []string{"v"}) // constant addend
	g.Outputs = []graph.ValueInfo{{Name: "s"}, {Name: "u"}, {Name: "v"}}
	if n, err := FuseConvAdd(g); err != nil || n != 0 {
		t.Fatalf("FuseConvAdd: %d rewrites, %v; want none", n, err)
	}
}
