package passes

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// A QDQ Conv followed by Relu or Clip (ReLU6) fuses into one QLinearConv
// whose requantizing store applies the activation, and gives the same
// codes as the float QDQ graph (within one code: the float graph rounds
// through float32 twice).
func TestFuseQDQConvActivation(t *testing.T) {
	for _, act := range []string{"", "Relu", "Clip"} {
		t.Run("act="+act, func(t *testing.T) {
			build := func() *graph.Graph {
				r := rand.New(rand.NewPCG(4, 4))
				g := graph.New("g")
				g.Inputs = []graph.ValueInfo{graph.TensorInfo("x", tensor.Float32, 1, 8, 16, 16)}
				wq := tensor.New(tensor.Int8, 12, 8, 3, 3)
				for i := range wq.I8() {
					wq.I8()[i] = int8(r.IntN(255) - 127)
				}
				g.AddInitializer("wq", wq)
				g.AddInitializer("ws", tensor.MustFromSlice([]float32{0.004}, 1))
				g.AddInitializer("wz", tensor.MustFromSlice([]int8{0}, 1))
				g.AddInitializer("xs", tensor.MustFromSlice([]float32{0.02}, 1))
				g.AddInitializer("xz", tensor.MustFromSlice([]uint8{100}, 1))
				g.AddInitializer("ys", tensor.MustFromSlice([]float32{0.03}, 1))
				g.AddInitializer("yz", tensor.MustFromSlice([]uint8{60}, 1))
				g.AddInitializer("b", randT(r, 12))
				g.AddInitializer("lo", tensor.Scalar(float32(0)))
				g.AddInitializer("hi", tensor.Scalar(float32(1.5)))
				g.AddNode("QuantizeLinear", []string{"x", "xs", "xz"}, []string{"xq"})
				g.AddNode("DequantizeLinear", []string{"xq", "xs", "xz"}, []string{"xd"})
				g.AddNode("DequantizeLinear", []string{"wq", "ws", "wz"}, []string{"wd"})
				conv := g.AddNode("Conv", []string{"xd", "wd", "b"}, []string{"c"})
				conv.SetAttr(graph.IntsAttr("pads", 1, 1, 1, 1))
				last := "c"
				switch act {
				case "Relu":
					g.AddNode("Relu", []string{"c"}, []string{"a"})
					last = "a"
				case "Clip":
					g.AddNode("Clip", []string{"c", "lo", "hi"}, []string{"a"})
					last = "a"
				}
				g.AddNode("QuantizeLinear", []string{last, "ys", "yz"}, []string{"y"})
				g.Outputs = []graph.ValueInfo{{Name: "y"}}
				return g
			}
			r := rand.New(rand.NewPCG(8, 8))
			x := tensor.New(tensor.Float32, 1, 8, 16, 16)
			for i := range x.F32() {
				x.F32()[i] = float32(r.NormFloat64())
			}
			in := map[string]*tensor.Tensor{"x": x}
			want := runGraph(t, build(), in)["y"]
			g := build()
			if _, err := FuseQDQ(g); err != nil {
				t.Fatal(err)
			}
			fused := false
			for _, n := range g.Nodes {
				switch n.OpType {
				case "QLinearConv":
					fused = true
				case "Relu", "Clip", "Conv":
					t.Fatalf("%s left after fusion: %v", n.OpType, g.Nodes)
				}
			}
			if !fused {
				t.Fatalf("no QLinearConv after fusion: %v", g.Nodes)
			}
			got := runGraph(t, g, in)["y"]
			hiCode := uint8(math.RoundToEven(1.5/0.03) + 60)
			for i, w := range want.U8() {
				d := int(got.U8()[i]) - int(w)
				if d < -1 || d > 1 {
					t.Fatalf("code %d: fused %d, float QDQ %d", i, got.U8()[i], w)
				}
				if act == "Clip" && (got.U8()[i] > hiCode || got.U8()[i] < 60) {
					t.Fatalf("code %d = %d outside the clip range [60, %d]", i, got.U8()[i], hiCode)
				}
			}
		})
	}
}
