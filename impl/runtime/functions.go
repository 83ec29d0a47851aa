package runtime

import (
	"fmt"

	"github.com/frugal-ml/frugal/graph"
)

// Model-local functions (ONNX FunctionProto) are expanded at load: each
// node that calls a function is replaced by the function body, its formal
// inputs and outputs bound to the call's actual names, its internal values
// renamed apart, and attribute references (ref_attr_name) resolved from the
// call's attributes or the function's defaults. Expansion recurses into
// subgraphs and into functions that call functions.

const maxFunctionDepth = 64

func funcKey(domain, name string) string {
	if domain == "ai.onnx" {
		domain = ""
	}
	return domain + ":" + name
}

// lookupFunction finds a model-local function by the node's domain and op.
func lookupFunction(m *graph.Model, n *graph.Node) *graph.Function {
	if m == nil || len(m.Functions) == 0 {
		return nil
	}
	if f, ok := m.Functions[funcKey(n.Domain, n.OpType)]; ok {
		return f
	}
	for _, f := range m.Functions {
		if f.Name == n.OpType && funcKey(f.Domain, "") == funcKey(n.Domain, "") {
			return f
		}
	}
	return nil
}

// hasFunctionCalls reports whether any node (in subgraphs too) calls a
// model-local function.
func hasFunctionCalls(m *graph.Model, g *graph.Graph) bool {
	for _, n := range g.Nodes {
		if lookupFunction(m, n) != nil {
			return true
		}
		for _, a := range n.Attrs {
			for _, sg := range attrGraphs(a) {
				if hasFunctionCalls(m, sg) {
					return true
				}
			}
		}
	}
	return false
}

func attrGraphs(a *graph.Attr) []*graph.Graph {
	gs := append([]*graph.Graph{}, a.Graphs...)
	if a.G != nil {
		gs = append(gs, a.G)
	}
	return gs
}

// ExpandFunctions inlines every call of a model-local function in g (which
// the caller owns; pass a clone to keep the model intact).
func ExpandFunctions(m *graph.Model, g *graph.Graph) error {
	counter := 0
	return expandIn(m, g, &counter, 0)
}

func expandIn(m *graph.Model, g *graph.Graph, counter *int, depth int) error {
	if depth > maxFunctionDepth {
		return fmt.Errorf("functions nest deeper than %d levels (recursive function?)", maxFunctionDepth)
	}
	var out []*graph.Node
	for _, n := range g.Nodes {
		for _, a := range n.Attrs {
			for _, sg := range attrGraphs(a) {
				if err := expandIn(m, sg, counter, depth); err != nil {
					return err
				}
			}
		}
		f := lookupFunction(m, n)
		if f == nil {
			out = append(out, n)
			continue
		}
		body, err := inlineCall(f, n, counter)
		if err != nil {
			return fmt.Errorf("%s: expanding function %s: %w", n.Describe(), f.Name, err)
		}
		sub := &graph.Graph{Name: g.Name, Nodes: body}
		if err := expandIn(m, sub, counter, depth+1); err != nil {
			return err
		}
		out = append(out, sub.Nodes...)
	}
	g.Nodes = out
	return nil
}

// inlineCall returns the body of f bound to call node n.
func inlineCall(f *graph.Function, n *graph.Node, counter *int) ([]*graph.Node, error) {
	*counter++
	prefix := fmt.Sprintf("%s__%s_%d__", n.OpType, firstNonEmpty(n.Name, n.Outputs...), *counter)
	rename := map[string]string{"": ""}
	for i, formal := range f.Inputs {
		actual := ""
		if i < len(n.Inputs) {
			actual = n.Inputs[i]
		}
		rename[formal] = actual
	}
	for i, formal := range f.Outputs {
		actual := ""
		if i < len(n.Outputs) {
			actual = n.Outputs[i]
		}
		if actual == "" {
			actual = prefix + formal
		}
		rename[formal] = actual
	}
	name := func(s string) string {
		if r, ok := rename[s]; ok {
			return r
		}
		r := prefix + s
		rename[s] = r
		return r
	}
	attrs := map[string]*graph.Attr{}
	for k, a := range f.AttrDefaults {
		attrs[k] = a
	}
	for k, a := range n.Attrs {
		attrs[k] = a
	}
	var body []*graph.Node
	for _, bn := range f.Nodes {
		c := bn.Clone()
		for i, s := range c.Inputs {
			c.Inputs[i] = name(s)
		}
		for i, s := range c.Outputs {
			c.Outputs[i] = name(s)
		}
		if c.Name != "" {
			c.Name = prefix + c.Name
		}
		for k, a := range c.Attrs {
			if a.RefAttrName == "" {
				continue
			}
			v, ok := attrs[a.RefAttrName]
			if !ok {
				delete(c.Attrs, k) // unset optional attribute
				continue
			}
			r := *v
			r.Name = k
			c.Attrs[k] = &r
		}
		for _, a := range c.Attrs {
			for _, sg := range attrGraphs(a) {
				renameCaptures(sg, rename)
			}
		}
		body = append(body, c)
	}
	return body, nil
}

// renameCaptures rewrites names a subgraph captures from the function body.
func renameCaptures(g *graph.Graph, rename map[string]string) {
	free := map[string]bool{}
	for _, s := range g.FreeInputs() {
		free[s] = true
	}
	for _, n := range g.Nodes {
		for i, s := range n.Inputs {
			if r, ok := rename[s]; ok && free[s] {
				n.Inputs[i] = r
			}
		}
		for _, a := range n.Attrs {
			for _, sg := range attrGraphs(a) {
				renameCaptures(sg, rename)
			}
		}
	}
	for i, o := range g.Outputs {
		if r, ok := rename[o.Name]; ok && free[o.Name] {
			g.Outputs[i].Name = r
		}
	}
}

func firstNonEmpty(s string, more ...string) string {
	if s != "" {
		return s
	}
	for _, m := range more {
		if m != "" {
			return m
		}
	}
	return "call"
}
