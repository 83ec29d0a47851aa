package ops

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/frugal-ml/frugal/impl/gemm"
	"github.com/frugal-ml/frugal/impl/ref"
)

// The assembly plane filler must write exactly what the Go rows write, for
// every phase of strides 1 and 2, widths around the 32- and 64-byte
// chunks, and any padding.
func TestFillPlaneAsmMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, hw := range [][2]int{{1, 1}, {2, 2}, {3, 5}, {4, 9}, {2, 15}, {3, 31}, {5, 32}, {4, 33}, {6, 63}, {7, 64}, {3, 65}, {9, 130}, {56, 56}, {17, 224}} {
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
				l := newPlaneLayout(g, 4)
				x := make([]uint8, h*w)
				for i := range x {
					x[i] = uint8(rng.IntN(256))
				}
				for _, ph := range l.phases {
					t.Run(fmt.Sprintf("%dx%d/s%d/pad%v/ph%d", h, w, s, pad, ph), func(t *testing.T) {
						want := make([]uint8, l.plane)
						got := make([]uint8, l.plane+8)
						for i := range got {
							got[i] = 0xEE
						}
						planeAsm = false
						fillPlane(want, x, h, w, g, l, ph, 77)
						planeAsm = true
						fillPlane(got[:l.plane], x, h, w, g, l, ph, 77)
						if !slices.Equal(got[:l.plane], want) {
							t.Fatalf("asm plane differs from Go:\n got %v\nwant %v", got[:l.plane], want)
						}
						for _, v := range got[l.plane:] {
							if v != 0xEE {
								t.Fatal("wrote past the plane")
							}
						}
					})
				}
			}
		}
	}
}

// qplaneCase is one 8-bit phase-plane convolution: cin x h x w input,
// cout k x k filters, stride s, padding pad on every side.
type qplaneCase struct{ cin, cout, h, w, k, s, pad int }

func (c qplaneCase) geom() ConvGeom {
	p := ref.Conv2D{KH: c.k, KW: c.k, SH: c.s, SW: c.s, PT: c.pad, PL: c.pad, PB: c.pad, PR: c.pad, DH: 1, DW: 1}
	oh := (c.h+2*c.pad-c.k)/c.s + 1
	ow := (c.w+2*c.pad-c.k)/c.s + 1
	return ConvGeom{N: 1, Cin: c.cin, Cout: c.cout, Group: 1, H: c.h, W: c.w, OH: oh, OW: ow, P: p}
}

// runQPlanes convolves x through the phase planes, with the GEMM on the
// output positions (cols) or on the planes' full width then dropping the
// extra columns.
func runQPlanes[TX gemm.Int8, TY int8 | uint8](threads int, pw *qplaneWeights, g ConvGeom, x []TX, zx0 TX, cols bool) []TY {
	var lc layoutCache
	l := lc.get(g, pw.cin, pw.k)
	out := make([]TY, g.Cout*g.OH*g.OW)
	scale := make([]float32, g.Cout)
	bias := make([]int32, g.Cout)
	for i := range scale {
		scale[i] = 1 / float32(40+7*i)
		bias[i] = int32(97*i%300) - 150
	}
	var lo, hi int32 = 0, 255
	if _, ok := any(TY(0)).(int8); ok {
		lo, hi = -128, 127
	}
	ep := gemm.QEpilogue{PerRow: true, ZeroPoint: 5, Relu: true, Clamp: true, Lo: lo, Hi: hi, Bias: bias, Scale: scale}
	defer func() { qplaneCols = true }()
	qplaneCols = cols
	qconvPlanes(threads, pw, l, x, zx0, g, []int32{int32(zx0)}, out, ep)
	return out
}

// The GEMM over the output positions (no extra columns) must give exactly
// the outputs of the GEMM over the planes' full width: output widths 1, 2,
// 7, 13, 14, 28, 56 and others that do not divide 32, strides 1 and 2,
// padded or not, uint8 and int8 inputs and outputs, 1 to 3 threads.
func TestQConvPlanesColsMatchFullWidth(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	cases := []qplaneCase{
		{16, 24, 56, 56, 3, 1, 1}, {8, 40, 28, 28, 3, 1, 1}, {12, 16, 14, 14, 3, 1, 1}, {32, 20, 7, 7, 3, 1, 1},
		{8, 16, 56, 56, 3, 2, 1}, {12, 32, 28, 28, 3, 2, 1}, {16, 8, 14, 14, 3, 2, 1},
		{8, 8, 13, 13, 3, 1, 1}, {8, 12, 26, 26, 3, 2, 1}, {5, 7, 2, 2, 3, 2, 1}, {9, 6, 3, 3, 3, 2, 1},
		{3, 16, 23, 21, 7, 2, 3}, {6, 10, 9, 11, 3, 1, 0}, {4, 30, 40, 40, 5, 1, 2}, {7, 5, 17, 33, 3, 2, 0},
	}
	for _, c := range cases {
		g := c.geom()
		wq := (g.W + 2*c.pad + c.s - 1) / c.s
		for _, threads := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("%dx%dx%d-%d/k%d/s%d/p%d/ow%d/t%d", c.cin, c.h, c.w, c.cout, c.k, c.s, c.pad, g.OW, threads), func(t *testing.T) {
				w8 := make([]int8, c.cout*c.cin*c.k*c.k)
				for i := range w8 {
					w8[i] = int8(rng.IntN(255) - 127)
				}
				wu := make([]uint8, len(w8))
				for i := range wu {
					wu[i] = uint8(rng.IntN(256))
				}
				pws := packPlaneWeights(w8, c.cout, c.cin, c.k, c.k, nil)
				pwu := packPlaneWeights(wu, c.cout, c.cin, c.k, c.k, []int32{131})
				xu := make([]uint8, c.cin*c.h*c.w)
				xs := make([]int8, len(xu))
				for i := range xu {
					xu[i] = uint8(rng.IntN(256))
					xs[i] = int8(rng.IntN(256) - 128)
				}
				if wq > g.OW && !gemm.QOffsetColsFast(pws.pa, g.OW, wq) {
					t.Logf("column map not used (ow %d, wq %d)", g.OW, wq)
				}
				check := func(name string, got, want any) {
					if fmt.Sprint(got) != fmt.Sprint(want) {
						t.Fatalf("%s: output positions differ from the full-width GEMM", name)
					}
				}
				check("u8 x, s8 w, u8 y", runQPlanes[uint8, uint8](threads, pws, g, xu, 117, true), runQPlanes[uint8, uint8](threads, pws, g, xu, 117, false))
				check("s8 x, s8 w, s8 y", runQPlanes[int8, int8](threads, pws, g, xs, -9, true), runQPlanes[int8, int8](threads, pws, g, xs, -9, false))
				check("u8 x, u8 w, s8 y", runQPlanes[uint8, int8](threads, pwu, g, xu, 3, true), runQPlanes[uint8, int8](threads, pwu, g, xu, 3, false))
				check("s8 x, u8 w, u8 y", runQPlanes[int8, uint8](threads, pwu, g, xs, 0, true), runQPlanes[int8, uint8](threads, pwu, g, xs, 0, false))
			})
		}
	}
}

// BenchmarkQConvPlanes: ResNet-18's 3x3 int8 convolutions and two stems on 1 and 2 threads,
// the GEMM on the output positions (cols) against the planes' full width
// with the extra columns dropped (full).
func BenchmarkQConvPlanes(b *testing.B) {
	for _, c := range []qplaneCase{
		{64, 64, 56, 56, 3, 1, 1}, {128, 128, 28, 28, 3, 1, 1}, {256, 256, 14, 14, 3, 1, 1}, {512, 512, 7, 7, 3, 1, 1},
		{64, 128, 56, 56, 3, 2, 1}, {128, 256, 28, 28, 3, 2, 1}, {256, 512, 14, 14, 3, 2, 1},
		{3, 64, 224, 224, 7, 2, 3}, // ResNet-18's stem
		{3, 32, 224, 224, 3, 2, 1}, // MobileNetV2's stem
	} {
		g := c.geom()
		rng := rand.New(rand.NewPCG(1, 2))
		w := make([]int8, c.cout*c.cin*c.k*c.k)
		for i := range w {
			w[i] = int8(rng.IntN(255) - 127)
		}
		x := make([]uint8, c.cin*c.h*c.w)
		for i := range x {
			x[i] = uint8(rng.IntN(256))
		}
		pw := packPlaneWeights(w, c.cout, c.cin, c.k, c.k, nil)
		for _, tc := range []struct {
			cols    bool
			threads int
			nofuse  bool // requantize with the separate finisher
			noC4    bool // B packed from plain planes
		}{{false, 1, false, true}, {true, 1, false, true}, {true, 1, true, true}, {true, 1, false, false},
			{false, 2, false, true}, {true, 2, false, true}, {true, 2, true, true}, {true, 2, false, false}} {
			cols := tc.cols
			name := "full"
			if cols {
				name = "cols"
			}
			if tc.nofuse {
				name += "-nofuse"
			}
			if !tc.noC4 {
				name = "c4"
			}
			b.Run(fmt.Sprintf("%d-%d@%d/s%d/t%d/%s", c.cin, c.cout, c.h, c.s, tc.threads, name), func(b *testing.B) {
				var lc layoutCache
				l := lc.get(g, pw.cin, pw.k)
				out := make([]uint8, c.cout*g.OH*g.OW)
				scale := make([]float32, c.cout)
				for i := range scale {
					scale[i] = 0.001
				}
				ep := gemm.QEpilogue{PerRow: true, ZeroPoint: 5, Relu: true, Clamp: true, Lo: 0, Hi: 255, Scale: scale}
				defer func() { qplaneCols, qplaneC4 = true, true }()
				qplaneCols, qplaneC4 = cols, !tc.noC4
				defer gemm.SetQFusedStore(gemm.SetQFusedStore(!tc.nofuse))
				for b.Loop() {
					qconvPlanes(tc.threads, pw, l, x, 117, g, []int32{117}, out, ep)
				}
			})
		}
	}
}

// The C4 route (interleaved planes, B read in place) must give exactly the
// packed route's outputs: channels in groups of four, strides 1 and 2,
// padded or not, maps whose rows do and do not fill the GEMM's 32-column
// blocks, 1 to 3 threads, uint8 and int8 outputs.
func TestQConvPlanesC4MatchesPacked(t *testing.T) {
	if !gemm.QC4Ready(packPlaneWeights([]int8{1, 2, 3, 4}, 1, 4, 1, 1, nil).pa) {
		t.Skip("no C4 kernels on this machine")
	}
	rng := rand.New(rand.NewPCG(31, 32))
	cases := []qplaneCase{
		{64, 64, 56, 56, 3, 1, 1}, {16, 24, 56, 60, 3, 1, 1}, {8, 40, 50, 64, 3, 1, 1}, {4, 20, 7, 61, 3, 1, 1},
		{8, 16, 56, 56, 3, 2, 1}, {12, 32, 60, 58, 3, 2, 1}, {4, 6, 9, 11, 3, 1, 0}, {4, 30, 40, 40, 5, 1, 0},
		{8, 5, 17, 33, 3, 2, 0}, {32, 16, 30, 12, 1, 1, 0},
	}
	run := 0
	for _, c := range cases {
		g := c.geom()
		for _, threads := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("%dx%dx%d-%d/k%d/s%d/p%d/t%d", c.cin, c.h, c.w, c.cout, c.k, c.s, c.pad, threads), func(t *testing.T) {
				w8 := make([]int8, c.cout*c.cin*c.k*c.k)
				for i := range w8 {
					w8[i] = int8(rng.IntN(255) - 127)
				}
				pw := packPlaneWeights(w8, c.cout, c.cin, c.k, c.k, nil)
				var lc layoutCache
				if !lc.get(g, pw.cin, pw.k).c4Fits(pw.cin, g, threads) {
					t.Skip("map too small for the C4 route at this thread count")
				}
				run++
				xu := make([]uint8, c.cin*c.h*c.w)
				for i := range xu {
					xu[i] = uint8(rng.IntN(256))
				}
				packed := func(f func() any) any {
					defer func() { qplaneC4 = true }()
					qplaneC4 = false
					return f()
				}
				for _, zx := range []uint8{0, 117} {
					if got, want := fmt.Sprint(runQPlanes[uint8, uint8](threads, pw, g, xu, zx, true)),
						fmt.Sprint(packed(func() any { return runQPlanes[uint8, uint8](threads, pw, g, xu, zx, true) })); got != want {
						t.Fatalf("zx %d, uint8 out: C4 outputs differ from the packed route", zx)
					}
					if got, want := fmt.Sprint(runQPlanes[uint8, int8](threads, pw, g, xu, zx, true)),
						fmt.Sprint(packed(func() any { return runQPlanes[uint8, int8](threads, pw, g, xu, zx, true) })); got != want {
						t.Fatalf("zx %d, int8 out: C4 outputs differ from the packed route", zx)
					}
				}
			})
		}
	}
	if run == 0 {
		t.Fatal("no case took the C4 route")
	}
}
