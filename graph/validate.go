package graph

import (
	"fmt"
	"strings"
)

// TopoSort orders the nodes so that each runs after the producers of its
// inputs, keeping the original order where it is already valid. Values
// available from the start are graph inputs, initializers and outer (names
// visible from an enclosing graph, for subgraphs). It returns an error
// naming a node whose input is never produced, or the nodes on a cycle.
func (g *Graph) TopoSort(outer map[string]bool) error {
	avail := map[string]bool{"": true}
	for k := range outer {
		avail[k] = true
	}
	for _, in := range g.Inputs {
		avail[in.Name] = true
	}
	for k := range g.Initializers {
		avail[k] = true
	}
	producer := map[string]int{}
	for i, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o == "" {
				continue
			}
			if j, dup := producer[o]; dup {
				return fmt.Errorf("value %q is produced twice: by %s and %s", o, g.Nodes[j].Describe(), n.Describe())
			}
			producer[o] = i
		}
	}
	done := make([]bool, len(g.Nodes))
	order := make([]*Node, 0, len(g.Nodes))
	for progress := true; progress && len(order) < len(g.Nodes); {
		progress = false
		for i, n := range g.Nodes {
			if done[i] {
				continue
			}
			ready := true
			for _, in := range n.Inputs {
				if !avail[in] {
					ready = false
					break
				}
			}
			if ready {
				for _, in := range subgraphFreeInputs(n) {
					if !avail[in] {
						if _, produced := producer[in]; produced {
							ready = false
							break
						}
					}
				}
			}
			if !ready {
				continue
			}
			done[i] = true
			order = append(order, n)
			for _, o := range n.Outputs {
				avail[o] = true
			}
			progress = true
		}
	}
	if len(order) < len(g.Nodes) {
		for i, n := range g.Nodes {
			if done[i] {
				continue
			}
			for _, in := range n.Inputs {
				if !avail[in] {
					if _, ok := producer[in]; !ok {
						return fmt.Errorf("%s reads %q, which no node, input or initializer provides", n.Describe(), in)
					}
				}
			}
		}
		var names []string
		for i, n := range g.Nodes {
			if !done[i] {
				names = append(names, n.Describe())
			}
		}
		return fmt.Errorf("graph %q has a cycle through %s", g.Name, strings.Join(names, ", "))
	}
	g.Nodes = order
	return nil
}

// subgraphFreeInputs lists names that a node's subgraphs read from the
// enclosing scope, so they are ordered after their producers too.
func subgraphFreeInputs(n *Node) []string {
	var out []string
	for _, a := range n.Attrs {
		gs := a.Graphs
		if a.G != nil {
			gs = append(gs, a.G)
		}
		for _, sg := range gs {
			out = append(out, sg.FreeInputs()...)
		}
	}
	return out
}

// FreeInputs returns the names a graph reads that it neither declares as
// inputs/initializers nor produces (the names it captures from outside).
func (g *Graph) FreeInputs() []string {
	local := map[string]bool{"": true}
	for _, in := range g.Inputs {
		local[in.Name] = true
	}
	for k := range g.Initializers {
		local[k] = true
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			local[o] = true
		}
	}
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if !local[s] && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			add(in)
		}
		for _, s := range subgraphFreeInputs(n) {
			add(s)
		}
	}
	for _, o := range g.Outputs {
		add(o.Name)
	}
	return out
}

// Validate checks the structural rules every pass and the runtime rely on:
// unique value producers, every input defined, no cycles, outputs defined,
// no node without an op type. It sorts the nodes topologically as a side
// effect. outer lists names visible from an enclosing graph (nil at top).
func (g *Graph) Validate(outer map[string]bool) error {
	for _, n := range g.Nodes {
		if n.OpType == "" {
			return fmt.Errorf("graph %q: %s has no op type", g.Name, n.Describe())
		}
	}
	seen := map[string]bool{}
	for _, in := range g.Inputs {
		if in.Name == "" {
			return fmt.Errorf("graph %q: an input has no name", g.Name)
		}
		if seen[in.Name] {
			return fmt.Errorf("graph %q: input %q declared twice", g.Name, in.Name)
		}
		seen[in.Name] = true
	}
	if err := g.TopoSort(outer); err != nil {
		return fmt.Errorf("graph %q: %w", g.Name, err)
	}
	defined := map[string]bool{}
	for k := range outer {
		defined[k] = true
	}
	for _, in := range g.Inputs {
		defined[in.Name] = true
	}
	for k := range g.Initializers {
		defined[k] = true
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			defined[o] = true
		}
	}
	for _, o := range g.Outputs {
		if !defined[o.Name] {
			return fmt.Errorf("graph %q: output %q is never produced", g.Name, o.Name)
		}
	}
	// Subgraphs see everything defined here.
	for _, n := range g.Nodes {
		for _, a := range n.Attrs {
			gs := a.Graphs
			if a.G != nil {
				gs = append(gs, a.G)
			}
			for _, sg := range gs {
				if err := sg.Validate(defined); err != nil {
					return fmt.Errorf("%s attribute %q: %w", n.Describe(), a.Name, err)
				}
			}
		}
	}
	return nil
}
