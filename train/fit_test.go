package train

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/model/zoo"
	"github.com/frugal-ml/frugal/tensor"
	"github.com/frugal-ml/frugal/train/optim"
)

// synthetic makes an easy 10-class 1x28x28 set: each class is a bright
// 6x6 square at its own position plus noise.
func synthetic(n int, seed uint64) *Arrays {
	r := rand.New(rand.NewPCG(seed, 3))
	x := make([]float32, n*784)
	y := make([]uint8, n)
	for i := 0; i < n; i++ {
		c := r.IntN(10)
		y[i] = uint8(c)
		img := x[i*784 : (i+1)*784]
		for j := range img {
			img[j] = float32(r.NormFloat64() * 0.3)
		}
		oy, ox := 2+(c/5)*12+r.IntN(3), 2+(c%5)*5+r.IntN(2)
		for dy := 0; dy < 6; dy++ {
			for dx := 0; dx < 4; dx++ {
				img[(oy+dy)*28+ox+dx] += 1.5
			}
		}
	}
	a, err := NewArrays(x, y, 1, 28, 28)
	if err != nil {
		panic(err)
	}
	return a
}

func TestFitLeNet5Synthetic(t *testing.T) {
	m := zoo.LeNet5(1)
	tr, te := synthetic(2048, 1), synthetic(512, 2)
	var reports int
	res, err := Fit(m, tr, te, Config{Epochs: 2, BatchSize: 64, Seed: 7, Threads: 2,
		Optimizer: optim.Config{Kind: "adamw", LR: 2e-3}, Schedule: optim.Schedule{Kind: "cosine", WarmupSteps: 5}},
		func(p Progress) { reports++ })
	if err != nil {
		t.Fatal(err)
	}
	if res.TestAcc < 0.95 {
		t.Fatalf("test accuracy %.3f after %+v", res.TestAcc, res.Epochs)
	}
	if res.Epochs[1].Loss >= res.Epochs[0].Loss {
		t.Fatalf("loss did not fall: %+v", res.Epochs)
	}
	if reports != 2*32+2 {
		t.Fatalf("%d progress reports", reports)
	}
}

func weights(m *graph.Model) map[string][]float32 {
	out := map[string][]float32{}
	for k, v := range m.Graph.Initializers {
		out[k] = append([]float32(nil), v.F32()...)
	}
	return out
}

func TestFitDeterministic(t *testing.T) {
	run := func(threads int) map[string][]float32 {
		m := zoo.SmallCNN(3)
		_, err := Fit(m, synthetic(300, 4), nil, Config{Epochs: 1, BatchSize: 50, Seed: 11, Threads: threads,
			Optimizer: optim.Config{Kind: "sgd", LR: 0.05, Momentum: 0.9, Nesterov: true, WeightDecay: 1e-4}, ClipNorm: 5}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return weights(m)
	}
	for _, threads := range []int{1, 3} {
		a, b := run(threads), run(threads)
		for k := range a {
			for i := range a[k] {
				if math.Float32bits(a[k][i]) != math.Float32bits(b[k][i]) {
					t.Fatalf("threads=%d: %s[%d] differs: %v vs %v", threads, k, i, a[k][i], b[k][i])
				}
			}
		}
	}
}

func TestFitDoesNotMutateSharedWeights(t *testing.T) {
	m := zoo.LeNet300100(1)
	before := weights(m)
	orig := map[string][]float32{}
	for k, v := range m.Graph.Initializers {
		orig[k] = v.F32()
	}
	if _, err := Fit(m, synthetic(128, 1), nil, Config{BatchSize: 64, Threads: 2}, nil); err != nil {
		t.Fatal(err)
	}
	for k, v := range orig {
		for i := range v {
			if v[i] != before[k][i] {
				t.Fatalf("Fit mutated the original tensor %s", k)
			}
		}
	}
	changed := false
	for k, v := range m.Graph.Initializers {
		if v.F32()[0] != before[k][0] {
			changed = true
		}
	}
	if !changed {
		t.Fatal("Fit did not update the model")
	}
}

func TestFitErrors(t *testing.T) {
	m := zoo.LeNet5(1)
	bad, _ := NewArrays(make([]float32, 2*10), []uint8{0, 1}, 10)
	if _, err := Fit(m, bad, nil, Config{}, nil); err == nil {
		t.Fatal("wrong sample shape accepted")
	}
	if _, err := Fit(m, synthetic(8, 1), nil, Config{LabelSmoothing: 1.5}, nil); err == nil {
		t.Fatal("bad label smoothing accepted")
	}
	if _, err := Fit(m, synthetic(8, 1), nil, Config{Optimizer: optim.Config{Kind: "nope"}}, nil); err == nil {
		t.Fatal("bad optimizer accepted")
	}
	lbl, _ := NewArrays(make([]float32, 784), []uint8{200}, 1, 28, 28)
	if _, err := Fit(m, lbl, nil, Config{}, nil); err == nil {
		t.Fatal("label out of range accepted")
	}
}

func BenchmarkStep(b *testing.B) {
	for _, name := range []string{"lenet5", "small-cnn"} {
		b.Run(name, func(b *testing.B) {
			m, _ := zoo.Build(name, 1)
			tr, err := NewTrainer(m, Config{Threads: 2, Optimizer: optim.Config{Kind: "sgd", LR: 0.01, Momentum: 0.9}})
			if err != nil {
				b.Fatal(err)
			}
			d := synthetic(64, 1)
			y := make([]int, 64)
			for i := range y {
				y[i] = int(d.Y[i])
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, _, err := tr.Step(d.X, y); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

func TestBench(t *testing.T) {
	m := zoo.LeNet300100(1)
	r, err := Bench(m, BenchConfig{Batch: 16, Threads: 2, Steps: 2, Warmup: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r.SamplesPerSec <= 0 || r.Params != 266610 || r.Optimizer != "sgd" {
		t.Fatalf("%+v", r)
	}
}

// TestBenchJSON prints `frugal bench train --json` output for the bench
// script when FRUGAL_BENCH_MODEL is set.
func TestBenchJSON(t *testing.T) {
	name := os.Getenv("FRUGAL_BENCH_MODEL")
	if name == "" {
		t.Skip("set FRUGAL_BENCH_MODEL")
	}
	atoi := func(k string, def int) int {
		if v, err := strconv.Atoi(os.Getenv(k)); err == nil {
			return v
		}
		return def
	}
	m, err := zoo.Build(name, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Bench(m, BenchConfig{Batch: atoi("FRUGAL_BENCH_BATCH", 64), Threads: atoi("FRUGAL_BENCH_THREADS", 2), Steps: atoi("FRUGAL_BENCH_STEPS", 20)})
	if err != nil {
		t.Fatal(err)
	}
	r.Model = name
	b, _ := json.Marshal(r)
	fmt.Printf("BENCH_JSON %s\n", b)
}

// An MLP with ops the inference runtime lacks (LayerNormalization, Dropout)
// trains, and evaluates through the training kernels in inference mode.
func TestFitMLPWithLayerNormDropout(t *testing.T) {
	g := graph.New("mlp")
	g.Inputs = []graph.ValueInfo{{Name: "x", Type: graph.Type{DType: tensor.Float32, HasShape: true,
		Shape: graph.Shape{{Size: -1, Param: "batch"}, {Size: 1}, {Size: 28}, {Size: 28}}}}}
	r := rand.New(rand.NewPCG(1, 1))
	init := func(name string, fanIn int, shape ...int) {
		w := tensor.New(tensor.Float32, shape...)
		for i := range w.F32() {
			w.F32()[i] = float32(r.NormFloat64() / math.Sqrt(float64(fanIn)))
		}
		g.AddInitializer(name, w)
	}
	init("w1", 784, 64, 784)
	g.AddInitializer("b1", tensor.New(tensor.Float32, 64))
	ones := tensor.New(tensor.Float32, 64)
	for i := range ones.F32() {
		ones.F32()[i] = 1
	}
	g.AddInitializer("ln.s", ones)
	g.AddInitializer("ln.b", tensor.New(tensor.Float32, 64))
	g.AddInitializer("ratio", tensor.Scalar(float32(0.2)))
	init("w2", 64, 10, 64)
	g.AddInitializer("b2", tensor.New(tensor.Float32, 10))
	g.AddNode("Flatten", []string{"x"}, []string{"f"})
	g.AddNode("Gemm", []string{"f", "w1", "b1"}, []string{"h"}, graph.AttrI("transB", 1))
	g.AddNode("LayerNormalization", []string{"h", "ln.s", "ln.b"}, []string{"n"})
	g.AddNode("Gelu", []string{"n"}, []string{"a"})
	g.AddNode("Dropout", []string{"a", "ratio"}, []string{"d"})
	g.AddNode("Gemm", []string{"d", "w2", "b2"}, []string{"logits"}, graph.AttrI("transB", 1))
	g.Outputs = []graph.ValueInfo{{Name: "logits", Type: graph.Type{DType: tensor.Float32, HasShape: true,
		Shape: graph.Shape{{Size: -1, Param: "batch"}, {Size: 10}}}}}
	m := &graph.Model{Graph: g, Opsets: []graph.OpsetImport{{Version: 20}}}
	res, err := Fit(m, synthetic(1024, 5), synthetic(256, 6), Config{Epochs: 2, BatchSize: 32, Threads: 2, Seed: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.TestAcc < 0.9 {
		t.Fatalf("test accuracy %.3f: %+v", res.TestAcc, res.Epochs)
	}
}

func TestCheckpointResumeBitExact(t *testing.T) {
	cfg := Config{Epochs: 2, BatchSize: 32, Seed: 3, Threads: 2, Optimizer: optim.Config{Kind: "adamw", WeightDecay: 0.01},
		Schedule: optim.Schedule{Kind: "cosine"}}
	trainSet := synthetic(160, 9)
	// uninterrupted
	m1 := zoo.LeNet300100(2)
	if _, err := Fit(m1, trainSet, nil, cfg, nil); err != nil {
		t.Fatal(err)
	}
	// one epoch, checkpoint, a fresh process (model) resumes for the second
	path := t.TempDir() + "/ck.safetensors"
	c1 := cfg
	c1.Checkpoint = path
	c1.MaxSteps = 5 // interrupted after the first epoch
	m2 := zoo.LeNet300100(2)
	if _, err := Fit(m2, trainSet, nil, c1, nil); err != nil {
		t.Fatal(err)
	}
	m3 := zoo.LeNet300100(99) // different init: everything must come from the file
	c2 := cfg
	c2.Checkpoint, c2.Resume = path, true
	res, err := Fit(m3, trainSet, nil, c2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Epochs) != 2 || res.Steps != 10 {
		t.Fatalf("resumed result: %d epochs, %d steps", len(res.Epochs), res.Steps)
	}
	w1, w3 := weights(m1), weights(m3)
	for k := range w1 {
		for i := range w1[k] {
			if math.Float32bits(w1[k][i]) != math.Float32bits(w3[k][i]) {
				t.Fatalf("%s[%d]: resumed %v, uninterrupted %v", k, i, w3[k][i], w1[k][i])
			}
		}
	}
	// A checkpoint is also a weights file.
	m4 := zoo.LeNet300100(7)
	if _, err := LoadWeights(m4, path); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadWeights(zoo.LeNet5(1), path); err == nil {
		t.Fatal("weights of another architecture accepted")
	}
}

// failingSet fails to fill the batch holding sample bad.
type failingSet struct {
	*Arrays
	bad int
}

func (f failingSet) Fill(idx []int, x []float32, y []int) error {
	for _, i := range idx {
		if i == f.bad {
			return fmt.Errorf("sample %d is unreadable", i)
		}
	}
	return f.Arrays.Fill(idx, x, y)
}

// Batches assembled ahead in a goroutine (with augmentation) give the
// same weights, bit for bit, as batches assembled in line.
func TestFitPrefetchBitIdentical(t *testing.T) {
	run := func(prefetch, maxSteps int) map[string][]float32 {
		m := zoo.LeNet5(2)
		_, err := Fit(m, synthetic(333, 4), nil, Config{Epochs: 2, BatchSize: 40, Seed: 5, Threads: 2, Prefetch: prefetch,
			MaxSteps: maxSteps, Pad: 2, FlipH: true, Optimizer: optim.Config{Kind: "sgd", LR: 0.05, Momentum: 0.9}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return weights(m)
	}
	for _, maxSteps := range []int{0, 11} {
		want := run(-1, maxSteps)
		for _, prefetch := range []int{0, 1, 5} {
			got := run(prefetch, maxSteps)
			for k := range want {
				for i := range want[k] {
					if math.Float32bits(want[k][i]) != math.Float32bits(got[k][i]) {
						t.Fatalf("prefetch %d, max steps %d: %s[%d] = %v, in line %v", prefetch, maxSteps, k, i, got[k][i], want[k][i])
					}
				}
			}
		}
	}
}

func TestFitPrefetchStops(t *testing.T) {
	before := goruntime.NumGoroutine()
	set := failingSet{synthetic(256, 1), 77}
	for _, prefetch := range []int{-1, 2} {
		_, err := Fit(zoo.LeNet300100(1), set, nil, Config{BatchSize: 32, Threads: 1, Prefetch: prefetch}, nil)
		if err == nil || !strings.Contains(err.Error(), "sample 77 is unreadable") {
			t.Fatalf("prefetch %d: error %v", prefetch, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	steps := 0
	_, err := Fit(zoo.LeNet300100(1), synthetic(512, 1), nil, Config{BatchSize: 16, Threads: 1, Context: ctx}, func(p Progress) {
		if steps++; steps == 3 {
			cancel()
		}
	})
	if err != context.Canceled || steps != 3 {
		t.Fatalf("cancelled after %d steps: %v", steps, err)
	}
	for i := 0; i < 100 && goruntime.NumGoroutine() > before; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if n := goruntime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines left running (%d before)", n, before)
	}
}
