// Package gemmtest is a reusable conformance suite for FP32 GEMM
// implementations (in the style of gonum's testblas): every implementation
// of the Sgemm signature is checked against a float64 oracle over a sweep of
// sizes, transposes, strides and alpha/beta cases, with guard values around
// every buffer.
package gemmtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// SgemmFunc is the signature of gemm.Sgemm.
type SgemmFunc func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

// Epilogue mirrors gemm.Epilogue for implementations that fuse one.
type Epilogue struct {
	Beta             float32
	RowBias, ColBias []float32
	Lo, Hi           float32 // clamp bounds when Clamp
	Clamp            bool
}

// SgemmEpFunc computes C = clamp(alpha*op(A)op(B) + Beta*C + bias).
type SgemmEpFunc func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, ep Epilogue)

const guard = 4096 // guard values around each buffer

var sentinel = float32(math.Float32frombits(0x7fa00bad)) // a NaN payload only overruns write

// Buf is a matrix buffer with guard zones and a gap between rows.
type Buf struct {
	all        []float32
	off, n     int
	rows, cols int
	ld         int
}

// NewBuf allocates rows x cols with leading dimension ld (>= cols), guard
// zones before and after, and fills the gaps with fill.
func NewBuf(rows, cols, ld int, fill float32) *Buf {
	n := 0
	if rows > 0 && cols > 0 {
		n = (rows-1)*ld + cols
	}
	b := &Buf{all: make([]float32, n+2*guard), off: guard, n: n, rows: rows, cols: cols, ld: ld}
	for i := range b.all {
		b.all[i] = fill
	}
	return b
}

// S returns the matrix slice handed to the implementation (len exactly n).
func (b *Buf) S() []float32 { return b.all[b.off : b.off+b.n : b.off+b.n] }

// At returns element (i, j).
func (b *Buf) At(i, j int) float32 { return b.all[b.off+i*b.ld+j] }

// Set sets element (i, j).
func (b *Buf) Set(i, j int, v float32) { b.all[b.off+i*b.ld+j] = v }

// CheckGuards reports writes outside the matrix elements (guards and row gaps).
func (b *Buf) CheckGuards(t testing.TB, name string, fill float32) bool {
	t.Helper()
	ok := true
	for idx, v := range b.all {
		rel := idx - b.off
		inside := false
		if rel >= 0 && rel < b.n {
			inside = rel%b.ld < b.cols
		}
		if !inside && math.Float32bits(v) != math.Float32bits(fill) {
			t.Errorf("%s: guard/gap element %d (relative %d) overwritten with %v", name, idx, rel, v)
			ok = false
			break
		}
	}
	return ok
}

// Case is one GEMM problem.
type Case struct {
	TransA, TransB bool
	M, N, K        int
	Alpha, Beta    float32
	PadA, PadB     int // extra leading-dimension elements
	PadC           int
	NaNC           bool // fill C with NaN (only meaningful with Beta == 0)
	RowBias        bool
	ColBias        bool
	Clamp          bool
	Lo, Hi         float32
}

func (c Case) String() string {
	return fmt.Sprintf("tA=%v tB=%v m=%d n=%d k=%d alpha=%v beta=%v pad=%d/%d/%d nan=%v rb=%v cb=%v clamp=%v[%v,%v]",
		c.TransA, c.TransB, c.M, c.N, c.K, c.Alpha, c.Beta, c.PadA, c.PadB, c.PadC, c.NaNC, c.RowBias, c.ColBias, c.Clamp, c.Lo, c.Hi)
}

// Sizes returns a sweep of dimensions around the tile sizes given: 0, 1,
// t-1, t, t+1, 2t+1 for every t, plus a few odd and prime sizes.
func Sizes(tiles ...int) []int {
	set := map[int]bool{0: true, 1: true, 2: true, 3: true, 7: true, 23: true}
	for _, t := range tiles {
		for _, v := range []int{t - 1, t, t + 1, 2*t + 1} {
			if v >= 0 {
				set[v] = true
			}
		}
	}
	var out []int
	for v := range set {
		out = append(out, v)
	}
	sortInts(out)
	return out
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// Run checks one case against the float64 oracle.
func Run(t testing.TB, name string, f SgemmEpFunc, c Case, rng *rand.Rand) bool {
	t.Helper()
	ar, ac := c.M, c.K
	if c.TransA {
		ar, ac = ac, ar
	}
	br, bc := c.K, c.N
	if c.TransB {
		br, bc = bc, br
	}
	lda, ldb, ldc := max(1, ac+c.PadA), max(1, bc+c.PadB), max(1, c.N+c.PadC)
	const bigA = 1e30 // gaps of A and B: if read into a result it shows
	A := NewBuf(ar, ac, lda, bigA)
	B := NewBuf(br, bc, ldb, bigA)
	cfill := sentinel
	C := NewBuf(c.M, c.N, ldc, cfill)
	for i := 0; i < ar; i++ {
		for j := 0; j < ac; j++ {
			A.Set(i, j, float32(rng.IntN(17)-8)/4+float32(rng.Float64()*0.01))
		}
	}
	for i := 0; i < br; i++ {
		for j := 0; j < bc; j++ {
			B.Set(i, j, float32(rng.IntN(17)-8)/4+float32(rng.Float64()*0.01))
		}
	}
	c0 := make([]float32, c.M*c.N)
	for i := 0; i < c.M; i++ {
		for j := 0; j < c.N; j++ {
			v := float32(rng.IntN(9) - 4)
			if c.NaNC {
				v = float32(math.NaN())
			}
			C.Set(i, j, v)
			c0[i*c.N+j] = v
		}
	}
	ep := Epilogue{Beta: c.Beta, Clamp: c.Clamp, Lo: c.Lo, Hi: c.Hi}
	if c.RowBias {
		ep.RowBias = make([]float32, c.M)
		for i := range ep.RowBias {
			ep.RowBias[i] = float32(rng.IntN(9)-4) / 2
		}
	}
	if c.ColBias {
		ep.ColBias = make([]float32, c.N)
		for i := range ep.ColBias {
			ep.ColBias[i] = float32(rng.IntN(9)-4) / 2
		}
	}
	aS, bS := A.S(), B.S()
	f(c.TransA, c.TransB, c.M, c.N, c.K, c.Alpha, aS, lda, bS, ldb, C.S(), ldc, ep)
	ok := A.CheckGuards(t, name+" A", bigA) && B.CheckGuards(t, name+" B", bigA) && C.CheckGuards(t, name+" C", cfill)
	opA := func(i, p int) float64 {
		if c.TransA {
			return float64(A.At(p, i))
		}
		return float64(A.At(i, p))
	}
	opB := func(p, j int) float64 {
		if c.TransB {
			return float64(B.At(j, p))
		}
		return float64(B.At(p, j))
	}
	bad := 0
	for i := 0; i < c.M; i++ {
		for j := 0; j < c.N; j++ {
			var s, sa float64
			if c.Alpha != 0 {
				for p := 0; p < c.K; p++ {
					s += opA(i, p) * opB(p, j)
					sa += math.Abs(opA(i, p) * opB(p, j))
				}
			}
			v := float64(c.Alpha) * s
			mag := math.Abs(float64(c.Alpha)) * sa
			if c.Beta != 0 {
				v += float64(c.Beta) * float64(c0[i*c.N+j])
				mag += math.Abs(float64(c.Beta) * float64(c0[i*c.N+j]))
			}
			if ep.RowBias != nil {
				v += float64(ep.RowBias[i])
				mag += math.Abs(float64(ep.RowBias[i]))
			}
			if ep.ColBias != nil {
				v += float64(ep.ColBias[j])
				mag += math.Abs(float64(ep.ColBias[j]))
			}
			if c.Clamp {
				v = math.Min(math.Max(v, float64(c.Lo)), float64(c.Hi))
			}
			got := float64(C.At(i, j))
			tol := float64(c.K+4)*math.Pow(2, -23)*mag*2 + 1e-30
			if math.IsNaN(got) || math.Abs(got-v) > tol {
				if bad < 3 {
					t.Errorf("%s %v: C[%d][%d] = %v, want %v (tol %g)", name, c, i, j, got, v, tol)
				}
				bad++
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s %v: %d of %d elements wrong", name, c, bad, c.M*c.N)
	}
	return ok && bad == 0
}

// Sweep runs the standard sweep of shapes for an implementation whose
// register tile is mr x nr and depth block kc (the sizes straddle them).
func Sweep(t *testing.T, name string, f SgemmEpFunc, mr, nr, kc int, withEpilogue bool) {
	rng := rand.New(rand.NewPCG(1, uint64(mr*1000+nr)))
	ms := Sizes(mr, 2*mr)
	ns := Sizes(nr, nr/2)
	ks := []int{0, 1, 2, 3, 5, 16, kc - 1, kc, kc + 1, 2*kc + 3}
	fails := 0
	check := func(c Case) {
		if !Run(t, name, f, c, rng) {
			fails++
			if fails > 10 {
				t.Fatalf("%s: too many failures", name)
			}
		}
	}
	// Shapes: all (m, n) with a few k, all transposes.
	for _, m := range ms {
		for _, n := range ns {
			k := ks[rng.IntN(len(ks))]
			tA, tB := rng.IntN(2) == 1, rng.IntN(2) == 1
			check(Case{TransA: tA, TransB: tB, M: m, N: n, K: k, Alpha: 1, PadA: rng.IntN(3), PadB: rng.IntN(3), PadC: rng.IntN(3)})
		}
	}
	for _, k := range ks {
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				m := ms[rng.IntN(len(ms))]
				n := ns[rng.IntN(len(ns))]
				check(Case{TransA: tA, TransB: tB, M: m, N: n, K: k, Alpha: 1, PadA: 1, PadB: 2, PadC: 3})
			}
		}
	}
	// alpha/beta cases incl. beta = 0 over NaN-filled C.
	type ab struct {
		alpha, beta float32
		nan         bool
	}
	for _, x := range []ab{{1, 0, true}, {1, 1, false}, {-0.5, 0, true}, {2, -1.5, false}, {0, 0.5, false}, {0, 0, true}, {1, 0.25, false}} {
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				for _, sz := range [][3]int{{mr + 1, nr + 3, kc + 1}, {2*mr + 3, 2*nr - 1, 37}, {1, 2*nr + 1, 9}, {5, 3, 4}} {
					check(Case{TransA: tA, TransB: tB, M: sz[0], N: sz[1], K: sz[2], Alpha: x.alpha, Beta: x.beta, NaNC: x.nan, PadA: 1, PadB: 1, PadC: 1})
				}
			}
		}
	}
	// Odd and prime sizes, larger.
	for _, sz := range [][3]int{{97, 89, 101}, {131, 67, 257}, {61, 193, 29}, {2*mr*3 + 1, 3*nr + 5, 2*kc + 1}} {
		check(Case{TransA: rng.IntN(2) == 1, TransB: rng.IntN(2) == 1, M: sz[0], N: sz[1], K: sz[2], Alpha: 1, Beta: 0, NaNC: true, PadC: 5})
	}
	if !withEpilogue {
		return
	}
	for _, sz := range [][3]int{{1, 1, 1}, {mr, nr, 3}, {mr + 1, nr + 1, kc + 1}, {2*mr - 1, nr/2 + 1, 17}, {3, 2*nr + 7, 64}, {71, 53, 130}} {
		for mask := 0; mask < 8; mask++ {
			c := Case{M: sz[0], N: sz[1], K: sz[2], Alpha: 1, RowBias: mask&1 != 0, ColBias: mask&2 != 0, PadC: 2}
			if mask&4 != 0 {
				c.Beta = 1
			} else {
				c.NaNC = true
			}
			for _, cl := range [][2]float32{{0, 0}, {0, float32(math.Inf(1))}, {0, 6}, {-1, 1.5}} {
				c.Clamp = cl != [2]float32{0, 0}
				c.Lo, c.Hi = cl[0], cl[1]
				c.TransA, c.TransB = rng.IntN(2) == 1, rng.IntN(2) == 1
				check(c)
			}
		}
	}
}

// Plain adapts an SgemmFunc (no epilogue) to SgemmEpFunc; it fails the case
// if an epilogue is requested.
func Plain(f SgemmFunc) SgemmEpFunc {
	return func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, ep Epilogue) {
		if ep.RowBias != nil || ep.ColBias != nil || ep.Clamp {
			panic("gemmtest.Plain: implementation has no epilogue")
		}
		f(transA, transB, m, n, k, alpha, a, lda, b, ldb, ep.Beta, c, ldc)
	}
}

// TestSgemm is the conformance suite for any implementation of the Sgemm
// signature (for instance ref.Sgemm or autograd's GEMM hook):
//
//	func TestMyGemm(t *testing.T) { gemmtest.TestSgemm(t, mypkg.Sgemm) }
//
// It sweeps sizes around common register tiles (4, 8, 14, 16, 32) and depth
// blocks, all transposes and the alpha/beta cases, with guards around every
// buffer.
func TestSgemm(t *testing.T, f SgemmFunc) {
	Sweep(t, "Sgemm", Plain(f), 14, 32, 64, false)
	Sweep(t, "Sgemm", Plain(f), 4, 8, 17, false)
}
