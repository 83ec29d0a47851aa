package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestConvPointwiseTurned checks the turned-around pointwise convolution
// against the upright GEMM route on shapes with and without a pixel
// remainder (ohw % 16), with bias, residual and each clamp.
func TestConvPointwiseTurned(t *testing.T) {
	if !haveTransposeOut() {
		t.Log("no AVX-512: the turned route is off here; checking the portable transpose only")
	}
	r := rand.New(rand.NewPCG(1, 2))
	acts := []Activation{{}, {Kind: "Relu"}, {Kind: "Clip", Min: 0, Max: 6}}
	for _, s := range []struct{ cin, cout, h, w int }{{32, 16, 4, 4}, {24, 32, 7, 7}, {160, 64, 7, 7}, {96, 48, 14, 14}, {576, 96, 14, 14}, {8, 16, 5, 9}, {960, 320, 7, 7}} {
		for ai, act := range acts {
			for _, residual := range []bool{false, true} {
				name := fmt.Sprintf("%dx%d->%d/%dx%d/act%d/res%v", s.h, s.w, s.cin, s.cout, s.w, ai, residual)
				g := ConvGeom{N: 1, Cin: s.cin, Cout: s.cout, H: s.h, W: s.w, OH: s.h, OW: s.w, Group: 1}
				g.P.KH, g.P.KW, g.P.SH, g.P.SW, g.P.DH, g.P.DW = 1, 1, 1, 1, 1, 1
				ohw := s.h * s.w
				x := make([]float32, s.cin*ohw)
				w := make([]float32, s.cout*s.cin)
				bias := make([]float32, s.cout)
				add := make([]float32, s.cout*ohw)
				for _, v := range [][]float32{x, w, bias, add} {
					for i := range v {
						v[i] = float32(r.NormFloat64())
					}
				}
				if !turnPointwise(ohw, s.cin, s.cout) && haveTransposeOut() && (ohw <= 64 || (ohw <= 256 && s.cin > s.cout)) && ohw >= 16 && s.cout%16 == 0 {
					t.Fatalf("%s: expected the turned route", name)
				}
				cw := packConvWeights(w, s.cout, 1, s.cin)
				run := func(turn bool) []float32 {
					defer func(v bool) { turnPointwiseOn = v }(turnPointwiseOn)
					turnPointwiseOn = turn
					out := make([]float32, len(add))
					if residual {
						copy(out, add)
					}
					convGemm(2, x, cw, bias, g, act, residual, out)
					return out
				}
				want, got := run(false), run(true)
				for i := range want {
					if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*(1+math.Abs(float64(want[i]))) {
						t.Fatalf("%s: out[%d] = %v, upright %v", name, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestTransposeOut checks the assembly transposing store against the
// portable loop, including NaN propagation through the clamp.
func TestTransposeOut(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, channels := range []int{16, 48} {
		for _, add := range []bool{false, true} {
			ldt, ldd := channels+16, 37
			src := make([]float32, 16*ldt)
			for i := range src {
				src[i] = float32(r.NormFloat64())
			}
			src[5*ldt+7] = float32(math.NaN())
			dst0 := make([]float32, channels*ldd)
			for i := range dst0 {
				dst0[i] = float32(r.NormFloat64())
			}
			got := append([]float32(nil), dst0...)
			want := append([]float32(nil), dst0...)
			transposeOut(got, src, ldd, ldt, channels, add, -0.5, 1)
			transposeOutGo(want, src, ldd, ldt, channels, add, -0.5, 1)
			for i := range want {
				if got[i] != want[i] && !(math.IsNaN(float64(got[i])) && math.IsNaN(float64(want[i]))) {
					t.Fatalf("channels %d add %v: dst[%d] = %v, want %v", channels, add, i, got[i], want[i])
				}
			}
			if !math.IsNaN(float64(got[7*ldd+5])) {
				t.Fatalf("NaN input did not reach dst: %v", got[7*ldd+5])
			}
		}
	}
}

// BenchmarkConvPointwiseTurned: MobileNetV2's pointwise shapes, upright
// and turned around (transposing store included), 2 threads.
func BenchmarkConvPointwiseTurned(b *testing.B) {
	for _, s := range []struct{ cin, cout, hw int }{{144, 24, 56}, {192, 32, 28}, {24, 144, 56}, {32, 192, 28}, {16, 96, 112}, {32, 16, 112}, {64, 384, 14}, {384, 64, 14}, {96, 576, 14}, {576, 96, 14}, {160, 960, 7}, {960, 160, 7}, {960, 320, 7}, {320, 1280, 7}} {
		g := ConvGeom{N: 1, Cin: s.cin, Cout: s.cout, H: s.hw, W: s.hw, OH: s.hw, OW: s.hw, Group: 1}
		g.P.KH, g.P.KW, g.P.SH, g.P.SW, g.P.DH, g.P.DW = 1, 1, 1, 1, 1, 1
		x := make([]float32, s.cin*s.hw*s.hw)
		w := make([]float32, s.cout*s.cin)
		for i := range w {
			w[i] = float32(i%7) * 0.1
		}
		out := make([]float32, s.cout*s.hw*s.hw)
		cw := packConvWeights(w, s.cout, 1, s.cin)
		for _, turn := range []bool{false, true} {
			b.Run(fmt.Sprintf("%d-%d@%d/turn=%v", s.cin, s.cout, s.hw, turn), func(b *testing.B) {
				defer func(v bool) { turnPointwiseOn = v }(turnPointwiseOn)
				turnPointwiseOn = turn
				for b.Loop() {
					convGemm(2, x, cw, nil, g, Activation{Kind: "Clip", Min: 0, Max: 6}, false, out)
				}
			})
		}
	}
}

func BenchmarkTransposeOut(b *testing.B) {
	for _, s := range []struct{ cout, ohw int }{{1280, 49}, {576, 196}, {96, 196}} {
		t := make([]float32, s.ohw*s.cout)
		og := make([]float32, s.ohw*s.cout)
		b.Run(fmt.Sprintf("%dx%d", s.cout, s.ohw), func(b *testing.B) {
			for b.Loop() {
				for p0 := 0; p0+16 <= s.ohw; p0 += 16 {
					transposeOut(og[p0:], t[p0*s.cout:], s.ohw, s.cout, s.cout, false, -1, 1)
				}
			}
		})
	}
}

// BenchmarkConvWindowTurned: windowed convolutions upright and turned
// around (MobileNetV2's stem; ResNet-18's 3x3 layers on 14x14 and 7x7).
func BenchmarkConvWindowTurned(b *testing.B) {
	for _, s := range []struct{ cin, cout, hw, stride int }{{3, 32, 224, 2}, {256, 256, 14, 1}, {512, 512, 7, 1}} {
		g := ConvGeom{N: 1, Cin: s.cin, Cout: s.cout, H: s.hw, W: s.hw, Group: 1}
		g.P.KH, g.P.KW, g.P.SH, g.P.SW, g.P.DH, g.P.DW = 3, 3, s.stride, s.stride, 1, 1
		g.P.PT, g.P.PL, g.P.PB, g.P.PR = 1, 1, 1, 1
		g.OH, g.OW = (s.hw+2-3)/s.stride+1, (s.hw+2-3)/s.stride+1
		x := make([]float32, s.cin*s.hw*s.hw)
		w := make([]float32, s.cout*s.cin*9)
		for i := range w {
			w[i] = float32(i%7) * 0.1
		}
		out := make([]float32, s.cout*g.OH*g.OW)
		cw := packConvWeights(w, s.cout, 1, s.cin*9)
		for _, turn := range []bool{false, true} {
			b.Run(fmt.Sprintf("%d-%d@%d/s%d/turn=%v", s.cin, s.cout, s.hw, s.stride, turn), func(b *testing.B) {
				defer func(v bool) { turnPointwiseOn = v }(turnPointwiseOn)
				turnPointwiseOn = turn
				for b.Loop() {
					convGemm(2, x, cw, nil, g, Activation{Kind: "Relu"}, false, out)
				}
			})
		}
	}
}

// TestConvWindowTurned checks a 3x3 convolution on a small map, whose
// im2col matrix goes through the turned-around GEMM, against upright.
func TestConvWindowTurned(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, s := range []struct{ cin, cout, hw int }{{64, 32, 7}, {40, 48, 5}, {16, 16, 8}} {
		g := ConvGeom{N: 1, Cin: s.cin, Cout: s.cout, H: s.hw, W: s.hw, OH: s.hw, OW: s.hw, Group: 1}
		g.P.KH, g.P.KW, g.P.SH, g.P.SW, g.P.DH, g.P.DW = 3, 3, 1, 1, 1, 1
		g.P.PT, g.P.PL, g.P.PB, g.P.PR = 1, 1, 1, 1
		kk := s.cin * 9
		ohw := s.hw * s.hw
		if !turnPointwise(ohw, kk, s.cout) && haveTransposeOut() {
			t.Fatalf("%v: expected the turned route", s)
		}
		x := make([]float32, s.cin*ohw)
		w := make([]float32, s.cout*kk)
		bias := make([]float32, s.cout)
		for _, v := range [][]float32{x, w, bias} {
			for i := range v {
				v[i] = float32(r.NormFloat64())
			}
		}
		cw := packConvWeights(w, s.cout, 1, kk)
		run := func(turn bool) []float32 {
			defer func(v bool) { turnPointwiseOn = v }(turnPointwiseOn)
			turnPointwiseOn = turn
			out := make([]float32, s.cout*ohw)
			convGemm(2, x, cw, bias, g, Activation{Kind: "Relu"}, false, out)
			return out
		}
		want, got := run(false), run(true)
		for i := range want {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("%v: out[%d] = %v, upright %v", s, i, got[i], want[i])
			}
		}
	}
}

// TestTurnedShares: the shares tile the output exactly once, each within
// one micro-tile of an even split, in few rectangles.
func TestTurnedShares(t *testing.T) {
	for _, s := range [][2]int{{49, 160}, {49, 1280}, {196, 96}, {16, 16}, {45, 48}, {196, 64}, {49, 320}} {
		ohw, cout := s[0], s[1]
		for _, threads := range []int{1, 2, 3} {
			shares := turnedShares(ohw, cout, 14, 32, threads)
			seen := make([]int, ohw*cout)
			for _, sh := range shares {
				area := 0
				if len(sh) > 3 {
					t.Errorf("%v/%d: %d rectangles in a share", s, threads, len(sh))
				}
				for _, r := range sh {
					if r.c0%32 != 0 || r.p0 < 0 || r.p1 > ohw || r.c1 > cout || r.p0 >= r.p1 || r.c0 >= r.c1 {
						t.Fatalf("%v/%d: bad rectangle %+v", s, threads, r)
					}
					for p := r.p0; p < r.p1; p++ {
						for c := r.c0; c < r.c1; c++ {
							seen[p*cout+c]++
						}
					}
					area += (r.p1 - r.p0) * (r.c1 - r.c0)
				}
				if even := ohw * cout / len(shares); area > even+14*32 || area < even-14*32 {
					t.Errorf("%v/%d: share of %d, even split %d", s, threads, area, even)
				}
			}
			for i, n := range seen {
				if n != 1 {
					t.Fatalf("%v/%d: element %d covered %d times", s, threads, i, n)
				}
			}
		}
	}
}
