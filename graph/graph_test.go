package graph

import (
	"strings"
	"testing"

	"github.com/frugal-ml/frugal/tensor"
)

func chain() *Graph {
	g := New("g")
	g.Inputs = []ValueInfo{TensorInfo("x", tensor.Float32, 1, 4)}
	g.AddInitializer("w", tensor.New(tensor.Float32, 3, 4))
	// Deliberately out of order: b reads a's output.
	g.AddNode("Relu", []string{"a"}, []string{"b"})
	g.AddNode("Gemm", []string{"x", "w"}, []string{"a"}, AttrI("transB", 1))
	g.Outputs = []ValueInfo{{Name: "b"}}
	return g
}

func TestTopoSortOrders(t *testing.T) {
	g := chain()
	if err := g.Validate(nil); err != nil {
		t.Fatal(err)
	}
	if g.Nodes[0].OpType != "Gemm" {
		t.Fatalf("Gemm should run first, got %s", g.Nodes[0].OpType)
	}
}

func TestValidateRejects(t *testing.T) {
	cases := map[string]func(g *Graph){
		"no node, input or initializer": func(g *Graph) { g.Nodes[0].Inputs[0] = "missing" },
		"produced twice":                func(g *Graph) { g.AddNode("Relu", []string{"x"}, []string{"a"}) },
		"cycle":                         func(g *Graph) { g.Nodes[1].Inputs[0] = "b" },
		"never produced":                func(g *Graph) { g.Outputs[0].Name = "zzz" },
		"no op type":                    func(g *Graph) { g.Nodes[0].OpType = "" },
	}
	for want, mutate := range cases {
		g := chain()
		mutate(g)
		err := g.Validate(nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v", want, err)
		}
	}
}

func TestInferShapes(t *testing.T) {
	g := chain()
	if err := g.Validate(nil); err != nil {
		t.Fatal(err)
	}
	types, err := InferShapes(g, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := types["b"].Known()
	if !ok || !tensor.SameShape(s, []int{1, 3}) {
		t.Fatalf("b: %+v", types["b"])
	}
	// A mismatched Gemm is rejected with the node named.
	g.Initializers["w"] = tensor.New(tensor.Float32, 3, 5)
	if _, err := InferShapes(g, nil, nil); err == nil || !strings.Contains(err.Error(), "Gemm") {
		t.Fatalf("expected Gemm shape error, got %v", err)
	}
}

func TestConvParamsAutoPad(t *testing.T) {
	n := &Node{OpType: "Conv", Attrs: map[string]*Attr{}}
	n.SetAttr(AttrS("auto_pad", "SAME_UPPER"))
	n.SetAttr(IntsAttr("strides", 2, 2))
	p, err := ReadConvParams(n, []int{1, 1, 7, 7}, []int{3, 3})
	if err != nil {
		t.Fatal(err)
	}
	// out = ceil(7/2) = 4; total pad = (4-1)*2+3-7 = 2 -> 1,1
	if p.OutSize(0, 7) != 4 || p.Pads[0] != 1 || p.Pads[2] != 1 {
		t.Fatalf("%+v", p)
	}
	if _, err := ResolveReshape([]int{2, 3, 4}, []int64{0, -1}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := ResolveReshape([]int{2, 3, 4}, []int64{-1, -1}, false); err == nil {
		t.Fatal("two -1 must fail")
	}
}
