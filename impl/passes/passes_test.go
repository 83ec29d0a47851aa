package passes

import (
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

func TestDeadNodes(t *testing.T) {
	g := graph.New("g")
	g.Inputs = []graph.ValueInfo{graph.TensorInfo("x", tensor.Float32, 2)}
	g.AddInitializer("unused", tensor.New(tensor.Float32, 3))
	g.AddInitializer("k", tensor.New(tensor.Float32, 2))
	g.AddNode("Relu", []string{"x"}, []string{"a"})
	g.AddNode("Add", []string{"a", "k"}, []string{"dead1"})
	g.AddNode("Relu", []string{"dead1"}, []string{"dead2"})
	g.Outputs = []graph.ValueInfo{{Name: "a"}}
	n, err := DeadNodes(g)
	if err != nil || n != 2 || len(g.Nodes) != 1 {
		t.Fatalf("removed %d, left %d nodes, err %v", n, len(g.Nodes), err)
	}
	if _, ok := g.Initializers["unused"]; ok {
		t.Error("unused initializer kept")
	}
	if _, ok := g.Initializers["k"]; ok {
		t.Error("initializer of a dead node kept")
	}
}

// A DQ -> MaxPool -> Q chain with equal parameters collapses to MaxPool on
// the integers; with different parameters it must stay.
func TestFusePassThrough(t *testing.T) {
	build := func(scale2 float32) *graph.Graph {
		g := graph.New("g")
		g.Inputs = []graph.ValueInfo{graph.TensorInfo("xq", tensor.Uint8, 1, 1, 4, 4)}
		g.AddInitializer("s", tensor.Scalar(float32(0.1)))
		g.AddInitializer("s2", tensor.Scalar(scale2))
		g.AddInitializer("z", tensor.Scalar(uint8(3)))
		g.AddNode("DequantizeLinear", []string{"xq", "s", "z"}, []string{"x"})
		g.AddNode("MaxPool", []string{"x"}, []string{"p"}, graph.IntsAttr("kernel_shape", 2, 2))
		g.AddNode("QuantizeLinear", []string{"p", "s2", "z"}, []string{"pq"})
		g.Outputs = []graph.ValueInfo{{Name: "pq"}}
		return g
	}
	g := build(0.1)
	if n, err := FuseQDQ(g); err != nil || n != 1 || len(g.Nodes) != 1 || g.Nodes[0].Inputs[0] != "xq" {
		t.Fatalf("fused %d, nodes %d, err %v", n, len(g.Nodes), err)
	}
	g = build(0.2)
	if n, _ := FuseQDQ(g); n != 0 || len(g.Nodes) != 3 {
		t.Fatalf("different scales must not fuse: %d rewrites", n)
	}
}
