package winograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/impl/cpu"
	"github.com/frugal-ml/frugal/impl/gemm"
	"github.com/frugal-ml/frugal/impl/ref"
)

// Error bound. For each output, e = |got - want| / S_tile, with want in
// float64 and S_tile = sum_ci max|x_ci over the output's Winograd input
// tile| * sum|w_co,ci| + |bias| (see refConvTile): the transforms mix the
// whole (m+2)^2 tile and all 9 taps, so this is the scale the rounding
// error grows with (Barabasz et al., "Error analysis and improving the
// accuracy of Winograd convolution for DNNs", 2020). B^T entries up to 5
// and A^T entries up to 8 amplify the rounding of the transformed values:
// TestErrorTable measured e <= 1e-7 for F(2x2,3x3) (as accurate as the
// float32 direct loop) and <= 1e-6 for F(4x4,3x3) over cin = 3..512
// (float32 eps = 1.19e-7; the spatial sweep's worst F4 case is 9e-7, at 3
// input channels). The bounds below leave 5x margin, plus sqrt(9 cin) eps
// for the accumulation over channels, which the float32 direct loop shows
// too (1.1e-6 at cin = 512 on sums that do not cancel).
var tol = map[Tile]float64{F2: 5e-7, F4: 5e-6}

// bound is the error allowed for a tile and depth (see tol).
func bound(tile Tile, cin int) float64 {
	return tol[tile] + math.Sqrt(9*float64(cin))*1.19e-7
}

type convCase struct {
	n, cin, cout, h, w int
	pt, pl, pb, pr     int
	bias               bool
	act                gemm.Activation
}

func (c convCase) String() string {
	return fmt.Sprintf("n%d_%dto%d_%dx%d_pad%d.%d.%d.%d_bias%v_act%d", c.n, c.cin, c.cout, c.h, c.w, c.pt, c.pl, c.pb, c.pr, c.bias, c.act)
}

// refConv is the float64 direct convolution with the epilogue, and the
// magnitude sum S of each output.
func refConv(c convCase, x, w, bias []float32) (want, scale []float64) {
	return refConvTile(c, x, w, bias, 0)
}

// refConvTile is refConv; with m > 0 the scale of an output is instead
// S_tile = sum_ci max|x_ci over its Winograd input tile| * sum|w_co,ci| +
// |bias|: the transforms mix the whole (m+2)^2 tile, so the error of an
// output near zero padding scales with its tile, not with its own window.
func refConvTile(c convCase, x, w, bias []float32, m int) (want, scale []float64) {
	oh, ow := c.h+c.pt+c.pb-2, c.w+c.pl+c.pr-2
	want = make([]float64, c.n*c.cout*oh*ow)
	scale = make([]float64, len(want))
	for b := 0; b < c.n; b++ {
		for co := 0; co < c.cout; co++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var s, a float64
					if bias != nil {
						s, a = float64(bias[co]), math.Abs(float64(bias[co]))
					}
					for ci := 0; ci < c.cin; ci++ {
						for ky := 0; ky < 3; ky++ {
							iy := oy - c.pt + ky
							if iy < 0 || iy >= c.h {
								continue
							}
							for kx := 0; kx < 3; kx++ {
								ix := ox - c.pl + kx
								if ix < 0 || ix >= c.w {
									continue
								}
								p := float64(x[((b*c.cin+ci)*c.h+iy)*c.w+ix]) * float64(w[((co*c.cin+ci)*3+ky)*3+kx])
								s += p
								a += math.Abs(p)
							}
						}
					}
					switch c.act {
					case gemm.ActRelu:
						s = max(s, 0)
					case gemm.ActRelu6:
						s = min(max(s, 0), 6)
					case gemm.ActClip:
						s = min(max(s, -0.5), 0.25)
					}
					i := ((b*c.cout+co)*oh+oy)*ow + ox
					if m > 0 {
						a = 0
						if bias != nil {
							a = math.Abs(float64(bias[co]))
						}
						y0, x0 := oy/m*m-c.pt, ox/m*m-c.pl
						for ci := 0; ci < c.cin; ci++ {
							var mx, sw float64
							for iy := max(y0, 0); iy < min(y0+m+2, c.h); iy++ {
								for ix := max(x0, 0); ix < min(x0+m+2, c.w); ix++ {
									mx = max(mx, math.Abs(float64(x[((b*c.cin+ci)*c.h+iy)*c.w+ix])))
								}
							}
							for k := 0; k < 9; k++ {
								sw += math.Abs(float64(w[(co*c.cin+ci)*9+k]))
							}
							a += mx * sw
						}
					}
					want[i], scale[i] = s, a
				}
			}
		}
	}
	return
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}

const guardN = 37

var guardVal = float32(-7.25e11)

// runCase runs one case and returns the worst normalized error.
func runCase(t *testing.T, c convCase, tile Tile, mode Mode, threads int) float64 {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(c.cin*1000+c.cout), uint64(c.h*100+c.w)))
	x := randSlice(rng, c.n*c.cin*c.h*c.w)
	w := randSlice(rng, c.cout*c.cin*9)
	var bias []float32
	if c.bias {
		bias = randSlice(rng, c.cout)
	}
	oh, ow := c.h+c.pt+c.pb-2, c.w+c.pl+c.pr-2
	if oh <= 0 || ow <= 0 {
		return 0
	}
	nout := c.n * c.cout * oh * ow
	buf := make([]float32, nout+2*guardN)
	for i := range buf {
		buf[i] = guardVal
	}
	for i := guardN; i < guardN+nout; i++ {
		buf[i] = float32(math.NaN()) // every output must be written
	}
	out := buf[guardN : guardN+nout : guardN+nout]
	wt := TransformWeights(w, c.cout, c.cin, tile)
	ep := Epilogue{Bias: bias, Act: c.act, Min: -0.5, Max: 0.25}
	ConvMode(mode, threads, x, c.n, c.h, c.w, c.pt, c.pl, c.pb, c.pr, wt, ep, out)
	for i := 0; i < guardN; i++ {
		if buf[i] != guardVal || buf[guardN+nout+i] != guardVal {
			t.Fatalf("%v %v: guard overwritten", c, tile)
		}
	}
	want, scale := refConvTile(c, x, w, bias, int(tile))
	worst := 0.0
	for i, v := range out {
		e := math.Abs(float64(v)-want[i]) / max(scale[i], 1e-30)
		if math.IsNaN(e) || e > bound(tile, c.cin) {
			t.Fatalf("%v %v mode %d: out[%d] = %v, want %v (scale %v, err %.3g)", c, tile, mode, i, v, want[i], scale[i], e)
		}
		worst = max(worst, e)
	}
	// The float32 reference path agrees too (sanity check of refConv).
	if c.act == gemm.ActNone && c.n*c.cout*c.cin*oh*ow < 1<<16 {
		got := make([]float32, nout)
		ref.ConvDirect(x, c.n, c.cin, c.h, c.w, w, c.cout, 1, bias, ref.Conv2D{KH: 3, KW: 3, SH: 1, SW: 1, PT: c.pt, PL: c.pl, PB: c.pb, PR: c.pr, DH: 1, DW: 1}, got)
		for i := range got {
			if e := math.Abs(float64(got[i])-want[i]) / max(scale[i], 1e-30); e > 1e-6 {
				t.Fatalf("ConvDirect disagrees with refConv at %d", i)
			}
		}
	}
	return worst
}

var sizes = []int{1, 2, 3, 4, 5, 7, 8, 13, 14, 28, 56}
var chans = []int{1, 3, 16, 17, 64}
var pads = [][4]int{{0, 0, 0, 0}, {1, 1, 1, 1}, {0, 1, 1, 0}, {2, 0, 1, 2}}

// forEachLevel runs f at every dispatch level the CPU has.
func forEachLevel(t *testing.T, f func(t *testing.T)) {
	for _, l := range cpu.Levels() {
		t.Run(l.String(), func(t *testing.T) {
			defer cpu.Force(l)()
			f(t)
		})
	}
}

// TestSpatialSweep: every h x w pair from the list with every padding.
func TestSpatialSweep(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		for _, tile := range []Tile{F2, F4} {
			for _, h := range sizes {
				for _, w := range sizes {
					for pi, pd := range pads {
						c := convCase{n: 1 + (h+w)%2, cin: 3, cout: 17, h: h, w: w, pt: pd[0], pl: pd[1], pb: pd[2], pr: pd[3],
							bias: pi%2 == 0, act: gemm.Activation((h + pi) % 4)}
						if testing.Short() && h*w > 200 {
							continue
						}
						runCase(t, c, tile, Auto, 2)
					}
				}
			}
		}
	})
}

// TestChannelSweep: every cin x cout pair at a few spatial sizes, batch 1
// and 2, every mode.
func TestChannelSweep(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		for _, tile := range []Tile{F2, F4} {
			for _, cin := range chans {
				for _, cout := range chans {
					for i, hw := range [][2]int{{5, 7}, {14, 13}, {8, 8}} {
						pd := pads[(cin+cout+i)%len(pads)]
						c := convCase{n: 1 + i%2, cin: cin, cout: cout, h: hw[0], w: hw[1], pt: pd[0], pl: pd[1], pb: pd[2], pr: pd[3],
							bias: (cin+i)%2 == 0, act: gemm.Activation((cout + i) % 4)}
						mode := []Mode{Auto, Blocks, Phases, PhasesSplit}[(cin+cout+i)%4]
						runCase(t, c, tile, mode, 2)
					}
				}
			}
		}
	})
}

// TestModesAndChunks: every threading mode, with tiny blocks and scratch
// caps so that tile blocks, Phases chunks and image groups all split.
func TestModesAndChunks(t *testing.T) {
	defer func(b, s int) { blockTiles, maxScratch = b, s }(blockTiles, maxScratch)
	forEachLevel(t, func(t *testing.T) {
		for _, tile := range []Tile{F2, F4} {
			for _, bt := range []int{42, 5, 1} {
				for _, ms := range []int{4 << 20, 10000, 3000, 1} {
					blockTiles, maxScratch = bt, ms
					for _, mode := range []Mode{Auto, Blocks, Phases, PhasesSplit} {
						for _, th := range []int{1, 2, 3} {
							c := convCase{n: 3, cin: 17, cout: 9, h: 11, w: 10, pt: 1, pl: 1, pb: 1, pr: 0, bias: true, act: gemm.ActRelu}
							runCase(t, c, tile, mode, th)
						}
					}
				}
			}
		}
	})
}

// TestLarge: ResNet-like shapes (slow reference; skipped with -short).
func TestLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("slow float64 reference")
	}
	forEachLevel(t, func(t *testing.T) {
		for _, tile := range []Tile{F2, F4} {
			for _, c := range []convCase{
				{n: 1, cin: 64, cout: 64, h: 56, w: 56, pt: 1, pl: 1, pb: 1, pr: 1, bias: true, act: gemm.ActRelu},
				{n: 2, cin: 64, cout: 17, h: 28, w: 28, pt: 1, pl: 1, pb: 1, pr: 1},
				{n: 1, cin: 128, cout: 128, h: 14, w: 14, pt: 1, pl: 1, pb: 1, pr: 1, bias: true},
			} {
				runCase(t, c, tile, Auto, 2)
			}
		}
	})
}

// TestErrorTable logs the worst errors per tile and depth (the figures
// quoted in doc.go and the README), at the highest dispatch level, beside
// the float32 direct convolution (ref.ConvDirect) on the same data:
//
//	tile: max |err| / S_tile (the bound the sweep tests check)
//	norm: max |err| / max |want| over the whole output
//	rel:  max |err| / |want| over outputs with |want| >= 0.1 S (no heavy
//	      cancellation)
//
// on inputs and weights uniform in [-1, 1), then on inputs in [0, 1)
// (post-ReLU-like) and weights in [-0.5, 1) (sums that do not cancel).
func TestErrorTable(t *testing.T) {
	if testing.Short() {
		t.Skip("slow float64 reference")
	}
	for _, pos := range []bool{false, true} {
		for _, cin := range []int{3, 16, 64, 256, 512} {
			c := convCase{n: 1, cin: cin, cout: 8, h: 14, w: 14, pt: 1, pl: 1, pb: 1, pr: 1}
			line := fmt.Sprintf("positive %v cin=%3d", pos, cin)
			for _, tile := range []Tile{0, F2, F4} {
				e := errStats(c, tile, pos)
				name := "direct"
				if tile != 0 {
					name = tile.String()
					if e.tile > bound(tile, cin) {
						t.Errorf("%v cin=%d: error %.3g above the bound %.3g", tile, cin, e.tile, bound(tile, cin))
					}
				}
				line += fmt.Sprintf("  %s: tile %.2g norm %.2g rel %.2g", name, e.tile, e.norm, e.rel)
			}
			t.Log(line)
		}
	}
}

type errStat struct{ tile, norm, rel float64 }

// errStats runs Winograd with tile (0: ref.ConvDirect in float32) and
// returns its errors against float64.
func errStats(c convCase, tile Tile, positive bool) errStat {
	rng := rand.New(rand.NewPCG(uint64(c.cin*1000+c.cout), uint64(c.h*100+c.w)))
	x := randSlice(rng, c.n*c.cin*c.h*c.w)
	w := randSlice(rng, c.cout*c.cin*9)
	if positive {
		for i := range x {
			x[i] = (x[i] + 1) / 2
		}
		for i := range w {
			w[i] = w[i]*0.75 + 0.25 // [-0.5, 1): sums do not all cancel
		}
	}
	oh, ow := c.h+c.pt+c.pb-2, c.w+c.pl+c.pr-2
	out := make([]float32, c.n*c.cout*oh*ow)
	if tile == 0 {
		ref.ConvDirect(x, c.n, c.cin, c.h, c.w, w, c.cout, 1, nil, ref.Conv2D{KH: 3, KW: 3, SH: 1, SW: 1, PT: c.pt, PL: c.pl, PB: c.pb, PR: c.pr, DH: 1, DW: 1}, out)
	} else {
		Conv(2, x, c.n, c.h, c.w, c.pt, c.pl, c.pb, c.pr, TransformWeights(w, c.cout, c.cin, tile), Epilogue{}, out)
	}
	m := int(tile)
	if m == 0 {
		m = 4
	}
	want, st := refConvTile(c, x, w, nil, m)
	_, s := refConv(c, x, w, nil)
	var e errStat
	var maxWant float64
	for i := range want {
		maxWant = max(maxWant, math.Abs(want[i]))
	}
	for i, v := range out {
		d := math.Abs(float64(v) - want[i])
		e.tile = max(e.tile, d/st[i])
		e.norm = max(e.norm, d/maxWant)
		if math.Abs(want[i]) >= 0.1*s[i] {
			e.rel = max(e.rel, d/math.Abs(want[i]))
		}
	}
	return e
}

func TestNaNPropagates(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		for _, tile := range []Tile{F2, F4} {
			x := make([]float32, 16*8*8)
			x[3*64+27] = float32(math.NaN())
			w := make([]float32, 16*16*9)
			for i := range w {
				w[i] = 1
			}
			out := make([]float32, 16*8*8)
			Conv(1, x, 1, 8, 8, 1, 1, 1, 1, TransformWeights(w, 16, 16, tile), Epilogue{Act: gemm.ActRelu}, out)
			if !math.IsNaN(float64(out[5*64+27])) {
				t.Fatalf("%v: NaN input did not reach the output through ReLU", tile)
			}
		}
	})
}

func TestEmpty(t *testing.T) {
	wt := TransformWeights(make([]float32, 9), 1, 1, F4)
	Conv(2, nil, 0, 5, 5, 1, 1, 1, 1, wt, Epilogue{}, nil)
	Conv(2, make([]float32, 2), 1, 1, 2, 0, 0, 0, 0, wt, Epilogue{}, nil) // output 0 x 0
}

// TestKernelsMatchGo checks the assembly transforms against the Go
// specification on random blocks, strides and clamps (agreement to a few
// ulps: FMA contraction is the only difference).
func TestKernelsMatchGo(t *testing.T) {
	forEachLevel(t, testKernelsMatchGo)
}

func testKernelsMatchGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, m := range []int{2, 4} {
		in, out, ok := asmKernels(m)
		if !ok {
			t.Skip("no assembly kernels at this level")
		}
		gin, gout := inGo4, outGo4
		if m == 2 {
			gin, gout = inGo2, outGo2
		}
		a := m + 2
		for _, nblk := range []int{1, 2, 3, 4, 5} {
			rs, cs, ps := 9, 9*a*lanes+16, nblk*lanes+24
			src := randSlice(rng, 8+nblk*cs)
			d1 := make([]float32, 3+a*a*ps)
			d2 := make([]float32, len(d1))
			gin(src, 8, rs, cs, nblk, d1, 3, ps)
			in(src, 8, rs, cs, nblk, d2, 3, ps)
			for i := range d1 {
				if math.Abs(float64(d1[i]-d2[i])) > 1e-5*(1+math.Abs(float64(d1[i]))) {
					t.Fatalf("m=%d nblk=%d: input transform [%d] asm %v go %v", m, nblk, i, d2[i], d1[i])
				}
			}
			bias := randSlice(rng, 2*lanes)
			for _, cl := range []struct {
				on     bool
				lo, hi float32
			}{{false, 0, 0}, {true, 0, inf32}, {true, -0.3, 0.2}} {
				for _, nb := range []int{1, 2} {
					// ntile = nblk tiles, M rows mts apart, outputs side by
					// side (ots = m) in rows rs apart, channels chs apart.
					mts := nb*lanes + 5
					ms := make([]float32, 3+(nblk-1)*mts+(a*a-1)*ps+nb*lanes)
					copy(ms, d1)
					rs, chs := nblk*m+3, (m+1)*(nblk*m+3)+2
					o1 := make([]float32, 2+(nb*lanes-1)*chs+(m-1)*rs+nblk*m)
					o2 := make([]float32, len(o1))
					gout(ms, 3, ps, mts, nblk, o1, 2, m, rs, chs, bias, nb, cl.on, cl.lo, cl.hi)
					out(ms, 3, ps, mts, nblk, o2, 2, m, rs, chs, bias, nb, cl.on, cl.lo, cl.hi)
					for i := range o1 {
						if math.Abs(float64(o1[i]-o2[i])) > 1e-5*(1+math.Abs(float64(o1[i]))) {
							t.Fatalf("m=%d ntile=%d nb=%d clamp %v: output transform [%d] asm %v go %v", m, nblk, nb, cl, i, o2[i], o1[i])
						}
					}
				}
			}
		}
	}
}

func TestPays(t *testing.T) {
	for _, c := range []struct {
		cin, cout, h, w int
		ok              bool
		tile            Tile
	}{
		{64, 64, 56, 56, true, F4},
		{128, 128, 28, 28, true, F4},
		{256, 256, 14, 14, true, F2},
		{512, 512, 7, 7, true, F2},
		{3, 64, 224, 224, false, 0},
		{16, 16, 28, 28, true, F4},
		{16, 16, 7, 7, false, 0},
		{64, 64, 1, 56, true, F2},
		{8, 64, 224, 224, true, F4},
	} {
		ok, tile := Pays(c.cin, c.cout, c.h, c.w)
		if ok != c.ok || tile != c.tile {
			t.Errorf("Pays(%d, %d, %d, %d) = %v, %v; want %v, %v", c.cin, c.cout, c.h, c.w, ok, tile, c.ok, c.tile)
		}
	}
}

// TestWorkspaceBytes: the figures quoted in doc.go stay within 5%.
func TestWorkspaceBytes(t *testing.T) {
	for _, c := range []struct {
		cin, cout, hw int
		tile          Tile
		mb            float64
	}{{64, 64, 56, F4, 2.94}, {128, 128, 28, F4, 2.53}, {256, 256, 14, F2, 2.10}, {512, 512, 7, F2, 3.89}} {
		wt := TransformWeights(make([]float32, c.cin*c.cout*9), c.cout, c.cin, c.tile)
		got := float64(WorkspaceBytes(2, 1, c.hw, c.hw, 1, 1, 1, 1, wt)) / 1e6
		if math.Abs(got-c.mb) > 0.05*c.mb {
			t.Errorf("%d->%d@%d %v: workspace %.2f MB, documented %.2f MB", c.cin, c.cout, c.hw, c.tile, got, c.mb)
		}
	}
}
