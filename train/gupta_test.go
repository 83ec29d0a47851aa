package train

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/frugal-ml/frugal/arith/round"
	"github.com/frugal-ml/frugal/data"
	"github.com/frugal-ml/frugal/model/zoo"
	"github.com/frugal-ml/frugal/train/optim"
)

// TestGuptaFixedPoint reproduces the experiment of Gupta et al. 2015,
// "Deep Learning with Limited Numerical Precision": LeNet-5 on MNIST trained
// with activations, weights, gradients and the stored weights in 16-bit
// fixed point <IL, FL> (IL + FL = 16, sign included in IL), rounding to
// nearest or stochastically, for FL = 8, 10, 12, 14, next to fp32. Set
// FRUGAL_GUPTA=1 (FRUGAL_EPOCHS overrides the single epoch); it prints a
// Markdown table.
func TestGuptaFixedPoint(t *testing.T) {
	if os.Getenv("FRUGAL_GUPTA") == "" {
		t.Skip("set FRUGAL_GUPTA=1 to run the fixed-point training experiment")
	}
	epochs := 1
	fmt.Sscan(os.Getenv("FRUGAL_EPOCHS"), &epochs)
	load := func(split string) *Arrays {
		d, err := data.Load("mnist", split)
		if err != nil {
			t.Fatal(err)
		}
		a, err := FromDataset(d) // pixels in [0, 1], as in the paper
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	tr, te := load("train"), load("test")
	run := func(p Precision) (float64, float64) {
		m := zoo.LeNet5(1)
		t0 := time.Now()
		res, err := Fit(m, tr, te, Config{Epochs: epochs, BatchSize: 32, Seed: 1, Threads: 2,
			Optimizer: optim.Config{Kind: "sgd", LR: 0.01, Momentum: 0.9}, Precision: p}, nil)
		if err != nil {
			t.Logf("%s: %v", p, err)
			return 1, time.Since(t0).Seconds()
		}
		return 1 - res.TestAcc, time.Since(t0).Seconds()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| <IL,FL> | format | rounding | test error, all roles fixed | test error, weights+update fixed |\n|---|---|---|---|---|\n")
	e, _ := run(Precision{})
	fmt.Fprintf(&b, "| fp32 | fp32 | - | %.2f%% | %.2f%% |\n", 100*e, 100*e)
	for _, fl := range []int{14, 12, 10, 8} {
		f := fmt.Sprintf("fixed%d_%d", 15-fl, fl)
		for _, mode := range []round.Mode{round.NearestEven, round.Stochastic} {
			all, _ := run(Precision{Activations: f, Weights: f, Gradients: f, Update: f,
				ActRound: mode, WeightRound: mode, GradRound: mode, UpdateRound: mode})
			wu, _ := run(Precision{Weights: f, Update: f, WeightRound: mode, UpdateRound: mode})
			fmt.Fprintf(&b, "| <%d,%d> | %s | %s | %.2f%% | %.2f%% |\n", 16-fl, fl, f, mode, 100*all, 100*wu)
			t.Logf("%s %s: all %.2f%%, weights+update %.2f%%", f, mode, 100*all, 100*wu)
		}
	}
	fmt.Println(b.String())
}
