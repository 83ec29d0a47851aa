package passes

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// FoldConvBN folds an inference-mode BatchNormalization into the Conv
// that feeds it: W' = W * s, B' = (B - mean) * s + beta with
// s = scale / sqrt(var + eps), per output channel. It applies when the
// Conv's weights and the BN parameters are float32 initializers and the
// Conv output feeds only the BN.
func FoldConvBN(g *graph.Graph) (int, error) {
	n := 0
	for {
		k, err := foldConvBNOnce(g)
		if err != nil || k == 0 {
			return n, err
		}
		n += k
	}
}

func foldConvBNOnce(g *graph.Graph) (int, error) {
	prod := g.Producers()
	cons := g.Consumers()
	isInput := graphInputs(g)
	init := func(name string) *tensor.Tensor {
		if name == "" || isInput[name] {
			return nil
		}
		if t := g.Initializers[name]; t != nil && t.DType == tensor.Float32 {
			return t
		}
		return nil
	}
	for _, bn := range g.Nodes {
		if bn.OpType != "BatchNormalization" || !defaultDomain(bn) || len(bn.Inputs) != 5 {
			continue
		}
		if len(bn.Outputs) > 1 && anyNonEmpty(bn.Outputs[1:]) {
			continue
		}
		if tm, _ := bn.Int("training_mode", 0); tm != 0 {
			continue
		}
		if sp, err := bn.Int("spatial", 1); err != nil || sp != 1 {
			continue
		}
		conv := prod[bn.Inputs[0]]
		if conv == nil || conv.OpType != "Conv" || !defaultDomain(conv) || len(conv.Outputs) != 1 || conv.Has("activation") {
			continue
		}
		mid := conv.Outputs[0]
		if len(cons[mid]) != 1 || g.IsGraphOutput(mid) {
			continue
		}
		w := init(conv.Input(1))
		if w == nil || w.Rank() < 3 {
			continue
		}
		var b *tensor.Tensor
		if conv.Input(2) != "" {
			if b = init(conv.Input(2)); b == nil {
				continue
			}
		}
		sc, be, mu, va := init(bn.Inputs[1]), init(bn.Inputs[2]), init(bn.Inputs[3]), init(bn.Inputs[4])
		co := w.Shape[0]
		if sc == nil || be == nil || mu == nil || va == nil || sc.Len() != co || be.Len() != co || mu.Len() != co || va.Len() != co || (b != nil && b.Len() != co) {
			continue
		}
		eps, err := bn.Float("epsilon", 1e-5)
		if err != nil {
			return 0, err
		}
		nw := tensor.New(tensor.Float32, w.Shape...)
		nb := tensor.New(tensor.Float32, co)
		per := w.Len() / co
		for o := 0; o < co; o++ {
			s := float64(sc.F32()[o]) / math.Sqrt(float64(va.F32()[o])+float64(eps))
			for i := 0; i < per; i++ {
				nw.F32()[o*per+i] = float32(float64(w.F32()[o*per+i]) * s)
			}
			var bias float64
			if b != nil {
				bias = float64(b.F32()[o])
			}
			nb.F32()[o] = float32((bias-float64(mu.F32()[o]))*s + float64(be.F32()[o]))
		}
		wn, bname := uniqueName(g, conv.Input(1)+"_bnfold"), uniqueName(g, bn.Outputs[0]+"_bnfold_bias")
		g.AddInitializer(wn, nw)
		g.AddInitializer(bname, nb)
		conv.Inputs = []string{conv.Inputs[0], wn, bname}
		conv.Outputs = []string{bn.Outputs[0]}
		removeNode(g, bn)
		return 1, nil
	}
	return 0, nil
}

// FuseActivation folds a Relu, or a Clip with constant bounds, into the
// float32 Conv, Gemm or ai.frugal:FusedConv producing its input (the kernels apply it as an
// epilogue, see ops.ActivationFromNode).
func FuseActivation(g *graph.Graph) (int, error) {
	prod := g.Producers()
	cons := g.Consumers()
	isInput := graphInputs(g)
	n := 0
	for _, act := range append([]*graph.Node{}, g.Nodes...) {
		if (act.OpType != "Relu" && act.OpType != "Clip") || !defaultDomain(act) || len(act.Inputs) == 0 || len(act.Outputs) != 1 {
			continue
		}
		p := prod[act.Inputs[0]]
		fusedConv := p != nil && p.OpType == "FusedConv" && p.Domain == "ai.frugal"
		if p == nil || (!fusedConv && ((p.OpType != "Conv" && p.OpType != "Gemm") || !defaultDomain(p))) || len(p.Outputs) != 1 || p.Has("activation") {
			continue
		}
		if len(cons[p.Outputs[0]]) != 1 || g.IsGraphOutput(p.Outputs[0]) {
			continue
		}
		w := g.Initializers[p.Input(1)]
		if w == nil || isInput[p.Input(1)] || w.DType != tensor.Float32 {
			continue
		}
		attrs := []*graph.Attr{graph.AttrS("activation", act.OpType)}
		if act.OpType == "Clip" {
			lo, hi, ok := clipBounds(g, act, isInput)
			if !ok {
				continue
			}
			attrs = append(attrs, graph.AttrF("activation_min", lo), graph.AttrF("activation_max", hi))
		}
		for _, a := range attrs {
			p.SetAttr(a)
		}
		p.Outputs = []string{act.Outputs[0]}
		removeNode(g, act)
		n++
	}
	return n, nil
}

// clipBounds reads Clip's bounds from attributes (opset < 11) or constant
// scalar float32 inputs.
func clipBounds(g *graph.Graph, n *graph.Node, isInput map[string]bool) (float32, float32, bool) {
	lo, hi := float32(-math.MaxFloat32), float32(math.MaxFloat32)
	if len(n.Inputs) == 1 {
		var err error
		if lo, err = n.Float("min", lo); err != nil {
			return 0, 0, false
		}
		if hi, err = n.Float("max", hi); err != nil {
			return 0, 0, false
		}
		return lo, hi, true
	}
	for i, dst := range []*float32{&lo, &hi} {
		name := n.Input(i + 1)
		if name == "" {
			continue
		}
		t := g.Initializers[name]
		if t == nil || isInput[name] || t.DType != tensor.Float32 || t.Len() != 1 {
			return 0, 0, false
		}
		*dst = t.F32()[0]
	}
	return lo, hi, true
}

// graphInputs is the set of g's input names: an initializer that is also an
// input can be overridden by the caller, so it is not a constant.
func graphInputs(g *graph.Graph) map[string]bool {
	isInput := make(map[string]bool, len(g.Inputs))
	for _, in := range g.Inputs {
		isInput[in.Name] = true
	}
	return isInput
}

func defaultDomain(n *graph.Node) bool { return n.Domain == "" || n.Domain == "ai.onnx" }

func anyNonEmpty(s []string) bool {
	for _, v := range s {
		if v != "" {
			return true
		}
	}
	return false
}

func removeNode(g *graph.Graph, n *graph.Node) {
	for i, m := range g.Nodes {
		if m == n {
			g.Nodes = append(g.Nodes[:i], g.Nodes[i+1:]...)
			return
		}
	}
}

func uniqueName(g *graph.Graph, base string) string {
	taken := func(s string) bool {
		if _, ok := g.Initializers[s]; ok {
			return true
		}
		for _, n := range g.Nodes {
			for _, o := range n.Outputs {
				if o == s {
					return true
				}
			}
		}
		return false
	}
	name := base
	for i := 1; taken(name); i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	return name
}

// mergesValues names the passes that merge nodes so that intermediate
// values (a Conv output before its BatchNormalization or activation) no
// longer exist.
var mergesValues = map[string]bool{"fold-conv-bn": true, "fuse-conv-add": true, "fuse-activation": true, "fuse-pw-dw": true,
	"fuse-matmul-add": true, "fuse-layernorm": true, "fuse-gelu": true}

// Preserving returns list without the passes that hide intermediate
// values, for sessions that must expose every value (runtime KeepAll).
func Preserving(list []Pass) []Pass {
	var out []Pass
	for _, p := range list {
		if !mergesValues[p.Name] {
			out = append(out, p)
		}
	}
	return out
}
