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
