package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/frugal-ml/frugal/arith"
	"github.com/frugal-ml/frugal/arith/round"
	"github.com/frugal-ml/frugal/data"
	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/runtime"
	"github.com/frugal-ml/frugal/model/zoo"
	"github.com/frugal-ml/frugal/tensor"
	"github.com/frugal-ml/frugal/train/optim"
)

// TestGuptaFixedPoint reproduces the experiment of Gupta et al. 2015,
// "Deep Learning with Limited Numerical Precision": LeNet-5 on MNIST
// trained in 16-bit fixed point <IL, FL> (IL + FL = 16, sign included in
// IL; frugal's fixed<IL-1>_<FL>) for FL = 14, 12, 10, 8, rounding to
// nearest or stochastically, next to fp32.
//
// As in the paper, nothing is kept in fp32 between steps: the input
// pixels, every activation, every gradient and the weights themselves live
// in the format (update role: w <- round(w - lr*g), no fp32 master copy),
// and the optimizer is plain SGD (lr 0.01, batch 32) — a momentum buffer
// would be fp32 state that accumulates the sub-ulp gradients the rounding
// is about (FRUGAL_GUPTA_MOMENTUM shows it). Products and sums are computed
// in fp32 and rounded once per tensor, as the paper's accumulators are
// wider than 16 bits.
//
// Set FRUGAL_GUPTA=1 (FRUGAL_EPOCHS overrides the 5 epochs,
// FRUGAL_GUPTA_FL="10,8" selects rows); it prints a Markdown table. The
// whole table takes about 17 minutes on 2 cores: pass -timeout 1h.
//
// The paper's MNIST networks differ from LeNet-5; these select them and
// its training choices:
//
//   - FRUGAL_GUPTA_MODEL: lenet5 (default), lenet-300-100 (784-300-100-10)
//     or dnn-1000 (the paper's fully connected 784-1000-1000-10, ReLU);
//   - FRUGAL_GUPTA_BATCH (default 32), FRUGAL_GUPTA_LR (default 0.01);
//   - FRUGAL_GUPTA_INIT=gauss:SD draws every weight from N(0, SD^2) with
//     zero biases instead of the zoo's He-uniform init;
//   - FRUGAL_GUPTA_COLS=all runs only the everything-in-the-format column;
//   - FRUGAL_GUPTA_LOGITS=fp32 keeps the logits (the last layer's output,
//     not its gradient) in fp32 in that column (Precision.ActFP32) — not
//     the paper's setup: it isolates the logits' range from the rest.
//
// After the fp32 run it logs how large the fp32 network's logits and hidden
// activations get on the test set, against the <IL,FL> ranges.
func TestGuptaFixedPoint(t *testing.T) {
	if os.Getenv("FRUGAL_GUPTA") == "" {
		t.Skip("set FRUGAL_GUPTA=1 to run the fixed-point training experiment")
	}
	epochs := 5
	if e, err := strconv.Atoi(os.Getenv("FRUGAL_EPOCHS")); err == nil {
		epochs = e
	}
	var momentum float64
	if s := os.Getenv("FRUGAL_GUPTA_MOMENTUM"); s != "" {
		var err error
		if momentum, err = strconv.ParseFloat(s, 32); err != nil {
			t.Fatal(err)
		}
	}
	fls := []int{14, 12, 10, 8}
	if s := os.Getenv("FRUGAL_GUPTA_FL"); s != "" {
		fls = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 0 || n > 15 {
				t.Fatalf("FRUGAL_GUPTA_FL: %q", f)
			}
			fls = append(fls, n)
		}
	}
	modelName := "lenet5"
	if s := os.Getenv("FRUGAL_GUPTA_MODEL"); s != "" {
		modelName = s
	}
	batch := 32
	if s := os.Getenv("FRUGAL_GUPTA_BATCH"); s != "" {
		var err error
		if batch, err = strconv.Atoi(s); err != nil || batch < 2 {
			t.Fatalf("FRUGAL_GUPTA_BATCH: %q", s)
		}
	}
	lr := 0.01
	if s := os.Getenv("FRUGAL_GUPTA_LR"); s != "" {
		var err error
		if lr, err = strconv.ParseFloat(s, 64); err != nil {
			t.Fatal(err)
		}
	}
	var initSD float64
	if s := os.Getenv("FRUGAL_GUPTA_INIT"); s != "" {
		v, ok := strings.CutPrefix(s, "gauss:")
		var err error
		if initSD, err = strconv.ParseFloat(v, 64); !ok || err != nil || initSD <= 0 {
			t.Fatalf("FRUGAL_GUPTA_INIT: %q (want gauss:SD)", s)
		}
	}
	actCol := os.Getenv("FRUGAL_GUPTA_COLS") != "all"
	var keep string
	if os.Getenv("FRUGAL_GUPTA_LOGITS") == "fp32" {
		keep = "logits"
	}
	build := func() *graph.Model {
		var m *graph.Model
		if modelName == "dnn-1000" {
			m = guptaDNN(1, 1000, 1000)
		} else {
			var err error
			if m, err = zoo.Build(modelName, 1); err != nil {
				t.Fatal(err)
			}
		}
		if initSD > 0 {
			gaussInit(m, initSD, 1)
		}
		return m
	}
	load := func(split string) *data.Dataset {
		d, err := data.Load("mnist", split)
		if err != nil {
			t.Fatal(err)
		}
		return d // pixels in [0, 1], as in the paper
	}
	trD, teD := load("train"), load("test")
	arrays := func(d *data.Dataset, format string) *Arrays {
		x := d.Images
		if format != "" { // the input stored in the format too
			f, err := arith.Lookup(format)
			if err != nil {
				t.Fatal(err)
			}
			x = make([]float32, len(d.Images))
			if err := f.Quantize(x, d.Images, round.Options{Saturate: true}); err != nil {
				t.Fatal(err)
			}
		}
		a, err := NewArrays(x, d.Labels, d.C, d.H, d.W)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	var fp32Model *graph.Model
	run := func(p Precision, input string) (testErr float64, note string) {
		m := build()
		t0 := time.Now()
		res, err := Fit(m, arrays(trD, input), arrays(teD, input), Config{Epochs: epochs, BatchSize: batch, Seed: 1, Threads: 2,
			Optimizer: optim.Config{Kind: "sgd", LR: float32(lr), Momentum: float32(momentum)}, Precision: p}, nil)
		if p.IsFP32() {
			fp32Model = m
		}
		if err != nil {
			t.Logf("%s: %v", p, err)
			return 1, "diverged"
		}
		var per []string
		for _, e := range res.Epochs {
			per = append(per, fmt.Sprintf("%.2f", 100*(1-e.TestAcc)))
		}
		t.Logf("%s: test error by epoch %s%% (%.0f s)", p, strings.Join(per, " "), time.Since(t0).Seconds())
		return 1 - res.TestAcc, ""
	}
	cell := func(e float64, note string) string {
		if note != "" {
			return note
		}
		return fmt.Sprintf("%.2f%%", 100*e)
	}
	var b strings.Builder
	init := "zoo init"
	if initSD > 0 {
		init = fmt.Sprintf("init N(0, %g^2)", initSD)
	}
	fmt.Fprintf(&b, "%s, MNIST, %d epochs of SGD (lr %g, momentum %g, batch %d, %s), 2 threads, seed 1: test error\n\n", modelName, epochs, lr, momentum, batch, init)
	all := "input, act, weight, grad, update fixed"
	if keep != "" {
		all += " (logits fp32)"
	}
	fmt.Fprintf(&b, "| <IL,FL> | format | rounding | %s | weight, grad, update fixed (act fp32) |\n|---|---|---|---|---|\n", all)
	e, n := run(Precision{}, "")
	fmt.Fprintf(&b, "| fp32 | fp32 | - | %s | %s |\n", cell(e, n), cell(e, n))
	if fp32Model != nil {
		logActivationRanges(t, fp32Model, teD)
	}
	for _, fl := range fls {
		f := fmt.Sprintf("fixed%d_%d", 15-fl, fl)
		for _, mode := range []round.Mode{round.NearestEven, round.Stochastic} {
			all, an := run(Precision{Activations: f, Weights: f, Gradients: f, Update: f,
				ActRound: mode, WeightRound: mode, GradRound: mode, UpdateRound: mode, ActFP32: keep}, f)
			wgu, wn := 0.0, "-"
			if actCol {
				wgu, wn = run(Precision{Weights: f, Gradients: f, Update: f,
					WeightRound: mode, GradRound: mode, UpdateRound: mode}, "")
			}
			fmt.Fprintf(&b, "| <%d,%d> | %s | %s | %s | %s |\n", 16-fl, fl, f, mode, cell(all, an), cell(wgu, wn))
		}
	}
	fmt.Println(b.String())
}

// guptaDNN is the fully connected MNIST network of Gupta et al. 2015:
// 784 inputs, hidden ReLU layers of the given widths, 10 logits, with the
// zoo's He-uniform weights and uniform biases.
func guptaDNN(seed uint64, hidden ...int) *graph.Model {
	g := graph.New("dnn")
	g.Inputs = []graph.ValueInfo{{Name: "input", Type: graph.Type{DType: tensor.Float32, HasShape: true,
		Shape: graph.Shape{{Size: -1, Param: "batch"}, {Size: 1}, {Size: 28}, {Size: 28}}}}}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	uniform := func(bound float64, shape ...int) *tensor.Tensor {
		w := tensor.New(tensor.Float32, shape...)
		for i := range w.F32() {
			w.F32()[i] = float32((rng.Float64()*2 - 1) * bound)
		}
		return w
	}
	g.AddNode("Flatten", []string{"input"}, []string{"flatten"}, graph.AttrI("axis", 1))
	cur, in := "flatten", 784
	widths := append(append([]int(nil), hidden...), 10)
	for i, out := range widths {
		param, name := fmt.Sprintf("fc%d", i+1), fmt.Sprintf("fc%d", i+1)
		if i == len(widths)-1 {
			name = "logits"
		}
		g.AddInitializer(param+".weight", uniform(math.Sqrt(6/float64(in)), out, in))
		g.AddInitializer(param+".bias", uniform(1/math.Sqrt(float64(in)), out))
		g.AddNode("Gemm", []string{cur, param + ".weight", param + ".bias"}, []string{name}, graph.AttrI("transB", 1))
		cur, in = name, out
		if i < len(widths)-1 {
			g.AddNode("Relu", []string{cur}, []string{cur + ".relu"})
			cur += ".relu"
		}
	}
	g.Outputs = []graph.ValueInfo{{Name: "logits", Type: graph.Type{DType: tensor.Float32, HasShape: true,
		Shape: graph.Shape{{Size: -1, Param: "batch"}, {Size: 10}}}}}
	return &graph.Model{Graph: g, Opsets: []graph.OpsetImport{{Domain: "", Version: 17}}, IRVersion: 8,
		ProducerName: "frugal", ProducerVersion: "0.1"}
}

// gaussInit redraws every weight (rank >= 2 initializer) from N(0, sd^2)
// and zeroes every bias.
func gaussInit(m *graph.Model, sd float64, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	var names []string
	for k := range m.Graph.Initializers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		w := m.Graph.Initializers[k]
		for i := range w.F32() {
			if len(w.Shape) >= 2 {
				w.F32()[i] = float32(rng.NormFloat64() * sd)
			} else {
				w.F32()[i] = 0
			}
		}
	}
}

// logActivationRanges logs, for the fp32-trained model on the test set,
// the largest magnitude of every Gemm/Conv output (pre-activation; the
// ReLU after it only drops negatives) and the share of its values beyond
// 2 and 8, the ranges of <2,14> and <4,12>.
func logActivationRanges(t *testing.T, m *graph.Model, d *data.Dataset) {
	saved := m.Graph.Outputs
	defer func() { m.Graph.Outputs = saved }()
	var names []string
	for _, nd := range m.Graph.Nodes {
		if nd.OpType == "Gemm" || nd.OpType == "Conv" {
			names = append(names, nd.Outputs[0])
		}
	}
	m.Graph.Outputs = nil
	for _, n := range names {
		m.Graph.Outputs = append(m.Graph.Outputs, graph.ValueInfo{Name: n, Type: graph.Type{DType: tensor.Float32}})
	}
	sess, err := runtime.NewSession(m, runtime.Options{Threads: 2})
	if err != nil {
		t.Logf("activation ranges: %v", err)
		return
	}
	const n = 2000
	per := d.C * d.H * d.W
	x, err := tensor.FromSlice(append([]float32(nil), d.Images[:n*per]...), n, d.C, d.H, d.W)
	if err != nil {
		t.Logf("activation ranges: %v", err)
		return
	}
	res, err := sess.Run(context.Background(), map[string]any{sess.Inputs()[0].Name: x})
	if err != nil {
		t.Logf("activation ranges: %v", err)
		return
	}
	for _, name := range names {
		v, ok := res[name].(*tensor.Tensor)
		if !ok {
			continue
		}
		var mx float64
		var over2, over8 int
		for _, f := range v.F32() {
			a := math.Abs(float64(f))
			mx = max(mx, a)
			if a >= 2 {
				over2++
			}
			if a >= 8 {
				over8++
			}
		}
		k := float64(len(v.F32()))
		t.Logf("fp32 %s on %d test images: max |x| %.2f, %.1f%% >= 2, %.2f%% >= 8", name, n, mx, 100*float64(over2)/k, 100*float64(over8)/k)
	}
}
