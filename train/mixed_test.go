package train

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/frugal-ml/frugal/data"
	"github.com/frugal-ml/frugal/model/zoo"
	"github.com/frugal-ml/frugal/train/optim"
)

// TestMixedPrecisionFashion trains the small CNN on Fashion-MNIST in fp32,
// bf16, fp16 with dynamic loss scaling (Micikevicius et al. 2018) and FP8
// (E4M3 forward, E5M2 gradients, per-tensor scaling), all with fp32 master
// weights, and prints a Markdown table. Set FRUGAL_MIXED=1 (FRUGAL_EPOCHS
// overrides the 5 epochs; FRUGAL_MIXED_SPECS, a ';'-separated list of
// precision specs, replaces fp32;bf16;fp16;fp8 — e.g.
// "act=bf16,weight=bf16,grad=bf16,gemm=bf16" for the AVX512_BF16 GEMMs).
func TestMixedPrecisionFashion(t *testing.T) {
	if os.Getenv("FRUGAL_MIXED") == "" {
		t.Skip("set FRUGAL_MIXED=1 to run the mixed-precision experiment")
	}
	epochs := 5
	fmt.Sscan(os.Getenv("FRUGAL_EPOCHS"), &epochs)
	load := func(split string) *Arrays {
		d, err := data.Load("fashion-mnist", split)
		if err != nil {
			t.Skip(err)
		}
		if err := d.Normalize([]float32{data.FashionMean}, []float32{data.FashionStd}); err != nil {
			t.Fatal(err)
		}
		a, err := FromDataset(d)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	tr, te := load("train"), load("test")
	var b strings.Builder
	fmt.Fprintf(&b, "| precision | test accuracy | vs fp32 | skipped steps | seconds |\n|---|---|---|---|---|\n")
	var base float64
	specs := []string{"fp32", "bf16", "fp16", "fp8"}
	if s := os.Getenv("FRUGAL_MIXED_SPECS"); s != "" {
		specs = strings.Split(s, ";")
	}
	for _, spec := range specs {
		p, err := ParsePrecision(spec)
		if err != nil {
			t.Fatal(err)
		}
		m := zoo.SmallCNN(1)
		cfg := Config{Epochs: epochs, BatchSize: 64, Seed: 1, Threads: 2, Precision: p,
			Optimizer: optim.Config{Kind: "adamw", LR: 1e-3, WeightDecay: 1e-4},
			Schedule:  optim.Schedule{Kind: "cosine", WarmupSteps: 100}}
		res, err := Fit(m, tr, te, cfg, nil)
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		if spec == "fp32" {
			base = res.TestAcc
		}
		fmt.Fprintf(&b, "| %s (%s) | %.2f%% | %+.2f | %d | %.0f |\n", spec, p, 100*res.TestAcc, 100*(res.TestAcc-base), res.SkippedSteps, res.Seconds)
		t.Logf("%s: %.2f%% (%.0fs)", spec, 100*res.TestAcc, res.Seconds)
	}
	fmt.Println(b.String())
}
