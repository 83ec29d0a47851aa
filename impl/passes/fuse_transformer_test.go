package passes

import (
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/ops"
	"github.com/frugal-ml/frugal/tensor"
)

func scalarInit(g *graph.Graph, name string, v float32) string {
	g.AddInitializer(name, tensor.MustFromSlice([]float32{v}))
	return name
}

// fusedOnce applies pass to a fresh graph, checks it made want rewrites and
// left nodes of the listed op types, and compares its outputs with the
// unfused graph's.
func fusedOnce(t *testing.T, build func() *graph.Graph, pass func(*graph.Graph) (int, error), want int, ops []string, in map[string]*tensor.Tensor, tol float64) {
	t.Helper()
	ref := runGraph(t, build(), in)
	g := build()
	n, err := pass(g)
	if err != nil || n != want {
		t.Fatalf("%d rewrites, %v; want %d", n, err, want)
	}
	if _, err := DeadNodes(g); err != nil {
		t.Fatal(err)
	}
	if len(g.Nodes) != len(ops) {
		t.Fatalf("nodes after fusion: %v, want %v", g.Nodes, ops)
	}
	for i, op := range ops {
		if g.Nodes[i].OpType != op {
			t.Fatalf("node %d is %s, want %s (%v)", i, g.Nodes[i].OpType, op, g.Nodes)
		}
	}
	got := runGraph(t, g, in)
	for k, w := range ref {
		closeTo(t, k, got[k], w, tol)
	}
}

// The LayerNorm decomposition PyTorch exports (and its variants: the
// square as Mul, operands swapped, no affine part, axes as an input, two
// normalised axes) becomes one LayerNormalization with the same values.
func TestFuseLayerNorm(t *testing.T) {
	type variant struct {
		name                    string
		mulSquare, swap, affine bool
		axesInput               bool
		k                       int
		beta                    bool
	}
	for _, v := range []variant{
		{name: "pytorch", affine: true, beta: true, k: 1},
		{name: "mul-square-swapped", mulSquare: true, swap: true, affine: true, beta: true, k: 1},
		{name: "no-affine", k: 1},
		{name: "scale-only", affine: true, k: 1},
		{name: "axes-input", axesInput: true, affine: true, beta: true, k: 1},
		{name: "two-axes", affine: true, beta: true, k: 2},
	} {
		t.Run(v.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			gamma, beta := randT(r, 5, 16), randT(r, 5, 16)
			if v.k == 1 {
				gamma, beta = randT(r, 16), randT(r, 16)
			}
			build := func() *graph.Graph {
				g := graph.New("ln")
				g.Inputs = []graph.ValueInfo{graph.TensorInfo("x0", tensor.Float32, 2, 5, 16)}
				g.AddNode("Neg", []string{"x0"}, []string{"x"})
				axes := []int64{-1}
				if v.k == 2 {
					axes = []int64{-1, -2}
				}
				mean := func(in, out string) {
					if v.axesInput {
						g.AddInitializer("axes", tensor.MustFromSlice(axes, len(axes)))
						g.AddNode("ReduceMean", []string{in, "axes"}, []string{out})
						return
					}
					n := g.AddNode("ReduceMean", []string{in}, []string{out})
					n.SetAttr(graph.IntsAttr("axes", axes...))
				}
				mean("x", "mu")
				g.AddNode("Sub", []string{"x", "mu"}, []string{"d"})
				if v.mulSquare {
					g.AddNode("Mul", []string{"d", "d"}, []string{"sq"})
				} else {
					g.AddNode("Pow", []string{"d", scalarInit(g, "two", 2)}, []string{"sq"})
				}
				mean("sq", "var")
				eps := scalarInit(g, "eps", 1e-5)
				if v.swap {
					g.AddNode("Add", []string{eps, "var"}, []string{"ve"})
				} else {
					g.AddNode("Add", []string{"var", eps}, []string{"ve"})
				}
				g.AddNode("Sqrt", []string{"ve"}, []string{"sd"})
				g.AddNode("Div", []string{"d", "sd"}, []string{"nx"})
				out := "nx"
				if v.affine {
					g.AddInitializer("gamma", gamma)
					if v.swap {
						g.AddNode("Mul", []string{"gamma", "nx"}, []string{"sx"})
					} else {
						g.AddNode("Mul", []string{"nx", "gamma"}, []string{"sx"})
					}
					out = "sx"
				}
				if v.beta {
					g.AddInitializer("beta", beta)
					g.AddNode("Add", []string{out, "beta"}, []string{"y"})
				} else {
					g.AddNode("Identity", []string{out}, []string{"y"})
				}
				g.Outputs = []graph.ValueInfo{{Name: "y"}}
				return g
			}
			ops := []string{"Neg", "LayerNormalization"}
			if !v.beta {
				ops = append(ops, "Identity")
			}
			x := randT(r, 2, 5, 16)
			for i := range x.F32() {
				x.F32()[i] = x.F32()[i]*3 + 10 // a mean far from 0
			}
			if v.axesInput { // ReduceMean's axes became an input in opset 18
				runOpset = 18
				defer func() { runOpset = 17 }()
			}
			fusedOnce(t, build, FuseLayerNorm, 1, ops, map[string]*tensor.Tensor{"x0": x}, 1e-5)
		})
	}
}

// Chains that only look like LayerNorm stay: a positive axis, a
// deviation read elsewhere, a Sub the other way round, a non-constant eps.
func TestFuseLayerNormSkips(t *testing.T) {
	for _, c := range []string{"positive-axis", "d-read", "sub-swapped", "eps-input"} {
		g := graph.New("ln")
		g.Inputs = []graph.ValueInfo{graph.TensorInfo("x", tensor.Float32, 2, 16), graph.TensorInfo("e", tensor.Float32)}
		rm := g.AddNode("ReduceMean", []string{"x"}, []string{"mu"})
		rm.SetAttr(graph.IntsAttr("axes", -1))
		if c == "positive-axis" {
			rm.SetAttr(graph.IntsAttr("axes", 1))
		}
		if c == "sub-swapped" {
			g.AddNode("Sub", []string{"mu", "x"}, []string{"d"})
		} else {
			g.AddNode("Sub", []string{"x", "mu"}, []string{"d"})
		}
		g.AddNode("Pow", []string{"d", scalarInit(g, "two", 2)}, []string{"sq"})
		rm2 := g.AddNode("ReduceMean", []string{"sq"}, []string{"var"})
		rm2.SetAttr(graph.IntsAttr("axes", -1))
		eps := scalarInit(g, "eps", 1e-5)
		if c == "eps-input" {
			eps = "e"
		}
		g.AddNode("Add", []string{"var", eps}, []string{"ve"})
		g.AddNode("Sqrt", []string{"ve"}, []string{"sd"})
		g.AddNode("Div", []string{"d", "sd"}, []string{"y"})
		g.Outputs = []graph.ValueInfo{{Name: "y"}}
		if c == "d-read" {
			g.AddNode("Neg", []string{"d"}, []string{"z"})
			g.Outputs = append(g.Outputs, graph.ValueInfo{Name: "z"})
		}
		if n, err := FuseLayerNorm(g); err != nil || n != 0 {
			t.Errorf("%s: %d rewrites, %v; want none", c, n, err)
		}
	}
}

// x * 0.5 * (1 + erf(x / sqrt 2)) in the orders exporters write it
// becomes one ai.frugal:Gelu.
func TestFuseGelu(t *testing.T) {
	for _, c := range []string{"pytorch", "half-first", "swapped", "mul-rsqrt2"} {
		t.Run(c, func(t *testing.T) {
			build := func() *graph.Graph {
				g := graph.New("gelu")
				g.Inputs = []graph.ValueInfo{graph.TensorInfo("x0", tensor.Float32, 3, 40)}
				g.AddNode("Neg", []string{"x0"}, []string{"x"})
				if c == "mul-rsqrt2" {
					g.AddNode("Mul", []string{scalarInit(g, "r2", 0.70710677), "x"}, []string{"z"})
				} else {
					g.AddNode("Div", []string{"x", scalarInit(g, "s2", 1.4142135)}, []string{"z"})
				}
				g.AddNode("Erf", []string{"z"}, []string{"e"})
				one, half := scalarInit(g, "one", 1), scalarInit(g, "half", 0.5)
				switch c {
				case "pytorch", "mul-rsqrt2":
					g.AddNode("Add", []string{"e", one}, []string{"p"})
					g.AddNode("Mul", []string{"x", "p"}, []string{"xp"})
					g.AddNode("Mul", []string{"xp", half}, []string{"y"})
				case "half-first":
					g.AddNode("Mul", []string{"x", half}, []string{"h"})
					g.AddNode("Add", []string{"e", one}, []string{"p"})
					g.AddNode("Mul", []string{"h", "p"}, []string{"y"})
				case "swapped":
					g.AddNode("Add", []string{one, "e"}, []string{"p"})
					g.AddNode("Mul", []string{"p", "x"}, []string{"xp"})
					g.AddNode("Mul", []string{half, "xp"}, []string{"y"})
				}
				g.Outputs = []graph.ValueInfo{{Name: "y"}}
				return g
			}
			r := rand.New(rand.NewPCG(3, 4))
			x := randT(r, 3, 40)
			for i := range x.F32() {
				x.F32()[i] *= 3
			}
			fusedOnce(t, build, FuseGelu, 1, []string{"Neg", "Gelu"}, map[string]*tensor.Tensor{"x0": x}, 1e-6)
		})
	}
}

// Not GELU: a wrong constant, or 1 + erf read twice.
func TestFuseGeluSkips(t *testing.T) {
	for _, c := range []string{"div-by-2", "p-read"} {
		g := graph.New("gelu")
		g.Inputs = []graph.ValueInfo{graph.TensorInfo("x", tensor.Float32, 3, 40)}
		s := float32(1.4142135)
		if c == "div-by-2" {
			s = 2
		}
		g.AddNode("Div", []string{"x", scalarInit(g, "s2", s)}, []string{"z"})
		g.AddNode("Erf", []string{"z"}, []string{"e"})
		g.AddNode("Add", []string{"e", scalarInit(g, "one", 1)}, []string{"p"})
		g.AddNode("Mul", []string{"x", "p"}, []string{"xp"})
		g.AddNode("Mul", []string{"xp", scalarInit(g, "half", 0.5)}, []string{"y"})
		g.Outputs = []graph.ValueInfo{{Name: "y"}}
		if c == "p-read" {
			g.Outputs = append(g.Outputs, graph.ValueInfo{Name: "p"})
		}
		if n, err := FuseGelu(g); err != nil || n != 0 {
			t.Errorf("%s: %d rewrites, %v; want none", c, n, err)
		}
	}
}

// MatMul by constant weights plus a constant bias vector, on either side
// of the Add, becomes one ai.frugal:MatMulBias with the same values; a
// bias that is not a vector or weights that are not constant stay.
func TestFuseMatMulAdd(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	w, b := randT(r, 8, 5), randT(r, 5)
	for _, left := range []bool{false, true} {
		build := func() *graph.Graph {
			g := graph.New("mm")
			g.Inputs = []graph.ValueInfo{graph.TensorInfo("a0", tensor.Float32, 2, 3, 8)}
			g.AddNode("Neg", []string{"a0"}, []string{"a"})
			g.AddInitializer("w", w)
			g.AddInitializer("b", b)
			g.AddNode("MatMul", []string{"a", "w"}, []string{"m"})
			if left {
				g.AddNode("Add", []string{"b", "m"}, []string{"y"})
			} else {
				g.AddNode("Add", []string{"m", "b"}, []string{"y"})
			}
			g.Outputs = []graph.ValueInfo{{Name: "y"}}
			return g
		}
		fusedOnce(t, build, FuseMatMulAdd, 1, []string{"Neg", "MatMulBias"}, map[string]*tensor.Tensor{"a0": randT(r, 2, 3, 8)}, 1e-6)
	}
	g := graph.New("mm")
	g.Inputs = []graph.ValueInfo{graph.TensorInfo("a", tensor.Float32, 2, 3, 8), graph.TensorInfo("wi", tensor.Float32, 8, 5)}
	g.AddInitializer("w", w)
	g.AddInitializer("b3", randT(r, 3, 5))
	g.AddInitializer("b", b)
	g.AddNode("MatMul", []string{"a", "w"}, []string{"m"})
	g.AddNode("Add", []string{"m", "b3"}, []string{"y"})
	g.AddNode("MatMul", []string{"a", "wi"}, []string{"m2"})
	g.AddNode("Add", []string{"m2", "b"}, []string{"y2"})
	g.Outputs = []graph.ValueInfo{{Name: "y"}, {Name: "y2"}}
	if n, err := FuseMatMulAdd(g); err != nil || n != 0 {
		t.Errorf("%d rewrites, %v; want none", n, err)
	}
}

// A float-output QGemm (a QDQ MatMul whose result is not requantized)
// takes the bias Add that follows it as its input 9, with bit-identical
// results (the float bias is added after the scaling, as the Add did), and
// with a fused Relu before the bias.
func TestFuseMatMulAddQGemm(t *testing.T) {
	for _, relu := range []bool{false, true} {
		build := func() *graph.Graph {
			r := rand.New(rand.NewPCG(4, 5))
			g := graph.New("q")
			g.Inputs = []graph.ValueInfo{graph.TensorInfo("x", tensor.Float32, 1, 6, 16)}
			wq := tensor.New(tensor.Int8, 16, 24)
			for i := range wq.I8() {
				wq.I8()[i] = int8(r.IntN(255) - 127)
			}
			g.AddInitializer("wq", wq)
			g.AddInitializer("ws", tensor.MustFromSlice([]float32{0.004}, 1))
			g.AddInitializer("wz", tensor.MustFromSlice([]int8{0}, 1))
			g.AddInitializer("xs", tensor.MustFromSlice([]float32{0.02}, 1))
			g.AddInitializer("xz", tensor.MustFromSlice([]uint8{100}, 1))
			g.AddInitializer("b", randT(r, 24))
			g.AddNode("QuantizeLinear", []string{"x", "xs", "xz"}, []string{"xq"})
			g.AddNode("DequantizeLinear", []string{"xq", "xs", "xz"}, []string{"xd"})
			g.AddNode("DequantizeLinear", []string{"wq", "ws", "wz"}, []string{"wd"})
			g.AddNode("MatMul", []string{"xd", "wd"}, []string{"m"})
			last := "m"
			if relu {
				g.AddNode("Relu", []string{"m"}, []string{"a"})
				last = "a"
			}
			g.AddNode("Add", []string{"b", last}, []string{"y"})
			g.Outputs = []graph.ValueInfo{{Name: "y"}}
			if _, err := FuseQDQ(g); err != nil {
				t.Fatal(err)
			}
			return g
		}
		r := rand.New(rand.NewPCG(6, 6))
		x := randT(r, 1, 6, 16)
		ref := runGraph(t, build(), map[string]*tensor.Tensor{"x": x})["y"]
		g := build()
		if n, err := FuseMatMulAdd(g); err != nil || n != 1 {
			t.Fatalf("%d rewrites, %v", n, err)
		}
		if _, err := DeadNodes(g); err != nil {
			t.Fatal(err)
		}
		last := g.Nodes[len(g.Nodes)-1]
		if last.OpType != "QGemm" || len(last.Inputs) != 10 || last.Outputs[0] != "y" {
			t.Fatalf("nodes after fusion: %v", g.Nodes)
		}
		got := runGraph(t, g, map[string]*tensor.Tensor{"x": x})["y"]
		closeTo(t, "y", got, ref, 0)
		// The reference QGemm kernel honours input 9 too.
		ops.Disabled["int8-gemm"] = true
		got = runGraph(t, g, map[string]*tensor.Tensor{"x": x})["y"]
		delete(ops.Disabled, "int8-gemm")
		closeTo(t, "y (int8-ref)", got, ref, 1e-6)
	}
}
