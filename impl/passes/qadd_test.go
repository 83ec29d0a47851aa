package passes

import (
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// DQ(a) + DQ(b) [-> Relu] -> Q fuses into ai.frugal:QLinearAdd, whose
// output codes equal the float QDQ chain's exactly.
func TestFuseQDQAdd(t *testing.T) {
	for _, tc := range []struct {
		act    string
		signed bool
		bShape []int
	}{{"", false, []int{2, 3, 4, 5}}, {"Relu", false, []int{2, 3, 4, 5}}, {"Relu", true, []int{2, 3, 4, 5}}, {"", false, []int{3, 1, 1}}} {
		build := func() *graph.Graph {
			g := graph.New("g")
			dt := tensor.Uint8
			if tc.signed {
				dt = tensor.Int8
			}
			g.Inputs = []graph.ValueInfo{graph.TensorInfo("a", dt, 2, 3, 4, 5), graph.TensorInfo("b", dt, tc.bShape...)}
			zp := func(v int) *tensor.Tensor {
				if tc.signed {
					return tensor.MustFromSlice([]int8{int8(v - 128)}, 1)
				}
				return tensor.MustFromSlice([]uint8{uint8(v)}, 1)
			}
			g.AddInitializer("as", tensor.MustFromSlice([]float32{0.037}, 1))
			g.AddInitializer("az", zp(120))
			g.AddInitializer("bs", tensor.MustFromSlice([]float32{0.021}, 1))
			g.AddInitializer("bz", zp(7))
			g.AddInitializer("ys", tensor.MustFromSlice([]float32{0.05}, 1))
			g.AddInitializer("yz", zp(100))
			g.AddNode("DequantizeLinear", []string{"a", "as", "az"}, []string{"ad"})
			g.AddNode("DequantizeLinear", []string{"b", "bs", "bz"}, []string{"bd"})
			g.AddNode("Add", []string{"ad", "bd"}, []string{"s"})
			last := "s"
			if tc.act == "Relu" {
				g.AddNode("Relu", []string{"s"}, []string{"r"})
				last = "r"
			}
			g.AddNode("QuantizeLinear", []string{last, "ys", "yz"}, []string{"y"})
			g.Outputs = []graph.ValueInfo{{Name: "y"}}
			return g
		}
		r := rand.New(rand.NewPCG(2, 3))
		mk := func(shape ...int) *tensor.Tensor {
			if tc.signed {
				x := tensor.New(tensor.Int8, shape...)
				for i := range x.I8() {
					x.I8()[i] = int8(r.IntN(256) - 128)
				}
				return x
			}
			x := tensor.New(tensor.Uint8, shape...)
			for i := range x.U8() {
				x.U8()[i] = uint8(r.IntN(256))
			}
			return x
		}
		in := map[string]*tensor.Tensor{"a": mk(2, 3, 4, 5), "b": mk(tc.bShape...)}
		want := runGraph(t, build(), in)["y"]
		g := build()
		if n, err := FuseQDQ(g); err != nil || n != 1 || len(g.Nodes) != 1 || g.Nodes[0].OpType != "QLinearAdd" {
			t.Fatalf("%+v: FuseQDQ: %d, %v, nodes %v", tc, n, err, g.Nodes)
		}
		got := runGraph(t, g, in)["y"]
		if !tensor.SameShape(got.Shape, want.Shape) || got.DType != want.DType {
			t.Fatalf("%+v: got %s%v, want %s%v", tc, got.DType, got.Shape, want.DType, want.Shape)
		}
		for i := 0; i < want.Len(); i++ {
			if got.Float64At(i) != want.Float64At(i) {
				t.Fatalf("%+v: code %d = %v, float QDQ chain gives %v", tc, i, got.Float64At(i), want.Float64At(i))
			}
		}
	}
}
