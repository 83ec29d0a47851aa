package winograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/frugal-ml/frugal/impl/cpu"
	"github.com/frugal-ml/frugal/impl/gemm"
	"github.com/frugal-ml/frugal/impl/ref"
)

// Benchmark shapes: ResNet-18/34 3x3 layers and two small-channel cases,
// padding 1, batch 1 unless named.
var benchShapes = []struct{ n, cin, cout, hw, w int }{ // w = 0: square
	{1, 64, 64, 56, 0},
	{1, 128, 128, 28, 0},
	{1, 256, 256, 14, 0},
	{1, 512, 512, 7, 0},
	{1, 3, 64, 224, 0},
	{1, 16, 16, 28, 0},
}

// im2colConv is the baseline: what impl/ops' Conv does per image (ref.Im2Col
// on the caller, then one GEMM with the weights prepacked by gemm.PackA and
// bias + ReLU fused in the epilogue).
type im2colConv struct {
	pa  *gemm.PackedA
	col []float32
	p   ref.Conv2D
}

func newIm2col(w []float32, cout, cin, h, wd int) *im2colConv {
	p := ref.Conv2D{KH: 3, KW: 3, SH: 1, SW: 1, PT: 1, PL: 1, PB: 1, PR: 1, DH: 1, DW: 1}
	oh, ow := p.Out(h, wd)
	return &im2colConv{pa: gemm.PackA(false, cout, cin*9, w, cin*9), col: make([]float32, cin*9*oh*ow), p: p}
}

func (c *im2colConv) run(x []float32, n, cin, h, wd int, bias, out []float32) {
	oh, ow := c.p.Out(h, wd)
	cout := c.pa.M()
	for b := 0; b < n; b++ {
		ref.Im2Col(x[b*cin*h*wd:], cin, h, wd, c.p, c.col)
		gemm.SgemmPackedA(c.pa, oh*ow, c.col, oh*ow, out[b*cout*oh*ow:], oh*ow,
			gemm.Epilogue{RowBias: bias, Act: gemm.ActRelu})
	}
}

// BenchmarkConv compares, in one run, im2col+SGEMM with Winograd F(4x4) and
// F(2x2) in each threading mode, 2 threads, bias + ReLU fused. The
// "GFLOP/s" metric counts the direct convolution's 2*cout*cin*9*oh*ow flops.
func BenchmarkConv(b *testing.B) {
	gemm.SetThreads(2)
	defer gemm.SetThreads(0)
	const threads = 2
	for _, s := range benchShapes {
		rng := rand.New(rand.NewPCG(1, 2))
		x := randSlice(rng, s.n*s.cin*s.hw*s.hw)
		w := randSlice(rng, s.cout*s.cin*9)
		bias := randSlice(rng, s.cout)
		out := make([]float32, s.n*s.cout*s.hw*s.hw)
		flops := 2 * float64(s.n*s.cout*s.cin*9*s.hw*s.hw)
		name := fmt.Sprintf("%dx%dto%d@%d", s.n, s.cin, s.cout, s.hw)
		report := func(b *testing.B) {
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		}
		ic := newIm2col(w, s.cout, s.cin, s.hw, s.hw)
		b.Run(name+"/im2col", func(b *testing.B) {
			for b.Loop() {
				ic.run(x, s.n, s.cin, s.hw, s.hw, bias, out)
			}
			report(b)
		})
		for _, tile := range []Tile{F4, F2} {
			wt := TransformWeights(w, s.cout, s.cin, tile)
			for _, mode := range []struct {
				name string
				m    Mode
			}{{"auto", Auto}, {"blocks", Blocks}, {"phases", Phases}, {"split", PhasesSplit}} {
				b.Run(fmt.Sprintf("%s/F%d-%s", name, tile, mode.name), func(b *testing.B) {
					for b.Loop() {
						ConvMode(mode.m, threads, x, s.n, s.hw, s.hw, 1, 1, 1, 1, wt, Epilogue{Bias: bias, Act: gemm.ActRelu}, out)
					}
					report(b)
				})
			}
		}
	}
}

// TestMeasureTable (WINOGRAD_TABLE=1 go test -run MeasureTable -v) times
// every variant of BenchmarkConv interleaved: rounds of ~10 ms per variant,
// repeated, reporting the minimum and median time per convolution. On a
// shared, noisy machine the interleaving keeps the ratios meaningful.
// WINOGRAD_COLD=1 times single runs after evicting the caches instead (the
// transformed weights are 4x (F4) or 1.78x (F2) the filters, which matters
// once they no longer stay in cache); WINOGRAD_MODES=1 times each threading
// mode; WINOGRAD_SHAPES="n,cin,cout,hw;..." and WINOGRAD_ROUNDS override the
// shapes and the 15 rounds.
func TestMeasureTable(t *testing.T) {
	if os.Getenv("WINOGRAD_TABLE") == "" {
		t.Skip("set WINOGRAD_TABLE=1")
	}
	gemm.SetThreads(2)
	defer gemm.SetThreads(0)
	rounds := 15
	if s := os.Getenv("WINOGRAD_ROUNDS"); s != "" {
		rounds, _ = strconv.Atoi(s)
	}
	shapes := benchShapes
	if s := os.Getenv("WINOGRAD_SHAPES"); s != "" {
		shapes = nil
		for _, f := range strings.Split(s, ";") {
			var sh struct{ n, cin, cout, hw, w int }
			fmt.Sscanf(f, "%d,%d,%d,%d,%d", &sh.n, &sh.cin, &sh.cout, &sh.hw, &sh.w)
			shapes = append(shapes, sh)
		}
	}
	cold := os.Getenv("WINOGRAD_COLD") != ""
	modes := []Mode{Auto}
	if os.Getenv("WINOGRAD_MODES") != "" {
		modes = []Mode{Blocks, Phases, PhasesSplit}
	}
	for _, s := range shapes {
		h, wd := s.hw, s.w
		if wd == 0 {
			wd = h
		}
		rng := rand.New(rand.NewPCG(1, 2))
		x := randSlice(rng, s.n*s.cin*h*wd)
		w := randSlice(rng, s.cout*s.cin*9)
		bias := randSlice(rng, s.cout)
		out := make([]float32, s.n*s.cout*h*wd)
		type variant struct {
			name string
			f    func()
			ts   []float64
		}
		ic := newIm2col(w, s.cout, s.cin, h, wd)
		vs := []*variant{{name: "im2col", f: func() { ic.run(x, s.n, s.cin, h, wd, bias, out) }}}
		for _, tile := range []Tile{F4, F2} {
			wt := TransformWeights(w, s.cout, s.cin, tile)
			for _, mode := range modes {
				vs = append(vs, &variant{name: fmt.Sprintf("F%d/%s", tile, modeName[mode]), f: func() {
					ConvMode(mode, 2, x, s.n, h, wd, 1, 1, 1, 1, wt, Epilogue{Bias: bias, Act: gemm.ActRelu}, out)
				}})
			}
		}
		for _, v := range vs { // warm up, size the repetitions
			v.f()
		}
		for r := 0; r < rounds; r++ {
			for _, v := range vs {
				if cold {
					// One run after evicting the caches (weights, input and
					// scratch all come from DRAM, as for a layer of a model
					// whose weights exceed the L3 cache).
					best := math.Inf(1)
					for k := 0; k < 3; k++ {
						flushCaches()
						t0 := time.Now()
						v.f()
						best = min(best, float64(time.Since(t0))/1e3)
					}
					v.ts = append(v.ts, best)
					continue
				}
				t0 := time.Now()
				reps := 0
				for time.Since(t0) < 10*time.Millisecond {
					v.f()
					reps++
				}
				v.ts = append(v.ts, float64(time.Since(t0))/float64(reps)/1e3)
			}
		}
		base := slices.Min(vs[0].ts)
		line := fmt.Sprintf("%dx%d->%d@%dx%d:", s.n, s.cin, s.cout, h, wd)
		for _, v := range vs {
			slices.Sort(v.ts)
			mn, med := v.ts[0], v.ts[len(v.ts)/2]
			line += fmt.Sprintf("  %s %.0f/%.0f us (x%.2f)", v.name, mn, med, base/mn)
		}
		t.Log(line)
	}
}

var flushBuf = make([]float32, 12<<20) // 48 MB, above the 32 MB L3

func flushCaches() {
	for i := 0; i < len(flushBuf); i += 16 {
		flushBuf[i]++
	}
}

var modeName = map[Mode]string{Auto: "auto", Blocks: "blocks", Phases: "phases", PhasesSplit: "split"}

// BenchmarkTransforms times the transform kernels of each dispatch level on
// 64 channels: one input tile (8 blocks) and one row of 14 output tiles of a
// 56x56 plane (4 pairs of blocks).
func BenchmarkTransforms(b *testing.B) {
	for _, l := range cpu.Levels() {
		for _, m := range []int{4, 2} {
			restore := cpu.Force(l)
			in, out := kernels(m)
			restore()
			rng := rand.New(rand.NewPCG(1, 2))
			src := randSlice(rng, 8*58*58*8)
			ps := oddLines(14 * 64)
			mm := randSlice(rng, 36*ps)
			dst := make([]float32, 64*56*56)
			bias := make([]float32, 64)
			b.Run(fmt.Sprintf("%v/F%d/in-tile", l, m), func(b *testing.B) {
				for b.Loop() {
					in(src, 0, 58, 58*58*8, 8, mm, 0, ps)
				}
			})
			b.Run(fmt.Sprintf("%v/F%d/out-14tiles", l, m), func(b *testing.B) {
				for b.Loop() {
					for cb := 0; cb < 8; cb += 2 {
						out(mm, cb*8, ps, 64, 14, dst, cb*8*56*56, m, 56, 56*56, bias[cb*8:], 2, false, 0, 0)
					}
				}
			})
		}
	}
}
