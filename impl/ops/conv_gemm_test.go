package ops

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/impl/ref"
)

// TestConvGemmSweep checks the packed im2col+GEMM driver against the direct
// reference over shapes that take each of its paths (pointwise, column
// chunks, whole-matrix expansion), thread counts and fused epilogues, with
// guard values after the output to catch overruns.
func TestConvGemmSweep(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	type cs struct{ n, cin, h, w, cout, kh, kw, s, pt, pl, pb, pr, dil, group int }
	cases := []cs{
		{1, 3, 1, 1, 5, 1, 1, 1, 0, 0, 0, 0, 1, 1},         // 1x1 image
		{1, 16, 30, 30, 17, 1, 1, 1, 0, 0, 0, 0, 1, 1},     // pointwise
		{1, 16, 29, 31, 24, 1, 1, 2, 0, 0, 0, 0, 1, 1},     // strided 1x1
		{1, 8, 56, 56, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1},      // column chunks
		{2, 5, 33, 17, 7, 3, 3, 1, 0, 2, 1, 0, 1, 1},       // asymmetric pads
		{1, 3, 45, 45, 9, 7, 7, 2, 3, 3, 3, 3, 1, 1},       // stem-like
		{1, 64, 7, 7, 31, 3, 3, 1, 1, 1, 1, 1, 1, 1},       // narrow output
		{1, 12, 20, 20, 12, 3, 3, 1, 2, 2, 2, 2, 2, 3},     // dilated, grouped
		{1, 4, 40, 3, 6, 3, 1, 1, 1, 0, 1, 0, 1, 2},        // tall, 3x1 kernel
		{3, 2, 13, 13, 3, 5, 5, 3, 2, 2, 2, 2, 1, 1},       // stride 3
		{1, 32, 16, 16, 64, 3, 3, 2, 1, 1, 1, 1, 1, 1},     // downsampling
		{1, 1, 131, 97, 2, 2, 3, 1, 0, 1, 1, 0, 1, 1},      // prime sizes
		{1, 17, 10, 100, 13, 1, 5, 1, 0, 2, 0, 2, 1, 1},    // 1x5 kernel, wide
		{2, 6, 12, 12, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6},       // depthwise via ConvForward
		{1, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1},     // ResNet layer 1
		{1, 256, 14, 14, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1},   // ResNet layer 3
		{1, 3, 224, 224, 8, 7, 7, 2, 3, 3, 3, 3, 1, 1},     // ResNet stem (8 filters)
		{1, 128, 28, 28, 256, 1, 1, 2, 0, 0, 0, 0, 1, 1},   // ResNet downsample
		{1, 16, 112, 112, 96, 1, 1, 1, 0, 0, 0, 0, 1, 1},   // MobileNet expand
		{4, 8, 9, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1},         // batch 4
		{1, 2, 3, 3, 2, 3, 3, 1, 0, 0, 0, 0, 1, 1},         // output 1x1
		{1, 2, 2, 2, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1},         // pad larger than image part
		{1, 24, 64, 64, 40, 5, 5, 1, 2, 2, 2, 2, 1, 1},     // 5x5
		{1, 9, 33, 65, 11, 3, 3, 2, 1, 1, 1, 1, 1, 1},      // odd strided
		{1, 20, 18, 18, 16, 3, 3, 1, 1, 1, 1, 1, 1, 4},     // grouped 4
		{1, 40, 50, 50, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1},     // 2500 columns
		{1, 7, 61, 59, 5, 4, 4, 2, 1, 2, 2, 1, 1, 1},       // even kernel
		{1, 33, 27, 27, 65, 3, 3, 1, 0, 0, 0, 0, 2, 1},     // dilated no pad
		{2, 64, 8, 8, 128, 3, 3, 2, 1, 1, 1, 1, 1, 1},      // tiny output, batch 2
		{1, 512, 7, 7, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1},     // ResNet layer 4
		{1, 3, 17, 300, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1},      // very wide rows
		{1, 5, 300, 3, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1},       // very tall, narrow rows
		{1, 3, 3, 3, 4, 5, 5, 2, 4, 4, 4, 4, 1, 1},         // taps entirely in the padding, strided
		{1, 2, 9, 4, 3, 3, 7, 3, 2, 6, 1, 5, 1, 1},         // wide kernel, stride 3, big pads
		{1, 4, 60, 61, 5, 3, 3, 3, 1, 2, 0, 1, 1, 1},       // stride 3, phased im2col
		{1, 6, 50, 50, 4, 3, 3, 2, 2, 2, 2, 2, 2, 1},       // stride 2 with dilation 2
		{1, 5, 40, 41, 6, 4, 4, 2, 0, 3, 3, 0, 1, 1},       // even kernel, asymmetric pads
		{1, 1, 64, 64, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1},       // single channel
		{1, 96, 12, 12, 24, 1, 1, 1, 0, 0, 0, 0, 1, 1},     // project
		{1, 4, 57, 57, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1},       // 57x57 (chunk edge)
		{1, 6, 8, 128, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1},      // columns multiple of 32
		{1, 6, 1, 129, 10, 1, 3, 1, 0, 1, 0, 1, 1, 1},      // 1-D style
		{1, 128, 28, 28, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1},   // ResNet layer 2
		{1, 32, 112, 112, 32, 3, 3, 1, 1, 1, 1, 1, 1, 32},  // MobileNet depthwise
		{1, 144, 56, 56, 144, 3, 3, 2, 1, 1, 1, 1, 1, 144}, // strided depthwise
	}
	acts := []Activation{{}, {Kind: "Relu"}, {Kind: "Clip", Min: -0.5, Max: 0.25}}
	for ci, c := range cases {
		p := ref.Conv2D{KH: c.kh, KW: c.kw, SH: c.s, SW: c.s, PT: c.pt, PL: c.pl, PB: c.pb, PR: c.pr, DH: c.dil, DW: c.dil}
		g := ConvGeom{N: c.n, Cin: c.cin, H: c.h, W: c.w, Cout: c.cout, Group: c.group, P: p}
		g.OH, g.OW = p.Out(c.h, c.w)
		x := randVec(r, c.n*c.cin*c.h*c.w)
		kk := c.cin / c.group * c.kh * c.kw
		w := randVec(r, c.cout*kk)
		bias := randVec(r, c.cout)
		outLen := c.n * c.cout * g.OH * g.OW
		want := make([]float32, outLen)
		ref.ConvDirect(x, c.n, c.cin, c.h, c.w, w, c.cout, c.group, bias, p, want)
		act := acts[ci%len(acts)]
		act.Apply(want)
		for _, threads := range []int{1, 2, 3} {
			for _, packedOnce := range []bool{false, true} {
				if packedOnce && c.cin == c.group && c.group > 1 {
					continue // depthwise never packs
				}
				buf := make([]float32, outLen+16)
				for i := range buf {
					buf[i] = -7777
				}
				out := buf[:outLen]
				if packedOnce {
					convGemm(threads, x, packConvWeights(w, c.cout, c.group, kk), bias, g, act, false, out)
				} else {
					ConvForward(threads, x, w, bias, g, act, out)
				}
				for i := outLen; i < len(buf); i++ {
					if buf[i] != -7777 {
						t.Fatalf("case %d %+v threads %d: wrote past the output", ci, c, threads)
					}
				}
				// Rounding error grows with the reduction length (float32
				// sums of kk products of unit normals); an indexing bug
				// gives errors of order 1.
				tol := 1e-4 + 2e-6*float64(kk)
				for i := range out {
					if d := float64(out[i] - want[i]); d > tol*(1+abs64(want[i])) || d < -tol*(1+abs64(want[i])) || out[i] != out[i] {
						t.Fatalf("case %d %+v threads %d packed %v: out[%d] = %g, want %g", ci, c, threads, packedOnce, i, out[i], want[i])
					}
				}
			}
		}
	}
}

func abs64(v float32) float64 {
	if v < 0 {
		return float64(-v)
	}
	return float64(v)
}

func randVec(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// BenchmarkConv3x3 times the float32 convolution driver on ResNet-18's
// 3x3 64->64 56x56 layer at batch 1 (the single-Conv benchmark).
func BenchmarkConv3x3(b *testing.B) {
	for _, c := range []struct {
		name                string
		cin, cout, h, k, st int
	}{
		{"64x56x56", 64, 64, 56, 3, 1},
		{"128x28x28", 128, 128, 28, 3, 1},
		{"256x14x14", 256, 256, 14, 3, 1},
		{"512x7x7", 512, 512, 7, 3, 1},
		{"256x14x14s2", 128, 256, 28, 3, 2},
		{"1x1-256x14x14", 1024, 256, 14, 1, 1},
		{"stem3x224", 3, 64, 224, 7, 2},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			pad := c.k / 2
			p := ref.Conv2D{KH: c.k, KW: c.k, SH: c.st, SW: c.st, PT: pad, PL: pad, PB: pad, PR: pad, DH: 1, DW: 1}
			g := ConvGeom{N: 1, Cin: c.cin, H: c.h, W: c.h, Cout: c.cout, Group: 1, P: p}
			g.OH, g.OW = p.Out(c.h, c.h)
			x := randVec(r, c.cin*c.h*c.h)
			kk := c.cin * c.k * c.k
			cw := packConvWeights(randVec(r, c.cout*kk), c.cout, 1, kk)
			bias := randVec(r, c.cout)
			out := make([]float32, c.cout*g.OH*g.OW)
			flops := float64(2 * c.cout * kk * g.OH * g.OW)
			for mode, name := range []string{"packed-auto", "packed-chunked", "packed-whole"} {
				b.Run(name, func(b *testing.B) {
					defer func(v int) { convChunking = v }(convChunking)
					convChunking = mode
					for range b.N {
						convGemm(2, x, cw, bias, g, Activation{Kind: "Relu"}, false, out)
					}
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
			// The previous driver: whole im2col on one goroutine, then a
			// threaded SGEMM that packs the weights on every call.
			w := randVec(r, c.cout*kk)
			col := make([]float32, kk*g.OH*g.OW)
			b.Run("im2col-sgemm", func(b *testing.B) {
				for range b.N {
					ref.Im2Col(x, c.cin, c.h, c.h, p, col)
					sgemm(false, false, c.cout, g.OH*g.OW, kk, 1, w, kk, col, g.OH*g.OW, 0, out, g.OH*g.OW)
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		})
	}
}

// BenchmarkColTarget measures the im2col chunk size (floats) on the 64->64
// 56x56 layer; it chose colTarget.
func BenchmarkColTarget(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	p := ref.Conv2D{KH: 3, KW: 3, SH: 1, SW: 1, PT: 1, PL: 1, PB: 1, PR: 1, DH: 1, DW: 1}
	g := ConvGeom{N: 1, Cin: 64, H: 56, W: 56, Cout: 64, Group: 1, P: p, OH: 56, OW: 56}
	x := randVec(r, 64*56*56)
	cw := packConvWeights(randVec(r, 64*576), 64, 1, 576)
	out := make([]float32, 64*56*56)
	defer func(v int) { colTarget = v }(colTarget)
	for _, ct := range []int{16 << 10, 32 << 10, 64 << 10, 128 << 10, 256 << 10} {
		b.Run(fmt.Sprint(ct), func(b *testing.B) {
			colTarget = ct
			for range b.N {
				convGemm(2, x, cw, nil, g, Activation{}, false, out)
			}
		})
	}
}
