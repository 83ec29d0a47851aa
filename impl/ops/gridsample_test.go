package ops

import (
	"testing"

	"github.com/frugal-ml/frugal/graph"
)

func TestGridSampleAndAffineGrid(t *testing.T) {
	x := f32s(sh(1, 1, 2, 2), 1, 2, 3, 4)
	// Identity grid with align_corners=1 reproduces the input.
	theta := f32s(sh(1, 2, 3), 1, 0, 0, 0, 1, 0)
	grid := run1(t, mk("AffineGrid", 2, 1, graph.AttrI("align_corners", 1)), 20, theta, i64s(sh(4), 1, 1, 2, 2))
	expect(t, "AffineGrid", grid, sh(1, 2, 2, 2), []float64{-1, -1, 1, -1, -1, 1, 1, 1}, 1e-6)
	y := run1(t, mk("GridSample", 2, 1, graph.AttrI("align_corners", 1)), 20, x, grid)
	expect(t, "GridSample identity", y, sh(1, 1, 2, 2), []float64{1, 2, 3, 4}, 1e-6)
	center := f32s(sh(1, 1, 1, 2), 0, 0)
	expect(t, "bilinear center", run1(t, mk("GridSample", 2, 1, graph.AttrI("align_corners", 1)), 20, x, center), sh(1, 1, 1, 1), []float64{2.5}, 1e-6)
	out := f32s(sh(1, 1, 1, 2), 3, 0)
	expect(t, "zeros padding", run1(t, mk("GridSample", 2, 1, graph.AttrI("align_corners", 1)), 20, x, out), sh(1, 1, 1, 1), []float64{0}, 0)
	expect(t, "border padding", run1(t, mk("GridSample", 2, 1, graph.AttrI("align_corners", 1), graph.AttrS("padding_mode", "border")), 20, x, out), sh(1, 1, 1, 1), []float64{3}, 1e-6)
	expect(t, "nearest", run1(t, mk("GridSample", 2, 1, graph.AttrI("align_corners", 1), graph.AttrS("mode", "nearest")), 20, x, f32s(sh(1, 1, 1, 2), 0.9, -0.9)), sh(1, 1, 1, 1), []float64{2}, 0)
}
