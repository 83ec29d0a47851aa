package ops

import (
	"math"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

func TestPoolsND(t *testing.T) {
	x := iota32(1, 1, 2, 2, 2)
	mp, err := exec(mk("MaxPool", 1, 2, graph.IntsAttr("kernel_shape", 2, 2, 2)), 12, x)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "MaxPool3D", mp[0].(*tensor.Tensor), sh(1, 1, 1, 1, 1), []float64{7}, 0)
	expect(t, "MaxPool3D indices", mp[1].(*tensor.Tensor), sh(1, 1, 1, 1, 1), []float64{7}, 0)
	ap := run1(t, mk("AveragePool", 1, 1, graph.IntsAttr("kernel_shape", 2, 2, 2)), 12, x)
	expect(t, "AveragePool3D", ap, sh(1, 1, 1, 1, 1), []float64{3.5}, 0)
	lp := run1(t, mk("LpPool", 1, 1, graph.IntsAttr("kernel_shape", 2), graph.AttrI("p", 2)), 18, f32s(sh(1, 1, 2), 3, 4))
	expect(t, "LpPool", lp, sh(1, 1, 1), []float64{5}, 1e-6)
	// storage_order=1 reports column-major indices.
	x2 := iota32(1, 1, 2, 3)
	so, err := exec(mk("MaxPool", 1, 2, graph.IntsAttr("kernel_shape", 2, 2), graph.AttrI("storage_order", 1)), 12, x2)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "storage_order", so[1].(*tensor.Tensor), sh(1, 1, 1, 2), []float64{3, 5}, 0)
	cp := run1(t, mk("AveragePool", 1, 1, graph.IntsAttr("kernel_shape", 2), graph.IntsAttr("pads", 1, 1), graph.AttrI("count_include_pad", 1)), 12, f32s(sh(1, 1, 2), 2, 4))
	expect(t, "count_include_pad", cp, sh(1, 1, 3), []float64{1, 3, 2}, 0)
	ui := run1(t, mk("MaxPool", 1, 1, graph.IntsAttr("kernel_shape", 2)), 12, &tensor.Tensor{DType: tensor.Int32, Shape: []int{1, 1, 3}, Data: []int32{5, -1, 9}})
	expect(t, "MaxPool int32", ui, sh(1, 1, 2), []float64{5, 9}, 0)
}

func TestGlobalPoolsUnpoolRoi(t *testing.T) {
	x := f64s(sh(1, 2, 2), 1, -3, 2, 4)
	expect(t, "GlobalMaxPool", run1(t, mk("GlobalMaxPool", 1, 1), 21, x), sh(1, 2, 1), []float64{1, 4}, 0)
	expect(t, "GlobalAveragePool", run1(t, mk("GlobalAveragePool", 1, 1), 21, x), sh(1, 2, 1), []float64{-1, 3}, 0)
	expect(t, "GlobalLpPool", run1(t, mk("GlobalLpPool", 1, 1), 2, x), sh(1, 2, 1), []float64{math.Sqrt(10), math.Sqrt(20)}, 1e-9)
	up := run1(t, mk("MaxUnpool", 2, 1, graph.IntsAttr("kernel_shape", 2), graph.IntsAttr("strides", 2)), 11, f32s(sh(1, 1, 2), 5, 6), i64s(sh(1, 1, 2), 1, 2))
	expect(t, "MaxUnpool", up, sh(1, 1, 4), []float64{0, 5, 6, 0}, 0)
	roi := run1(t, mk("MaxRoiPool", 2, 1, graph.IntsAttr("pooled_shape", 1, 1)), 1, iota32(1, 1, 3, 3), f32s(sh(1, 5), 0, 0, 0, 1, 1))
	expect(t, "MaxRoiPool", roi, sh(1, 1, 1, 1), []float64{4}, 0)
}
