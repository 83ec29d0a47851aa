package runtime

import (
	"github.com/frugal-ml/frugal/graph"
)

// InferTypes returns what is statically known of each value's type: graph
// inputs, initializers, value_info annotations and outputs, then whatever
// the registered shape functions derive (see graph.InferShapes).
func InferTypes(m *graph.Model, g *graph.Graph, outer map[string]graph.Type) (map[string]graph.Type, error) {
	return graph.InferShapes(g, func(domain string) int64 { return opsetFor(m, domain) }, outer)
}
