package ops

import (
	"math"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

func TestNLLAndSoftmaxCrossEntropy(t *testing.T) {
	logp := f32s(sh(2, 3), -1, -2, -3, -4, -5, -6)
	target := i64s(sh(2), 2, 0)
	expect(t, "NLL mean", run1(t, mk("NegativeLogLikelihoodLoss", 2, 1), 13, logp, target), sh(), []float64{3.5}, 0)
	expect(t, "NLL none", run1(t, mk("NegativeLogLikelihoodLoss", 2, 1, graph.AttrS("reduction", "none")), 13, logp, target), sh(2), []float64{3, 4}, 0)
	w := run1(t, mk("NegativeLogLikelihoodLoss", 3, 1), 13, logp, target, f32s(sh(3), 1, 1, 3))
	expect(t, "NLL weighted mean", w, sh(), []float64{(9 + 4) / 4.0}, 1e-6)
	ig := run1(t, mk("NegativeLogLikelihoodLoss", 2, 1, graph.AttrI("ignore_index", 0)), 13, logp, target)
	expect(t, "NLL ignore", ig, sh(), []float64{3}, 0)
	expectErr(t, mk("NegativeLogLikelihoodLoss", 2, 1), 13, "out of range", logp, i64s(sh(2), 3, 0))
	scores := f32s(sh(1, 2), 0, 0)
	out, err := exec(mk("SoftmaxCrossEntropyLoss", 2, 2), 13, scores, i64s(sh(1), 1))
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "SCE", out[0].(*tensor.Tensor), sh(), []float64{math.Ln2}, 1e-6)
	expect(t, "SCE log_prob", out[1].(*tensor.Tensor), sh(1, 2), []float64{-math.Ln2, -math.Ln2}, 1e-6)
}
