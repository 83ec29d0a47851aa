package passes

import (
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// clGraph is x -> 1x1 (16 -> c) -> depthwise 3x3 -> 1x1 (c -> c) ->
// GlobalAveragePool -> y on an hw x hw map, with tap an extra graph
// output (the depthwise result) when tapped.
func clGraph(hw, c int, tapped bool) *graph.Graph {
	r := rand.New(rand.NewPCG(13, 14))
	g := graph.New("g")
	g.Inputs = []graph.ValueInfo{graph.TensorInfo("x", tensor.Float32, 1, 16, hw, hw)}
	g.AddInitializer("w1", randT(r, c, 16, 1, 1))
	g.AddInitializer("wd", randT(r, c, 1, 3, 3))
	g.AddInitializer("w2", randT(r, c, c, 1, 1))
	g.AddNode("Conv", []string{"x", "w1"}, []string{"a"})
	dw := g.AddNode("Conv", []string{"a", "wd"}, []string{"d"})
	dw.SetAttr(graph.AttrI("group", int64(c)))
	dw.SetAttr(graph.IntsAttr("pads", 1, 1, 1, 1))
	g.AddNode("Conv", []string{"d", "w2"}, []string{"p"})
	g.AddNode("GlobalAveragePool", []string{"p"}, []string{"y"})
	g.Outputs = []graph.ValueInfo{{Name: "y"}}
	if tapped {
		g.Outputs = append(g.Outputs, graph.ValueInfo{Name: "d"})
	}
	return g
}

// The whole small-map chain converts, the first conv reading NCHW and the
// rest NHWC; a graph output keeps its producer (and what only feeds it)
// planar; large maps and odd channel counts stay.
func TestChannelsLast(t *testing.T) {
	layouts := func(g *graph.Graph) map[string]string {
		m := map[string]string{}
		for _, n := range g.Nodes {
			l, _ := n.String("x_layout", "")
			m[n.Outputs[0]] = n.OpType + "/" + l
		}
		return m
	}
	g := clGraph(7, 32, false)
	if n, err := ChannelsLast(g); err != nil || n != 4 {
		t.Fatalf("7x7: %d rewrites, %v; want 4", n, err)
	}
	want := map[string]string{"a": "ConvNHWC/NCHW", "d": "ConvNHWC/NHWC", "p": "ConvNHWC/NHWC", "y": "GlobalAveragePoolNHWC/"}
	if got := layouts(g); !equalMaps(got, want) {
		t.Fatalf("7x7: %v, want %v", got, want)
	}
	if _, err := graph.InferShapes(g, nil, nil); err != nil {
		t.Fatalf("shapes after the pass: %v", err)
	}
	// d is a graph output: the depthwise conv stays planar, and so does
	// a, which only it reads; p converts reading d as NCHW, and the pool.
	g = clGraph(7, 32, true)
	if n, err := ChannelsLast(g); err != nil || n != 2 {
		t.Fatalf("tapped: %d rewrites, %v; want 2", n, err)
	}
	want = map[string]string{"a": "Conv/", "d": "Conv/", "p": "ConvNHWC/NCHW", "y": "GlobalAveragePoolNHWC/"}
	if got := layouts(g); !equalMaps(got, want) {
		t.Fatalf("tapped: %v, want %v", got, want)
	}
	for _, c := range []struct{ hw, c int }{{29, 32}, {7, 24}} {
		g = clGraph(c.hw, c.c, false)
		if n, err := ChannelsLast(g); err != nil || n != 0 {
			t.Fatalf("%dx%d, %d channels: %d rewrites, %v; want 0", c.hw, c.hw, c.c, n, err)
		}
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
