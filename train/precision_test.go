package train

import (
	"math"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/frugal-ml/frugal/arith"
	"github.com/frugal-ml/frugal/arith/round"
	"github.com/frugal-ml/frugal/model/zoo"
	"github.com/frugal-ml/frugal/train/optim"
)

func TestParsePrecision(t *testing.T) {
	for spec, want := range map[string]string{
		"fp32": "fp32",
		"":     "fp32",
		"bf16": "act=bf16:rne,weight=bf16:rne,grad=bf16:rne",
		"fp16": "act=fp16:rne,weight=fp16:rne,grad=fp16:rne,loss-scale=dynamic",
		"fp8":  "act=fp8_e4m3:rne,weight=fp8_e4m3:rne,grad=fp8_e5m2:rne,scaled",
		"act=bf16,weight=bf16,grad=bf16,gemm=bf16":                                            "act=bf16:rne,weight=bf16:rne,grad=bf16:rne,gemm=bf16",
		"act=fixed3_12,weight=fixed3_12,grad=fixed3_12:sr,update=fixed3_12:sr,loss-scale=128": "act=fixed3_12:rne,weight=fixed3_12:rne,grad=fixed3_12:sr,update=fixed3_12:sr,loss-scale=128",
		"act=fixed1_14,act-fp32=logits,act-fp32=fc4":                                          "act=fixed1_14:rne,act-fp32=logits+fc4",
	} {
		p, err := ParsePrecision(spec)
		if err != nil {
			t.Fatalf("%q: %v", spec, err)
		}
		if p.String() != want {
			t.Errorf("%q -> %q, want %q", spec, p.String(), want)
		}
		if q, err := ParsePrecision(p.String()); err != nil || q.String() != want {
			t.Errorf("%q does not round-trip: %v %v", want, q, err)
		}
	}
	for _, bad := range []string{"fp17", "act=nope", "act=fp16:up", "bogus=fp16", "loss-scale=-1", "act", "gemm=fp16", "act-fp32="} {
		if _, err := ParsePrecision(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func representable(t *testing.T, format string, w []float32) {
	t.Helper()
	f, err := arith.Lookup(format)
	if err != nil {
		t.Fatal(err)
	}
	q := make([]float32, len(w))
	f.Quantize(q, w, round.Options{Saturate: true})
	for i := range w {
		if q[i] != w[i] {
			t.Fatalf("weight %d = %v is not a %s value (%v)", i, w[i], format, q[i])
		}
	}
}

func TestTrainBF16(t *testing.T) {
	for _, gemm := range []string{"", "bf16"} {
		m := zoo.LeNet5(1)
		p, _ := ParsePrecision("bf16")
		p.Update = "bf16"
		p.UpdateRound = round.Stochastic
		p.GEMM = gemm // "bf16": the AVX512_BF16 GEMM kernels
		res, err := Fit(m, synthetic(1024, 1), synthetic(256, 2), Config{Epochs: 2, BatchSize: 64, Threads: 2, Seed: 1,
			Optimizer: optim.Config{LR: 2e-3}, Precision: p}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.TestAcc < 0.9 {
			t.Fatalf("%s: bf16 test accuracy %.3f", p, res.TestAcc)
		}
		representable(t, "bf16", m.Graph.Initializers["conv1.weight"].F32())
	}
}

func TestDynamicLossScale(t *testing.T) {
	m := zoo.LeNet300100(1)
	p, _ := ParsePrecision("fp16")
	p.LossScale = 1 << 30 // overflows fp16 gradients at first
	p.GrowthInterval = 4
	tr, err := NewTrainer(m, Config{Threads: 2, Precision: p})
	if err != nil {
		t.Fatal(err)
	}
	d := synthetic(64, 3)
	y := make([]int, 64)
	for i := range y {
		y[i] = int(d.Y[i])
	}
	first := append([]float32(nil), m.Graph.Initializers["fc2.weight"].F32()...)
	for i := 0; i < 30; i++ {
		if _, _, err := tr.Step(d.X, y); err != nil {
			t.Fatal(err)
		}
	}
	if tr.SkippedSteps() == 0 || tr.LossScale() >= 1<<30 {
		t.Fatalf("skipped %d, scale %g", tr.SkippedSteps(), tr.LossScale())
	}
	if tr.SkippedSteps() >= 30 {
		t.Fatal("never recovered from overflow")
	}
	changed := false
	for i, v := range m.Graph.Initializers["fc2.weight"].F32() {
		if v != first[i] {
			changed = true
		}
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatal("non-finite weight")
		}
	}
	if !changed {
		t.Fatal("no update applied")
	}
}

// Updates far below half a unit in the last place vanish with
// round-to-nearest and survive in expectation with stochastic rounding.
func TestStochasticRoundingOfUpdates(t *testing.T) {
	run := func(mode round.Mode) (moved int, w []float32) {
		m := zoo.LeNet300100(1)
		p := Precision{Update: "fixed3_8", UpdateRound: mode}
		tr, err := NewTrainer(m, Config{Threads: 2, Seed: 5, Precision: p, Optimizer: optim.Config{Kind: "sgd", LR: 1e-4}})
		if err != nil {
			t.Fatal(err)
		}
		start := append([]float32(nil), m.Graph.Initializers["fc6.weight"].F32()...)
		d := synthetic(32, 4)
		y := make([]int, 32)
		for i := range y {
			y[i] = int(d.Y[i])
		}
		for i := 0; i < 5; i++ {
			if _, _, err := tr.Step(d.X, y); err != nil {
				t.Fatal(err)
			}
		}
		w = m.Graph.Initializers["fc6.weight"].F32()
		for i := range w {
			if w[i] != start[i] {
				moved++
			}
		}
		return moved, append([]float32(nil), w...)
	}
	if n, _ := run(round.NearestEven); n != 0 {
		t.Fatalf("round-to-nearest moved %d weights with updates below half an ulp", n)
	}
	n, w1 := run(round.Stochastic)
	if n == 0 {
		t.Fatal("stochastic rounding moved no weight")
	}
	_, w2 := run(round.Stochastic)
	for i := range w1 {
		if w1[i] != w2[i] {
			t.Fatal("stochastic rounding is not reproducible")
		}
	}
	representable(t, "fixed3_8", w1)
}

func TestFP8Scaled(t *testing.T) {
	m := zoo.LeNet5(2)
	p, _ := ParsePrecision("fp8")
	res, err := Fit(m, synthetic(1024, 1), synthetic(256, 2), Config{Epochs: 2, BatchSize: 64, Threads: 2, Seed: 1,
		Optimizer: optim.Config{LR: 2e-3}, Precision: p}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.TestAcc < 0.85 {
		t.Fatalf("fp8 test accuracy %.3f", res.TestAcc)
	}
}

func TestFastHalfMatchesArith(t *testing.T) {
	var ctr atomic.Int64
	src := make([]float32, 10000)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range src {
		src[i] = float32(r.NormFloat64() * math.Pow(2, float64(r.IntN(40)-20)))
	}
	src[0], src[1], src[2] = 1e6, -7e4, 65519
	for _, name := range []string{"fp16", "bf16"} {
		for _, sat := range []bool{true, false} {
			fast, _ := newRounder(name, round.NearestEven, false, sat, 1, &ctr)
			slow, _ := newRounder(name, round.NearestEven, false, sat, 1, &ctr)
			slow.fast = ""
			a, b := make([]float32, len(src)), make([]float32, len(src))
			fast.apply("x", a, src)
			slow.apply("x", b, src)
			for i := range a {
				if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
					t.Fatalf("%s saturate=%v: %v -> fast %v, arith %v", name, sat, src[i], a[i], b[i])
				}
			}
		}
	}
}

func TestFastFixedMatchesArith(t *testing.T) {
	var ctr atomic.Int64
	ctr.Store(7)
	src := make([]float32, 20000)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range src {
		src[i] = float32(r.NormFloat64() * math.Pow(2, float64(r.IntN(40)-25)))
	}
	src[0], src[1], src[2], src[3] = float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e30
	src[4], src[5] = 0.5/256, -1.5/256 // ties
	for _, name := range []string{"fixed1_14", "fixed7_8", "fixed0_15", "fixed15_16", "fixed3_0"} {
		for _, mode := range []round.Mode{round.NearestEven, round.TowardZero, round.Stochastic} {
			fast, err := newRounder(name, mode, false, true, 9, &ctr)
			if err != nil {
				t.Fatal(err)
			}
			if fast.fixed == nil {
				t.Fatalf("%s: no fixed-point fast path", name)
			}
			slow, _ := newRounder(name, mode, false, true, 9, &ctr)
			slow.fixed = nil
			a, b := make([]float32, len(src)), make([]float32, len(src))
			fast.apply("x", a, src)
			slow.apply("x", b, src)
			for i := range a {
				if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
					t.Fatalf("%s %s: %v -> fast %v, arith %v", name, mode, src[i], a[i], b[i])
				}
			}
		}
	}
}

// The loss-scaling state (scale, good-step count, skipped steps) survives a
// checkpoint.
func TestLossScaleCheckpoint(t *testing.T) {
	p, _ := ParsePrecision("fp16")
	mk := func() *Trainer {
		tr, err := NewTrainer(zoo.LeNet300100(1), Config{Threads: 1, Precision: p})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	a := mk()
	a.scaler.scale, a.scaler.good, a.scaler.skipped = 1024, 17, 3
	path := t.TempDir() + "/ck.safetensors"
	if err := a.SaveCheckpoint(path, nil); err != nil {
		t.Fatal(err)
	}
	b := mk()
	if _, err := b.LoadCheckpoint(path); err != nil {
		t.Fatal(err)
	}
	if b.LossScale() != 1024 || b.scaler.good != 17 || b.SkippedSteps() != 3 {
		t.Fatalf("restored scale %g, good %d, skipped %d", b.LossScale(), b.scaler.good, b.SkippedSteps())
	}
}

func TestActFP32KeepsNamedActivations(t *testing.T) {
	p, err := ParsePrecision("act=fixed1_14,grad=fixed1_14,act-fp32=logits")
	if err != nil {
		t.Fatal(err)
	}
	var step atomic.Int64
	h, err := p.hooks(1, 0, &step)
	if err != nil {
		t.Fatal(err)
	}
	logits := []float32{13.5, -9.25, 0.1}
	h.Activation("logits", logits)
	if logits[0] != 13.5 || logits[1] != -9.25 || logits[2] != 0.1 {
		t.Fatalf("act-fp32 logits were rounded: %v", logits)
	}
	fc := []float32{13.5, -9.25, 0.1}
	h.Activation("fc4", fc)
	if fc[0] >= 2 || fc[1] != -2 || fc[2] == 0.1 {
		t.Fatalf("fc4 not rounded to fixed1_14: %v", fc)
	}
	g := []float32{0.1}
	h.Gradient("logits", g)
	if g[0] == 0.1 {
		t.Fatal("the logits' gradient was not rounded")
	}
}
