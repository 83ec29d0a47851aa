package ops

import (
	"testing"

	"github.com/frugal-ml/frugal/graph"
)

func TestResizeModes(t *testing.T) {
	x := f32s(sh(1, 1, 2, 2), 1, 2, 3, 4)
	scales := f32s(sh(4), 1, 1, 2, 2)
	near := run1(t, mk("Resize", 3, 1, graph.AttrS("mode", "nearest")), 19, x, nil, scales)
	expect(t, "nearest", near, sh(1, 1, 4, 4), []float64{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}, 0)
	lin := run1(t, mk("Resize", 3, 1, graph.AttrS("mode", "linear"), graph.AttrS("coordinate_transformation_mode", "align_corners")), 19, f32s(sh(1, 1, 1, 2), 0, 3), nil, f32s(sh(4), 1, 1, 1, 2))
	expect(t, "linear align_corners", lin, sh(1, 1, 1, 4), []float64{0, 1, 2, 3}, 1e-6)
	half := run1(t, mk("Resize", 3, 1, graph.AttrS("mode", "linear")), 19, f32s(sh(1, 2), 0, 4), nil, f32s(sh(2), 1, 2))
	expect(t, "linear half_pixel", half, sh(1, 4), []float64{0, 1, 3, 4}, 1e-6)
	sizes := run1(t, mk("Resize", 4, 1, graph.AttrS("mode", "nearest"), graph.IntsAttr("axes", 1)), 19, f32s(sh(1, 2), 5, 6), nil, nil, i64s(sh(1), 3))
	expect(t, "sizes+axes", sizes, sh(1, 3), []float64{5, 5, 6}, 0)
	cub := run1(t, mk("Resize", 3, 1, graph.AttrS("mode", "cubic")), 19, f32s(sh(1, 4), 1, 1, 1, 1), nil, f32s(sh(2), 1, 2))
	expect(t, "cubic preserves constants", cub, sh(1, 8), []float64{1, 1, 1, 1, 1, 1, 1, 1}, 1e-6)
	crop := run1(t, mk("Resize", 3, 1, graph.AttrS("mode", "linear"), graph.AttrS("coordinate_transformation_mode", "tf_crop_and_resize"), graph.AttrF("extrapolation_value", -1)), 19, f32s(sh(1, 2), 0, 4), f32s(sh(4), 0, 0.5, 1, 1.5), f32s(sh(2), 1, 1))
	expect(t, "tf_crop_and_resize extrapolates", crop, sh(1, 2), []float64{2, -1}, 1e-6)
	up := run1(t, mk("Upsample", 2, 1), 9, f32s(sh(1, 2), 1, 2), f32s(sh(2), 1, 3))
	expect(t, "Upsample", up, sh(1, 6), []float64{1, 1, 1, 2, 2, 2}, 0)
}
