package passes_test

import (
	"context"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/frugal-ml/frugal/impl/runtime"
	"github.com/frugal-ml/frugal/onnx"
	"github.com/frugal-ml/frugal/tensor"
)

// MobileNetV2 (when /tmp/mdl/mobilenet_v2 holds it) gives the same outputs
// with the graph passes, fuse-pw-dw included, as without any pass.
func TestFusePwDwMobileNetV2(t *testing.T) {
	const dir = "/tmp/mdl/mobilenet_v2"
	if _, err := os.Stat(dir + "/model.onnx"); err != nil {
		t.Skipf("no MobileNetV2 at %s: %v", dir, err)
	}
	m, err := onnx.Load(dir + "/model.onnx")
	if err != nil {
		t.Fatal(err)
	}
	x, _, err := onnx.LoadTensor(dir + "/test_data_set_0/input_0.pb")
	if err != nil {
		t.Fatal(err)
	}
	run := func(opts runtime.Options) (*tensor.Tensor, []string) {
		s, err := runtime.NewSession(m, opts)
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.Run(context.Background(), map[string]any{m.Graph.Inputs[0].Name: x})
		if err != nil {
			t.Fatal(err)
		}
		return out[m.Graph.Outputs[0].Name].(*tensor.Tensor), s.PassLog
	}
	got, log := run(runtime.Options{Threads: 2})
	if !strings.Contains(strings.Join(log, "\n"), "fuse-pw-dw") {
		t.Fatalf("fuse-pw-dw did not fire: %v", log)
	}
	want, _ := run(runtime.Options{Threads: 2, NoOptimize: true})
	var scale float64
	for _, v := range want.F32() {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	var worst float64
	for i, v := range want.F32() {
		worst = math.Max(worst, math.Abs(float64(got.F32()[i]-v)))
		if d := math.Abs(float64(got.F32()[i] - v)); d > 1e-5*scale {
			t.Fatalf("output %d = %v, want %v (max |output| %v)", i, got.F32()[i], v, scale)
		}
	}
	t.Logf("passes %v; max |difference| %.3g, max |output| %.3g", log, worst, scale)
}
