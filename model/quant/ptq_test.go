package quant_test

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/runtime"
	"github.com/frugal-ml/frugal/model/quant"
	"github.com/frugal-ml/frugal/model/zoo"
	"github.com/frugal-ml/frugal/tensor"
)

func randInput(r *rand.Rand, n int) *tensor.Tensor {
	x := tensor.New(tensor.Float32, n, 1, 28, 28)
	for i := range x.F32() {
		x.F32()[i] = float32(r.Float64())
	}
	return x
}

func calibrate(t *testing.T, m *graph.Model, xs []*tensor.Tensor) map[string]quant.Range {
	s, err := runtime.NewSession(m, runtime.Options{KeepAll: true, NoOptimize: true})
	if err != nil {
		t.Fatal(err)
	}
	obs := quant.NewObserver(quant.CalibrationTargets(m))
	for _, x := range xs {
		vals, err := s.Trace(context.Background(), map[string]any{"input": x})
		if err != nil {
			t.Fatal(err)
		}
		obs.Observe(vals)
	}
	return obs.Ranges
}

// The fused int8 kernels must compute what the QDQ graph specifies: run the
// quantized model once with fusion (integer kernels) and once without
// (float simulation of the same Q/DQ arithmetic) and compare.
func TestQuantizedLeNetMatchesQDQSimulation(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	m := zoo.LeNet5(7)
	var calib []*tensor.Tensor
	for i := 0; i < 4; i++ {
		calib = append(calib, randInput(r, 8))
	}
	ranges := calibrate(t, m, calib)
	qm, sum, err := quant.Quantize(m, ranges, quant.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Layers != 5 {
		t.Errorf("quantized %d layers, want 5", sum.Layers)
	}
	fused, err := runtime.NewSession(qm, runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	kernels := strings.Join(fused.Kernels(), "\n")
	if strings.Count(kernels, "int8-") < 7 { // 2 conv + 3 gemm + 2 maxpool
		t.Errorf("expected int8 kernels after fusion, got:\n%s", kernels)
	}
	if strings.Contains(kernels, "(DequantizeLinear)") {
		t.Errorf("DequantizeLinear left after fusion:\n%s", kernels)
	}
	sim, err := runtime.NewSession(qm, runtime.Options{NoOptimize: true})
	if err != nil {
		t.Fatal(err)
	}
	fp, err := runtime.NewSession(m, runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := randInput(r, 16)
	a, err := fused.RunOrdered(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sim.RunOrdered(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	c, err := fp.RunOrdered(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	ya, yb, yc := a[0].(*tensor.Tensor).F32(), b[0].(*tensor.Tensor).F32(), c[0].(*tensor.Tensor).F32()
	var maxAbs, scale, fpErr float64
	for i := range ya {
		maxAbs = math.Max(maxAbs, math.Abs(float64(ya[i]-yb[i])))
		scale = math.Max(scale, math.Abs(float64(yc[i])))
		fpErr = math.Max(fpErr, math.Abs(float64(ya[i]-yc[i])))
	}
	// Integer kernels and float simulation differ only where a value sits
	// on a rounding tie; that moves a logit by at most a few LSBs.
	if maxAbs > 0.02*scale {
		t.Errorf("fused int8 vs QDQ simulation: max abs diff %g (logit scale %g)", maxAbs, scale)
	}
	if fpErr > 0.1*scale {
		t.Errorf("int8 vs fp32: max abs diff %g (logit scale %g)", fpErr, scale)
	}
	t.Logf("int8 vs sim %g, int8 vs fp32 %g, scale %g", maxAbs, fpErr, scale)
}

func TestQuantizeNeedsRanges(t *testing.T) {
	m := zoo.LeNet5(1)
	if _, _, err := quant.Quantize(m, map[string]quant.Range{}, quant.DefaultConfig()); err == nil {
		t.Fatal("expected an error for missing calibration ranges")
	}
}

// encoderLike is the shape of a PyTorch-exported transformer block where it
// matters to PTQ: nn.Linear on 3-D inputs as MatMul([K,N] weight) + Add
// (bias first, as torch writes it), a bias and a Gemm bias that reach their
// layers through Identity of another initializer (torch's export writes
// equal parameters once), one weight shared by two MatMuls (tied), and a
// last MatMul + bias Add that is the graph output (the logits).
func encoderLike(r *rand.Rand) *graph.Model {
	rt := func(scale float64, shape ...int) *tensor.Tensor {
		t := tensor.New(tensor.Float32, shape...)
		for i := range t.F32() {
			t.F32()[i] = float32(scale * r.NormFloat64())
		}
		return t
	}
	g := graph.New("enc")
	g.Inputs = []graph.ValueInfo{graph.TensorInfo("input", tensor.Float32, 1, 6, 8)}
	g.AddInitializer("w1", rt(0.3, 8, 16))
	g.AddInitializer("b1", rt(0.1, 16))
	g.AddInitializer("w2", rt(0.3, 16, 8))
	g.AddInitializer("bshared", rt(0.1, 8))
	g.AddInitializer("wg", rt(0.3, 8, 8))
	g.AddInitializer("ws", rt(0.3, 8, 8))
	g.AddInitializer("bout", rt(0.1, 8))
	g.AddInitializer("flat", tensor.MustFromSlice([]int64{6, 8}, 2))
	g.AddInitializer("back", tensor.MustFromSlice([]int64{1, 6, 8}, 3))
	g.AddNode("Identity", []string{"bshared"}, []string{"b2"})
	g.AddNode("Identity", []string{"bshared"}, []string{"bg"})
	g.AddNode("MatMul", []string{"input", "w1"}, []string{"h1"})
	g.AddNode("Add", []string{"b1", "h1"}, []string{"a1"})
	g.AddNode("Relu", []string{"a1"}, []string{"r1"})
	g.AddNode("MatMul", []string{"r1", "w2"}, []string{"h2"})
	g.AddNode("Add", []string{"b2", "h2"}, []string{"a2"})
	g.AddNode("Reshape", []string{"a2", "flat"}, []string{"a2f"})
	g.AddNode("Gemm", []string{"a2f", "wg", "bg"}, []string{"hg"}, graph.AttrI("transB", 1))
	g.AddNode("Reshape", []string{"hg", "back"}, []string{"hgb"})
	g.AddNode("MatMul", []string{"hgb", "ws"}, []string{"m3"})
	g.AddNode("MatMul", []string{"m3", "ws"}, []string{"m4"})
	g.AddNode("Add", []string{"bout", "m4"}, []string{"output"})
	g.Outputs = []graph.ValueInfo{graph.TensorInfo("output", tensor.Float32, 1, 6, 8)}
	return &graph.Model{Graph: g, Opsets: []graph.OpsetImport{{Version: 14}}}
}

func TestQuantizeEncoderLike(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	m := encoderLike(r)
	input := func() *tensor.Tensor {
		x := tensor.New(tensor.Float32, 1, 6, 8)
		for i := range x.F32() {
			x.F32()[i] = float32(r.NormFloat64())
		}
		return x
	}
	var xs []*tensor.Tensor
	for i := 0; i < 16; i++ {
		xs = append(xs, input())
	}
	qm, sum, err := quant.Quantize(m, calibrate(t, m, xs), quant.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := qm.Graph.Validate(nil); err != nil {
		t.Fatalf("quantized graph: %v", err)
	}
	if sum.Layers != 5 {
		t.Errorf("quantized %d layers, want 5 (4 MatMul, 1 Gemm)", sum.Layers)
	}
	g := qm.Graph
	var int8W, int32B int
	for _, name := range g.InitializerNames() {
		switch g.Initializers[name].DType {
		case tensor.Int8:
			int8W++
		case tensor.Int32:
			int32B++
		}
	}
	if int8W != 4 || int32B != 1 {
		t.Errorf("%d int8 weights (want 4: w1, w2, wg, ws once) and %d int32 biases (want 1: the Gemm's)", int8W, int32B)
	}
	for _, n := range g.Nodes {
		if n.OpType == "QuantizeLinear" && n.Inputs[0] == "m4" {
			t.Error("the last MatMul's output (logits before their bias) was quantized")
		}
		if n.OpType == "DequantizeLinear" && (n.Inputs[0] == "w1_quantized" || n.Inputs[0] == "ws_quantized") {
			if ax, _ := n.Int("axis", 1); ax != 1 {
				t.Errorf("%s: axis %d, want 1 (the columns of a MatMul's [K,N] weight)", n.Name, ax)
			}
		}
	}
	for _, gone := range []string{"w1", "ws", "wg"} {
		if _, ok := g.Initializers[gone]; ok {
			t.Errorf("float weight %q kept next to its int8 copy", gone)
		}
	}
	fused, err := runtime.NewSession(qm, runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	kernels := strings.Join(fused.Kernels(), "\n")
	if c := strings.Count(kernels, "int8-gemm"); c != 5 {
		t.Errorf("%d layers on int8-gemm, want 5:\n%s", c, kernels)
	}
	sim, err := runtime.NewSession(qm, runtime.Options{NoOptimize: true})
	if err != nil {
		t.Fatal(err)
	}
	fp, err := runtime.NewSession(m, runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := input()
	var ys [3][]float32
	for i, s := range []*runtime.Session{fused, sim, fp} {
		out, err := s.RunOrdered(context.Background(), x)
		if err != nil {
			t.Fatal(err)
		}
		ys[i] = out[0].(*tensor.Tensor).F32()
	}
	var scale, simErr, fpErr float64
	for i := range ys[2] {
		scale = math.Max(scale, math.Abs(float64(ys[2][i])))
		simErr = math.Max(simErr, math.Abs(float64(ys[0][i]-ys[1][i])))
		fpErr = math.Max(fpErr, math.Abs(float64(ys[0][i]-ys[2][i])))
	}
	if simErr > 0.02*scale || fpErr > 0.1*scale {
		t.Errorf("fused int8 vs QDQ simulation %g, vs fp32 %g (output scale %g)", simErr, fpErr, scale)
	}
	t.Logf("int8 vs sim %g, int8 vs fp32 %g, scale %g", simErr, fpErr, scale)
}
