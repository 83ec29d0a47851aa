package passes

import (
	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// FuseConvAdd turns Add(Conv(x, w, b), z) into ai.frugal:FusedConv(x, w, b,
// z): the residual joins of ResNet-style blocks. The kernel preloads the
// output with z and lets the convolution's GEMM accumulate onto it, so the
// sum costs no extra pass over memory; a following Relu is then fused into
// the same store by FuseActivation. Only float32 Convs with constant
// weights and no fused activation qualify (the activation must apply after
// the sum).
func FuseConvAdd(g *graph.Graph) (int, error) {
	prod := g.Producers()
	cons := g.Consumers()
	isInput := graphInputs(g)
	n := 0
	for _, add := range append([]*graph.Node{}, g.Nodes...) {
		if add.OpType != "Add" || !defaultDomain(add) || len(add.Inputs) != 2 || len(add.Outputs) != 1 || add.Inputs[0] == add.Inputs[1] {
			continue
		}
		for side := 0; side < 2; side++ {
			conv := prod[add.Inputs[side]]
			if conv == nil || conv.OpType != "Conv" || !defaultDomain(conv) || len(conv.Outputs) != 1 || conv.Has("activation") {
				continue
			}
			if len(cons[conv.Outputs[0]]) != 1 || g.IsGraphOutput(conv.Outputs[0]) {
				continue
			}
			w := g.Initializers[conv.Input(1)]
			if w == nil || isInput[conv.Input(1)] || w.DType != tensor.Float32 {
				continue
			}
			z := add.Inputs[1-side]
			if _, isConst := g.Initializers[z]; isConst {
				continue // a constant addend is a bias: fold-conv-bn territory
			}
			// The fused node takes the Add's place, after both z and the
			// convolution's inputs are computed.
			fused := &graph.Node{
				Name: conv.Name, OpType: "FusedConv", Domain: "ai.frugal",
				Inputs:  []string{conv.Input(0), conv.Input(1), conv.Input(2), z},
				Outputs: []string{add.Outputs[0]},
				Attrs:   conv.Attrs,
			}
			for i, m := range g.Nodes {
				if m == add {
					g.Nodes[i] = fused
				}
			}
			removeNode(g, conv)
			n++
			break
		}
		if n > 0 {
			prod = g.Producers()
			cons = g.Consumers()
		}
	}
	return n, nil
}
