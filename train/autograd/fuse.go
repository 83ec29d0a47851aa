package autograd

import "github.com/frugal-ml/frugal/graph"

// fuseActivations rewrites Conv -> Relu and Gemm -> Relu pairs, where the
// Relu is the only reader of the producer's output and that output is not a
// graph output, into the producer with the "activation" attribute the
// runtime's fusion pass also uses. The training kernels compute the ReLU in
// the GEMM epilogue and mask the gradient in their backward, which saves a
// pass over the activations each way. keep lists values that must stay
// observable (never fused away).
func fuseActivations(g *graph.Graph, keep map[string]bool) {
	consumers := g.Consumers()
	var out []*graph.Node
	drop := map[*graph.Node]bool{}
	for _, n := range g.Nodes {
		if drop[n] {
			continue
		}
		if (n.OpType == "Conv" || n.OpType == "Gemm") && n.Domain == "" && len(n.Outputs) == 1 && !n.Has("activation") {
			y := n.Outputs[0]
			cs := consumers[y]
			if len(cs) == 1 && cs[0].OpType == "Relu" && cs[0].Domain == "" && !g.IsGraphOutput(y) && !keep[y] &&
				len(cs[0].Outputs) == 1 && cs[0].Outputs[0] != "" {
				r := cs[0]
				n.Outputs = []string{r.Outputs[0]}
				n.SetAttr(graph.AttrS("activation", "Relu"))
				drop[r] = true
			}
		}
		out = append(out, n)
	}
	g.Nodes = out
}
