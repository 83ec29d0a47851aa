package depthwise

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/frugal-ml/frugal/impl/cpu"
)

// refConv is the float64 oracle: padding taps are skipped; the clamp keeps
// NaN. It also returns, per output, the sum of |terms| for the tolerance.
func refConv(x []float32, n, c, h, w int, p Params, wts, bias []float32, lo, hi float32) (out, mag []float64) {
	p = norm(p)
	oh, ow := Out(p, h, w)
	out = make([]float64, n*c*oh*ow)
	mag = make([]float64, len(out))
	for i := 0; i < n; i++ {
		for ch := 0; ch < c; ch++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var s, m float64
					if bias != nil {
						s, m = float64(bias[ch]), math.Abs(float64(bias[ch]))
					}
					for ky := 0; ky < p.KH; ky++ {
						iy := oy*p.SH - p.PT + ky*p.DH
						if iy < 0 || iy >= h {
							continue
						}
						for kx := 0; kx < p.KW; kx++ {
							ix := ox*p.SW - p.PL + kx*p.DW
							if ix < 0 || ix >= w {
								continue
							}
							t := float64(wts[(ch*p.KH+ky)*p.KW+kx]) * float64(x[((i*c+ch)*h+iy)*w+ix])
							s += t
							m += math.Abs(t)
						}
					}
					if !math.IsNaN(s) {
						s = math.Min(math.Max(s, float64(lo)), float64(hi))
					}
					k := ((i*c+ch)*oh+oy)*ow + ox
					out[k], mag[k] = s, m
				}
			}
		}
	}
	return out, mag
}

const guard = 40

var sentinel = float32(-1234.5)

// guarded returns a slice of n values inside a buffer whose guard zones hold
// g (NaN for inputs: any read of them poisons an output).
func guarded(n int, g float32) (buf, s []float32) {
	buf = make([]float32, n+2*guard)
	for i := range buf {
		buf[i] = g
	}
	return buf, buf[guard : guard+n : guard+n]
}

func randVals(r *rand.Rand, s []float32) {
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
}

type clampCase struct {
	name   string
	lo, hi float32
}

var clamps = []clampCase{{"none", NoLo, NoHi}, {"relu", 0, NoHi}, {"relu6", 0, 6}}

type tcase struct {
	n, c, h, w int
	p          Params
	bias       bool
	cl         clampCase
	threads    int
	nanAt      int // index into x to set NaN, or -1
}

func (tc tcase) String() string {
	return fmt.Sprintf("n%d c%d %dx%d k%dx%d s%d,%d pad%d,%d,%d,%d d%d,%d bias=%v %s t%d nan@%d",
		tc.n, tc.c, tc.h, tc.w, tc.p.KH, tc.p.KW, tc.p.SH, tc.p.SW, tc.p.PT, tc.p.PL, tc.p.PB, tc.p.PR, tc.p.DH, tc.p.DW,
		tc.bias, tc.cl.name, tc.threads, tc.nanAt)
}

// check runs one case at the current level and compares with refConv.
func check(t *testing.T, r *rand.Rand, tc tcase) bool {
	t.Helper()
	p := norm(tc.p)
	oh, ow := Out(p, tc.h, tc.w)
	nx := tc.n * tc.c * tc.h * tc.w
	nan32 := float32(math.NaN())
	_, x := guarded(nx, nan32)
	randVals(r, x)
	if tc.nanAt >= 0 && tc.nanAt < nx {
		x[tc.nanAt] = nan32
	}
	_, wts := guarded(tc.c*p.KH*p.KW, nan32)
	randVals(r, wts)
	var bias []float32
	if tc.bias {
		_, bias = guarded(tc.c, nan32)
		randVals(r, bias)
	}
	obuf, out := guarded(tc.n*tc.c*oh*ow, sentinel)
	for i := range out {
		out[i] = float32(math.NaN()) // every output must be written
	}
	Conv(tc.threads, x, tc.n, tc.c, tc.h, tc.w, tc.p, wts, bias, tc.cl.lo, tc.cl.hi, out)
	for i := 0; i < guard; i++ {
		if obuf[i] != sentinel || obuf[len(obuf)-1-i] != sentinel {
			t.Errorf("%v: guard zone written (%d)", tc, i)
			return false
		}
	}
	want, mag := refConv(x, tc.n, tc.c, tc.h, tc.w, tc.p, wts, bias, tc.cl.lo, tc.cl.hi)
	for i, g := range out {
		wv := want[i]
		if math.IsNaN(wv) || math.IsNaN(float64(g)) {
			if math.IsNaN(wv) != math.IsNaN(float64(g)) {
				t.Errorf("%v: out[%d] = %v, want %v", tc, i, g, wv)
				return false
			}
			continue
		}
		if d := math.Abs(float64(g) - wv); d > 1e-5*mag[i]+1e-30 {
			t.Errorf("%v: out[%d] (plane %d, %d, %d) = %v, want %v (|diff| %g, mag %g)",
				tc, i, i/(oh*ow), i%(oh*ow)/ow, i%ow, g, wv, d, mag[i])
			return false
		}
	}
	return true
}

func forLevels(t *testing.T, f func(t *testing.T, l cpu.Level)) {
	for _, l := range cpu.Levels() {
		t.Run(l.String(), func(t *testing.T) {
			restore := cpu.Force(l)
			defer restore()
			f(t, l)
		})
	}
}

var pads = [][4]int{{0, 0, 0, 0}, {1, 1, 1, 1}, {0, 0, 1, 1}, {1, 1, 0, 0}, {2, 1, 0, 2}, {0, 2, 2, 1}, {2, 2, 2, 2}, {1, 0, 2, 0}}

func withPad(p Params, pd [4]int) Params {
	p.PT, p.PL, p.PB, p.PR = pd[0], pd[1], pd[2], pd[3]
	return p
}

// Test3x3Small sweeps h, w in 1..20 for 3x3 stride 1 and 2 over asymmetric
// paddings, n = 2 images of 3 channels (calls span images).
func Test3x3Small(t *testing.T) {
	forLevels(t, func(t *testing.T, l cpu.Level) {
		r := rand.New(rand.NewSource(1))
		k := 0
		for h := 1; h <= 20; h++ {
			for w := 1; w <= 20; w++ {
				for _, s := range []int{1, 2} {
					for pi, pd := range pads {
						if (h+w+pi)%2 == 1 && h > 3 && w > 3 { // half the paddings per size
							continue
						}
						k++
						p := withPad(Params{KH: 3, KW: 3, SH: s, SW: s, DH: 1, DW: 1}, pd)
						if oh, ow := Out(p, h, w); oh == 0 || ow == 0 {
							continue
						}
						tc := tcase{n: 2, c: 3, h: h, w: w, p: p, bias: k%2 == 0, cl: clamps[k%3], threads: 1 + k%3, nanAt: -1}
						if !check(t, r, tc) {
							return
						}
					}
				}
			}
		}
	})
}

// Test3x3Large runs MobileNet-like planes and odd widths around the block
// sizes, c in 1, 3, 32.
func Test3x3Large(t *testing.T) {
	type sz struct{ h, w int }
	sizes := []sz{{56, 56}, {112, 112}, {7, 112}, {112, 7}, {14, 33}, {9, 47}, {5, 65}, {28, 28}, {3, 100}}
	forLevels(t, func(t *testing.T, l cpu.Level) {
		r := rand.New(rand.NewSource(2))
		k := 0
		for _, z := range sizes {
			for _, s := range []int{1, 2} {
				for _, pd := range [][4]int{{1, 1, 1, 1}, {0, 0, 1, 1}, {2, 1, 0, 2}, {0, 0, 0, 0}} {
					for _, c := range []int{1, 3, 32} {
						k++
						n := 1 + k%2
						if z.h*z.w*c*n > 200000 {
							n = 1
						}
						p := withPad(Params{KH: 3, KW: 3, SH: s, SW: s}, pd)
						tc := tcase{n: n, c: c, h: z.h, w: z.w, p: p, bias: k%2 == 1, cl: clamps[k%3], threads: 1 + k%2, nanAt: -1}
						if !check(t, r, tc) {
							return
						}
					}
				}
			}
		}
	})
}

// TestGeneric covers the Go path: 5x5, dilated 3x3, 1x1, 7x1, stride 3,
// mixed strides; on every level (these never take the assembly).
func TestGeneric(t *testing.T) {
	ps := []Params{
		{KH: 5, KW: 5, SH: 1, SW: 1, PT: 2, PL: 2, PB: 2, PR: 2},
		{KH: 5, KW: 5, SH: 2, SW: 2, PT: 1, PL: 2, PB: 2, PR: 1},
		{KH: 3, KW: 3, SH: 1, SW: 1, PT: 2, PL: 2, PB: 2, PR: 2, DH: 2, DW: 2},
		{KH: 3, KW: 3, SH: 2, SW: 2, PT: 2, PL: 1, PB: 0, PR: 2, DH: 2, DW: 2},
		{KH: 3, KW: 3, SH: 1, SW: 2, PT: 1, PL: 1, PB: 1, PR: 1},
		{KH: 3, KW: 3, SH: 3, SW: 3, PT: 1, PL: 0, PB: 1, PR: 2},
		{KH: 1, KW: 1, SH: 1, SW: 1},
		{KH: 7, KW: 1, SH: 1, SW: 1, PT: 3, PB: 3},
		{KH: 2, KW: 4, SH: 2, SW: 1, PT: 0, PL: 1, PB: 1, PR: 2, DH: 3, DW: 1},
	}
	forLevels(t, func(t *testing.T, l cpu.Level) {
		r := rand.New(rand.NewSource(3))
		k := 0
		for _, p := range ps {
			for _, hw := range [][2]int{{1, 1}, {2, 5}, {7, 7}, {13, 9}, {20, 17}, {56, 56}} {
				for _, c := range []int{1, 3, 32} {
					k++
					if oh, ow := Out(p, hw[0], hw[1]); oh == 0 || ow == 0 {
						continue
					}
					tc := tcase{n: 1 + k%2, c: c, h: hw[0], w: hw[1], p: p, bias: k%2 == 0, cl: clamps[k%3], threads: 1 + k%2, nanAt: -1}
					if !check(t, r, tc) {
						return
					}
				}
			}
		}
	})
}

// TestNaN puts one NaN in the input: the outputs whose window holds it must
// be NaN under every clamp (and the others must not).
func TestNaN(t *testing.T) {
	forLevels(t, func(t *testing.T, l cpu.Level) {
		r := rand.New(rand.NewSource(4))
		for _, s := range []int{1, 2} {
			for _, cl := range clamps {
				for _, z := range [][2]int{{9, 9}, {20, 40}} {
					for _, at := range []int{0, 5, z[1] - 1, z[0]*z[1]/2 + 3, z[0]*z[1] - 1, z[0]*z[1] + 7} {
						p := Params{KH: 3, KW: 3, SH: s, SW: s, PT: 1, PL: 1, PB: 1, PR: 1}
						tc := tcase{n: 1, c: 2, h: z[0], w: z[1], p: p, bias: true, cl: cl, threads: 1, nanAt: at}
						if !check(t, r, tc) {
							return
						}
					}
				}
			}
		}
		// Explicitly: a NaN under ReLU (whose lower bound would hide it with
		// the operands swapped) comes out NaN.
		x := []float32{1, 2, 3, 4, float32(math.NaN()), 6, 7, 8, 9}
		w := []float32{-1, -1, -1, -1, -1, -1, -1, -1, -1}
		out := make([]float32, 9)
		Conv(1, x, 1, 1, 3, 3, Params{KH: 3, KW: 3, PT: 1, PL: 1, PB: 1, PR: 1}, w, nil, 0, 6, out)
		for i, v := range out {
			if !math.IsNaN(float64(v)) {
				t.Errorf("out[%d] = %v, want NaN", i, v)
			}
		}
	})
}

// TestKernelChoice checks that 3x3 stride 1/2 geometries take the assembly
// when the level has it.
func TestKernelChoice(t *testing.T) {
	for _, l := range cpu.Levels() {
		for _, s := range []int{1, 2} {
			pl := plan{c: 1, h: 112, w: 112, p: norm(Params{KH: 3, KW: 3, SH: s, SW: s, PT: 1, PL: 1, PB: 1, PR: 1})}
			pl.oh, pl.ow = Out(pl.p, 112, 112)
			got := asmFor(l, &pl) != asmNone
			want := l >= cpu.AVX2 && haveAsm
			if got != want {
				t.Errorf("level %v stride %d: assembly %v, want %v", l, s, got, want)
			}
		}
	}
}

func TestNoAlloc(t *testing.T) {
	x := make([]float32, 32*56*56)
	w := make([]float32, 32*9)
	out := make([]float32, 32*56*56)
	p := Params{KH: 3, KW: 3, SH: 1, SW: 1, PT: 1, PL: 1, PB: 1, PR: 1}
	forLevels(t, func(t *testing.T, l cpu.Level) {
		if a := testing.AllocsPerRun(5, func() { Conv(1, x, 1, 32, 56, 56, p, w, w[:32], 0, 6, out) }); a != 0 {
			t.Errorf("%v allocations per single-thread call", a)
		}
	})
}

func TestPanics(t *testing.T) {
	p := Params{KH: 3, KW: 3, PT: 1, PL: 1, PB: 1, PR: 1}
	for name, f := range map[string]func(){
		"short out": func() {
			Conv(1, make([]float32, 9), 1, 1, 3, 3, p, make([]float32, 9), nil, NoLo, NoHi, make([]float32, 8))
		},
		"short x": func() {
			Conv(1, make([]float32, 8), 1, 1, 3, 3, p, make([]float32, 9), nil, NoLo, NoHi, make([]float32, 9))
		},
		"nan clamp": func() {
			Conv(1, make([]float32, 9), 1, 1, 3, 3, p, make([]float32, 9), nil, float32(math.NaN()), NoHi, make([]float32, 9))
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// Test3x3RowBands covers the row-band split of large single-image maps
// (every goroutine all channels of its output rows) against refConv.
func Test3x3RowBands(t *testing.T) {
	type sz struct{ h, w, s int }
	forLevels(t, func(t *testing.T, l cpu.Level) {
		r := rand.New(rand.NewSource(3))
		k := 0
		for _, z := range []sz{{112, 112, 1}, {120, 130, 1}, {117, 113, 1}, {240, 226, 2}, {225, 241, 2}} {
			for _, pd := range [][4]int{{1, 1, 1, 1}, {0, 0, 1, 1}, {2, 1, 0, 2}} {
				for _, threads := range []int{2, 3} {
					k++
					p := withPad(Params{KH: 3, KW: 3, SH: z.s, SW: z.s}, pd)
					oh, ow := Out(norm(p), z.h, z.w)
					if oh*ow < rowBandMinPixels {
						continue
					}
					tc := tcase{n: 1, c: 3 + k%4, h: z.h, w: z.w, p: p, bias: k%2 == 1, cl: clamps[k%3], threads: threads, nanAt: -1}
					if !check(t, r, tc) {
						return
					}
				}
			}
		}
	})
}
