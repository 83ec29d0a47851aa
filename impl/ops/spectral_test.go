package ops

import (
	"math"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

func TestDFTAndWindows(t *testing.T) {
	x := f32s(sh(1, 4, 1), 1, 2, 3, 4)
	d := run1(t, mk("DFT", 3, 1), 20, x, nil, i64s(nil, 1))
	expect(t, "DFT", d, sh(1, 4, 2), []float64{10, 0, -2, 2, -2, 0, -2, -2}, 1e-6)
	one := run1(t, mk("DFT", 3, 1, graph.AttrI("onesided", 1)), 20, x, nil, i64s(nil, 1))
	expect(t, "DFT onesided", one, sh(1, 3, 2), []float64{10, 0, -2, 2, -2, 0}, 1e-6)
	inv := run1(t, mk("DFT", 3, 1, graph.AttrI("inverse", 1)), 20, d, nil, i64s(nil, 1))
	expect(t, "IDFT", inv, sh(1, 4, 2), []float64{1, 0, 2, 0, 3, 0, 4, 0}, 1e-6)
	irfft := run1(t, mk("DFT", 3, 1, graph.AttrI("inverse", 1), graph.AttrI("onesided", 1)), 20, one, nil, i64s(nil, 1))
	expect(t, "irfft", irfft, sh(1, 4, 1), []float64{1, 2, 3, 4}, 1e-6)
	hann := run1(t, mk("HannWindow", 1, 1), 17, i64s(nil, 4))
	expect(t, "Hann", hann, sh(4), []float64{0, 0.5, 1, 0.5}, 1e-6)
	ham := run1(t, mk("HammingWindow", 1, 1, graph.AttrI("periodic", 0)), 17, i64s(nil, 3))
	expect(t, "Hamming symmetric", ham, sh(3), []float64{25.0/46 - 21.0/46, 1, 25.0/46 - 21.0/46}, 1e-6)
	st := run1(t, mk("STFT", 4, 1), 17, f32s(sh(1, 4, 1), 1, 2, 3, 4), i64s(nil, 2), nil, i64s(nil, 2))
	expect(t, "STFT", st, sh(1, 2, 2, 2), []float64{3, 0, -1, 0, 7, 0, -1, 0}, 1e-6)
	mel := run1(t, mk("MelWeightMatrix", 5, 1), 17, i64s(nil, 2), i64s(nil, 8), i64s(nil, 8000), f32s(nil, 0), f32s(nil, 4000))
	if !tensor.SameShape(mel.Shape, []int{5, 2}) || mel.DType != tensor.Float32 {
		t.Errorf("MelWeightMatrix %v", mel)
	}
	_ = math.Pi
}
