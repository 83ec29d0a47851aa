package passes

import (
	"math"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// Fusions for transformer exports whose opset predates ONNX's
// LayerNormalization (17) and Gelu (20): PyTorch's TorchScript exporter
// writes both as chains of elementwise nodes, and nn.Linear on 3-D inputs
// as MatMul + Add. Each fused node takes the place of the chain's last node
// (every input of the chain is computed by then) and the chain's
// intermediate values must have no other reader and not be graph outputs.

// match is a helper over one graph state.
type match struct {
	g       *graph.Graph
	prod    map[string]*graph.Node
	cons    map[string][]*graph.Node
	isInput map[string]bool
}

func newMatch(g *graph.Graph) *match {
	return &match{g: g, prod: g.Producers(), cons: g.Consumers(), isInput: graphInputs(g)}
}

// only returns the single reader of value v, or nil when v has several
// readers or is a graph output.
func (m *match) only(v string) *graph.Node {
	c := m.cons[v]
	if len(c) != 1 || m.g.IsGraphOutput(v) {
		return nil
	}
	return c[0]
}

// constF32 returns the float32 initializer named v (not overridable by a
// graph input).
func (m *match) constF32(v string) *tensor.Tensor {
	if v == "" || m.isInput[v] {
		return nil
	}
	if t := m.g.Initializers[v]; t != nil && t.DType == tensor.Float32 {
		return t
	}
	return nil
}

// scalar returns the value of a one-element float32 constant.
func (m *match) scalar(v string) (float32, bool) {
	t := m.constF32(v)
	if t == nil || t.Len() != 1 {
		return 0, false
	}
	return t.F32()[0], true
}

// isOp reports a default-domain node of the given type with one output.
func isOp(n *graph.Node, op string, nin int) bool {
	return n != nil && n.OpType == op && defaultDomain(n) && len(n.Inputs) == nin && len(n.Outputs) == 1
}

// other returns the input of a binary node that is not v ("" when both or
// neither are v).
func other(n *graph.Node, v string) string {
	switch {
	case n.Inputs[0] == v && n.Inputs[1] != v:
		return n.Inputs[1]
	case n.Inputs[1] == v && n.Inputs[0] != v:
		return n.Inputs[0]
	}
	return ""
}

// replaceChain puts fused in last's place and removes the rest of the chain.
func replaceChain(g *graph.Graph, fused *graph.Node, last *graph.Node, rest ...*graph.Node) {
	for i, n := range g.Nodes {
		if n == last {
			g.Nodes[i] = fused
		}
	}
	for _, n := range rest {
		removeNode(g, n)
	}
}

// FuseMatMulAdd turns Add(MatMul(A, W), b), with W a float32 constant
// matrix and b a float32 constant vector of W's column count (either side
// of the Add), into ai.frugal:MatMulBias(A, W, b): the bias is added in the
// GEMM's store and the MatMul's output is never written alone. An
// ai.frugal:QGemm with a float output (a QDQ model's last layer, after
// fuse-qdq) takes such a bias as its input 9, added after the scaling.
func FuseMatMulAdd(g *graph.Graph) (int, error) {
	m := newMatch(g)
	n := 0
	for _, add := range append([]*graph.Node{}, g.Nodes...) {
		if !isOp(add, "Add", 2) {
			continue
		}
		for side := 0; side < 2; side++ {
			if q := m.prod[add.Inputs[side]]; m.qgemmBias(q, add, side) {
				n++
				break
			}
			mm := m.prod[add.Inputs[side]]
			if !isOp(mm, "MatMul", 2) || m.only(mm.Outputs[0]) != add {
				continue
			}
			w, b := m.constF32(mm.Inputs[1]), m.constF32(add.Inputs[1-side])
			if w == nil || w.Rank() != 2 || b == nil || b.Rank() != 1 || b.Len() != w.Shape[1] || add.Inputs[1-side] == mm.Outputs[0] {
				continue
			}
			fused := &graph.Node{Name: mm.Name, OpType: "MatMulBias", Domain: "ai.frugal",
				Inputs: []string{mm.Inputs[0], mm.Inputs[1], add.Inputs[1-side]}, Outputs: []string{add.Outputs[0]}}
			replaceChain(g, fused, add, mm)
			m = newMatch(g)
			n++
			break
		}
	}
	return n, nil
}

// qgemmBias moves the constant bias vector of add (the operand on the
// other side from side) into q, a float-output ai.frugal:QGemm read only
// by add, as q's input 9.
func (m *match) qgemmBias(q, add *graph.Node, side int) bool {
	if q == nil || q.OpType != "QGemm" || q.Domain != "ai.frugal" || len(q.Outputs) != 1 || len(q.Inputs) > 9 || q.Input(6) != "" {
		return false
	}
	if m.only(q.Outputs[0]) != add {
		return false
	}
	w := m.g.Initializers[q.Input(3)]
	b := m.constF32(add.Inputs[1-side])
	if w == nil || m.isInput[q.Input(3)] || w.Rank() != 2 || b == nil || b.Rank() != 1 || b.Len() != w.Shape[0] {
		return false
	}
	for len(q.Inputs) < 9 {
		q.Inputs = append(q.Inputs, "")
	}
	q.Inputs = append(q.Inputs, add.Inputs[1-side])
	q.Outputs = []string{add.Outputs[0]}
	removeNode(m.g, add)
	*m = *newMatch(m.g)
	return true
}

// FuseGelu turns x * 0.5 * (1 + Erf(x / sqrt 2)) into ai.frugal:Gelu(x),
// whatever the order of the operands of each Add and Mul and whether the
// 0.5 multiplies x first or the product last; x / sqrt 2 may also be
// written x * (1 / sqrt 2). The constants must be exact in float32
// (sqrt 2 within 1e-6 relative).
func FuseGelu(g *graph.Graph) (int, error) {
	m := newMatch(g)
	n := 0
	near := func(v float32, want float64) bool { return math.Abs(float64(v)-want) <= 1e-6*want }
	for _, erf := range append([]*graph.Node{}, g.Nodes...) {
		if !isOp(erf, "Erf", 1) {
			continue
		}
		// z = x / sqrt 2
		sc := m.prod[erf.Inputs[0]]
		if sc == nil || len(sc.Inputs) != 2 || m.only(sc.Outputs[0]) != erf {
			continue
		}
		var x string
		switch {
		case isOp(sc, "Div", 2):
			if c, ok := m.scalar(sc.Inputs[1]); ok && near(c, math.Sqrt2) {
				x = sc.Inputs[0]
			}
		case isOp(sc, "Mul", 2):
			for side := 0; side < 2; side++ {
				if c, ok := m.scalar(sc.Inputs[side]); ok && near(c, 1/math.Sqrt2) {
					x = sc.Inputs[1-side]
				}
			}
		}
		if x == "" {
			continue
		}
		// 1 + erf
		add := m.only(erf.Outputs[0])
		if !isOp(add, "Add", 2) {
			continue
		}
		if c, ok := m.scalar(other(add, erf.Outputs[0])); !ok || c != 1 {
			continue
		}
		mul := m.only(add.Outputs[0])
		if !isOp(mul, "Mul", 2) {
			continue
		}
		f := other(mul, add.Outputs[0])
		var last *graph.Node
		chain := []*graph.Node{sc, erf, add}
		if f == x {
			// (x * (1 + erf)) * 0.5
			half := m.only(mul.Outputs[0])
			if !isOp(half, "Mul", 2) {
				continue
			}
			if c, ok := m.scalar(other(half, mul.Outputs[0])); !ok || c != 0.5 {
				continue
			}
			chain = append(chain, mul)
			last = half
		} else {
			// (x * 0.5) * (1 + erf)
			h := m.prod[f]
			if !isOp(h, "Mul", 2) || m.only(f) != mul {
				continue
			}
			if c, ok := m.scalar(other(h, x)); !ok || c != 0.5 {
				continue
			}
			chain = append(chain, h)
			last = mul
		}
		fused := &graph.Node{Name: erf.Name, OpType: "Gelu", Domain: "ai.frugal", Inputs: []string{x}, Outputs: []string{last.Outputs[0]}}
		replaceChain(g, fused, last, chain...)
		m = newMatch(g)
		n++
	}
	return n, nil
}

// FuseLayerNorm turns the decomposition PyTorch (opset < 17) exports for
// nn.LayerNorm,
//
//	d = x - ReduceMean(x); y = d / Sqrt(ReduceMean(Pow(d, 2)) + eps) * gamma + beta
//
// (the square also as Mul(d, d); the affine Mul and Add optional, their
// operands in either order) into LayerNormalization(x, gamma, beta) with
// axis = -k for reductions over the last k axes (given as negative axes,
// as attribute or, from opset 18, as input). gamma and beta must be float32
// constants of rank <= k so that the output keeps x's shape; without a
// Mul, gamma is a single 1.
func FuseLayerNorm(g *graph.Graph) (int, error) {
	m := newMatch(g)
	n := 0
	for _, rm := range append([]*graph.Node{}, g.Nodes...) {
		k, ok := m.trailingMean(rm)
		if !ok {
			continue
		}
		x := rm.Inputs[0]
		sub := m.only(rm.Outputs[0])
		if !isOp(sub, "Sub", 2) || sub.Inputs[0] != x || sub.Inputs[1] != rm.Outputs[0] {
			continue
		}
		d := sub.Outputs[0]
		if m.g.IsGraphOutput(d) {
			continue
		}
		var sq, div *graph.Node
		var cd []*graph.Node // d's distinct readers: the square and the Div
		for _, c := range m.cons[d] {
			if len(cd) == 0 || cd[len(cd)-1] != c {
				cd = append(cd, c)
			}
		}
		if len(cd) != 2 {
			continue
		}
		for _, c := range cd {
			switch {
			case isOp(c, "Div", 2) && c.Inputs[0] == d && c.Inputs[1] != d:
				div = c
			case isOp(c, "Pow", 2) && c.Inputs[0] == d:
				if p, ok := m.scalar(c.Inputs[1]); ok && p == 2 {
					sq = c
				}
			case isOp(c, "Mul", 2) && c.Inputs[0] == d && c.Inputs[1] == d:
				sq = c
			}
		}
		if sq == nil || div == nil {
			continue
		}
		rm2 := m.only(sq.Outputs[0])
		if k2, ok := m.trailingMean(rm2); !ok || k2 != k || rm2.Inputs[0] != sq.Outputs[0] {
			continue
		}
		addEps := m.only(rm2.Outputs[0])
		if !isOp(addEps, "Add", 2) {
			continue
		}
		eps, ok := m.scalar(other(addEps, rm2.Outputs[0]))
		if !ok || eps < 0 {
			continue
		}
		sqrt := m.only(addEps.Outputs[0])
		if !isOp(sqrt, "Sqrt", 1) || m.only(sqrt.Outputs[0]) != div || div.Inputs[1] != sqrt.Outputs[0] {
			continue
		}
		chain := []*graph.Node{rm, sub, sq, rm2, addEps, sqrt, div}
		last := div
		var gamma, beta string
		affine := func(op string) string {
			next := m.only(last.Outputs[0])
			if !isOp(next, op, 2) {
				return ""
			}
			c := other(next, last.Outputs[0])
			if t := m.constF32(c); t == nil || t.Rank() > k {
				return ""
			}
			chain = append(chain, next)
			last = next
			return c
		}
		gamma = affine("Mul")
		beta = affine("Add")
		if gamma == "" {
			gamma = uniqueName(g, rm.Name+"_ln_scale")
			g.AddInitializer(gamma, tensor.MustFromSlice([]float32{1}, 1))
		}
		inputs := []string{x, gamma}
		if beta != "" {
			inputs = append(inputs, beta)
		}
		fused := &graph.Node{Name: rm.Name, OpType: "LayerNormalization", Inputs: inputs, Outputs: []string{last.Outputs[0]},
			Attrs: map[string]*graph.Attr{}}
		fused.SetAttr(graph.AttrI("axis", int64(-k)))
		fused.SetAttr(graph.AttrF("epsilon", eps))
		replaceChain(g, fused, last, chain[:len(chain)-1]...)
		m = newMatch(g)
		n++
	}
	return n, nil
}

// trailingMean reports a ReduceMean keeping its dimensions over the last k
// axes, given as the negative axes -k..-1 (attribute, or constant input
// from opset 18).
func (m *match) trailingMean(n *graph.Node) (int, bool) {
	if n == nil || n.OpType != "ReduceMean" || !defaultDomain(n) || len(n.Outputs) != 1 || len(n.Inputs) == 0 || len(n.Inputs) > 2 {
		return 0, false
	}
	if kd, err := n.Int("keepdims", 1); err != nil || kd != 1 {
		return 0, false
	}
	if nz, err := n.Int("noop_with_empty_axes", 0); err != nil || nz != 0 {
		return 0, false
	}
	var axes []int64
	if len(n.Inputs) == 2 {
		t := m.g.Initializers[n.Inputs[1]]
		if t == nil || m.isInput[n.Inputs[1]] || t.DType != tensor.Int64 {
			return 0, false
		}
		axes = t.I64()
	} else {
		a, ok := n.Attrs["axes"]
		if !ok || a.Type != graph.AttrInts {
			return 0, false
		}
		axes = a.Ints
	}
	k := len(axes)
	if k == 0 {
		return 0, false
	}
	seen := make([]bool, k)
	for _, a := range axes {
		if a >= 0 || a < int64(-k) || seen[-a-1] {
			return 0, false
		}
		seen[-a-1] = true
	}
	return k, true
}
