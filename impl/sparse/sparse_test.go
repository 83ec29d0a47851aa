package sparse

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/frugal-ml/frugal/impl/cpu"
	"github.com/frugal-ml/frugal/impl/gemm"
)

func TestSargsLayout(t *testing.T) {
	var s sargs
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"rowPtr", unsafe.Offsetof(s.rowPtr), 0}, {"colIdx", unsafe.Offsetof(s.colIdx), 8}, {"val", unsafe.Offsetof(s.val), 16},
		{"nbr", unsafe.Offsetof(s.nbr), 24}, {"c", unsafe.Offsetof(s.c), 32}, {"x", unsafe.Offsetof(s.x), 40},
		{"ldx", unsafe.Offsetof(s.ldx), 48}, {"y", unsafe.Offsetof(s.y), 56}, {"ldy", unsafe.Offsetof(s.ldy), 64},
		{"flags", unsafe.Offsetof(s.flags), 72}, {"beta", unsafe.Offsetof(s.beta), 80}, {"lo", unsafe.Offsetof(s.lo), 84},
		{"hi", unsafe.Offsetof(s.hi), 88}, {"rowBias", unsafe.Offsetof(s.rowBias), 96}, {"colBias", unsafe.Offsetof(s.colBias), 104},
		{"mask", unsafe.Offsetof(s.mask), 112}, {"ldxC", unsafe.Offsetof(s.ldxC), 120}, {"meta", unsafe.Offsetof(s.meta), 128},
		{"groups", unsafe.Offsetof(s.groups), 136}, {"skip", unsafe.Offsetof(s.skip), 144}, {"maskv", unsafe.Offsetof(s.maskv), 152},
	} {
		if c.got != c.want {
			t.Errorf("sargs.%s at %d, assembly expects %d", c.name, c.got, c.want)
		}
	}
}

// randSparse returns a dense m x k matrix with about density nonzeros.
func randSparse(rng *rand.Rand, m, k int, density float64) []float32 {
	w := make([]float32, m*k)
	for i := range w {
		if rng.Float64() < density {
			w[i] = float32(rng.IntN(17)-8)/4 + 0.125
		}
	}
	return w
}

// blockSparse zeroes whole r x c blocks with probability 1-density.
func blockSparse(rng *rand.Rand, m, k, r, c int, density float64) []float32 {
	w := make([]float32, m*k)
	for bi := 0; bi < m; bi += r {
		for bj := 0; bj < k; bj += c {
			if rng.Float64() >= density {
				continue
			}
			for i := bi; i < min(bi+r, m); i++ {
				for j := bj; j < min(bj+c, k); j++ {
					if rng.IntN(8) != 0 {
						w[i*k+j] = float32(rng.IntN(17)-8)/4 + 0.125
					}
				}
			}
		}
	}
	return w
}

// check runs mm (a sparse MatMul) against the float64 dense oracle with
// guards around Y.
func check(t *testing.T, name string, rng *rand.Rand, w []float32, m, k, n int, mm func(x []float32, ldx int, y []float32, ldy int, ep gemm.Epilogue)) {
	t.Helper()
	ldx, ldy := n+rng.IntN(3), n+rng.IntN(3)
	ldx, ldy = max(ldx, 1), max(ldy, 1)
	x := make([]float32, max(0, (k-1)*ldx+n))
	if k == 0 {
		x = x[:0]
	}
	for i := range x {
		x[i] = float32(rng.IntN(17)-8) / 8
	}
	ep := gemm.Epilogue{}
	switch rng.IntN(4) {
	case 1:
		ep.Beta = 0.5
	case 2:
		ep.RowBias = make([]float32, m)
		for i := range ep.RowBias {
			ep.RowBias[i] = float32(i%5) - 2
		}
		ep.Act = gemm.ActRelu
	case 3:
		ep.ColBias = make([]float32, n)
		for i := range ep.ColBias {
			ep.ColBias[i] = float32(i%3) - 1
		}
		ep.Beta = 1
		ep.Act, ep.Min, ep.Max = gemm.ActClip, -2, 3
	}
	const g = 32
	sentinel := float32(-7777)
	ny := 0
	if m > 0 && n > 0 {
		ny = (m-1)*ldy + n
	}
	buf := make([]float32, ny+2*g)
	for i := range buf {
		buf[i] = sentinel
	}
	y := buf[g : g+ny : g+ny]
	y0 := make([]float32, ny)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			y[i*ldy+j] = float32(rng.IntN(5) - 2)
		}
	}
	copy(y0, y)
	mm(x, ldx, y, ldy, ep)
	for i, v := range buf {
		rel := i - g
		if (rel < 0 || rel >= ny || rel%ldy >= n) && v != sentinel {
			t.Fatalf("%s m=%d k=%d n=%d: guard %d overwritten", name, m, k, n, rel)
		}
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, mag float64
			for p := 0; p < k; p++ {
				s += float64(w[i*k+p]) * float64(x[p*ldx+j])
				mag += math.Abs(float64(w[i*k+p]) * float64(x[p*ldx+j]))
			}
			if ep.Beta != 0 {
				s += float64(ep.Beta) * float64(y0[i*ldy+j])
				mag += math.Abs(float64(y0[i*ldy+j]))
			}
			if ep.RowBias != nil {
				s += float64(ep.RowBias[i])
			}
			if ep.ColBias != nil {
				s += float64(ep.ColBias[j])
			}
			switch ep.Act {
			case gemm.ActRelu:
				s = math.Max(s, 0)
			case gemm.ActClip:
				s = math.Min(math.Max(s, -2), 3)
			}
			got := float64(y[i*ldy+j])
			if math.Abs(got-s) > 1e-6*(mag+1)*float64(k+2) {
				t.Fatalf("%s m=%d k=%d n=%d ep=%+v: Y[%d][%d] = %v, want %v", name, m, k, n, ep, i, j, got, s)
			}
		}
	}
}

func forEachLevel(t *testing.T, f func(t *testing.T)) {
	for _, l := range cpu.Levels() {
		t.Run(l.String(), func(t *testing.T) {
			restore := cpu.Force(l)
			defer restore()
			f(t)
		})
	}
}

var sweepN = []int{0, 1, 5, 15, 16, 17, 31, 33, 47, 48, 49, 63, 64, 65, 100, 129}

func TestCSR(t *testing.T) {
	old := minPerSlab
	defer func() { minPerSlab = old }()
	for _, mps := range []float64{0, 1e9} { // K slabs always / never
		minPerSlab = mps
		testCSR(t)
	}
}

func testCSR(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 1))
		for _, mk := range [][2]int{{0, 5}, {1, 1}, {3, 0}, {7, 13}, {16, 64}, {33, 100}} {
			for _, d := range []float64{0, 0.1, 0.5, 1} {
				for _, n := range sweepN {
					m, k := mk[0], mk[1]
					w := randSparse(rng, m, k, d)
					c := NewCSR(m, k, w, max(k, 1))
					check(t, "CSR", rng, w, m, k, n, func(x []float32, ldx int, y []float32, ldy int, ep gemm.Epilogue) {
						c.MatMul(n, x, ldx, y, ldy, ep)
					})
				}
			}
		}
	})
}

func TestBSR(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(2, 2))
		for _, r := range []int{1, 2, 4, 8} {
			for _, c := range []int{1, 2, 4} {
				for _, mk := range [][2]int{{1, 4}, {r, 8}, {2*r + 1, 12}, {37, 64}} {
					for _, n := range []int{1, 16, 17, 47, 48, 49, 64, 65, 130} {
						m, k := mk[0], mk[1]
						w := blockSparse(rng, m, k, r, c, 0.4)
						b, err := NewBSR(m, k, r, c, w, k)
						if err != nil {
							t.Fatal(err)
						}
						check(t, fmt.Sprintf("BSR%dx%d", r, c), rng, w, m, k, n, func(x []float32, ldx int, y []float32, ldy int, ep gemm.Epilogue) {
							b.MatMul(n, x, ldx, y, ldy, ep)
						})
					}
				}
			}
		}
	})
}

func TestNM24(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 3))
		for _, mk := range [][2]int{{1, 1}, {1, 4}, {3, 7}, {5, 13}, {16, 64}, {21, 130}} {
			for _, n := range sweepN {
				m, k := mk[0], mk[1]
				w := randSparse(rng, m, k, 0.8)
				Prune24(m, k, w, k)
				s, err := NewNM24(m, k, w, k)
				if err != nil {
					t.Fatal(err)
				}
				check(t, "NM24", rng, w, m, k, n, func(x []float32, ldx int, y []float32, ldy int, ep gemm.Epilogue) {
					s.MatMul(n, x, ldx, y, ldy, ep)
				})
			}
		}
	})
}

func TestFormatsRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	m, k := 19, 24
	w := randSparse(rng, m, k, 0.3)
	eq := func(name string, d []float32) {
		for i := range w {
			if d[i] != w[i] {
				t.Fatalf("%s: element %d = %v, want %v", name, i, d[i], w[i])
			}
		}
	}
	eq("CSR", NewCSR(m, k, w, k).Dense())
	b, _ := NewBSR(m, k, 4, 2, w, k)
	eq("BSR", b.Dense())
	Prune24(m, k, w, k)
	s, err := NewNM24(m, k, w, k)
	if err != nil {
		t.Fatal(err)
	}
	eq("NM24", s.Dense())
	bad := []float32{1, 2, 3, 0}
	if _, err := NewNM24(1, 4, bad, 4); err == nil {
		t.Error("NewNM24 accepted 3 nonzeros in a group")
	}
	if _, err := NewBSR(4, 6, 3, 1, make([]float32, 24), 6); err == nil {
		t.Error("NewBSR accepted R = 3")
	}
	if _, err := NewBSR(4, 6, 4, 4, make([]float32, 24), 6); err == nil {
		t.Error("NewBSR accepted C not dividing K")
	}
}

func TestThreads(t *testing.T) {
	old := minMACsPerThread
	defer func() { minMACsPerThread = old; gemm.SetThreads(0) }()
	minMACsPerThread = 10
	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 5))
		for _, th := range []int{2, 3} {
			gemm.SetThreads(th)
			m, k, n := 67, 50, 70
			w := randSparse(rng, m, k, 0.2)
			c := NewCSR(m, k, w, k)
			check(t, "CSR-threads", rng, w, m, k, n, func(x []float32, ldx int, y []float32, ldy int, ep gemm.Epilogue) { c.MatMul(n, x, ldx, y, ldy, ep) })
			wb := blockSparse(rng, m, k, 4, 1, 0.3)
			b, _ := NewBSR(m, k, 4, 1, wb, k)
			check(t, "BSR-threads", rng, wb, m, k, n, func(x []float32, ldx int, y []float32, ldy int, ep gemm.Epilogue) { b.MatMul(n, x, ldx, y, ldy, ep) })
			Prune24(m, k, w, k)
			s, _ := NewNM24(m, k, w, k)
			check(t, "NM24-threads", rng, w, m, k, n, func(x []float32, ldx int, y []float32, ldy int, ep gemm.Epilogue) { s.MatMul(n, x, ldx, y, ldy, ep) })
		}
	})
}
