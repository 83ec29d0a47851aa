package depthwise

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/frugal-ml/frugal/impl/cpu"
)

// hwcLevels are the levels ConvHWC is tested at: Go (Generic) and the
// machine's best (the AVX-512 kernel when c % 16 == 0).
func hwcLevels() []cpu.Level {
	if cpu.HWLevel == cpu.Generic {
		return []cpu.Level{cpu.Generic}
	}
	return []cpu.Level{cpu.Generic, cpu.HWLevel}
}

// toNCHW transposes one h*w x c image to c x h*w (and back with swapped
// arguments).
func transpose(src []float32, rows, cols int) []float32 {
	dst := make([]float32, rows*cols)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			dst[c*rows+r] = src[r*cols+c]
		}
	}
	return dst
}

// checkHWC runs ConvHWC at the current level on channels-last data and
// compares it with the planar Conv on the transposed data. Tolerance:
// 1e-5 times the sum of the absolute terms (summation orders differ).
func checkHWC(t *testing.T, r *rand.Rand, tc tcase) bool {
	t.Helper()
	p := norm(tc.p)
	oh, ow := Out(p, tc.h, tc.w)
	c, hw := tc.c, tc.h*tc.w
	nan32 := float32(math.NaN())
	_, x := guarded(hw*c, nan32) // NaN guards: a stray read poisons an output
	randVals(r, x)
	if tc.nanAt >= 0 && tc.nanAt < len(x) {
		x[tc.nanAt] = nan32
	}
	wts := make([]float32, c*p.KH*p.KW)
	randVals(r, wts)
	var bias []float32
	if tc.bias {
		_, bias = guarded(c, nan32)
		randVals(r, bias)
	}
	// Reference: Conv at the machine's level on NCHW data.
	xp := transpose(x, hw, c)
	planar := make([]float32, c*oh*ow)
	restore := cpu.Force(cpu.HWLevel)
	Conv(1, xp, 1, c, tc.h, tc.w, p, wts, bias, tc.cl.lo, tc.cl.hi, planar)
	restore()
	want := transpose(planar, c, oh*ow)
	_, mag := refConv(xp, 1, c, tc.h, tc.w, p, wts, bias, tc.cl.lo, tc.cl.hi)

	obuf, out := guarded(oh*ow*c, sentinel)
	for i := range out {
		out[i] = nan32 // every output must be written
	}
	PackHWC(wts, c, p.KH, p.KW).ConvHWC(tc.threads, x, tc.h, tc.w, tc.p, bias, tc.cl.lo, tc.cl.hi, out)
	for i := 0; i < guard; i++ {
		if obuf[i] != sentinel || obuf[len(obuf)-1-i] != sentinel {
			t.Errorf("%v: guard zone written (%d)", tc, i)
			return false
		}
	}
	for i, g := range out {
		wv := want[i]
		pix, ch := i/c, i%c
		if math.IsNaN(float64(wv)) || math.IsNaN(float64(g)) {
			if math.IsNaN(float64(wv)) != math.IsNaN(float64(g)) {
				t.Errorf("%v: out[%d] (pixel %d,%d ch %d) = %v, want %v", tc, i, pix/ow, pix%ow, ch, g, wv)
				return false
			}
			continue
		}
		if d := math.Abs(float64(g) - float64(wv)); d > 1e-5*mag[ch*oh*ow+pix]+1e-30 {
			t.Errorf("%v: out[%d] (pixel %d,%d ch %d) = %v, want %v (|diff| %g, mag %g)",
				tc, i, pix/ow, pix%ow, ch, g, wv, d, mag[ch*oh*ow+pix])
			return false
		}
	}
	return true
}

func TestHWC(t *testing.T) {
	sizes := [][2]int{{1, 1}, {2, 2}, {5, 5}, {7, 7}, {14, 14}, {5, 7}, {14, 2}, {1, 5}}
	for _, l := range hwcLevels() {
		t.Run(l.String(), func(t *testing.T) {
			restore := cpu.Force(l)
			defer restore()
			r := rand.New(rand.NewSource(7))
			n, fast := 0, 0
			for _, c := range []int{16, 32, 48, 960, 20} {
				if hwcFast(c) {
					fast++
				}
				for _, sz := range sizes {
					for _, s := range []int{1, 2} {
						for _, pd := range pads {
							p := withPad(Params{KH: 3, KW: 3, SH: s, SW: s}, pd)
							if oh, _ := Out(p, sz[0], sz[1]); oh == 0 {
								continue
							}
							n++
							tc := tcase{n: 1, c: c, h: sz[0], w: sz[1], p: p, bias: n%2 == 0,
								cl: clamps[n%3], threads: 1 + n/6%2, nanAt: -1}
							if n%5 == 0 {
								tc.nanAt = r.Intn(c * sz[0] * sz[1])
							}
							if !checkHWC(t, r, tc) {
								return
							}
						}
					}
				}
			}
			t.Logf("%d 3x3 cases, %d of 5 channel counts on the assembly path", n, fast)
		})
	}
}

// TestHWCWindows covers other windows: kernel sizes, unequal strides,
// dilations, paddings wider than the kernel (outputs with no valid tap),
// more than hwcMaxTaps taps (Go path at every level).
func TestHWCWindows(t *testing.T) {
	ps := []Params{
		{KH: 1, KW: 1},
		{KH: 1, KW: 1, SH: 2, SW: 2},
		{KH: 5, KW: 5, PT: 2, PL: 2, PB: 2, PR: 2},
		{KH: 5, KW: 5, SH: 2, SW: 2, PT: 1, PL: 2, PB: 2, PR: 1},
		{KH: 3, KW: 3, DH: 2, DW: 2, PT: 2, PL: 2, PB: 2, PR: 2},
		{KH: 3, KW: 3, DH: 2, DW: 1, PT: 1, PL: 0, PB: 1, PR: 2},
		{KH: 3, KW: 3, SH: 2, SW: 1, PT: 1, PL: 1, PB: 1, PR: 1},
		{KH: 3, KW: 3, SH: 1, SW: 2, PT: 0, PL: 1, PB: 2, PR: 1},
		{KH: 3, KW: 3, PT: 3, PL: 3, PB: 3, PR: 3},
		{KH: 2, KW: 4, SH: 3, SW: 2, PT: 1, PL: 2, PB: 0, PR: 1},
		{KH: 7, KW: 7, PT: 3, PL: 3, PB: 3, PR: 3},
	}
	for _, l := range hwcLevels() {
		t.Run(l.String(), func(t *testing.T) {
			restore := cpu.Force(l)
			defer restore()
			r := rand.New(rand.NewSource(8))
			n := 0
			for _, p := range ps {
				for _, c := range []int{16, 48, 20, 960} {
					for _, sz := range [][2]int{{1, 1}, {5, 5}, {7, 7}, {14, 14}, {7, 5}} {
						if oh, _ := Out(p, sz[0], sz[1]); oh == 0 {
							continue
						}
						n++
						tc := tcase{n: 1, c: c, h: sz[0], w: sz[1], p: p, bias: n%2 == 1,
							cl: clamps[n%3], threads: 1 + n%2, nanAt: -1}
						if n%4 == 0 {
							tc.nanAt = r.Intn(c * sz[0] * sz[1])
						}
						if !checkHWC(t, r, tc) {
							return
						}
					}
				}
			}
			t.Logf("%d cases", n)
		})
	}
}

// usesK3 reports whether ConvHWC runs the register-blocked 3x3 kernels for
// c channels of an h x w map, and whether it packs the channel blocks.
func usesK3(c, h, w int, p Params) (k3, packed bool) {
	p = norm(p)
	oh, ow := Out(p, h, w)
	pl := hwcPlan{hw: &HWCWeights{c: c, kh: p.KH, kw: p.KW}, h: h, w: w, oh: oh, ow: ow, p: p,
		fast: h > 0 && w > 0 && p.KH*p.KW <= hwcMaxTaps && hwcFast(c)}
	pl.prepK3()
	return pl.k3.n > 0, pl.k3.n > 0 && pl.k3.packed
}

// TestHWCBlocked covers the register-blocked 3x3 kernels' geometry: maps
// of width 1..9, 14 and 28 (row groups of every width, one or several per
// row, edge groups with one or two padding columns on either side),
// strides 1 and 2 (also unequal, and a row dilation), pads 0..2 and
// asymmetric, both thread splits, NaN inputs, 16..960 channels.
func TestHWCBlocked(t *testing.T) {
	// force 1: every stride-1 case on the packing kernel; chunks of 1
	// and 3 channel blocks besides the default.
	for _, v := range []struct{ force, chunk int }{{0, hwcChunkBlocks}, {1, hwcChunkBlocks}, {0, 1}, {0, 3}} {
		t.Run(fmt.Sprintf("forcePack=%d/chunk=%d", v.force, v.chunk), func(t *testing.T) {
			defer func(f, c int) { hwcForcePack, hwcChunkBlocks = f, c }(hwcForcePack, hwcChunkBlocks)
			hwcForcePack, hwcChunkBlocks = v.force, v.chunk
			testHWCBlocked(t)
		})
	}
}

func testHWCBlocked(t *testing.T) {
	defer func(s int) { hwcSplit = s }(hwcSplit)
	r := rand.New(rand.NewSource(9))
	n, k3, packed := 0, 0, 0
	chans := []int{16, 32, 48, 96, 160, 960, 64, 384, 256, 512}
	strides := []Params{{SH: 1, SW: 1}, {SH: 2, SW: 2}, {SH: 2, SW: 1}, {SH: 1, SW: 2}, {SH: 1, SW: 1, DH: 2}, {SH: 3, SW: 2}}
	for _, w := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 14, 28} {
		for _, h := range []int{w, 1 + w%4} {
			for _, st := range strides {
				for _, pd := range append(pads, [4]int{2, 0, 1, 2}, [4]int{0, 2, 0, 1}) {
					p := withPad(Params{KH: 3, KW: 3, SH: st.SH, SW: st.SW, DH: st.DH}, pd)
					if oh, ow := Out(p, h, w); oh <= 0 || ow <= 0 {
						continue
					}
					n++
					c := chans[n%len(chans)]
					if c*h*w > 200000 {
						c = 48
					}
					if k, pk := usesK3(c, h, w, p); k {
						k3++
						if pk {
							packed++
						}
					}
					tc := tcase{n: 1, c: c, h: h, w: w, p: p, bias: n%2 == 0,
						cl: clamps[n%3], threads: 1 + n%2, nanAt: -1}
					hwcSplit = 1 + n/2%2
					if n%3 == 0 {
						tc.nanAt = r.Intn(c * h * w)
					}
					if !checkHWC(t, r, tc) {
						k, pk := usesK3(c, h, w, p)
						t.Fatalf("split %d, blocked kernels %v, packing %v", hwcSplit, k, pk)
					}
				}
			}
		}
	}
	t.Logf("%d cases, %d on the register-blocked kernels (%d packing)", n, k3, packed)
	if hwcFast(16) && k3 < n/2 {
		t.Errorf("only %d of %d cases ran the register-blocked kernels", k3, n)
	}
}

// TestHWCInfWeights checks that padding taps are skipped, not multiplied
// by zeros: Inf weights do not make border outputs NaN (the assembly
// against the Go path, which skips them).
func TestHWCInfWeights(t *testing.T) {
	inf := float32(math.Inf(1))
	for _, s := range []int{1, 2} {
		for _, sz := range [][2]int{{7, 7}, {1, 1}, {3, 14}, {6, 9}} {
			p := Params{KH: 3, KW: 3, SH: s, SW: s, PT: 1, PL: 1, PB: 1, PR: 1}
			c, h, w := 32, sz[0], sz[1]
			oh, ow := Out(p, h, w)
			r := rand.New(rand.NewSource(int64(h*w + s)))
			x := make([]float32, h*w*c)
			for i := range x {
				x[i] = 1 + r.Float32() // positive: Inf * x stays Inf
			}
			wts := make([]float32, c*9)
			randVals(r, wts)
			for ch := 0; ch < c; ch++ {
				wts[ch*9+ch%9] = inf
			}
			pw := PackHWC(wts, c, 3, 3)
			var want, got []float32
			for _, l := range hwcLevels() {
				restore := cpu.Force(l)
				out := make([]float32, oh*ow*c)
				pw.ConvHWC(1, x, h, w, p, nil, NoLo, NoHi, out)
				restore()
				if want == nil {
					want = out
				} else {
					got = out
				}
			}
			for i := range got {
				if g, wv := got[i], want[i]; g != wv && math.Abs(float64(g-wv)) > 1e-4*math.Abs(float64(wv)) {
					t.Fatalf("s%d %dx%d: out[%d] = %v, Go path %v", s, h, w, i, g, wv)
				}
				if want[i] != want[i] {
					t.Fatalf("s%d %dx%d: Go path out[%d] is NaN", s, h, w, i)
				}
			}
		}
	}
}

func TestHWCNoAlloc(t *testing.T) {
	c := 96
	x := make([]float32, 14*14*c)
	w := PackHWC(make([]float32, c*9), c, 3, 3)
	out := make([]float32, 14*14*c)
	p := Params{KH: 3, KW: 3, PT: 1, PL: 1, PB: 1, PR: 1}
	c2 := 256 // the packing kernel
	x2 := make([]float32, 14*14*c2)
	w2 := PackHWC(make([]float32, c2*9), c2, 3, 3)
	out2 := make([]float32, 14*14*c2)
	for _, l := range hwcLevels() {
		restore := cpu.Force(l)
		if a := testing.AllocsPerRun(5, func() { w.ConvHWC(1, x, 14, 14, p, x[:c], 0, 6, out) }); a != 0 {
			t.Errorf("%v: %v allocations per single-thread call", l, a)
		}
		if a := testing.AllocsPerRun(5, func() { w2.ConvHWC(1, x2, 14, 14, p, x2[:c2], 0, 6, out2) }); a != 0 {
			t.Errorf("%v: %v allocations per single-thread call (%d channels)", l, a, c2)
		}
		restore()
	}
}

// BenchmarkHWC runs ConvHWC on MobileNetV2's late depthwise layers
// (channels-last) beside the planar Conv on the same shapes (NCHW), ReLU6,
// at the machine's level.
func BenchmarkHWC(b *testing.B) {
	for _, L := range []struct{ c, hw, s int }{{960, 7, 1}, {576, 14, 2}, {384, 14, 1}, {576, 14, 1}} {
		p := Params{KH: 3, KW: 3, SH: L.s, SW: L.s, PT: 1, PL: 1, PB: 1, PR: 1}
		oh, ow := Out(p, L.hw, L.hw)
		r := rand.New(rand.NewSource(1))
		x := make([]float32, L.c*L.hw*L.hw)
		w := make([]float32, L.c*9)
		bias := make([]float32, L.c)
		randVals(r, x)
		randVals(r, w)
		randVals(r, bias)
		out := make([]float32, L.c*oh*ow)
		pw := PackHWC(w, L.c, 3, 3)
		flops := float64(2 * 9 * L.c * oh * ow)
		for _, threads := range []int{1, 2} {
			name := fmt.Sprintf("%dch@%d_s%d/t%d", L.c, L.hw, L.s, threads)
			// hwc: the register-blocked kernels (2 threads: also forced to
			// split by channel blocks, split=c, or by rows, split=r);
			// tap: the per-pixel tap-list kernel they replaced.
			for _, v := range []struct {
				name    string
				blocked bool
				split   int
			}{{"hwc", true, 0}, {"hwc-split=c", true, 1}, {"hwc-split=r", true, 2}, {"tap", false, 0}} {
				if v.split != 0 && threads == 1 {
					continue
				}
				b.Run(name+"/"+v.name, func(b *testing.B) {
					defer func(bl bool, sp int) { hwcBlocked, hwcSplit = bl, sp }(hwcBlocked, hwcSplit)
					hwcBlocked, hwcSplit = v.blocked, v.split
					for i := 0; i < b.N; i++ {
						pw.ConvHWC(threads, x, L.hw, L.hw, p, bias, 0, 6, out)
					}
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
			b.Run(name+"/nchw", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					Conv(threads, x, 1, L.c, L.hw, L.hw, p, w, bias, 0, 6, out)
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
