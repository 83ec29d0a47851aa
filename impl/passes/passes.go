// Package passes holds implementation-level graph rewrites: graph in, graph
// out, each named and testable alone, applied by the runtime in a flat,
// printable order before kernels are chosen.
package passes

import (
	"fmt"

	"github.com/frugal-ml/frugal/graph"
)

// Pass rewrites a graph in place and reports how many changes it made.
type Pass struct {
	Name string
	Run  func(g *graph.Graph) (int, error)
}

// Default is the ordered list the runtime applies.
var Default = []Pass{
	{"fold-constants", FoldConstants},
	{"fuse-qdq", FuseQDQ},
	{"fold-conv-bn", FoldConvBN},
	{"fuse-conv-add", FuseConvAdd},
	{"fuse-activation", FuseActivation},
	{"fuse-matmul-add", FuseMatMulAdd},
	{"fuse-layernorm", FuseLayerNorm},
	{"fuse-gelu", FuseGelu},
	{"fuse-pw-dw", FusePwDw},
	{"channels-last", ChannelsLast},
	{"dead-nodes", DeadNodes},
}

// Apply runs passes in order, returning a log line per pass that changed
// something.
func Apply(g *graph.Graph, list []Pass) ([]string, error) {
	var log []string
	for _, p := range list {
		n, err := p.Run(g)
		if err != nil {
			return log, fmt.Errorf("pass %s: %w", p.Name, err)
		}
		if n > 0 {
			log = append(log, fmt.Sprintf("%s: %d rewrites", p.Name, n))
		}
	}
	return log, nil
}

// DeadNodes removes nodes none of whose outputs reach a graph output, then
// initializers nobody reads.
func DeadNodes(g *graph.Graph) (int, error) {
	live := map[string]bool{}
	for _, o := range g.Outputs {
		live[o.Name] = true
	}
	keep := make([]bool, len(g.Nodes))
	removed := 0
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		n := g.Nodes[i]
		used := false
		for _, o := range n.Outputs {
			if live[o] {
				used = true
			}
		}
		if !used {
			removed++
			continue
		}
		keep[i] = true
		for _, in := range n.Inputs {
			live[in] = true
		}
		for _, a := range n.Attrs {
			gs := a.Graphs
			if a.G != nil {
				gs = append(gs, a.G)
			}
			for _, sg := range gs {
				for _, name := range sg.FreeInputs() {
					live[name] = true
				}
			}
		}
	}
	var nodes []*graph.Node
	for i, n := range g.Nodes {
		if keep[i] {
			nodes = append(nodes, n)
		}
	}
	g.Nodes = nodes
	declared := map[string]bool{}
	for _, in := range g.Inputs {
		declared[in.Name] = true
	}
	for _, name := range g.InitializerNames() {
		if !live[name] && !declared[name] {
			g.RemoveInitializer(name)
		}
	}
	return removed, nil
}
