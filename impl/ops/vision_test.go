package ops

import (
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

func TestNMSRoiAlignDeformConv(t *testing.T) {
	boxes := f32s(sh(1, 3, 4), 0, 0, 1, 1, 0, 0.1, 1, 1.1, 0, 2, 1, 3)
	scores := f32s(sh(1, 1, 3), 0.9, 0.8, 0.7)
	sel := run1(t, mk("NonMaxSuppression", 4, 1), 11, boxes, scores, i64s(sh(1), 3), f32s(sh(1), 0.5))
	expect(t, "NMS", sel, sh(2, 3), []float64{0, 0, 0, 0, 0, 2}, 0)
	none := run1(t, mk("NonMaxSuppression", 2, 1), 11, boxes, scores)
	if none.Shape[0] != 0 {
		t.Errorf("NMS without max_output_boxes_per_class selects %v", none.Shape)
	}
	x := iota32(1, 1, 4, 4)
	ra := run1(t, mk("RoiAlign", 3, 1, graph.AttrI("output_height", 1), graph.AttrI("output_width", 1), graph.AttrI("sampling_ratio", 1), graph.AttrS("coordinate_transformation_mode", "output_half_pixel")), 16, x, f32s(sh(1, 4), 0, 0, 2, 2), i64s(sh(1), 0))
	expect(t, "RoiAlign", ra, sh(1, 1, 1, 1), []float64{5}, 1e-6)
	// Zero offsets reduce DeformConv to a plain convolution.
	w := f32s(sh(1, 1, 2, 2), 1, 1, 1, 1)
	off := tensor.New(tensor.Float32, 1, 8, 3, 3)
	dc := run1(t, mk("DeformConv", 3, 1), 19, x, w, off)
	cv := run1(t, mk("Conv", 2, 1), 19, x, w)
	v, _ := ToFloat64(cv)
	expect(t, "DeformConv zero offsets", dc, sh(1, 1, 3, 3), v, 1e-6)
}
