package runtime

import (
	"context"
	"fmt"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/ops"
	"github.com/frugal-ml/frugal/tensor"
)

func scalarF(v float32) *tensor.Tensor { return tensor.MustFromSlice([]float32{v}) }

func model(g *graph.Graph, opsets ...graph.OpsetImport) *graph.Model {
	if len(opsets) == 0 {
		opsets = []graph.OpsetImport{{Domain: "", Version: 17}}
	}
	return &graph.Model{Graph: g, IRVersion: 8, Opsets: opsets}
}

func runModel(t *testing.T, m *graph.Model, in map[string]ops.Value) map[string]ops.Value {
	t.Helper()
	s, err := NewSession(m, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func f32(v ops.Value) []float32 { return v.(*tensor.Tensor).F32() }

// If picks a branch; both branches read x from the enclosing graph.
func TestIf(t *testing.T) {
	then := graph.New("then")
	then.AddNode("Add", []string{"x", "x"}, []string{"t"})
	then.Outputs = []graph.ValueInfo{{Name: "t"}}
	els := graph.New("else")
	els.AddNode("Neg", []string{"x"}, []string{"e"})
	els.Outputs = []graph.ValueInfo{{Name: "e"}}
	g := graph.New("if")
	g.Inputs = []graph.ValueInfo{graph.TensorInfo("c", tensor.Bool), graph.TensorInfo("x", tensor.Float32)}
	g.AddNode("If", []string{"c"}, []string{"y"}, graph.AttrG("then_branch", then), graph.AttrG("else_branch", els))
	g.Outputs = []graph.ValueInfo{{Name: "y"}}
	m := model(g)
	if y := f32(runModel(t, m, map[string]ops.Value{"c": tensor.Scalar(true), "x": scalarF(3)})["y"]); y[0] != 6 {
		t.Errorf("then branch: %v", y)
	}
	if y := f32(runModel(t, m, map[string]ops.Value{"c": tensor.Scalar(false), "x": scalarF(3)})["y"]); y[0] != -3 {
		t.Errorf("else branch: %v", y)
	}
}

// Loop accumulates a carried sum and stacks a scan output.
func TestLoop(t *testing.T) {
	body := graph.New("body")
	body.Inputs = []graph.ValueInfo{graph.TensorInfo("i", tensor.Int64), graph.TensorInfo("cin", tensor.Bool), graph.TensorInfo("acc", tensor.Float32)}
	body.AddNode("Identity", []string{"cin"}, []string{"cout"})
	body.AddNode("Add", []string{"acc", "step"}, []string{"acc2"})
	body.AddNode("Identity", []string{"acc2"}, []string{"scan"})
	body.Outputs = []graph.ValueInfo{{Name: "cout"}, {Name: "acc2"}, {Name: "scan"}}
	g := graph.New("loop")
	g.Inputs = []graph.ValueInfo{graph.TensorInfo("m", tensor.Int64), graph.TensorInfo("step", tensor.Float32)}
	g.AddInitializer("c0", tensor.Scalar(true))
	g.AddInitializer("a0", scalarF(0))
	g.AddNode("Loop", []string{"m", "c0", "a0"}, []string{"final", "all"}, graph.AttrG("body", body))
	g.Outputs = []graph.ValueInfo{{Name: "final"}, {Name: "all"}}
	out := runModel(t, model(g), map[string]ops.Value{"m": tensor.Scalar(int64(3)), "step": scalarF(2)})
	if f := f32(out["final"]); f[0] != 6 {
		t.Errorf("final %v", f)
	}
	all := out["all"].(*tensor.Tensor)
	if !tensor.SameShape(all.Shape, []int{3}) || all.F32()[2] != 6 {
		t.Errorf("scan output %v", all)
	}
}

// Scan runs a cumulative sum over the rows of its scan input.
func TestScan(t *testing.T) {
	body := graph.New("body")
	body.Inputs = []graph.ValueInfo{graph.TensorInfo("s", tensor.Float32, 2), graph.TensorInfo("row", tensor.Float32, 2)}
	body.AddNode("Add", []string{"s", "row"}, []string{"s2"})
	body.AddNode("Identity", []string{"s2"}, []string{"o"})
	body.Outputs = []graph.ValueInfo{{Name: "s2"}, {Name: "o"}}
	g := graph.New("scan")
	g.Inputs = []graph.ValueInfo{graph.TensorInfo("init", tensor.Float32, 2), graph.TensorInfo("xs", tensor.Float32, 3, 2)}
	g.AddNode("Scan", []string{"init", "xs"}, []string{"last", "ys"}, graph.AttrG("body", body), graph.AttrI("num_scan_inputs", 1))
	g.Outputs = []graph.ValueInfo{{Name: "last"}, {Name: "ys"}}
	out := runModel(t, model(g), map[string]ops.Value{
		"init": tensor.MustFromSlice([]float32{0, 0}, 2),
		"xs":   tensor.MustFromSlice([]float32{1, 2, 3, 4, 5, 6}, 3, 2),
	})
	if l := f32(out["last"]); l[0] != 9 || l[1] != 12 {
		t.Errorf("last %v", l)
	}
	if ys := f32(out["ys"]); ys[2] != 4 || ys[3] != 6 {
		t.Errorf("ys %v", ys)
	}
}

// A model-local function is inlined, with attribute references resolved.
func TestFunctionExpansion(t *testing.T) {
	fn := &graph.Function{Name: "Scaled", Domain: "custom", Inputs: []string{"a"}, Outputs: []string{"b"},
		AttrNames: []string{"alpha"},
		Nodes: []*graph.Node{
			{OpType: "LeakyRelu", Inputs: []string{"a"}, Outputs: []string{"tmp"}, Attrs: map[string]*graph.Attr{"alpha": {Name: "alpha", Type: graph.AttrFloat, RefAttrName: "alpha"}}},
			{OpType: "Neg", Inputs: []string{"tmp"}, Outputs: []string{"b"}, Attrs: map[string]*graph.Attr{}},
		}}
	g := graph.New("f")
	g.Inputs = []graph.ValueInfo{graph.TensorInfo("x", tensor.Float32, 2)}
	n := g.AddNode("Scaled", []string{"x"}, []string{"y"}, graph.AttrF("alpha", 0.5))
	n.Domain = "custom"
	g.AddNode("Scaled", []string{"y"}, []string{"z"}, graph.AttrF("alpha", 0.25)).Domain = "custom"
	g.Outputs = []graph.ValueInfo{{Name: "z"}}
	m := model(g, graph.OpsetImport{Domain: "", Version: 17}, graph.OpsetImport{Domain: "custom", Version: 1})
	m.Functions = map[string]*graph.Function{"custom:Scaled": fn}
	out := runModel(t, m, map[string]ops.Value{"x": tensor.MustFromSlice([]float32{-4, 2}, 2)})
	// x=-4: y = -(0.5*-4) = 2, z = -(2) = -2; x=2: y = -2, z = -(0.25*-2) = 0.5
	if z := f32(out["z"]); z[0] != -2 || z[1] != 0.5 {
		t.Errorf("z = %v", z)
	}
	if len(g.Nodes) != 2 {
		t.Error("expansion modified the caller's graph")
	}
}

// Gradient is expanded into backward nodes: d(a*b + a)/da = b + 1.
func TestGradientExpansion(t *testing.T) {
	g := graph.New("grad")
	g.Inputs = []graph.ValueInfo{graph.TensorInfo("a", tensor.Float32, 2), graph.TensorInfo("b", tensor.Float32, 1)}
	g.AddNode("Mul", []string{"a", "b"}, []string{"p"})
	g.AddNode("Add", []string{"p", "a"}, []string{"y"})
	gn := g.AddNode("Gradient", []string{"a", "b"}, []string{"da", "db"}, &graph.Attr{Name: "xs", Type: graph.AttrStrings, Strings: []string{"a", "b"}}, graph.AttrS("y", "y"))
	gn.Domain = "ai.onnx.preview.training"
	g.Outputs = []graph.ValueInfo{{Name: "y"}, {Name: "da"}, {Name: "db"}}
	m := model(g, graph.OpsetImport{Domain: "", Version: 12}, graph.OpsetImport{Domain: "ai.onnx.preview.training", Version: 1})
	out := runModel(t, m, map[string]ops.Value{"a": tensor.MustFromSlice([]float32{1, 2}, 2), "b": tensor.MustFromSlice([]float32{3}, 1)})
	if da := f32(out["da"]); da[0] != 4 || da[1] != 4 {
		t.Errorf("da = %v", da)
	}
	// db sums over the broadcast: a0 + a1.
	if db := out["db"].(*tensor.Tensor); !tensor.SameShape(db.Shape, []int{1}) || db.F32()[0] != 3 {
		t.Errorf("db = %v", db)
	}
}

// One session serves many goroutines at once (run with -race): subgraph
// sessions are built lazily under a lock and kernels keep no run state.
func TestConcurrentRuns(t *testing.T) {
	body := graph.New("body")
	body.Inputs = []graph.ValueInfo{graph.TensorInfo("i", tensor.Int64), graph.TensorInfo("cin", tensor.Bool), graph.TensorInfo("acc", tensor.Float32)}
	body.AddNode("Identity", []string{"cin"}, []string{"cout"})
	body.AddNode("Add", []string{"acc", "step"}, []string{"acc2"})
	body.Outputs = []graph.ValueInfo{{Name: "cout"}, {Name: "acc2"}}
	g := graph.New("loop")
	g.Inputs = []graph.ValueInfo{graph.TensorInfo("m", tensor.Int64), graph.TensorInfo("step", tensor.Float32)}
	g.AddInitializer("c0", tensor.Scalar(true))
	g.AddInitializer("a0", scalarF(0))
	g.AddNode("Loop", []string{"m", "c0", "a0"}, []string{"final"}, graph.AttrG("body", body))
	g.AddNode("Softmax", []string{"final"}, []string{"sm"}, graph.AttrI("axis", 0))
	g.Outputs = []graph.ValueInfo{{Name: "final"}, {Name: "sm"}}
	s, err := NewSession(model(g), Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		go func(w int) {
			for k := 0; k < 20; k++ {
				out, err := s.Run(context.Background(), map[string]ops.Value{"m": tensor.Scalar(int64(w + 1)), "step": scalarF(float32(k))})
				if err != nil {
					errs <- err
					return
				}
				if got := f32(out["final"])[0]; got != float32((w+1)*k) {
					errs <- fmt.Errorf("worker %d run %d: %v", w, k, got)
					return
				}
			}
			errs <- nil
		}(w)
	}
	for w := 0; w < 8; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
