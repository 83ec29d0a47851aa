package ops

import (
	"context"
	"fmt"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// interp is a minimal subgraph interpreter standing in for the runtime's
// Ctx.RunGraph: it builds and runs nodes in order.
func interp(g *graph.Graph, in []Value, outer func(string) (Value, bool)) ([]Value, error) {
	vals := map[string]Value{}
	for i, vi := range g.Inputs {
		if i < len(in) {
			vals[vi.Name] = in[i]
		}
	}
	for k, v := range g.Initializers {
		vals[k] = v
	}
	get := func(name string) Value {
		if name == "" {
			return nil
		}
		if v, ok := vals[name]; ok {
			return v
		}
		if outer != nil {
			if v, ok := outer(name); ok {
				return v
			}
		}
		return nil
	}
	ctx := &Ctx{Context: context.Background(), Threads: 1}
	ctx.RunGraph = interp
	ctx.Outer = func(name string) (Value, bool) { v := get(name); return v, v != nil }
	for _, n := range g.Nodes {
		args := make([]Value, len(n.Inputs))
		for i, name := range n.Inputs {
			args[i] = get(name)
		}
		k, _, err := Build(&BuildInfo{Node: n, Opset: 17, Const: make([]*tensor.Tensor, len(args)), InTypes: make([]graph.Type, len(args))})
		if err != nil {
			return nil, err
		}
		out, err := k.Run(ctx, args)
		if err != nil {
			return nil, err
		}
		for j, o := range n.Outputs {
			if j < len(out) {
				vals[o] = out[j]
			}
		}
	}
	res := make([]Value, len(g.Outputs))
	for j, o := range g.Outputs {
		if res[j] = get(o.Name); res[j] == nil {
			return nil, fmt.Errorf("output %q not produced", o.Name)
		}
	}
	return res, nil
}

func runCF(t *testing.T, n *graph.Node, opset int64, outer map[string]Value, in ...Value) []Value {
	t.Helper()
	k, _, err := Build(&BuildInfo{Node: n, Opset: opset, Const: make([]*tensor.Tensor, len(in)), InTypes: make([]graph.Type, len(in))})
	if err != nil {
		t.Fatal(err)
	}
	ctx := &Ctx{Context: context.Background(), Threads: 1, RunGraph: interp,
		Outer: func(name string) (Value, bool) { v, ok := outer[name]; return v, ok }}
	out, err := k.Run(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestIfLoopScanKernels(t *testing.T) {
	then := graph.New("then")
	then.AddNode("Neg", []string{"x"}, []string{"y"})
	then.Outputs = []graph.ValueInfo{{Name: "y"}}
	els := graph.New("else")
	els.AddNode("Identity", []string{"x"}, []string{"y"})
	els.Outputs = []graph.ValueInfo{{Name: "y"}}
	ifn := mk("If", 1, 1, graph.AttrG("then_branch", then), graph.AttrG("else_branch", els))
	out := runCF(t, ifn, 17, map[string]Value{"x": f32s(sh(1), 2)}, tensor.Scalar(true))
	expect(t, "If then", out[0].(*tensor.Tensor), sh(1), []float64{-2}, 0)

	// Loop: stop when the carried value reaches 3 (cond computed in the body).
	body := graph.New("body")
	body.Inputs = []graph.ValueInfo{{Name: "i"}, {Name: "c"}, {Name: "v"}}
	body.AddInitializer("one", f32s(nil, 1))
	body.AddInitializer("three", f32s(nil, 3))
	body.AddNode("Add", []string{"v", "one"}, []string{"v2"})
	body.AddNode("Less", []string{"v2", "three"}, []string{"c2"})
	body.Outputs = []graph.ValueInfo{{Name: "c2"}, {Name: "v2"}, {Name: "i"}}
	loop := mk("Loop", 3, 2, graph.AttrG("body", body))
	lo := runCF(t, loop, 17, nil, nil, tensor.Scalar(true), f32s(nil, 0))
	expect(t, "Loop carried", lo[0].(*tensor.Tensor), sh(), []float64{3}, 0)
	expect(t, "Loop scan of i", lo[1].(*tensor.Tensor), sh(3), []float64{0, 1, 2}, 0)
	zero := runCF(t, loop, 17, nil, i64s(nil, 0), nil, f32s(nil, 5))
	expect(t, "Loop zero trips", zero[0].(*tensor.Tensor), sh(), []float64{5}, 0)

	// Scan with a reversed input.
	sb := graph.New("scan")
	sb.Inputs = []graph.ValueInfo{{Name: "s"}, {Name: "x"}}
	sb.AddNode("Add", []string{"s", "x"}, []string{"s2"})
	sb.AddNode("Identity", []string{"s2"}, []string{"o"})
	sb.Outputs = []graph.ValueInfo{{Name: "s2"}, {Name: "o"}}
	scan := mk("Scan", 2, 2, graph.AttrG("body", sb), graph.AttrI("num_scan_inputs", 1), graph.IntsAttr("scan_input_directions", 1))
	so := runCF(t, scan, 17, nil, f32s(nil, 0), f32s(sh(3), 1, 2, 3))
	expect(t, "Scan reverse", so[1].(*tensor.Tensor), sh(3), []float64{3, 5, 6}, 0)
	expectErr(t, mk("If", 1, 1), 17, "then_branch", tensor.Scalar(true))
}

func TestSequenceMap(t *testing.T) {
	body := graph.New("m")
	body.Inputs = []graph.ValueInfo{{Name: "x"}}
	body.AddNode("Neg", []string{"x"}, []string{"y"})
	body.Outputs = []graph.ValueInfo{{Name: "y"}}
	seq := &tensor.Sequence{ElemType: tensor.Float32, Tensors: []*tensor.Tensor{f32s(sh(1), 1), f32s(sh(2), 2, 3)}}
	out := runCF(t, mk("SequenceMap", 1, 1, graph.AttrG("body", body)), 17, nil, seq)
	s := out[0].(*tensor.Sequence)
	if len(s.Tensors) != 2 || s.Tensors[1].F32()[1] != -3 {
		t.Fatalf("SequenceMap: %v", s.Tensors)
	}
}
