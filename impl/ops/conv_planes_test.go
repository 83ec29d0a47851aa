package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/impl/ref"
)

// Strided float convolutions through phase planes must equal im2col.
func TestConvPlanesMatchesIm2col(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	type tc struct {
		cin, h, w, cout int
		p               ref.Conv2D
	}
	cases := []tc{
		{3, 23, 21, 8, ref.Conv2D{KH: 7, KW: 7, SH: 2, SW: 2, PT: 3, PL: 3, PB: 3, PR: 3, DH: 1, DW: 1}},
		{16, 14, 14, 12, ref.Conv2D{KH: 1, KW: 1, SH: 2, SW: 2, DH: 1, DW: 1}},
		{8, 15, 16, 40, ref.Conv2D{KH: 3, KW: 3, SH: 2, SW: 2, PT: 1, PL: 1, PB: 1, PR: 1, DH: 1, DW: 1}},
		{5, 12, 13, 6, ref.Conv2D{KH: 3, KW: 2, SH: 3, SW: 2, PT: 0, PL: 1, PB: 1, PR: 0, DH: 1, DW: 1}},
		{4, 17, 19, 7, ref.Conv2D{KH: 3, KW: 3, SH: 2, SW: 1, PT: 2, PL: 2, PB: 2, PR: 2, DH: 2, DW: 2}},
		{64, 56, 56, 64, ref.Conv2D{KH: 3, KW: 3, SH: 2, SW: 2, PT: 1, PL: 1, PB: 1, PR: 1, DH: 1, DW: 1}},
		{32, 7, 7, 48, ref.Conv2D{KH: 3, KW: 3, SH: 2, SW: 2, PT: 1, PL: 1, PB: 1, PR: 1, DH: 1, DW: 1}},
		// Maps at least 31 wide: the GEMM runs on the output positions.
		{3, 224, 224, 32, ref.Conv2D{KH: 3, KW: 3, SH: 2, SW: 2, PT: 1, PL: 1, PB: 1, PR: 1, DH: 1, DW: 1}},
		{3, 40, 70, 16, ref.Conv2D{KH: 7, KW: 7, SH: 2, SW: 2, PT: 3, PL: 3, PB: 3, PR: 3, DH: 1, DW: 1}},
		{5, 20, 63, 9, ref.Conv2D{KH: 3, KW: 3, SH: 2, SW: 2, PT: 0, PL: 1, PB: 1, PR: 0, DH: 1, DW: 1}},
	}
	defer func() { convPlanesOn = true }()
	for _, c := range cases {
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("%+v/t%d", c, threads), func(t *testing.T) {
				p := c.p
				oh := (c.h+p.PT+p.PB-(p.KH-1)*p.DH-1)/p.SH + 1
				ow := (c.w+p.PL+p.PR-(p.KW-1)*p.DW-1)/p.SW + 1
				g := ConvGeom{N: 2, Cin: c.cin, H: c.h, W: c.w, Cout: c.cout, Group: 1, OH: oh, OW: ow, P: p}
				x := make([]float32, g.N*c.cin*c.h*c.w)
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
				kk := c.cin * p.KH * p.KW
				w := make([]float32, c.cout*kk)
				for i := range w {
					w[i] = float32(rng.NormFloat64())
				}
				bias := make([]float32, c.cout)
				for i := range bias {
					bias[i] = float32(rng.NormFloat64())
				}
				cw := packConvWeights(w, c.cout, 1, kk)
				act := Activation{Kind: "Relu"}
				want := make([]float32, g.N*c.cout*oh*ow)
				got := make([]float32, len(want))
				convPlanesOn = false
				convGemm(threads, x, cw, bias, g, act, false, want)
				convPlanesOn = true
				convGemm(threads, x, cw, bias, g, act, false, got)
				for i := range want {
					if math.Abs(float64(got[i]-want[i])) > 1e-4*(1+math.Abs(float64(want[i]))) {
						t.Fatalf("output %d: planes %v, im2col %v", i, got[i], want[i])
					}
				}
			})
		}
	}
}

// The assembly float plane filler must write what the Go rows write.
func TestFillPlaneF32AsmMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	defer func() { planeAsm = true }()
	for _, hw := range [][2]int{{1, 1}, {2, 2}, {3, 3}, {3, 7}, {5, 8}, {4, 9}, {6, 16}, {7, 17}, {9, 130}, {23, 224}} {
		for _, s := range []int{1, 2} {
			for _, pad := range [][4]int{{0, 0, 0, 0}, {1, 1, 1, 1}, {3, 2, 0, 3}} {
				h, w := hw[0], hw[1]
				p := ref.Conv2D{KH: 3, KW: 3, SH: s, SW: s, PT: pad[0], PL: pad[1], PB: pad[2], PR: pad[3], DH: 1, DW: 1}
				oh := (h+p.PT+p.PB-3)/s + 1
				ow := (w+p.PL+p.PR-3)/s + 1
				if oh <= 0 || ow <= 0 {
					continue
				}
				g := ConvGeom{N: 1, Cin: 1, Cout: 1, Group: 1, H: h, W: w, OH: oh, OW: ow, P: p}
				l := newPlaneLayout(g, 1)
				x := make([]float32, h*w)
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
				for _, ph := range l.phases {
					want := make([]float32, l.plane)
					got := make([]float32, l.plane+4)
					for i := range got {
						got[i] = -7
					}
					planeAsm = false
					fillPlaneF32(want, x, h, w, g, l, ph)
					planeAsm = true
					fillPlaneF32(got[:l.plane], x, h, w, g, l, ph)
					for i := range want {
						if got[i] != want[i] {
							t.Fatalf("%dx%d s%d pad%v phase %d: element %d = %v, want %v", h, w, s, pad, ph, i, got[i], want[i])
						}
					}
					for _, v := range got[l.plane:] {
						if v != -7 {
							t.Fatalf("%dx%d s%d: wrote past the plane", h, w, s)
						}
					}
				}
			}
		}
	}
}
