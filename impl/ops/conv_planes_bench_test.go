package ops

import (
	"fmt"
	"testing"
)

// BenchmarkConvPlanesCols: float stride-2 convolutions on phase planes,
// the GEMM over the output positions (cols=true) or over the plane width
// with the extra columns dropped afterwards (cols=false); 2 threads.
func BenchmarkConvPlanesCols(b *testing.B) {
	for _, s := range []struct{ cin, cout, hw, k int }{{3, 32, 224, 3}, {3, 64, 224, 7}, {64, 128, 56, 3}} {
		g := ConvGeom{N: 1, Cin: s.cin, Cout: s.cout, H: s.hw, W: s.hw, Group: 1}
		pad := s.k / 2
		g.P.KH, g.P.KW, g.P.SH, g.P.SW, g.P.DH, g.P.DW = s.k, s.k, 2, 2, 1, 1
		g.P.PT, g.P.PL, g.P.PB, g.P.PR = pad, pad, pad, pad
		g.OH, g.OW = (s.hw+2*pad-s.k)/2+1, (s.hw+2*pad-s.k)/2+1
		x := make([]float32, s.cin*s.hw*s.hw)
		w := make([]float32, s.cout*s.cin*s.k*s.k)
		out := make([]float32, s.cout*g.OH*g.OW)
		kk := s.cin * s.k * s.k
		cw := packConvWeights(w, s.cout, 1, kk)
		for _, cols := range []bool{false, true} {
			b.Run(fmt.Sprintf("%d-%d@%d/k%d/cols=%v", s.cin, s.cout, s.hw, s.k, cols), func(b *testing.B) {
				defer func(v bool) { planeCols = v }(planeCols)
				planeCols = cols
				for b.Loop() {
					convGemm(2, x, cw, nil, g, Activation{Kind: "Relu"}, false, out)
				}
			})
		}
	}
}
