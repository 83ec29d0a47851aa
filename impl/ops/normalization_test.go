package ops

import (
	"math"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

func TestLayerAndRMSNorm(t *testing.T) {
	x := f32s(sh(2, 2), 1, 3, 2, 2)
	out, err := exec(mk("LayerNormalization", 3, 3), 17, x, f32s(sh(2), 1, 2), f32s(sh(2), 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	is := 1 / math.Sqrt(1+1e-5)
	expect(t, "LayerNorm Y", out[0].(*tensor.Tensor), sh(2, 2), []float64{-is, 2*is + 1, 0, 1}, 1e-6)
	expect(t, "LayerNorm mean", out[1].(*tensor.Tensor), sh(2, 1), []float64{2, 2}, 0)
	expect(t, "LayerNorm invstd", out[2].(*tensor.Tensor), sh(2, 1), []float64{is, 1 / math.Sqrt(1e-5)}, 1e-5)
	rms := run1(t, mk("RMSNormalization", 2, 1, graph.AttrF("epsilon", 0)), 23, f32s(sh(1, 2), 3, 4), f32s(sh(2), 1, 1))
	r := math.Sqrt(12.5)
	expect(t, "RMSNorm", rms, sh(1, 2), []float64{3 / r, 4 / r}, 1e-6)
}

func TestGroupInstanceLpNorm(t *testing.T) {
	x := f32s(sh(1, 2, 2), 1, 3, 5, 9)
	inst := run1(t, mk("InstanceNormalization", 3, 1, graph.AttrF("epsilon", 0)), 6, x, f32s(sh(2), 1, 2), f32s(sh(2), 0, 10))
	expect(t, "InstanceNorm", inst, sh(1, 2, 2), []float64{-1, 1, 8, 12}, 1e-6)
	grp := run1(t, mk("GroupNormalization", 3, 1, graph.AttrI("num_groups", 1), graph.AttrF("epsilon", 0)), 21, x, f32s(sh(2), 1, 1), f32s(sh(2), 0, 0))
	mu, sd := 4.5, math.Sqrt((12.25+2.25+0.25+20.25)/4)
	expect(t, "GroupNorm", grp, sh(1, 2, 2), []float64{(1 - mu) / sd, (3 - mu) / sd, (5 - mu) / sd, (9 - mu) / sd}, 1e-6)
	lp := run1(t, mk("LpNormalization", 1, 1, graph.AttrI("p", 1)), 21, f32s(sh(2), 1, -3))
	expect(t, "LpNorm p1", lp, sh(2), []float64{0.25, -0.75}, 0)
	mvn := run1(t, mk("MeanVarianceNormalization", 1, 1, graph.IntsAttr("axes", 2)), 13, x)
	expect(t, "MVN", mvn, sh(1, 2, 2), []float64{-1, 1, -1, 1}, 1e-6)
	lrn := run1(t, mk("LRN", 1, 1, graph.AttrI("size", 1), graph.AttrF("alpha", 1), graph.AttrF("beta", 1), graph.AttrF("bias", 1)), 13, f32s(sh(1, 1, 1), 2))
	expect(t, "LRN", lrn, sh(1, 1, 1), []float64{2.0 / 5}, 1e-6)
}
