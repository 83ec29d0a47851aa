package gemm

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/impl/cpu"
	"github.com/frugal-ml/frugal/impl/gemm/gemmtest"
)

func TestHalfRoundTripExhaustive(t *testing.T) {
	for _, l := range cpu.Levels() {
		restore := cpu.Force(l)
		src := make([]uint16, 1<<16)
		for i := range src {
			src[i] = uint16(i)
		}
		f := make([]float32, len(src))
		HalfToFloat32s(f, src)
		back := make([]uint16, len(src))
		HalfFromFloat32s(back, f)
		for i, h := range src {
			if s := HalfToFloat32(h); math.Float32bits(s) != math.Float32bits(f[i]) {
				t.Fatalf("%v: half %#04x widened to %v, scalar %v", l, h, f[i], s)
			}
			isNaN := h&0x7c00 == 0x7c00 && h&0x3ff != 0
			if isNaN {
				if back[i]&0x7c00 != 0x7c00 || back[i]&0x3ff == 0 {
					t.Fatalf("%v: NaN %#04x came back as %#04x", l, h, back[i])
				}
				continue
			}
			if back[i] != h {
				t.Fatalf("%v: half %#04x -> %v -> %#04x", l, h, f[i], back[i])
			}
		}
		restore()
	}
}

// halfRef rounds through float64 arithmetic: the nearest half, ties to even.
func halfRef(f float32) float64 {
	x := float64(f)
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	a := math.Abs(x)
	if a >= 65520 {
		return math.Copysign(math.Inf(1), x)
	}
	e := math.Max(math.Floor(math.Log2(a)), -14)
	if a == 0 {
		return x
	}
	ulp := math.Pow(2, e-10)
	return math.Copysign(math.RoundToEven(a/ulp)*ulp, x)
}

func TestHalfFromFloat32Rounding(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	vals := []float32{0, -0, 1, 65504, 65519.99, 65520, 1e-8, 2.9802322e-08, 5.9604645e-08, 6.1035156e-05, 6.1e-05, float32(math.Inf(-1))}
	for i := 0; i < 200000; i++ {
		// Random bit patterns across the half range, including exact ties.
		e := rng.IntN(40) - 28
		v := float32(math.Ldexp(1+rng.Float64(), e))
		if i%3 == 0 {
			v = float32(math.Ldexp(float64(rng.IntN(4096))+0.5, e-11))
		}
		if rng.IntN(2) == 0 {
			v = -v
		}
		vals = append(vals, v)
	}
	for _, l := range cpu.Levels() {
		restore := cpu.Force(l)
		out := make([]uint16, len(vals))
		HalfFromFloat32s(out, vals)
		for i, v := range vals {
			want := halfRef(v)
			got := float64(HalfToFloat32(out[i]))
			if got != want && !(got == 0 && want == 0) {
				t.Fatalf("%v: HalfFromFloat32s(%g) = %g (%#04x), want %g", l, v, got, out[i], want)
			}
			if s := HalfFromFloat32(v); s != out[i] {
				t.Fatalf("%v: scalar %#04x != batch %#04x for %g", l, s, out[i], v)
			}
		}
		restore()
	}
}

func TestBF16Conversion(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := BF16ToFloat32(h)
		back := BF16FromFloat32(f)
		if f != f {
			if BF16ToFloat32(back) == BF16ToFloat32(back) {
				t.Fatalf("NaN %#04x lost", h)
			}
			continue
		}
		if back != h {
			t.Fatalf("bf16 %#04x -> %v -> %#04x", h, f, back)
		}
	}
	// Ties to even and carries.
	for _, c := range []struct {
		f    uint32
		want uint16
	}{{0x3f808000, 0x3f80}, {0x3f818000, 0x3f82}, {0x3f808001, 0x3f81}, {0x7f7fffff, 0x7f80}, {0x3f80ffff, 0x3f81}} {
		if got := BF16FromFloat32(math.Float32frombits(c.f)); got != c.want {
			t.Errorf("BF16FromFloat32(%#08x) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
}

// roundBF16InPlace rounds the elements of a rows x cols matrix to bf16.
func roundBF16InPlace(x []float32, rows, cols, ld int) {
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			x[i*ld+j] = BF16ToFloat32(BF16FromFloat32(x[i*ld+j]))
		}
	}
}

func dims(trans bool, r, c int) (int, int) {
	if trans {
		return c, r
	}
	return r, c
}

func TestSgemmBF16Conformance(t *testing.T) {
	for _, l := range cpu.Levels() {
		t.Run(l.String(), func(t *testing.T) {
			restore := cpu.Force(l)
			defer restore()
			kn := bf16KernelFor(l)
			if kn == nil {
				kn = kernelFor(l)
			}
			t.Logf("kernel %s", kn.name)
			f := func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, ep gemmtest.Epilogue) {
				ar, ac := dims(tA, m, k)
				br, bc := dims(tB, k, n)
				// The oracle reads A and B after the call: round them first
				// so it sees the bf16 inputs.
				roundBF16InPlace(a, ar, ac, lda)
				roundBF16InPlace(b, br, bc, ldb)
				e := toEpilogue(ep)
				if alpha == 1 {
					SgemmBF16(tA, tB, m, n, k, a, lda, b, ldb, c, ldc, e)
					return
				}
				// alpha != 1: compute into a temp with beta 0 and combine.
				tmp := make([]float32, m*n)
				SgemmBF16(tA, tB, m, n, k, a, lda, b, ldb, tmp, max(n, 1), Epilogue{})
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						v := alpha * tmp[i*max(n, 1)+j]
						if e.Beta != 0 {
							v += e.Beta * c[i*ldc+j]
						}
						c[i*ldc+j] = v
					}
				}
			}
			gemmtest.Sweep(t, "SgemmBF16/"+kn.name, f, kn.mr, kn.nr, 2*kn.kc, true)
			pf := func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, ep gemmtest.Epilogue) {
				br, bc := dims(tB, k, n)
				roundBF16InPlace(b, br, bc, ldb)
				am := materialize(tA, m, k, a, lda, alpha)
				roundBF16InPlace(am, m, k, max(k, 1))
				// Write the rounded, scaled A back so the oracle sees it.
				ar, ac := dims(tA, m, k)
				for i := 0; i < ar; i++ {
					for j := 0; j < ac; j++ {
						ii, jj := i, j
						if tA {
							ii, jj = j, i
						}
						if alpha != 0 {
							a[i*lda+j] = am[ii*max(k, 1)+jj] / alpha
						}
					}
				}
				pb := PackBBF16(tB, k, n, b, ldb)
				SgemmPacked(m, am, max(k, 1), pb, c, ldc, toEpilogue(ep))
			}
			gemmtest.Sweep(t, "PackBBF16/"+kn.name, pf, kn.mr, kn.nr, 2*kn.kc, true)
		})
	}
}

func TestGemmBF16Raw(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, l := range cpu.Levels() {
		restore := cpu.Force(l)
		for _, sz := range [][3]int{{1, 1, 1}, {14, 32, 2}, {15, 33, 3}, {29, 65, 515}, {3, 7, 0}} {
			m, n, k := sz[0], sz[1], sz[2]
			for _, tr := range [][2]bool{{false, false}, {true, true}} {
				a := make([]uint16, m*k)
				b := make([]uint16, k*n)
				for i := range a {
					a[i] = BF16FromFloat32(float32(rng.NormFloat64()))
				}
				for i := range b {
					b[i] = BF16FromFloat32(float32(rng.NormFloat64()))
				}
				lda, ldb := k, n
				if tr[0] {
					lda = m
				}
				if tr[1] {
					ldb = k
				}
				got := make([]float32, m*n)
				want := make([]float32, m*n)
				ep := Epilogue{ColBias: make([]float32, n), Act: ActRelu}
				GemmBF16(tr[0], tr[1], m, n, k, a, max(lda, 1), b, max(ldb, 1), got, max(n, 1), ep)
				GemmBF16Ref(tr[0], tr[1], m, n, k, a, max(lda, 1), b, max(ldb, 1), want, max(n, 1), ep)
				for i := range want {
					if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*float64(k+1)*4 {
						t.Fatalf("%v %v %v: C[%d] = %v, want %v", l, sz, tr, i, got[i], want[i])
					}
				}
			}
		}
		restore()
	}
}

func TestPackBHalf(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, l := range cpu.Levels() {
		restore := cpu.Force(l)
		for _, tB := range []bool{false, true} {
			m, n, k := 17, 45, 70
			h := make([]uint16, k*n)
			f := make([]float32, k*n)
			for i := range h {
				h[i] = HalfFromFloat32(float32(rng.NormFloat64()))
				f[i] = HalfToFloat32(h[i])
			}
			ld := n
			if tB {
				ld = k
			}
			a := make([]float32, m*k)
			for i := range a {
				a[i] = float32(rng.NormFloat64())
			}
			got := make([]float32, m*n)
			want := make([]float32, m*n)
			SgemmPacked(m, a, k, PackBHalf(tB, k, n, h, ld), got, n, Epilogue{})
			SgemmPacked(m, a, k, PackB(tB, k, n, f, ld), want, n, Epilogue{})
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%v trans=%v: C[%d] = %v, want %v", l, tB, i, got[i], want[i])
				}
			}
		}
		restore()
	}
}
