package vmath

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/frugal-ml/frugal/impl/cpu"
)

// ulps is |got - want| in units of the float32 spacing at want (2^-149 in
// the denormal range). Matching infinities and NaNs count 0; a mismatch
// counts +Inf.
func ulps(got float32, want float64) float64 {
	g := float64(got)
	switch {
	case math.IsNaN(want) || math.IsNaN(g):
		if math.IsNaN(want) && math.IsNaN(g) {
			return 0
		}
		return math.Inf(1)
	case math.IsInf(g, 0) || math.IsInf(want, 0) || math.Abs(want) > math.MaxFloat32:
		w := float32(want) // rounds to +-Inf above MaxFloat32 (+ half an ulp)
		if w == got {
			return 0
		}
		return math.Inf(1)
	}
	a := math.Abs(want)
	e := math.Floor(math.Log2(a))
	if a == 0 || e < -126 {
		e = -126
	}
	ulp := math.Ldexp(1, int(e)-23)
	return math.Abs(g-want) / ulp
}

// levels are the dispatch levels this machine runs: the pure-Go form and,
// where present, AVX-512.
func levels() []cpu.Level {
	ls := []cpu.Level{cpu.Generic}
	if cpu.Current() >= cpu.AVX512 {
		ls = append(ls, cpu.AVX512)
	}
	return ls
}

// specials are the inputs every function is checked on besides samples.
func specials() []float32 {
	inf := float32(math.Inf(1))
	s := []float32{0, float32(math.Copysign(0, -1)), inf, -inf, float32(math.NaN()),
		math.Float32frombits(1), math.Float32frombits(0x80000001), math.Float32frombits(0x007fffff),
		math.Float32frombits(0x00800000), math.MaxFloat32, -math.MaxFloat32,
		1, -1, 0.5, erfSplit, -erfSplit, math.Nextafter32(erfSplit, 0), erfTop, -erfTop, 3.8, 3.9, 4, 10,
		88.7, 88.72283, 88.72284, 88.8, 89, 100, -87.3, -87.34, -100, -103.9, -103.97, -104, -104.1, -200,
		1e-8, -1e-8, 1e-30, 1e-38, 1e-40}
	return s
}

// sampled returns n float32 values: random bit patterns (every exponent
// alike) and uniform values in [-lo, lo].
func sampled(n int, lo float32, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := specials()
	for i := 0; i < n/2; i++ {
		out = append(out, math.Float32frombits(r.Uint32()))
		out = append(out, (2*r.Float32()-1)*lo)
	}
	return out
}

type fn struct {
	name  string
	vec   func(dst, src []float32)
	want  func(x float64) float64
	maxUl float64
	lo    float32
}

func fns() []fn {
	return []fn{
		{"Exp", Exp, math.Exp, 1.5, 110},
		{"Erf", Erf, math.Erf, 1.5, 5},
		{"Gelu", Gelu, func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }, 0, 8},
	}
}

// checkAll runs f over xs in one call (so the vector body and its masked
// tail both run) and returns the worst error in ulps and where.
func checkAll(t *testing.T, f fn, xs []float32) (float64, float32) {
	t.Helper()
	got := make([]float32, len(xs))
	f.vec(got, xs)
	worst, at := 0.0, float32(0)
	for i, x := range xs {
		if e := ulps(got[i], f.want(float64(x))); e > worst || math.IsNaN(e) {
			worst, at = e, x
		}
	}
	return worst, at
}

// Exp and Erf stay within 1.5 ulp of math.Exp and math.Erf over 2^22 samples
// (random bit patterns, so every binade, plus the special values: +-0,
// +-Inf, NaN, denormals, the overflow and underflow edges, erf's branch
// points), in the pure-Go and the AVX-512 form.
func TestAccuracy(t *testing.T) {
	for _, lv := range levels() {
		restore := cpu.Force(lv)
		for _, f := range fns() {
			if f.maxUl == 0 {
				continue
			}
			xs := sampled(1<<22, f.lo, 7)
			worst, at := checkAll(t, f, xs)
			t.Logf("%s %s: max %.3f ulp (at %g)", lv, f.name, worst, at)
			if worst > f.maxUl {
				t.Errorf("%s %s: %.3f ulp at %g (%#x), want <= %g", lv, f.name, worst, at, math.Float32bits(at), f.maxUl)
			}
		}
		restore()
	}
}

// GELU: relative error within 3e-7 of the float64 formula for x >= 0;
// for x < 0, where 1 + erf(x/sqrt2) cancels (as it does in the decomposed
// graph PyTorch exports), within 3e-7 of |x|/2.
func TestGelu(t *testing.T) {
	for _, lv := range levels() {
		restore := cpu.Force(lv)
		xs := sampled(1<<20, 8, 3)
		got := make([]float32, len(xs))
		Gelu(got, xs)
		worst := 0.0
		for i, x := range xs {
			w := 0.5 * float64(x) * (1 + math.Erf(float64(x)/math.Sqrt2))
			g := float64(got[i])
			if math.IsNaN(w) || math.IsNaN(g) {
				if math.IsNaN(w) != math.IsNaN(g) {
					t.Fatalf("%s Gelu(%g) = %g, want %g", lv, x, g, w)
				}
				continue
			}
			if math.IsInf(w, 0) || math.IsInf(g, 0) {
				if w != g {
					t.Fatalf("%s Gelu(%g) = %g, want %g", lv, x, g, w)
				}
				continue
			}
			var e float64
			if x >= 0 {
				e = math.Abs(g-w) / math.Max(math.Abs(w), 1e-37)
			} else {
				e = math.Abs(g-w) / math.Max(math.Abs(float64(x))/2, 1e-37)
			}
			if e > worst {
				worst = e
			}
			if e > 3e-7 {
				t.Fatalf("%s Gelu(%g) = %.9g, want %.9g (error %.3g)", lv, x, g, w, e)
			}
		}
		t.Logf("%s Gelu: worst %.3g", lv, worst)
		restore()
	}
}

// Every length from 0 to 40 (vector body plus each masked tail), in place
// and out of place, agrees with the scalar form within rounding (2 ulp;
// GELU 3e-7 of max(|y|, |x|/2), see TestGelu) and leaves what follows the
// destination untouched.
func TestLengths(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, lv := range levels() {
		restore := cpu.Force(lv)
		for _, f := range []struct {
			name   string
			vec    func(dst, src []float32)
			scalar func(float32) float32
		}{{"Exp", Exp, Exp32}, {"Erf", Erf, Erf32}, {"Gelu", Gelu, Gelu32}} {
			for n := 0; n <= 40; n++ {
				src := make([]float32, n)
				for i := range src {
					src[i] = float32(r.NormFloat64() * 3)
				}
				dst := make([]float32, n+1)
				dst[n] = 42
				f.vec(dst[:n], src)
				if dst[n] != 42 {
					t.Fatalf("%s %s n=%d wrote past the end", lv, f.name, n)
				}
				in := append([]float32{}, src...)
				f.vec(in, in)
				for i, x := range src {
					w := f.scalar(x)
					bad := ulps(dst[i], float64(w)) > 2
					if f.name == "Gelu" {
						bad = math.Abs(float64(dst[i]-w)) > 3e-7*math.Max(math.Abs(float64(w)), math.Abs(float64(x))/2)
					}
					if bad || dst[i] != in[i] {
						t.Fatalf("%s %s n=%d [%d]: %g (in place %g), scalar %g", lv, f.name, n, i, dst[i], in[i], w)
					}
				}
			}
		}
		restore()
	}
}

// softmaxRef is the float64 definition.
func softmaxRef(x []float32) []float64 {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = math.Max(mx, float64(v))
	}
	out := make([]float64, len(x))
	var s float64
	for i, v := range x {
		out[i] = math.Exp(float64(v) - mx)
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}

// SoftmaxRows matches the float64 softmax within 4e-7 relative plus the
// rounding of x - max in float32 (|x - max| 2^-24, as in any float32
// softmax) and of the sum (n/16 additions per lane), plus 1e-30 absolute, for row lengths around the vector width and beyond, with
// rows of large and tiny spread, and gives NaN rows for NaN or +Inf inputs.
func TestSoftmaxRows(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, lv := range levels() {
		restore := cpu.Force(lv)
		for _, n := range []int{1, 2, 7, 15, 16, 17, 31, 32, 33, 64, 100, 1000} {
			for _, scale := range []float64{0.01, 1, 30, 300} {
				rows := 5
				x := make([]float32, rows*n)
				for i := range x {
					x[i] = float32(r.NormFloat64()*scale - 50)
				}
				out := make([]float32, len(x)+1)
				out[len(x)] = 7
				SoftmaxRows(out[:len(x)], x, n)
				if out[len(x)] != 7 {
					t.Fatalf("n=%d wrote past the end", n)
				}
				for row := 0; row < rows; row++ {
					xr := x[row*n : (row+1)*n]
					want := softmaxRef(xr)
					mx := float32(math.Inf(-1))
					for _, v := range xr {
						mx = max(mx, v)
					}
					for i, w := range want {
						g := float64(out[row*n+i])
						d := math.Abs(float64(xr[i] - mx))
						tol := 4e-7 + d*0x1p-24 + float64((n+15)/16)*0x1p-24 // + the float32 sum's rounding (16 lanes)
						if math.Abs(g-w) > tol*w+1e-30 {
							t.Fatalf("%s n=%d scale %g row %d [%d]: %g, want %g", lv, n, scale, row, i, g, w)
						}
					}
				}
			}
		}
		// Special rows: a NaN or +Inf poisons its row only; -Inf entries give 0.
		n := 20
		x := make([]float32, 3*n)
		for i := range x {
			x[i] = float32(i % 5)
		}
		x[3] = float32(math.NaN())
		x[n+4] = float32(math.Inf(1))
		x[2*n+5] = float32(math.Inf(-1))
		out := make([]float32, len(x))
		SoftmaxRows(out, x, n)
		for i := 0; i < 2*n; i++ {
			if !math.IsNaN(float64(out[i])) {
				t.Fatalf("%s: row with NaN/+Inf gave %g at %d", lv, out[i], i)
			}
		}
		if out[2*n+5] != 0 || math.IsNaN(float64(out[2*n])) {
			t.Fatalf("%s: -Inf entry gave %g (row start %g)", lv, out[2*n+5], out[2*n])
		}
		restore()
	}
}

// TestExhaustive checks Exp and Erf on all 2^32 float32 inputs
// (FRUGAL_VMATH_EXHAUSTIVE=1: minutes of one core), or on every k-th bit
// pattern (FRUGAL_VMATH_EXHAUSTIVE=k).
func TestExhaustive(t *testing.T) {
	stride, err := strconv.Atoi(os.Getenv("FRUGAL_VMATH_EXHAUSTIVE"))
	if err != nil || stride < 1 {
		t.Skip("FRUGAL_VMATH_EXHAUSTIVE=1 checks every float32, =k every k-th")
	}
	const chunk = 1 << 20
	xs := make([]float32, chunk)
	got := make([]float32, chunk)
	for _, lv := range levels() {
		restore := cpu.Force(lv)
		for _, f := range fns() {
			if f.maxUl == 0 {
				continue
			}
			worst, at := 0.0, float32(0)
			for base := uint64(0); base*uint64(stride) < 1<<32; base += chunk {
				for i := range xs {
					xs[i] = math.Float32frombits(uint32((base + uint64(i)) * uint64(stride)))
				}
				f.vec(got, xs)
				for i, x := range xs {
					if e := ulps(got[i], f.want(float64(x))); e > worst {
						worst, at = e, x
					}
				}
			}
			msg := fmt.Sprintf("%s %s: max %.3f ulp over every %d-th float32 (at %g)", lv, f.name, worst, stride, at)
			t.Log(msg)
			if worst > f.maxUl {
				t.Error(msg)
			}
		}
		restore()
	}
}

func BenchmarkErf(b *testing.B)  { benchVec(b, Erf) }
func BenchmarkGelu(b *testing.B) { benchVec(b, Gelu) }
func BenchmarkExp(b *testing.B)  { benchVec(b, Exp) }

func benchVec(b *testing.B, f func(dst, src []float32)) {
	x := sampled(8192, 4, 1)[:8192]
	for i := range x {
		if math.IsNaN(float64(x[i])) || math.IsInf(float64(x[i]), 0) || math.Abs(float64(x[i])) > 10 {
			x[i] = 1
		}
	}
	out := make([]float32, len(x))
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		f(out, x)
	}
}

func BenchmarkSoftmax128x32(b *testing.B) {
	x := sampled(4096, 4, 1)[:4096]
	for i := range x {
		if math.IsNaN(float64(x[i])) || math.IsInf(float64(x[i]), 0) || math.Abs(float64(x[i])) > 10 {
			x[i] = 1
		}
	}
	out := make([]float32, len(x))
	for b.Loop() {
		SoftmaxRows(out, x, 32)
	}
}

// ScaleInt32 equals float32(acc) * mult + bias exactly, with and without
// a bias, for every tail length.
func TestScaleInt32(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, lv := range levels() {
		restore := cpu.Force(lv)
		for n := 0; n <= 40; n++ {
			acc, mult, bias := make([]int32, n), make([]float32, n), make([]float32, n)
			for i := range acc {
				acc[i] = r.Int32N(1<<24) - 1<<23
				mult[i] = r.Float32() * 1e-3
				bias[i] = float32(r.NormFloat64())
			}
			for _, b := range [][]float32{nil, bias} {
				dst := make([]float32, n+1)
				dst[n] = 9
				ScaleInt32(dst[:n], acc, mult, b)
				for i := range acc {
					want := float32(float64(acc[i]) * float64(mult[i]))
					if b != nil {
						want += b[i]
					}
					if dst[i] != want {
						t.Fatalf("%s n=%d [%d]: %g, want %g", lv, n, i, dst[i], want)
					}
				}
				if dst[n] != 9 {
					t.Fatalf("%s n=%d wrote past the end", lv, n)
				}
			}
		}
		restore()
	}
}

// LayerNormRows matches the float64 definition within 1e-5 of the output
// scale for rows around the vector width and beyond, with a mean far from
// zero, in place and not.
func TestLayerNormRows(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 7))
	for _, lv := range levels() {
		restore := cpu.Force(lv)
		for _, n := range []int{1, 3, 15, 16, 17, 32, 33, 128, 300} {
			rows := 4
			x, g, b := make([]float32, rows*n), make([]float32, n), make([]float32, n)
			for i := range x {
				x[i] = float32(r.NormFloat64()*2 + 30)
			}
			for i := range g {
				g[i], b[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
			}
			y := make([]float32, len(x)+1)
			y[len(x)] = 5
			LayerNormRows(y[:len(x)], x, g, b, n, 1e-5)
			in := append([]float32{}, x...)
			LayerNormRows(in, in, g, b, n, 1e-5)
			if y[len(x)] != 5 {
				t.Fatalf("n=%d wrote past the end", n)
			}
			for row := 0; row < rows; row++ {
				xr := x[row*n : (row+1)*n]
				var mu, v float64
				for _, e := range xr {
					mu += float64(e)
				}
				mu /= float64(n)
				for _, e := range xr {
					v += (float64(e) - mu) * (float64(e) - mu)
				}
				is := 1 / math.Sqrt(v/float64(n)+1e-5)
				for i, e := range xr {
					w := (float64(e)-mu)*is*float64(g[i]) + float64(b[i])
					k := row*n + i
					if math.Abs(float64(y[k])-w) > 1e-5*(1+math.Abs(w)) || y[k] != in[k] {
						t.Fatalf("%s n=%d row %d [%d]: %g (in place %g), want %g", lv, n, row, i, y[k], in[k], w)
					}
				}
			}
		}
		restore()
	}
}
