package ops

import (
	"math"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// numpy: np.random.seed(0); np.random.random_sample(3)
func TestMT19937MatchesNumpy(t *testing.T) {
	m := newMT19937(0)
	for i, want := range []float64{0.5488135039273248, 0.7151893663724195, 0.6027633760716439} {
		if got := m.float64(); math.Abs(got-want) > 1e-15 {
			t.Fatalf("draw %d = %v, want %v", i, got, want)
		}
	}
}

func TestDropout(t *testing.T) {
	x := f32s(sh(4), 1, 2, 3, 4)
	out, err := exec(mk("Dropout", 1, 2), 13, x)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "inference", out[0].(*tensor.Tensor), sh(4), []float64{1, 2, 3, 4}, 0)
	train, err := exec(mk("Dropout", 3, 2, graph.AttrI("seed", 0)), 13, x, f32s(nil, 0.75), tensor.Scalar(true))
	if err != nil {
		t.Fatal(err)
	}
	// seed 0 draws 0.549, 0.715, 0.603, 0.545: all below 0.75 -> dropped.
	expect(t, "training", train[0].(*tensor.Tensor), sh(4), []float64{0, 0, 0, 0}, 0)
	keep, _ := exec(mk("Dropout", 3, 2, graph.AttrI("seed", 0)), 13, x, f32s(nil, 0.5), tensor.Scalar(true))
	expect(t, "training ratio 0.5", keep[0].(*tensor.Tensor), sh(4), []float64{2, 4, 6, 8}, 0)
}

func TestRandomGenerators(t *testing.T) {
	u := run1(t, mk("RandomUniform", 0, 1, graph.IntsAttr("shape", 2), graph.AttrF("seed", 0), graph.AttrF("low", 1), graph.AttrF("high", 3)), 13)
	expect(t, "RandomUniform", u, sh(2), []float64{1 + 2*0.5488135039273248, 1 + 2*0.7151893663724195}, 1e-6)
	n := run1(t, mk("RandomNormalLike", 1, 1, graph.AttrF("seed", 1)), 13, tensor.New(tensor.Float64, 1000))
	v, _ := ToFloat64(n)
	var s, ss float64
	for _, e := range v {
		s += e
		ss += e * e
	}
	if mean := s / 1000; math.Abs(mean) > 0.15 || math.Abs(ss/1000-1) > 0.2 {
		t.Errorf("RandomNormal moments %v %v", mean, ss/1000)
	}
	b := run1(t, mk("Bernoulli", 1, 1, graph.AttrF("seed", 0)), 15, f64s(sh(3), 0, 1, 0.5))
	expect(t, "Bernoulli extremes", b, sh(3), []float64{0, 1, b.F64()[2]}, 0)
	m := run1(t, mk("Multinomial", 1, 1, graph.AttrI("sample_size", 5), graph.AttrF("seed", 0)), 7, f32s(sh(1, 2), -100, 100))
	expect(t, "Multinomial", m, sh(1, 5), []float64{1, 1, 1, 1, 1}, 0)
}
