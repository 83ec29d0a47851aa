package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/frugal-ml/frugal/impl/cpu"
	"github.com/frugal-ml/frugal/impl/gemm/gemmtest"
)

func TestKargsLayout(t *testing.T) {
	var k kargs
	offs := map[string][2]uintptr{
		"alpha": {unsafe.Offsetof(k.alpha), 0}, "beta": {unsafe.Offsetof(k.beta), 4},
		"lo": {unsafe.Offsetof(k.lo), 8}, "hi": {unsafe.Offsetof(k.hi), 12},
		"flags": {unsafe.Offsetof(k.flags), 16}, "rowBias": {unsafe.Offsetof(k.rowBias), 24},
		"colBias": {unsafe.Offsetof(k.colBias), 32}, "mask": {unsafe.Offsetof(k.mask), 40},
		"maskv": {unsafe.Offsetof(k.maskv), 48}, "pf": {unsafe.Offsetof(k.pf), 80},
	}
	for n, o := range offs {
		if o[0] != o[1] {
			t.Errorf("kargs.%s at offset %d, assembly expects %d", n, o[0], o[1])
		}
	}
}

func toEpilogue(ep gemmtest.Epilogue) Epilogue {
	e := Epilogue{Beta: ep.Beta, RowBias: ep.RowBias, ColBias: ep.ColBias}
	if ep.Clamp {
		e.Act, e.Min, e.Max = ActClip, ep.Lo, ep.Hi
	}
	return e
}

// materialize returns op(X) (rows x cols) as a dense row-major copy scaled by s.
func materialize(trans bool, rows, cols int, x []float32, ld int, s float32) []float32 {
	out := make([]float32, rows*cols)
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			v := float32(0)
			if trans {
				v = x[j*ld+i]
			} else {
				v = x[i*ld+j]
			}
			out[i*cols+j] = v * s
		}
	}
	return out
}

var (
	sgemmEp gemmtest.SgemmEpFunc = func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, ep gemmtest.Epilogue) {
		SgemmEp(tA, tB, m, n, k, alpha, a, lda, b, ldb, c, ldc, toEpilogue(ep))
	}
	// sgemmPackedB exercises PackB + SgemmPacked (A materialized when
	// transposed or scaled: the packed API has no alpha or transA).
	sgemmPackedB gemmtest.SgemmEpFunc = func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, ep gemmtest.Epilogue) {
		if alpha == 0 {
			m0 := make([]float32, m*k)
			a, lda, tA, alpha = m0, max(k, 1), false, 1
		}
		if tA || alpha != 1 {
			a, lda = materialize(tA, m, k, a, lda, alpha), max(k, 1)
		}
		pb := PackB(tB, k, n, b, ldb)
		SgemmPacked(m, a, lda, pb, c, ldc, toEpilogue(ep))
	}
	sgemmPackedA gemmtest.SgemmEpFunc = func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, ep gemmtest.Epilogue) {
		if alpha == 0 {
			b, ldb, tB, alpha = make([]float32, k*n), max(n, 1), false, 1
		}
		if tB || alpha != 1 {
			b, ldb = materialize(tB, k, n, b, ldb, alpha), max(n, 1)
		}
		pa := PackA(tA, m, k, a, lda)
		SgemmPackedA(pa, n, b, ldb, c, ldc, toEpilogue(ep))
	}
)

// forEachLevel runs f once per dispatch level the machine supports.
func forEachLevel(t *testing.T, f func(t *testing.T, kn *fkern)) {
	for _, l := range cpu.Levels() {
		t.Run(l.String(), func(t *testing.T) {
			restore := cpu.Force(l)
			defer restore()
			f(t, kernelFor(l))
		})
	}
}

func TestSgemmConformance(t *testing.T) {
	forEachLevel(t, func(t *testing.T, kn *fkern) {
		gemmtest.Sweep(t, "Sgemm/"+kn.name, gemmtest.Plain(Sgemm), kn.mr, kn.nr, kn.kc, false)
		gemmtest.Sweep(t, "SgemmEp/"+kn.name, sgemmEp, kn.mr, kn.nr, kn.kc, true)
		if kn.tileD != nil {
			// The same sweep with A packed instead of read in place.
			noDirectA = true
			defer func() { noDirectA = false }()
			gemmtest.Sweep(t, "SgemmEp-packedA/"+kn.name, sgemmEp, kn.mr, kn.nr, kn.kc, true)
		}
	})
}

func TestSgemmPackedConformance(t *testing.T) {
	forEachLevel(t, func(t *testing.T, kn *fkern) {
		gemmtest.Sweep(t, "PackB/"+kn.name, sgemmPackedB, kn.mr, kn.nr, kn.kc, true)
		gemmtest.Sweep(t, "PackA/"+kn.name, sgemmPackedA, kn.mr, kn.nr, kn.kc, true)
	})
}

func TestSgemmRefConformance(t *testing.T) {
	gemmtest.Sweep(t, "SgemmRef", gemmtest.Plain(SgemmRef), 4, 4, 8, false)
	gemmtest.Sweep(t, "SgemmEpRef", func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, ep gemmtest.Epilogue) {
		SgemmEpRef(tA, tB, m, n, k, alpha, a, lda, b, ldb, c, ldc, toEpilogue(ep))
	}, 4, 4, 8, true)
}

// TestSgemmThreads drives the parallel paths (row split with shared packed
// B in chunks, column split with private or in-place B) on every level.
func TestSgemmThreads(t *testing.T) {
	oldMin, oldMax := minMACsPerThread, maxSharedB
	defer func() { minMACsPerThread, maxSharedB = oldMin, oldMax; SetThreads(0) }()
	minMACsPerThread = 1000
	rng := rand.New(rand.NewPCG(7, 7))
	forEachLevel(t, func(t *testing.T, kn *fkern) {
		for _, th := range []int{2, 3} {
			SetThreads(th)
			for _, shared := range []int{1 << 22, 3000} {
				maxSharedB = shared
				for _, sz := range [][3]int{{3 * kn.mr * 3, 5*kn.nr + 3, kn.kc + 7}, {kn.mr + 1, 7*kn.nr + 1, 33}, {2, 300, 40}, {150, 20, 300}} {
					for _, f := range []struct {
						name string
						f    gemmtest.SgemmEpFunc
					}{{"SgemmEp", sgemmEp}, {"PackB", sgemmPackedB}, {"PackA", sgemmPackedA}} {
						c := gemmtest.Case{TransA: rng.IntN(2) == 1, TransB: rng.IntN(2) == 1, M: sz[0], N: sz[1], K: sz[2], Alpha: 1, Beta: 0.5, PadA: 1, PadB: 2, PadC: 3, RowBias: true, ColBias: true, Clamp: true, Lo: -3, Hi: 5}
						gemmtest.Run(t, fmt.Sprintf("%s/threads=%d/shared=%d", f.name, th, shared), f.f, c, rng)
					}
				}
			}
		}
	})
}

// TestPackedKeepsLevel checks that a PackedB made at one level still works
// after the dispatch level changes.
func TestPackedKeepsLevel(t *testing.T) {
	ls := cpu.Levels()
	if len(ls) < 2 {
		t.Skip("one level only")
	}
	m, n, k := 9, 37, 70
	a := make([]float32, m*k)
	b := make([]float32, k*n)
	for i := range a {
		a[i] = float32(i%7) - 3
	}
	for i := range b {
		b[i] = float32(i%5) - 2
	}
	want := make([]float32, m*n)
	SgemmRef(false, false, m, n, k, 1, a, k, b, n, 0, want, n)
	restore := cpu.Force(ls[len(ls)-1])
	pb := PackB(false, k, n, b, n)
	pa := PackA(false, m, k, a, k)
	restore()
	restore = cpu.Force(cpu.Generic)
	defer restore()
	got := make([]float32, m*n)
	SgemmPacked(m, a, k, pb, got, n, Epilogue{})
	got2 := make([]float32, m*n)
	SgemmPackedA(pa, n, b, n, got2, n, Epilogue{})
	for i := range want {
		if got[i] != want[i] || got2[i] != want[i] {
			t.Fatalf("element %d: packed %v / %v, want %v", i, got[i], got2[i], want[i])
		}
	}
}

func TestCheckPanics(t *testing.T) {
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", name)
			}
		}()
		f()
	}
	a := make([]float32, 6)
	mustPanic("short A", func() { Sgemm(false, false, 3, 3, 3, 1, a, 3, make([]float32, 9), 3, 0, make([]float32, 9), 3) })
	mustPanic("bad lda", func() { Sgemm(false, false, 2, 3, 3, 1, a, 2, make([]float32, 9), 3, 0, make([]float32, 9), 3) })
	mustPanic("short bias", func() {
		SgemmEp(false, false, 2, 3, 3, 1, a, 3, make([]float32, 9), 3, make([]float32, 6), 3, Epilogue{RowBias: []float32{1}})
	})
}

// TestConcurrentPacked shares one PackedB between goroutines that each run
// multi-threaded GEMMs at once (the pool is busy: spawned helpers take over).
func TestConcurrentPacked(t *testing.T) {
	oldMin := minMACsPerThread
	defer func() { minMACsPerThread = oldMin; SetThreads(0) }()
	minMACsPerThread = 1000
	SetThreads(2)
	m, n, k := 70, 90, 60
	a := make([]float32, m*k)
	b := make([]float32, k*n)
	for i := range a {
		a[i] = float32(i%11) - 5
	}
	for i := range b {
		b[i] = float32(i%7) - 3
	}
	want := make([]float32, m*n)
	SgemmRef(false, false, m, n, k, 1, a, k, b, n, 0, want, n)
	pb := PackB(false, k, n, b, n)
	errs := make(chan string, 8)
	done := make(chan bool)
	for g := 0; g < 4; g++ {
		go func() {
			c := make([]float32, m*n)
			for it := 0; it < 50; it++ {
				SgemmPacked(m, a, k, pb, c, n, Epilogue{})
				for i := range want {
					if c[i] != want[i] {
						errs <- fmt.Sprintf("element %d = %v, want %v", i, c[i], want[i])
						break
					}
				}
			}
			done <- true
		}()
	}
	for g := 0; g < 4; g++ {
		<-done
	}
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestGemmtestOnRef(t *testing.T) {
	gemmtest.TestSgemm(t, SgemmRef)
	gemmtest.TestSgemm(t, Sgemm)
}
