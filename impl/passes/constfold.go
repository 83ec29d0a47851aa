package passes

import (
	"context"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/ops"
	"github.com/frugal-ml/frugal/tensor"
)

// FoldConstants evaluates nodes whose inputs are all constant initializers
// and replaces them by initializers holding their outputs: the shape
// arithmetic exporters emit (Shape -> Gather -> Unsqueeze -> Concat ->
// Reshape), Constant nodes, casts and arithmetic on weights. Only ops whose
// semantics do not depend on the opset version in the forms handled here
// are folded (the pass does not see the model's opset imports), random and
// quantization ops never are (quantized weights must stay quantized for the
// int8 kernels), and results above maxFoldElems elements are left to run.
func FoldConstants(g *graph.Graph) (int, error) {
	isInput := graphInputs(g)
	constant := func(name string) *tensor.Tensor {
		if name == "" || isInput[name] {
			return nil
		}
		return g.Initializers[name]
	}
	folded := 0
	var keep []*graph.Node
	for _, n := range g.Nodes {
		outs, ok := foldNode(n, constant)
		if !ok {
			keep = append(keep, n)
			continue
		}
		for j, o := range n.Outputs {
			if o != "" {
				g.AddInitializer(o, outs[j])
			}
		}
		folded++
	}
	g.Nodes = keep
	return folded, nil
}

const maxFoldElems = 1 << 20

// foldable lists the ops folded, with a predicate on the node's form where
// older opsets spelled the op differently.
var foldable = map[string]func(n *graph.Node) bool{
	"Constant": always, "Identity": always, "Shape": always, "Size": always, "Gather": always,
	"Concat": func(n *graph.Node) bool { return n.Has("axis") },
	"Cast":   func(n *graph.Node) bool { a, ok := n.Attrs["to"]; return ok && a.Type == graph.AttrInt },
	"Add":    noLegacyBroadcast, "Sub": noLegacyBroadcast, "Mul": noLegacyBroadcast, "Div": noLegacyBroadcast,
	"Equal": noLegacyBroadcast, "Less": noLegacyBroadcast, "Greater": noLegacyBroadcast,
	"Neg": always, "Sqrt": always, "Abs": always, "Floor": always, "Ceil": always, "Not": always,
	"Where": always, "Expand": always, "ConstantOfShape": always, "Range": always, "Transpose": always,
	"Reshape":   inputs(2),
	"Unsqueeze": inputs(2), "Squeeze": inputs(2),
	"Slice": inputs(3),
	"Min":   always, "Max": always,
}

func always(*graph.Node) bool { return true }

func noLegacyBroadcast(n *graph.Node) bool { return !n.Has("broadcast") && !n.Has("axis") }

// inputs accepts the input form of ops whose operands were attributes in
// old opsets.
func inputs(k int) func(n *graph.Node) bool {
	return func(n *graph.Node) bool { return len(n.Inputs) >= k && n.Inputs[k-1] != "" }
}

func foldNode(n *graph.Node, constant func(string) *tensor.Tensor) ([]*tensor.Tensor, bool) {
	if n.Domain != "" && n.Domain != "ai.onnx" {
		return nil, false
	}
	ok := foldable[n.OpType]
	if ok == nil || !ok(n) {
		return nil, false
	}
	for _, a := range n.Attrs {
		if a.G != nil || len(a.Graphs) > 0 {
			return nil, false
		}
	}
	in := make([]ops.Value, len(n.Inputs))
	consts := make([]*tensor.Tensor, len(n.Inputs))
	types := make([]graph.Type, len(n.Inputs))
	for i, name := range n.Inputs {
		if name == "" {
			continue
		}
		c := constant(name)
		if c == nil {
			return nil, false
		}
		in[i], consts[i] = c, c
		types[i] = graph.Type{DType: c.DType, Shape: graph.ConcreteShape(c.Shape...), HasShape: true}
	}
	k, _, err := ops.Build(&ops.BuildInfo{Node: n, Const: consts, InTypes: types, OutTypes: make([]graph.Type, len(n.Outputs))})
	if err != nil {
		return nil, false
	}
	out, err := k.Run(&ops.Ctx{Context: context.Background(), Threads: 1}, in)
	if err != nil || len(out) < len(n.Outputs) {
		return nil, false
	}
	res := make([]*tensor.Tensor, len(n.Outputs))
	for j, o := range n.Outputs {
		if o == "" {
			continue
		}
		t, ok := out[j].(*tensor.Tensor)
		if !ok || t == nil || t.Len() > maxFoldElems {
			return nil, false
		}
		res[j] = t
	}
	return res, true
}
