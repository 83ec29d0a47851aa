package runtime

import (
	"fmt"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/ops"
)

// The ai.onnx.preview.training Gradient operator is expanded at load into
// explicit backward nodes (reverse-mode differentiation of the nodes between
// its xs and y), so the runtime executes plain ops. Broadcasting is undone
// with ai.frugal ReduceToShapeOf; the seed is OnesLike(y).

const trainingDomain = "ai.onnx.preview.training"

func isGradientNode(n *graph.Node) bool {
	return n.OpType == "Gradient" && n.Domain == trainingDomain
}

func hasGradients(g *graph.Graph) bool {
	for _, n := range g.Nodes {
		if isGradientNode(n) {
			return true
		}
	}
	return false
}

// gradBuilder emits backward nodes with unique names.
type gradBuilder struct {
	prefix string
	k      int
	nodes  []*graph.Node
}

func (b *gradBuilder) emit(op, domain string, inputs ...string) string {
	b.k++
	out := fmt.Sprintf("%s_%d", b.prefix, b.k)
	b.nodes = append(b.nodes, &graph.Node{Name: out, OpType: op, Domain: domain, Inputs: inputs, Outputs: []string{out}, Attrs: map[string]*graph.Attr{}})
	return out
}

func (b *gradBuilder) op(op string, inputs ...string) string { return b.emit(op, "", inputs...) }

func (b *gradBuilder) reduceTo(g, like string) string {
	return b.emit("ReduceToShapeOf", ops.FrugalDomain, g, like)
}

// ExpandGradients replaces every Gradient node of g by its backward graph.
func ExpandGradients(g *graph.Graph) error {
	var out []*graph.Node
	for gi, n := range g.Nodes {
		if !isGradientNode(n) {
			out = append(out, n)
			continue
		}
		nodes, err := expandGradient(g, n, gi)
		if err != nil {
			return fmt.Errorf("%s: %w", n.Describe(), err)
		}
		out = append(out, nodes...)
	}
	g.Nodes = out
	return nil
}

func expandGradient(g *graph.Graph, n *graph.Node, id int) ([]*graph.Node, error) {
	xa, ok := n.Attrs["xs"]
	if !ok || xa.Type != graph.AttrStrings {
		return nil, fmt.Errorf("Gradient needs the strings attribute xs")
	}
	y, err := n.String("y", "")
	if err != nil || y == "" {
		return nil, fmt.Errorf("Gradient needs the attribute y")
	}
	xs := xa.Strings
	if len(n.Outputs) != len(xs) {
		return nil, fmt.Errorf("Gradient has %d outputs for %d xs", len(n.Outputs), len(xs))
	}
	producers := g.Producers()
	isX := map[string]bool{}
	for _, x := range xs {
		isX[x] = true
	}
	// Nodes between xs and y: ancestors of y that depend on some x.
	depends := map[string]bool{}
	for x := range isX {
		depends[x] = true
	}
	for _, m := range g.Nodes {
		if m == n {
			continue
		}
		for _, in := range m.Inputs {
			if depends[in] {
				for _, o := range m.Outputs {
					if !isX[o] {
						depends[o] = true
					}
				}
				break
			}
		}
	}
	var path []*graph.Node
	seen := map[*graph.Node]bool{}
	var visit func(v string)
	visit = func(v string) {
		if isX[v] || !depends[v] {
			return
		}
		p := producers[v]
		if p == nil || seen[p] || p == n {
			return
		}
		seen[p] = true
		for _, in := range p.Inputs {
			visit(in)
		}
		path = append(path, p)
	}
	visit(y)
	b := &gradBuilder{prefix: fmt.Sprintf("__grad%d_%s", id, y)}
	grads := map[string]string{y: b.emit("OnesLike", ops.FrugalDomain, y)}
	add := func(v, gr string) {
		if !depends[v] {
			return
		}
		if prev, ok := grads[v]; ok {
			grads[v] = b.op("Add", prev, gr)
		} else {
			grads[v] = gr
		}
	}
	for i := len(path) - 1; i >= 0; i-- {
		m := path[i]
		if len(m.Outputs) != 1 {
			return nil, fmt.Errorf("cannot differentiate %s (multiple outputs)", m.Describe())
		}
		gout, ok := grads[m.Outputs[0]]
		if !ok {
			continue
		}
		in := m.Inputs
		out := m.Outputs[0]
		switch m.OpType {
		case "Add":
			add(in[0], b.reduceTo(gout, in[0]))
			add(in[1], b.reduceTo(gout, in[1]))
		case "Sub":
			add(in[0], b.reduceTo(gout, in[0]))
			add(in[1], b.reduceTo(b.op("Neg", gout), in[1]))
		case "Mul":
			add(in[0], b.reduceTo(b.op("Mul", gout, in[1]), in[0]))
			add(in[1], b.reduceTo(b.op("Mul", gout, in[0]), in[1]))
		case "Div":
			add(in[0], b.reduceTo(b.op("Div", gout, in[1]), in[0]))
			q := b.op("Div", b.op("Mul", gout, out), in[1])
			add(in[1], b.reduceTo(b.op("Neg", q), in[1]))
		case "Neg":
			add(in[0], b.op("Neg", gout))
		case "Identity":
			add(in[0], gout)
		case "Sum":
			for _, v := range in {
				add(v, b.reduceTo(gout, v))
			}
		case "Exp":
			add(in[0], b.op("Mul", gout, out))
		case "Log":
			add(in[0], b.op("Div", gout, in[0]))
		case "Sqrt":
			add(in[0], b.op("Div", gout, b.op("Add", out, out)))
		case "Tanh":
			one := b.emit("OnesLike", ops.FrugalDomain, out)
			add(in[0], b.op("Mul", gout, b.op("Sub", one, b.op("Mul", out, out))))
		case "Sigmoid":
			one := b.emit("OnesLike", ops.FrugalDomain, out)
			add(in[0], b.op("Mul", gout, b.op("Mul", out, b.op("Sub", one, out))))
		default:
			return nil, fmt.Errorf("Gradient through %s is not supported", m.Describe())
		}
	}
	for i, x := range xs {
		o := n.Outputs[i]
		if o == "" {
			continue
		}
		src, ok := grads[x]
		if !ok {
			src = b.emit("ZerosLike", ops.FrugalDomain, x)
		}
		b.nodes = append(b.nodes, &graph.Node{Name: o, OpType: "Identity", Inputs: []string{src}, Outputs: []string{o}, Attrs: map[string]*graph.Attr{}})
	}
	return b.nodes, nil
}
