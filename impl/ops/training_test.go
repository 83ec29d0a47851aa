package ops

import (
	"math"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

func trainNode(op string, nin, nout int, attrs ...*graph.Attr) *graph.Node {
	n := mk(op, nin, nout, attrs...)
	n.Domain = "ai.onnx.preview.training"
	return n
}

func TestOptimizers(t *testing.T) {
	r, tt := f32s(nil, 0.1), i64s(nil, 1)
	x, g := f32s(sh(1), 1), f32s(sh(1), 2)
	ada, err := exec(trainNode("Adagrad", 5, 2, graph.AttrF("epsilon", 0)), 1, r, tt, x, g, f32s(sh(1), 0))
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "Adagrad X", ada[0].(*tensor.Tensor), sh(1), []float64{1 - 0.1*2/2}, 1e-6)
	expect(t, "Adagrad H", ada[1].(*tensor.Tensor), sh(1), []float64{4}, 0)
	mom, err := exec(trainNode("Momentum", 5, 2, graph.AttrF("alpha", 0.9), graph.AttrF("beta", 1)), 1, r, tt, x, g, f32s(sh(1), 1))
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "Momentum V", mom[1].(*tensor.Tensor), sh(1), []float64{0.9 + 2}, 1e-6)
	adam, err := exec(trainNode("Adam", 6, 3, graph.AttrF("epsilon", 0)), 1, r, tt, x, g, f32s(sh(1), 0), f32s(sh(1), 0))
	if err != nil {
		t.Fatal(err)
	}
	v, h := 0.1*2, 0.001*4
	ra := 0.1 * math.Sqrt(1-0.999) / (1 - 0.9)
	expect(t, "Adam X", adam[0].(*tensor.Tensor), sh(1), []float64{1 - ra*v/math.Sqrt(h)}, 1e-5)
}

func TestGradientHelpers(t *testing.T) {
	n := mk("ReduceToShapeOf", 2, 1)
	n.Domain = FrugalDomain
	r := run1(t, n, 1, iota32(2, 3), tensor.New(tensor.Float32, 3))
	expect(t, "ReduceToShapeOf", r, sh(3), []float64{3, 5, 7}, 0)
	r1 := run1(t, n, 1, iota32(2, 3), tensor.New(tensor.Float32, 2, 1))
	expect(t, "ReduceToShapeOf keep", r1, sh(2, 1), []float64{3, 12}, 0)
	o := mk("OnesLike", 1, 1)
	o.Domain = FrugalDomain
	expect(t, "OnesLike", run1(t, o, 1, i64s(sh(2), 5, 6)), sh(2), []float64{1, 1}, 0)
}
