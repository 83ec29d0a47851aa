package train

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/frugal-ml/frugal/arith"
	"github.com/frugal-ml/frugal/arith/round"
	"github.com/frugal-ml/frugal/data"
	"github.com/frugal-ml/frugal/model/zoo"
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
	run := func(p Precision, input string) (testErr float64, note string) {
		m := zoo.LeNet5(1)
		t0 := time.Now()
		res, err := Fit(m, arrays(trD, input), arrays(teD, input), Config{Epochs: epochs, BatchSize: 32, Seed: 1, Threads: 2,
			Optimizer: optim.Config{Kind: "sgd", LR: 0.01, Momentum: float32(momentum)}, Precision: p}, nil)
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
	fmt.Fprintf(&b, "LeNet-5, MNIST, %d epochs of SGD (lr 0.01, momentum %g, batch 32), 2 threads, seed 1: test error\n\n", epochs, momentum)
	fmt.Fprintf(&b, "| <IL,FL> | format | rounding | input, act, weight, grad, update fixed | weight, grad, update fixed (act fp32) |\n|---|---|---|---|---|\n")
	e, n := run(Precision{}, "")
	fmt.Fprintf(&b, "| fp32 | fp32 | - | %s | %s |\n", cell(e, n), cell(e, n))
	for _, fl := range fls {
		f := fmt.Sprintf("fixed%d_%d", 15-fl, fl)
		for _, mode := range []round.Mode{round.NearestEven, round.Stochastic} {
			all, an := run(Precision{Activations: f, Weights: f, Gradients: f, Update: f,
				ActRound: mode, WeightRound: mode, GradRound: mode, UpdateRound: mode}, f)
			wgu, wn := run(Precision{Weights: f, Gradients: f, Update: f,
				WeightRound: mode, GradRound: mode, UpdateRound: mode}, "")
			fmt.Fprintf(&b, "| <%d,%d> | %s | %s | %s | %s |\n", 16-fl, fl, f, mode, cell(all, an), cell(wgu, wn))
		}
	}
	fmt.Println(b.String())
}
