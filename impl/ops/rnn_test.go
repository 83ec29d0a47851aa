package ops

import (
	"math"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// With hidden size 1 and scalar weights the recurrences are easy to follow.
func TestRNNFamily(t *testing.T) {
	x := f32s(sh(2, 1, 1), 1, 2) // [seq, batch, input]
	w := f32s(sh(1, 1, 1), 0.5)
	r := f32s(sh(1, 1, 1), 0.25)
	out, err := exec(mk("RNN", 3, 2, graph.AttrI("hidden_size", 1)), 14, x, w, r)
	if err != nil {
		t.Fatal(err)
	}
	h1 := math.Tanh(0.5)
	h2 := math.Tanh(1 + 0.25*h1)
	expect(t, "RNN Y", out[0].(*tensor.Tensor), sh(2, 1, 1, 1), []float64{h1, h2}, 1e-6)
	expect(t, "RNN Y_h", out[1].(*tensor.Tensor), sh(1, 1, 1), []float64{h2}, 1e-6)
	rev, _ := exec(mk("RNN", 3, 2, graph.AttrI("hidden_size", 1), graph.AttrS("direction", "reverse")), 14, x, w, r)
	r2 := math.Tanh(1)
	expect(t, "RNN reverse Y_h", rev[1].(*tensor.Tensor), sh(1, 1, 1), []float64{math.Tanh(0.5 + 0.25*r2)}, 1e-6)

	// GRU with zero recurrence: z = sigmoid(wz x), h~ = tanh(wh x), h = (1-z) h~.
	wg := f32s(sh(1, 3, 1), 1, 0, 1)
	rg := tensor.New(tensor.Float32, 1, 3, 1)
	gru, err := exec(mk("GRU", 3, 2, graph.AttrI("hidden_size", 1)), 14, f32s(sh(1, 1, 1), 1), wg, rg)
	if err != nil {
		t.Fatal(err)
	}
	z := 1 / (1 + math.Exp(-1))
	expect(t, "GRU", gru[1].(*tensor.Tensor), sh(1, 1, 1), []float64{(1 - z) * math.Tanh(1)}, 1e-6)

	// LSTM with zero recurrence: c = i*g, h = o*tanh(c).
	wl := f32s(sh(1, 4, 1), 1, 1, 1, 1)
	rl := tensor.New(tensor.Float32, 1, 4, 1)
	lstm, err := exec(mk("LSTM", 3, 3, graph.AttrI("hidden_size", 1)), 14, f32s(sh(1, 1, 1), 1), wl, rl)
	if err != nil {
		t.Fatal(err)
	}
	c := z * math.Tanh(1)
	expect(t, "LSTM Y_h", lstm[1].(*tensor.Tensor), sh(1, 1, 1), []float64{z * math.Tanh(c)}, 1e-6)
	expect(t, "LSTM Y_c", lstm[2].(*tensor.Tensor), sh(1, 1, 1), []float64{c}, 1e-6)
	expectErr(t, mk("LSTM", 3, 3, graph.AttrI("hidden_size", 2)), 14, "do not fit", f32s(sh(1, 1, 1), 1), wl, rl)
}
