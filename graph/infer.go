package graph

import (
	"fmt"
	"sync"

	"github.com/frugal-ml/frugal/tensor"
)

// ShapeFunc derives the output types of a node from its input types.
// consts[i] holds input i's value when it is a constant initializer. A shape
// function returns an error only when the node is certainly invalid (e.g. a
// Conv whose weight channels do not match its input); when it cannot tell,
// it leaves outputs partly unknown.
type ShapeFunc func(n *Node, in []Type, consts []*tensor.Tensor, opset int64) ([]Type, error)

var (
	shapeMu    sync.RWMutex
	shapeFuncs = map[string]ShapeFunc{}
)

// RegisterShape registers the shape function of an op in the default domain
// (domain "" ) or another domain.
func RegisterShape(domain, op string, f ShapeFunc) {
	if domain == "ai.onnx" {
		domain = ""
	}
	shapeMu.Lock()
	shapeFuncs[domain+":"+op] = f
	shapeMu.Unlock()
}

// HasShapeFunc reports whether an op has a shape function.
func HasShapeFunc(domain, op string) bool {
	if domain == "ai.onnx" {
		domain = ""
	}
	shapeMu.RLock()
	defer shapeMu.RUnlock()
	_, ok := shapeFuncs[domain+":"+op]
	return ok
}

// InferShapes propagates types through the graph in node order (call
// Validate or TopoSort first). opset gives the imported version of a domain.
// Declared value_info and outputs are kept where inference knows less.
func InferShapes(g *Graph, opset func(domain string) int64, outer map[string]Type) (map[string]Type, error) {
	types := map[string]Type{}
	for k, v := range outer {
		types[k] = v
	}
	for _, vi := range g.ValueInfo {
		types[vi.Name] = vi.Type
	}
	for _, o := range g.Outputs {
		if o.Type.DType != tensor.Undefined || o.Type.Kind != KindTensor {
			types[o.Name] = o.Type
		}
	}
	for _, in := range g.Inputs {
		types[in.Name] = in.Type
	}
	for name, t := range g.Initializers {
		types[name] = Type{DType: t.DType, Shape: ConcreteShape(t.Shape...), HasShape: true}
	}
	for _, n := range g.Nodes {
		in := make([]Type, len(n.Inputs))
		consts := make([]*tensor.Tensor, len(n.Inputs))
		for i, name := range n.Inputs {
			in[i] = types[name]
			if t, ok := g.Initializers[name]; ok {
				consts[i] = t
			}
		}
		d := n.Domain
		if d == "ai.onnx" {
			d = ""
		}
		shapeMu.RLock()
		f := shapeFuncs[d+":"+n.OpType]
		shapeMu.RUnlock()
		if f == nil {
			continue
		}
		var v int64
		if opset != nil {
			v = opset(d)
		}
		out, err := f(n, in, consts, v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n.Describe(), err)
		}
		for j, o := range n.Outputs {
			if o == "" || j >= len(out) {
				continue
			}
			if prev, ok := types[o]; ok && !out[j].HasShape && prev.HasShape {
				if out[j].DType == tensor.Undefined {
					out[j].DType = prev.DType
				}
				out[j].Shape, out[j].HasShape = prev.Shape, true
			}
			types[o] = out[j]
		}
	}
	return types, nil
}

// Known returns the concrete shape of t when fully known.
func (t Type) Known() ([]int, bool) {
	if !t.HasShape || t.Kind != KindTensor {
		return nil, false
	}
	return t.Shape.Ints()
}
