package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/ops"
	"github.com/frugal-ml/frugal/tensor"
)

// tailNet is a MobileNet-like small-map tail: an entry 1x1 conv reading
// the NCHW input, an inverted-residual block (expand, depthwise, project
// plus the block input), a stride-2 depthwise conv, a last 1x1 and the
// global pool, so that the channels-last pass converts all of it.
func tailNet(hw, c int) *graph.Model {
	rng := rand.New(rand.NewPCG(31, 32))
	g := graph.New("tail")
	g.Inputs = []graph.ValueInfo{graph.TensorInfo("x", tensor.Float32, 1, 16, hw, hw)}
	add := func(name string, shape ...int) {
		t := randTensor(rng, shape...)
		d := t.F32()
		for i := range d {
			d[i] *= 0.3
		}
		g.AddInitializer(name, t)
	}
	add("w0", c, 16, 1, 1)
	add("b0", c)
	add("we", 2*c, c, 1, 1)
	add("be", 2*c)
	add("wd", 2*c, 1, 3, 3)
	add("bd", 2*c)
	add("wp", c, 2*c, 1, 1)
	add("wd2", c, 1, 3, 3)
	add("wl", 2*c, c, 1, 1)
	six := tensor.MustFromSlice([]float32{6}, 1)
	zero := tensor.MustFromSlice([]float32{0}, 1)
	g.AddInitializer("zero", zero)
	g.AddInitializer("six", six)
	k3, pad1 := graph.IntsAttr("kernel_shape", 3, 3), graph.IntsAttr("pads", 1, 1, 1, 1)
	g.AddNode("Conv", []string{"x", "w0", "b0"}, []string{"x0"})
	g.AddNode("Conv", []string{"x0", "we", "be"}, []string{"e"})
	g.AddNode("Clip", []string{"e", "zero", "six"}, []string{"e6"})
	g.AddNode("Conv", []string{"e6", "wd", "bd"}, []string{"d"}, k3, pad1, graph.AttrI("group", int64(2*c)))
	g.AddNode("Clip", []string{"d", "zero", "six"}, []string{"d6"})
	g.AddNode("Conv", []string{"d6", "wp"}, []string{"p"})
	g.AddNode("Add", []string{"p", "x0"}, []string{"r"})
	g.AddNode("Conv", []string{"r", "wd2"}, []string{"s"}, k3, pad1, graph.AttrI("group", int64(c)), graph.IntsAttr("strides", 2, 2))
	g.AddNode("Conv", []string{"s", "wl"}, []string{"l"})
	g.AddNode("Relu", []string{"l"}, []string{"lr"})
	g.AddNode("GlobalAveragePool", []string{"lr"}, []string{"gap"})
	g.AddNode("Flatten", []string{"gap"}, []string{"out"}, graph.AttrI("axis", 1))
	g.Outputs = []graph.ValueInfo{{Name: "out"}}
	return model(g)
}

// TestChannelsLastMatchesPlanar runs small-map tails with and without the
// channels-last pass: the outputs agree to float32 rounding, and the pass
// converted the whole tail (7 nodes after fusion).
func TestChannelsLastMatchesPlanar(t *testing.T) {
	for _, s := range [][2]int{{7, 32}, {8, 16}, {8, 48}, {14, 16}, {28, 16}} {
		hw, c := s[0], s[1]
		t.Run(fmt.Sprintf("%dx%d/c%d", hw, hw, c), func(t *testing.T) {
			m := tailNet(hw, c)
			on := mustSession(t, m, Options{Threads: 2})
			off := mustSession(t, m, Options{Threads: 2, DisablePasses: []string{"channels-last"}})
			if !strings.Contains(strings.Join(on.PassLog, ";"), "channels-last: 7 rewrites") {
				t.Fatalf("the pass did not fire: %v", on.PassLog)
			}
			rng := rand.New(rand.NewPCG(5, uint64(hw)))
			for run := 0; run < 3; run++ {
				in := map[string]ops.Value{"x": randTensor(rng, 1, 16, hw, hw)}
				got := mustRun(t, on, in)["out"].(*tensor.Tensor).F32()
				want := mustRun(t, off, in)["out"].(*tensor.Tensor).F32()
				if len(got) != len(want) {
					t.Fatalf("%d outputs, want %d", len(got), len(want))
				}
				for i := range want {
					if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*(1+math.Abs(float64(want[i]))) {
						t.Fatalf("run %d: out[%d] = %v, planar %v", run, i, got[i], want[i])
					}
				}
			}
		})
	}
}
