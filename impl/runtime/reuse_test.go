package runtime

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/ops"
	"github.com/frugal-ml/frugal/onnx"
	"github.com/frugal-ml/frugal/tensor"
)

func randTensor(rng *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.New(tensor.Float32, shape...)
	for i := range t.F32() {
		t.F32()[i] = float32(rng.NormFloat64())
	}
	return t
}

func positive(rng *rand.Rand, n int) *tensor.Tensor {
	t := tensor.New(tensor.Float32, n)
	for i := range t.F32() {
		t.F32()[i] = 0.5 + rng.Float32()
	}
	return t
}

// convNet is a small residual CNN: Conv, Relu, BatchNormalization, MaxPool,
// a residual Add, Concat, Transpose there and back, GlobalAveragePool,
// Flatten (a view), Gemm, Softmax. "block" (an intermediate that later
// nodes still read) is a graph output too.
func convNet(seed uint64) *graph.Model {
	rng := rand.New(rand.NewPCG(seed, 7))
	g := graph.New("convnet")
	g.Inputs = []graph.ValueInfo{graph.TensorInfo("x", tensor.Float32, 2, 3, 16, 16)}
	g.AddInitializer("w1", randTensor(rng, 8, 3, 3, 3))
	g.AddInitializer("b1", randTensor(rng, 8))
	g.AddInitializer("scale", positive(rng, 8))
	g.AddInitializer("shift", randTensor(rng, 8))
	g.AddInitializer("mean", randTensor(rng, 8))
	g.AddInitializer("var", positive(rng, 8))
	g.AddInitializer("w2", randTensor(rng, 8, 8, 3, 3))
	g.AddInitializer("wf", randTensor(rng, 10, 16))
	g.AddInitializer("bf", randTensor(rng, 10))
	pad1 := graph.IntsAttr("pads", 1, 1, 1, 1)
	g.AddNode("Conv", []string{"x", "w1", "b1"}, []string{"c1"}, graph.IntsAttr("kernel_shape", 3, 3), pad1)
	g.AddNode("Relu", []string{"c1"}, []string{"r1"})
	g.AddNode("BatchNormalization", []string{"r1", "scale", "shift", "mean", "var"}, []string{"bn"})
	g.AddNode("MaxPool", []string{"bn"}, []string{"p1"}, graph.IntsAttr("kernel_shape", 2, 2), graph.IntsAttr("strides", 2, 2))
	g.AddNode("Conv", []string{"p1", "w2"}, []string{"c2"}, graph.IntsAttr("kernel_shape", 3, 3), graph.IntsAttr("pads", 1, 1, 1, 1))
	g.AddNode("Add", []string{"c2", "p1"}, []string{"a"})
	g.AddNode("Relu", []string{"a"}, []string{"block"})
	g.AddNode("Concat", []string{"block", "p1"}, []string{"cat"}, graph.AttrI("axis", 1))
	g.AddNode("Transpose", []string{"cat"}, []string{"nhwc"}, graph.IntsAttr("perm", 0, 2, 3, 1))
	g.AddNode("Transpose", []string{"nhwc"}, []string{"nchw"}, graph.IntsAttr("perm", 0, 3, 1, 2))
	g.AddNode("Mul", []string{"nchw", "nchw"}, []string{"sq"})
	g.AddNode("GlobalAveragePool", []string{"sq"}, []string{"gap"})
	g.AddNode("Flatten", []string{"gap"}, []string{"flat"}, graph.AttrI("axis", 1))
	g.AddNode("Gemm", []string{"flat", "wf", "bf"}, []string{"logits"}, graph.AttrI("transB", 1))
	g.AddNode("Softmax", []string{"logits"}, []string{"prob"}, graph.AttrI("axis", 1))
	g.Outputs = []graph.ValueInfo{{Name: "prob"}, {Name: "logits"}, {Name: "block"}}
	return model(g)
}

// aliasChain builds views of views (Reshape, Flatten, Identity, Unsqueeze,
// Squeeze) of one buffer, a graph output that is such a view, and in-place
// candidates (Neg, Add, Relu) on values whose storage is shared.
func aliasChain() *graph.Model {
	g := graph.New("alias")
	g.Inputs = []graph.ValueInfo{graph.TensorInfo("x", tensor.Float32, 16, 64)}
	g.AddInitializer("shape", tensor.MustFromSlice([]int64{64, 16}, 2))
	g.AddInitializer("axes", tensor.MustFromSlice([]int64{0}, 1))
	g.AddInitializer("one", tensor.MustFromSlice([]float32{1}, 1))
	g.AddNode("Relu", []string{"x"}, []string{"a"})
	g.AddNode("Reshape", []string{"a", "shape"}, []string{"b"})
	g.AddNode("Flatten", []string{"b"}, []string{"c"}, graph.AttrI("axis", 1))
	g.AddNode("Identity", []string{"c"}, []string{"d"})
	g.AddNode("Unsqueeze", []string{"d", "axes"}, []string{"u"})
	g.AddNode("Squeeze", []string{"u", "axes"}, []string{"view"}) // graph output aliasing a
	g.AddNode("Neg", []string{"a"}, []string{"na"})               // a dies here but its storage lives on in view
	g.AddNode("Add", []string{"na", "one"}, []string{"na1"})      // na dies here: in place
	g.AddNode("Relu", []string{"na1"}, []string{"r"})             // in place again
	g.AddNode("Reshape", []string{"r", "shape"}, []string{"rv"})
	g.AddNode("Add", []string{"rv", "d"}, []string{"sum"}) // both die; d's storage is the output view's
	g.AddNode("Mul", []string{"sum", "sum"}, []string{"sq"})
	g.AddNode("Sub", []string{"sq", "view"}, []string{"out"})
	g.Outputs = []graph.ValueInfo{{Name: "out"}, {Name: "view"}, {Name: "na1"}}
	return model(g)
}

// loopNet runs a Loop whose body computes with buffers large enough for the
// arena, carrying a state and stacking a scan output.
func loopNet() *graph.Model {
	body := graph.New("body")
	body.Inputs = []graph.ValueInfo{graph.TensorInfo("i", tensor.Int64), graph.TensorInfo("cin", tensor.Bool), graph.TensorInfo("s", tensor.Float32, 32, 32)}
	body.AddNode("Identity", []string{"cin"}, []string{"cout"})
	body.AddNode("Mul", []string{"s", "k"}, []string{"m"})
	body.AddNode("Add", []string{"m", "x"}, []string{"t"})
	body.AddNode("Tanh", []string{"t"}, []string{"s2"})
	body.AddNode("Relu", []string{"s2"}, []string{"scan"})
	body.Outputs = []graph.ValueInfo{{Name: "cout"}, {Name: "s2"}, {Name: "scan"}}
	g := graph.New("loop")
	g.Inputs = []graph.ValueInfo{graph.TensorInfo("x", tensor.Float32, 32, 32)}
	g.AddInitializer("m", tensor.Scalar(int64(4)))
	g.AddInitializer("c0", tensor.Scalar(true))
	g.AddInitializer("k", tensor.MustFromSlice([]float32{0.5}, 1))
	g.AddNode("Neg", []string{"x"}, []string{"s0"})
	g.AddNode("Loop", []string{"m", "c0", "s0"}, []string{"final", "all"}, graph.AttrG("body", body))
	g.AddNode("Sigmoid", []string{"final"}, []string{"y"})
	g.Outputs = []graph.ValueInfo{{Name: "y"}, {Name: "all"}}
	return model(g)
}

type reuseCase struct {
	name  string
	model *graph.Model
	input func(rng *rand.Rand) map[string]ops.Value
	// fused: KeepAll runs the graph unfused (every value observable), so
	// it rounds differently (bias and residual added in another order) and
	// is compared with a tolerance.
	fused bool
}

func reuseCases() []reuseCase {
	in := func(name string, shape ...int) func(*rand.Rand) map[string]ops.Value {
		return func(rng *rand.Rand) map[string]ops.Value {
			return map[string]ops.Value{name: randTensor(rng, shape...)}
		}
	}
	return []reuseCase{
		{"convnet", convNet(1), in("x", 2, 3, 16, 16), false},
		{"alias", aliasChain(), in("x", 16, 64), false},
		{"loop", loopNet(), in("x", 32, 32), false},
		{"residual7", residualNet(7), in("x", 1, 16, 7, 7), true},
		{"residual20", residualNet(20), in("x", 1, 16, 20, 20), true},
	}
}

// residualNet chains residual joins whose addend dies at the join, so
// FusedConv writes over it in place: after a pointwise conv (turned
// around on a 7x7 map, upright on 20x20), a depthwise conv and a 3x3 conv
// (Winograd or im2col); and one join whose addend is also the conv's own
// input, which must not be written over.
func residualNet(hw int) *graph.Model {
	rng := rand.New(rand.NewPCG(11, 12))
	g := graph.New("residual")
	g.Inputs = []graph.ValueInfo{graph.TensorInfo("x", tensor.Float32, 1, 16, hw, hw)}
	g.AddInitializer("w0", randTensor(rng, 32, 16, 1, 1))
	g.AddInitializer("w1", randTensor(rng, 32, 32, 1, 1))
	g.AddInitializer("b1", randTensor(rng, 32))
	g.AddInitializer("w1b", randTensor(rng, 32, 32, 1, 1))
	g.AddInitializer("w2", randTensor(rng, 32, 32, 3, 3))
	g.AddInitializer("w2b", randTensor(rng, 32, 32, 3, 3))
	g.AddInitializer("w3", randTensor(rng, 32, 1, 3, 3))
	g.AddInitializer("w4", randTensor(rng, 32, 32, 1, 1))
	k3, pad1 := graph.IntsAttr("kernel_shape", 3, 3), graph.IntsAttr("pads", 1, 1, 1, 1)
	g.AddNode("Conv", []string{"x", "w0"}, []string{"a"})
	g.AddNode("Relu", []string{"a"}, []string{"ra"})
	g.AddNode("Conv", []string{"ra", "w1", "b1"}, []string{"m"})
	g.AddNode("Relu", []string{"m"}, []string{"rm"})
	g.AddNode("Conv", []string{"rm", "w1b"}, []string{"b"})
	g.AddNode("Add", []string{"b", "ra"}, []string{"r1"}) // pointwise, in place over ra
	g.AddNode("Conv", []string{"r1", "w2"}, []string{"c"}, k3, pad1)
	g.AddNode("Add", []string{"r1", "c"}, []string{"r2"}) // the addend is the conv's input
	g.AddNode("Relu", []string{"r2"}, []string{"rr2"})
	g.AddNode("Conv", []string{"rr2", "w4"}, []string{"e"})
	g.AddNode("Relu", []string{"e"}, []string{"re"})
	g.AddNode("Conv", []string{"re", "w3"}, []string{"d"}, k3, pad1, graph.AttrI("group", 32))
	g.AddNode("Add", []string{"d", "rr2"}, []string{"r3"}) // depthwise, in place over rr2
	g.AddNode("Conv", []string{"r3", "w4"}, []string{"f"})
	g.AddNode("Relu", []string{"f"}, []string{"rf"})
	g.AddNode("Conv", []string{"rf", "w2b"}, []string{"h"}, k3, pad1)
	g.AddNode("Add", []string{"h", "r3"}, []string{"r4"}) // 3x3, in place over r3
	g.AddNode("GlobalAveragePool", []string{"r4"}, []string{"out"})
	g.Outputs = []graph.ValueInfo{{Name: "out"}}
	return model(g)
}

func snapshot(t *testing.T, out map[string]ops.Value) map[string][]uint32 {
	t.Helper()
	s := map[string][]uint32{}
	for k, v := range out {
		tt, ok := v.(*tensor.Tensor)
		if !ok {
			t.Fatalf("output %s is %T", k, v)
		}
		bits := make([]uint32, tt.Len())
		for i, f := range tt.F32() {
			bits[i] = math.Float32bits(f)
		}
		s[k] = bits
	}
	return s
}

func sameBits(t *testing.T, what string, got, want map[string][]uint32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d outputs, want %d", what, len(got), len(want))
	}
	for k, w := range want {
		g := got[k]
		if len(g) != len(w) {
			t.Fatalf("%s: output %s has %d elements, want %d", what, k, len(g), len(w))
		}
		for i := range w {
			if g[i] != w[i] {
				t.Fatalf("%s: output %s[%d] = %v, want %v", what, k, i, math.Float32frombits(g[i]), math.Float32frombits(w[i]))
			}
		}
	}
}

// closeBits is sameBits within 1e-5 relative.
func closeBits(t *testing.T, what string, got, want map[string][]uint32) {
	t.Helper()
	for k, w := range want {
		g := got[k]
		if len(g) != len(w) {
			t.Fatalf("%s: output %s has %d elements, want %d", what, k, len(g), len(w))
		}
		for i := range w {
			a, b := float64(math.Float32frombits(g[i])), float64(math.Float32frombits(w[i]))
			if math.Abs(a-b) > 1e-5*(1+math.Abs(b)) {
				t.Fatalf("%s: output %s[%d] = %v, want %v", what, k, i, a, b)
			}
		}
	}
}

func mustSession(t *testing.T, m *graph.Model, o Options) *Session {
	t.Helper()
	s, err := NewSession(m, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustRun(t *testing.T, s *Session, in map[string]ops.Value) map[string]ops.Value {
	t.Helper()
	out, err := s.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Outputs with buffer reuse are bit-identical to outputs without it, on
// every Run (the arena carries buffers from one Run to the next), with and
// without the graph passes; earlier Runs' outputs stay intact.
func TestReuseMatchesNoReuse(t *testing.T) {
	for _, c := range reuseCases() {
		for _, noOpt := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/noopt=%v", c.name, noOpt), func(t *testing.T) {
				plain := mustSession(t, c.model, Options{Threads: 2, NoReuse: true, NoOptimize: noOpt})
				keep := mustSession(t, c.model, Options{Threads: 2, KeepAll: true, NoOptimize: noOpt})
				reuse := mustSession(t, c.model, Options{Threads: 2, NoOptimize: noOpt})
				rng := rand.New(rand.NewPCG(3, 4))
				type kept struct {
					out  map[string]ops.Value
					bits map[string][]uint32
				}
				var history []kept
				for run := 0; run < 4; run++ {
					in := c.input(rng)
					want := snapshot(t, mustRun(t, plain, in))
					if c.fused && !noOpt {
						closeBits(t, fmt.Sprintf("run %d keep-all (unfused)", run), snapshot(t, mustRun(t, keep, in)), want)
					} else {
						sameBits(t, fmt.Sprintf("run %d keep-all", run), snapshot(t, mustRun(t, keep, in)), want)
					}
					out := mustRun(t, reuse, in)
					sameBits(t, fmt.Sprintf("run %d reuse", run), snapshot(t, out), want)
					history = append(history, kept{out, want})
					for i, h := range history {
						sameBits(t, fmt.Sprintf("outputs of run %d after run %d", i, run), snapshot(t, h.out), h.bits)
					}
				}
				st := reuse.ReuseStats()
				if st.Runs == 0 || st.Allocs == 0 {
					t.Fatalf("the arena was not used: %+v", st)
				}
				if st.Reused+st.InPlace == 0 {
					t.Errorf("no buffer was recycled: %+v", st)
				}
				t.Logf("%+v", st)
			})
		}
	}
}

// A graph output is never handed out again: neither later in the same Run
// (an output that later nodes read, an output that is a view of a value
// that dies) nor by later Runs, even while the caller writes to it.
func TestGraphOutputNeverOverwritten(t *testing.T) {
	s := mustSession(t, aliasChain(), Options{Threads: 1})
	rng := rand.New(rand.NewPCG(5, 6))
	x := randTensor(rng, 16, 64)
	out := mustRun(t, s, map[string]ops.Value{"x": x})
	// view is Relu(x) seen through five views; na1 = 1 - Relu(x) was read by
	// a later in-place Relu, so neither may have been written over.
	view, na1 := out["view"].(*tensor.Tensor).F32(), out["na1"].(*tensor.Tensor).F32()
	for i, v := range x.F32() {
		r := max(v, 0)
		if view[i] != r {
			t.Fatalf("view[%d] = %v, want relu(x) = %v", i, view[i], r)
		}
		if na1[i] != -r+1 {
			t.Fatalf("na1[%d] = %v, want %v", i, na1[i], -r+1)
		}
	}
	before := snapshot(t, out)
	// Scribble over the first Run's outputs, then run again: the arena must
	// not have kept them.
	for _, v := range out {
		d := v.(*tensor.Tensor).F32()
		for i := range d {
			d[i] = 1e9
		}
	}
	for k := 0; k < 3; k++ {
		out2 := mustRun(t, s, map[string]ops.Value{"x": x})
		sameBits(t, fmt.Sprintf("run %d after scribbling", k+2), snapshot(t, out2), before)
		for _, v := range out {
			for _, f := range v.(*tensor.Tensor).F32() {
				if f != 1e9 {
					t.Fatalf("a later Run wrote into an earlier Run's output")
				}
			}
		}
	}
	// The input the caller fed is never written either.
	for i, v := range x.F32() {
		if math.IsNaN(float64(v)) || v == 1e9 {
			t.Fatalf("input x[%d] was overwritten", i)
		}
	}
}

// Concurrent Runs of one session on a conv net, serialized to ONNX and
// loaded back (run with -race), give the same bits as a single-threaded
// reference; each Run has its own arena.
func TestConcurrentConvNet(t *testing.T) {
	b, err := onnx.Encode(convNet(2))
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnx.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	ref := mustSession(t, m, Options{Threads: 1, NoReuse: true})
	s := mustSession(t, m, Options{Threads: 2})
	const workers, runs = 4, 6
	inputs := make([]map[string]ops.Value, workers*runs)
	wants := make([]map[string][]uint32, len(inputs))
	rng := rand.New(rand.NewPCG(8, 9))
	for i := range inputs {
		inputs[i] = map[string]ops.Value{"x": randTensor(rng, 2, 3, 16, 16)}
		wants[i] = snapshot(t, mustRun(t, ref, inputs[i]))
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for k := 0; k < runs; k++ {
				i := w*runs + k
				out, err := s.Run(context.Background(), inputs[i])
				if err != nil {
					errs <- err
					return
				}
				for name, want := range wants[i] {
					got := out[name].(*tensor.Tensor).F32()
					for j := range want {
						if math.Float32bits(got[j]) != want[j] {
							errs <- fmt.Errorf("worker %d run %d: %s[%d] = %v, want %v", w, k, name, j, got[j], math.Float32frombits(want[j]))
							return
						}
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
