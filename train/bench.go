package train

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// BenchConfig tunes Bench.
type BenchConfig struct {
	Batch   int    // samples per step (default 64)
	Threads int    // default GOMAXPROCS
	Warmup  int    // untimed steps (default 3)
	Steps   int    // timed steps (default 20)
	Seed    uint64 // synthetic data
	// Train holds the optimizer settings; its Threads and batch fields are
	// ignored. The zero value benchmarks SGD with momentum 0.9.
	Train Config
}

// BenchResult is the measured throughput of one training step (forward,
// loss, backward, update) on synthetic data.
type BenchResult struct {
	Model         string  `json:"model"`
	Batch         int     `json:"batch"`
	Threads       int     `json:"threads"`
	Steps         int     `json:"steps"`
	SamplesPerSec float64 `json:"samples_per_s"` // Steps*Batch / total time
	MeanStepMs    float64 `json:"mean_step_ms"`
	MedianStepMs  float64 `json:"median_step_ms"`
	MinStepMs     float64 `json:"min_step_ms"`
	Params        int     `json:"params"`
	Optimizer     string  `json:"optimizer"`
}

// Bench measures training throughput of m with synthetic inputs (standard
// normal) and uniformly random labels. m is trained in place.
func Bench(m *graph.Model, cfg BenchConfig) (*BenchResult, error) {
	if cfg.Batch == 0 {
		cfg.Batch = 64
	}
	if cfg.Threads <= 0 {
		cfg.Threads = defaultThreads()
	}
	if cfg.Warmup == 0 {
		cfg.Warmup = 3
	}
	if cfg.Steps == 0 {
		cfg.Steps = 20
	}
	if cfg.Batch < 0 || cfg.Steps < 0 || cfg.Warmup < 0 {
		return nil, fmt.Errorf("train: bench batch %d, steps %d and warm-up %d must be positive", cfg.Batch, cfg.Steps, cfg.Warmup)
	}
	tc := cfg.Train
	tc.Threads = cfg.Threads
	if tc.Optimizer.Kind == "" {
		tc.Optimizer.Kind = "sgd"
		if tc.Optimizer.LR == 0 {
			tc.Optimizer.LR = 0.01
		}
		if tc.Optimizer.Momentum == 0 {
			tc.Optimizer.Momentum = 0.9
		}
	}
	tr, err := NewTrainer(m, tc)
	if err != nil {
		return nil, err
	}
	if tr.shape == nil {
		return nil, fmt.Errorf("train: model input %q has no fixed per-sample shape to synthesise data for", tr.input)
	}
	classes := tr.classes
	if classes <= 0 {
		return nil, fmt.Errorf("train: model output %q has no known number of classes", tr.output)
	}
	r := rand.New(rand.NewPCG(cfg.Seed, 5))
	ss := tensor.NumElems(tr.shape)
	x := make([]float32, cfg.Batch*ss)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	y := make([]int, cfg.Batch)
	for i := range y {
		y[i] = r.IntN(classes)
	}
	tr.SetPlannedSteps(cfg.Warmup + cfg.Steps)
	for i := 0; i < cfg.Warmup; i++ {
		if _, _, err := tr.Step(x, y); err != nil {
			return nil, err
		}
	}
	times := make([]float64, cfg.Steps)
	start := time.Now()
	for i := 0; i < cfg.Steps; i++ {
		t0 := time.Now()
		if _, _, err := tr.Step(x, y); err != nil {
			return nil, err
		}
		times[i] = float64(time.Since(t0).Nanoseconds()) / 1e6
	}
	total := time.Since(start).Seconds()
	sort.Float64s(times)
	params := 0
	for _, p := range tr.Params() {
		params += len(p.W)
	}
	return &BenchResult{Model: m.Graph.Name, Batch: cfg.Batch, Threads: cfg.Threads, Steps: cfg.Steps,
		SamplesPerSec: float64(cfg.Steps*cfg.Batch) / total, MeanStepMs: total * 1e3 / float64(cfg.Steps),
		MedianStepMs: times[len(times)/2], MinStepMs: times[0], Params: params, Optimizer: tr.cfg.Optimizer.Kind}, nil
}
