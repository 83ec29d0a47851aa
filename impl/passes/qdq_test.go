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

// DQ(x) -> MatMul(DQ(w [K,N])) [-> Q], as PyTorch exports nn.Linear on 3-D
// inputs and frugal's PTQ quantizes it (per-column weight scales, DQ axis
// 1), fuses into ai.frugal:QGemm on the transposed weights: 8-bit output
// within one code of the float QDQ graph, float output (no Q: the last
// layer) within float rounding. Two MatMuls sharing one weight share one
// transposed copy.
func TestFuseQDQMatMul(t *testing.T) {
	for _, quantOut := range []bool{true, false} {
		t.Run(map[bool]string{true: "u8-out", false: "float-out"}[quantOut], func(t *testing.T) {
			const k, n = 24, 10
			build := func() *graph.Graph {
				r := rand.New(rand.NewPCG(5, 5))
				g := graph.New("g")
				g.Inputs = []graph.ValueInfo{graph.TensorInfo("x", tensor.Float32, 2, 7, k)}
				wq := tensor.New(tensor.Int8, k, n)
				for i := range wq.I8() {
					wq.I8()[i] = int8(r.IntN(255) - 127)
				}
				ws := tensor.New(tensor.Float32, n)
				for i := range ws.F32() {
					ws.F32()[i] = 0.002 + 0.004*r.Float32()
				}
				g.AddInitializer("wq", wq)
				g.AddInitializer("ws", ws)
				g.AddInitializer("xs", tensor.Scalar(float32(0.02)))
				g.AddInitializer("xz", tensor.Scalar(uint8(128)))
				g.AddInitializer("ys", tensor.Scalar(float32(0.01)))
				g.AddInitializer("yz", tensor.Scalar(uint8(120)))
				g.AddNode("QuantizeLinear", []string{"x", "xs", "xz"}, []string{"xq"})
				g.AddNode("DequantizeLinear", []string{"xq", "xs", "xz"}, []string{"xd"})
				g.AddNode("DequantizeLinear", []string{"wq", "ws"}, []string{"wd"}).SetAttr(graph.AttrI("axis", 1))
				g.AddNode("MatMul", []string{"xd", "wd"}, []string{"m1"})
				g.AddNode("MatMul", []string{"xd", "wd"}, []string{"m2"})
				if quantOut {
					g.AddNode("QuantizeLinear", []string{"m1", "ys", "yz"}, []string{"y1"})
					g.AddNode("QuantizeLinear", []string{"m2", "ys", "yz"}, []string{"y2"})
				} else {
					g.AddNode("Identity", []string{"m1"}, []string{"y1"})
					g.AddNode("Identity", []string{"m2"}, []string{"y2"})
				}
				g.Outputs = []graph.ValueInfo{{Name: "y1"}, {Name: "y2"}}
				return g
			}
			r := rand.New(rand.NewPCG(6, 6))
			in := map[string]*tensor.Tensor{"x": randT(r, 2, 7, k)}
			want := runGraph(t, build(), in)
			g := build()
			wq := g.Initializers["wq"]
			if _, err := FuseQDQ(g); err != nil {
				t.Fatal(err)
			}
			qgemms := 0
			for _, nd := range g.Nodes {
				switch nd.OpType {
				case "QGemm":
					qgemms++
					wt := g.Initializers[nd.Input(3)]
					if wt == nil || !tensor.SameShape(wt.Shape, []int{n, k}) || wt.I8()[3*k+5] != wq.I8()[5*n+3] {
						t.Fatalf("QGemm weight %q is not wq transposed: %v", nd.Input(3), wt)
					}
					if nd.Input(3) != "wq_transposed" {
						t.Errorf("weight %q, want the one shared copy wq_transposed", nd.Input(3))
					}
				case "MatMul", "DequantizeLinear":
					t.Fatalf("%s left after fusion: %v", nd.OpType, g.Nodes)
				}
			}
			if qgemms != 2 {
				t.Fatalf("%d QGemm nodes, want 2: %v", qgemms, g.Nodes)
			}
			got := runGraph(t, g, in)
			for _, y := range []string{"y1", "y2"} {
				if !tensor.SameShape(got[y].Shape, []int{2, 7, n}) {
					t.Fatalf("%s: shape %v, want [2 7 %d]", y, got[y].Shape, n)
				}
				if !quantOut {
					closeTo(t, y, got[y], want[y], 1e-5)
					continue
				}
				for i, w := range want[y].U8() {
					if d := int(got[y].U8()[i]) - int(w); d < -1 || d > 1 {
						t.Fatalf("%s code %d: fused %d, float QDQ %d", y, i, got[y].U8()[i], w)
					}
				}
			}
		})
	}
}
