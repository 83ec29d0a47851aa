package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/frugal-ml/frugal/impl/cpu"
)

func TestQfinLayout(t *testing.T) {
	var f qfin
	want := []struct {
		name string
		got  uintptr
		off  uintptr
	}{
		{"flags", unsafe.Offsetof(f.flags), 0}, {"r1", unsafe.Offsetof(f.r1), 8}, {"c1", unsafe.Offsetof(f.c1), 16},
		{"r2", unsafe.Offsetof(f.r2), 24}, {"c2", unsafe.Offsetof(f.c2), 32}, {"rowAdd", unsafe.Offsetof(f.rowAdd), 40},
		{"colAdd", unsafe.Offsetof(f.colAdd), 48}, {"scale", unsafe.Offsetof(f.scale), 56}, {"zp", unsafe.Offsetof(f.zp), 64},
		{"lo", unsafe.Offsetof(f.lo), 68}, {"hi", unsafe.Offsetof(f.hi), 72}, {"out", unsafe.Offsetof(f.out), 80},
		{"ldo", unsafe.Offsetof(f.ldo), 88}, {"rows", unsafe.Offsetof(f.rows), 96}, {"cols", unsafe.Offsetof(f.cols), 104},
		{"tile", unsafe.Offsetof(f.tile), 112}, {"tstride", unsafe.Offsetof(f.tstride), 120},
	}
	for _, w := range want {
		if w.got != w.off {
			t.Errorf("qfin.%s at %d, assembly expects %d", w.name, w.got, w.off)
		}
	}
}

func TestRequantize(t *testing.T) {
	// Round half to even, zero point after rounding, saturation.
	cases := []struct {
		acc        int32
		s          float32
		zp, lo, hi int32
		want       int32
	}{
		{5, 0.5, 0, 0, 255, 2}, {7, 0.5, 0, 0, 255, 4}, {-5, 0.5, 0, -128, 127, -2}, {-7, 0.5, 10, -128, 127, 6},
		{1000, 1, 0, 0, 255, 255}, {-1000, 1, 0, -128, 127, -128}, {3, 0.5, 128, 0, 255, 130}, {-300, 0.25, 3, 3, 255, 3},
	}
	for _, c := range cases {
		if got := Requantize(c.acc, c.s, c.zp, c.lo, c.hi); got != c.want {
			t.Errorf("Requantize(%d, %v, %d, %d, %d) = %d, want %d", c.acc, c.s, c.zp, c.lo, c.hi, got, c.want)
		}
	}
}

type qcase struct {
	m, n, k          int
	padA, padB, padC int
	zaKind, zbKind   int // 0 nil, 1 scalar, 2 per row/column
	biasKind         int // 0 none, 1 per column, 2 per row
	relu             bool
	transW           bool // packed variants: pack the transposed operand
}

func randInt8s[T Int8](rng *rand.Rand, n int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = T(rng.IntN(256))
	}
	return s
}

func zeroPoints[T Int8](rng *rand.Rand, kind, n int) []int32 {
	switch kind {
	case 1:
		return []int32{int32(T(rng.IntN(256)))}
	case 2:
		z := make([]int32, n)
		for i := range z {
			z[i] = int32(T(rng.IntN(256)))
		}
		return z
	}
	return nil
}

// runQCase checks QGemm, QGemmPackedB and QGemmPackedA for one case.
func runQCase[TA, TB Int8, TC QOut](t *testing.T, rng *rand.Rand, c qcase) bool {
	t.Helper()
	m, n, k := c.m, c.n, c.k
	lda, ldb, ldc := k+c.padA, n+c.padB, n+c.padC
	lda, ldb, ldc = max(lda, 1), max(ldb, 1), max(ldc, 1)
	need := func(rows, cols, ld int) int {
		if rows == 0 || cols == 0 {
			return 0
		}
		return (rows-1)*ld + cols
	}
	a := randInt8s[TA](rng, need(m, k, lda))
	b := randInt8s[TB](rng, need(k, n, ldb))
	za := zeroPoints[TA](rng, c.zaKind, m)
	zb := zeroPoints[TB](rng, c.zbKind, n)
	ep := QEpilogue{Relu: c.relu}
	var z TC
	chans := n
	if c.biasKind == 2 {
		ep.PerRow = true
		chans = m
	}
	if c.biasKind != 0 {
		ep.Bias = make([]int32, chans)
		for i := range ep.Bias {
			ep.Bias[i] = int32(rng.IntN(20001) - 10000)
		}
	}
	if unsafe.Sizeof(z) == 1 {
		ep.ZeroPoint = int32(TC(rng.IntN(256)))
		ns := 1 + rng.IntN(2)*(chans-1)
		ns = max(ns, 1)
		ep.Scale = make([]float32, ns)
		for i := range ep.Scale {
			ep.Scale[i] = 1 / float32(50+rng.IntN(2000))
			if rng.IntN(4) == 0 {
				ep.Scale[i] = 0.5 // exercises ties
			}
		}
	}
	const g = 64
	sentinel := TC(rng.IntN(100) + 3)
	want := make([]TC, need(m, n, ldc))
	QGemmRef(m, n, k, a, lda, za, b, ldb, zb, want, ldc, ep)
	ok := true
	check := func(name string, run func(c []TC)) {
		buf := make([]TC, len(want)+2*g)
		for i := range buf {
			buf[i] = sentinel
		}
		cs := buf[g : g+len(want) : g+len(want)]
		run(cs)
		for i, v := range buf {
			rel := i - g
			inside := rel >= 0 && rel < len(want) && rel%ldc < n
			if !inside && v != sentinel {
				t.Errorf("%s %+v %T: guard %d overwritten", name, c, z, rel)
				ok = false
				return
			}
			if inside && v != want[rel] {
				t.Errorf("%s %+v %T%T%T: C[%d][%d] = %v, want %v", name, c, a[:0], b[:0], z, rel/ldc, rel%ldc, v, want[rel])
				ok = false
				return
			}
		}
	}
	check("QGemm", func(cs []TC) { QGemm(m, n, k, a, lda, za, b, ldb, zb, cs, ldc, ep) })
	check("QGemmPackedB", func(cs []TC) {
		var pb *PackedQB
		if c.transW {
			bt := make([]TB, n*k)
			for p := 0; p < k; p++ {
				for j := 0; j < n; j++ {
					bt[j*k+p] = b[p*ldb+j]
				}
			}
			pb = PackQB(true, k, n, bt, max(k, 1), zb)
		} else {
			pb = PackQB(false, k, n, b, ldb, zb)
		}
		QGemmPackedB(m, a, lda, za, pb, cs, ldc, ep)
	})
	check("QGemmPackedA", func(cs []TC) {
		var pa *PackedQA
		if c.transW {
			at := make([]TA, m*k)
			for i := 0; i < m; i++ {
				for p := 0; p < k; p++ {
					at[p*m+i] = a[i*lda+p]
				}
			}
			pa = PackQA(true, m, k, at, max(m, 1), za)
		} else {
			pa = PackQA(false, m, k, a, lda, za)
		}
		QGemmPackedA(pa, n, b, ldb, zb, cs, ldc, ep)
	})
	return ok
}

func qSweep[TA, TB Int8, TC QOut](t *testing.T, kn *qkern, rng *rand.Rand) {
	ms := []int{0, 1, 2, kn.mr - 1, kn.mr, kn.mr + 1, 2*kn.mr + 3, 23}
	ns := []int{0, 1, 3, kn.nr/2 + 1, kn.nr - 1, kn.nr, kn.nr + 1, 2*kn.nr + 5}
	ks := []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 31, 64, 131}
	fails := 0
	for _, m := range ms {
		for _, n := range ns {
			c := qcase{m: m, n: n, k: ks[rng.IntN(len(ks))], padA: rng.IntN(3), padB: rng.IntN(3), padC: rng.IntN(3),
				zaKind: rng.IntN(3), zbKind: rng.IntN(3), biasKind: rng.IntN(3), relu: rng.IntN(2) == 0, transW: rng.IntN(2) == 0}
			if !runQCase[TA, TB, TC](t, rng, c) {
				if fails++; fails > 5 {
					t.Fatal("too many failures")
				}
			}
		}
	}
	for _, k := range ks {
		for zk := 0; zk < 9; zk++ {
			c := qcase{m: ms[rng.IntN(len(ms))], n: ns[rng.IntN(len(ns))], k: k, padA: 1, padC: 2,
				zaKind: zk % 3, zbKind: zk / 3, biasKind: rng.IntN(3), relu: rng.IntN(2) == 0}
			if !runQCase[TA, TB, TC](t, rng, c) {
				if fails++; fails > 5 {
					t.Fatal("too many failures")
				}
			}
		}
	}
}

func forEachQLevel(t *testing.T, f func(t *testing.T, kn *qkern)) {
	seen := map[string]bool{}
	for _, l := range cpu.Levels() {
		kn := qkernelFor(l)
		if seen[kn.name] {
			continue
		}
		seen[kn.name] = true
		t.Run(kn.name, func(t *testing.T) {
			restore := cpu.Force(l)
			defer restore()
			f(t, kn)
		})
	}
}

func TestQGemmConformance(t *testing.T) {
	forEachQLevel(t, func(t *testing.T, kn *qkern) {
		rng := rand.New(rand.NewPCG(3, uint64(kn.mr)))
		t.Run("u8s8i32", func(t *testing.T) { qSweep[uint8, int8, int32](t, kn, rng) })
		t.Run("s8s8i32", func(t *testing.T) { qSweep[int8, int8, int32](t, kn, rng) })
		t.Run("u8u8u8", func(t *testing.T) { qSweep[uint8, uint8, uint8](t, kn, rng) })
		t.Run("s8u8s8", func(t *testing.T) { qSweep[int8, uint8, int8](t, kn, rng) })
		t.Run("u8s8u8", func(t *testing.T) { qSweep[uint8, int8, uint8](t, kn, rng) })
		t.Run("s8s8s8", func(t *testing.T) { qSweep[int8, int8, int8](t, kn, rng) })
		noDirectA = true // A packed even where it could be read in place
		defer func() { noDirectA = false }()
		t.Run("u8s8u8-packedA", func(t *testing.T) { qSweep[uint8, int8, uint8](t, kn, rng) })
	})
}

func TestQGemmThreads(t *testing.T) {
	oldMin, oldMax := minMACsPerThread, maxSharedQB
	defer func() { minMACsPerThread, maxSharedQB = oldMin, oldMax; SetThreads(0) }()
	minMACsPerThread = 100
	forEachQLevel(t, func(t *testing.T, kn *qkern) {
		rng := rand.New(rand.NewPCG(5, 5))
		for _, th := range []int{2, 3} {
			SetThreads(th)
			for _, shared := range []int{1 << 24, 3000} {
				maxSharedQB = shared
				for _, sz := range [][3]int{{3*kn.mr*3 + 1, 5*kn.nr + 3, 77}, {kn.mr + 1, 7*kn.nr + 1, 33}, {2, 300, 40}, {150, 20, 300}} {
					c := qcase{m: sz[0], n: sz[1], k: sz[2], padA: 1, padB: 2, padC: 3, zaKind: rng.IntN(3), zbKind: rng.IntN(3), biasKind: rng.IntN(3), relu: true}
					t.Run(fmt.Sprintf("t%d/%v", th, sz), func(t *testing.T) {
						runQCase[uint8, int8, uint8](t, rng, c)
						runQCase[int8, int8, int32](t, rng, c)
					})
				}
			}
		}
	})
}

// TestGemmU8S8Extremes drives the extreme products (255 * -128 summed over a
// long k) where a saturating int16 path would fail.
func TestGemmU8S8Extremes(t *testing.T) {
	forEachQLevel(t, func(t *testing.T, kn *qkern) {
		m, n, k := 5, 40, 1001
		a := make([]uint8, m*k)
		b := make([]int8, k*n)
		for i := range a {
			a[i] = 255
		}
		for i := range b {
			b[i] = -128
			if i%3 == 0 {
				b[i] = 127
			}
		}
		got := make([]int32, m*n)
		want := make([]int32, m*n)
		GemmU8S8(m, n, k, a, k, b, n, got, n)
		QGemmRef(m, n, k, a, k, nil, b, n, nil, want, n, QEpilogue{})
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("C[%d] = %d, want %d", i, got[i], want[i])
			}
		}
		as := make([]int8, m*k)
		for i := range as {
			as[i] = -128
		}
		GemmS8S8(m, n, k, as, k, b, n, got, n)
		QGemmRef(m, n, k, as, k, nil, b, n, nil, want, n, QEpilogue{})
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("s8s8 C[%d] = %d, want %d", i, got[i], want[i])
			}
		}
	})
}
