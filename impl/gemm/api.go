package gemm

import (
	"fmt"
	"runtime"
	"sync/atomic"

	"github.com/frugal-ml/frugal/impl/cpu"
)

// Activation selects the clamp applied last by an Epilogue.
type Activation uint8

const (
	ActNone  Activation = iota // no clamp
	ActRelu                    // max(x, 0)
	ActRelu6                   // min(max(x, 0), 6)
	ActClip                    // min(max(x, Min), Max)
)

// Epilogue describes what happens to each accumulated value acc = (A x B)[i][j]
// before it is stored: C[i][j] = act(acc + Beta*C[i][j] + RowBias[i] + ColBias[j]).
// The zero value stores acc unchanged (Beta 0 does not read C, so C may hold
// NaNs). NaN accumulators stay NaN through the clamps.
type Epilogue struct {
	Beta     float32
	RowBias  []float32 // nil, or one value per row of C (length >= m)
	ColBias  []float32 // nil, or one value per column of C (length >= n)
	Act      Activation
	Min, Max float32 // bounds of ActClip
}

func (e *Epilogue) bounds() (clamp bool, lo, hi float32) {
	switch e.Act {
	case ActNone:
		return false, 0, 0
	case ActRelu:
		return true, 0, float32(inf)
	case ActRelu6:
		return true, 0, 6
	case ActClip:
		return true, e.Min, e.Max
	}
	panic(fmt.Sprintf("gemm: unknown activation %d", e.Act))
}

var threads atomic.Int32

// SetThreads sets how many goroutines a large GEMM may use; n <= 0 restores
// the default, runtime.GOMAXPROCS(0) at call time.
func SetThreads(n int) {
	if n < 0 {
		n = 0
	}
	threads.Store(int32(n))
}

// Threads returns the current thread budget.
func Threads() int {
	if n := threads.Load(); n > 0 {
		return int(n)
	}
	return runtime.GOMAXPROCS(0)
}

// KernelName names the FP32 micro-kernel the current dispatch level uses.
func KernelName() string { return kernelFor(cpu.Current()).name }

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices, with
// op(X) = X or X^T: op(A) is m x k, op(B) is k x n, C is m x n. beta == 0
// overwrites C without reading it.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkMat("A", transA, m, k, a, lda)
	checkMat("B", transB, k, n, b, ldb)
	checkMat("C", false, m, n, c, ldc)
	j := job{
		kn: kernelFor(cpu.Current()), m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: operand{data: a, ld: lda, trans: transA},
		b: operand{data: b, ld: ldb, trans: transB},
		c: c, ldc: ldc,
	}
	j.run()
}

// SgemmEp computes C = act(alpha*op(A)*op(B) + ep.Beta*C + bias) with a
// fused epilogue.
func SgemmEp(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, ep Epilogue) {
	checkMat("A", transA, m, k, a, lda)
	checkMat("B", transB, k, n, b, ldb)
	checkMat("C", false, m, n, c, ldc)
	j := job{
		kn: kernelFor(cpu.Current()), m: m, n: n, k: k, alpha: alpha,
		a: operand{data: a, ld: lda, trans: transA},
		b: operand{data: b, ld: ldb, trans: transB},
		c: c, ldc: ldc,
	}
	j.setEpilogue(&ep)
	j.run()
}

// PackedB is a right-hand operand packed once for a kernel (for instance a
// layer's weights) and reused by SgemmPacked. It is read-only after PackB and
// may be used by many goroutines at once. It keeps the kernel (ISA level) it
// was packed for, whatever the dispatch level is later.
type PackedB struct {
	kn   *fkern
	k, n int  // k in packed units (bf16 pairs for a bf16 pack)
	kdim int  // logical depth
	bf16 bool // values rounded to bfloat16 (A is rounded too when used)
	npad int  // n rounded up to nr
	col0 int  // column of op(B) where data starts (0 unless a driver chunk)
	data []float32
}

// K and N return the packed operand's dimensions.
func (p *PackedB) K() int { return p.kdim }
func (p *PackedB) N() int { return p.n }

// PackB packs op(B) (k x n) for SgemmPacked.
func PackB(transB bool, k, n int, b []float32, ldb int) *PackedB {
	checkMat("B", transB, k, n, b, ldb)
	kn := kernelFor(cpu.Current())
	pb := &PackedB{kn: kn, k: k, kdim: k, n: n, npad: roundUp(n, kn.nr)}
	pb.data = alignedFloats(k * pb.npad)
	for pc := 0; pc < k; pc += kn.kc {
		kcur := min(kn.kc, k-pc)
		packB(kn.nr, pb.data[pc*pb.npad:], b, ldb, transB, pc, kcur, 0, n)
	}
	return pb
}

// SgemmPacked computes C = epilogue(A x B) with A m x k row-major (lda) and B
// prepacked by PackB.
func SgemmPacked(m int, a []float32, lda int, pb *PackedB, c []float32, ldc int, ep Epilogue) {
	checkMat("A", false, m, pb.kdim, a, lda)
	checkMat("C", false, m, pb.n, c, ldc)
	if pb.bf16 {
		sgemmPackedBF16(m, a, lda, pb, c, ldc, ep)
		return
	}
	j := job{
		kn: pb.kn, m: m, n: pb.n, k: pb.k, alpha: 1,
		a: operand{data: a, ld: lda},
		b: operand{pb: pb},
		c: c, ldc: ldc,
	}
	j.setEpilogue(&ep)
	j.run()
}

// SgemmPackedTransACols computes columns [n0, n1) of C = epilogue(A x B)
// on the calling goroutine, with A m x k given transposed, as a k x m
// row-major matrix a (lda), and B prepacked by PackB; n0 must be a
// multiple of the vector width (16 with AVX-512), so that goroutines can
// split the columns evenly in vectors rather than in panels (160 columns
// are 5 panels of 32, which two goroutines share 3:2, but 10 vectors).
//
// It is the GEMM of a pointwise convolution turned around: out^T[HW, Cout]
// = x^T[HW, Cin] x W^T[Cin, Cout], with x read in place in NCHW and the
// output channels in the vector lanes, so a 7x7 map (49 columns, which the
// upright kernel spreads over 64 lanes) wastes no lanes. The caller splits
// the work over goroutines itself (by columns or by rows of C), so each
// one finishes its own share while it is in its cache (see
// impl/ops/conv_pointwise_t.go).
func SgemmPackedTransACols(m int, a []float32, lda int, pb *PackedB, n0, n1 int, c []float32, ldc int, ep Epilogue) {
	sgemmPackedBCols("SgemmPackedTransACols", true, m, a, lda, pb, n0, n1, c, ldc, ep)
}

// SgemmPackedCols computes columns [n0, n1) of C = epilogue(A x B) on the
// calling goroutine, with A m x k row-major (lda) and B prepacked by
// PackB; n0 must be a multiple of pb.Vec(). It is SgemmPacked for callers
// that split the work themselves (a channels-last pointwise convolution:
// out[HW, Cout] = x[HW, Cin] x W^T, x read in place).
func SgemmPackedCols(m int, a []float32, lda int, pb *PackedB, n0, n1 int, c []float32, ldc int, ep Epilogue) {
	sgemmPackedBCols("SgemmPackedCols", false, m, a, lda, pb, n0, n1, c, ldc, ep)
}

// sgemmPackedBCols is SgemmPackedCols and SgemmPackedTransACols: columns
// [n0, n1) of C = epilogue(op(A) x B) on the calling goroutine.
func sgemmPackedBCols(name string, transA bool, m int, a []float32, lda int, pb *PackedB, n0, n1 int, c []float32, ldc int, ep Epilogue) {
	checkMat("A", transA, m, pb.kdim, a, lda)
	checkMat("C", false, m, pb.n, c, ldc)
	if pb.bf16 {
		panic("gemm: " + name + " with a bfloat16 PackedB")
	}
	kn := pb.kn
	if n0 < 0 || n1 > pb.n || n0%kn.vec != 0 {
		panic(fmt.Sprintf("gemm: %s columns [%d, %d) of %d (vector %d)", name, n0, n1, pb.n, kn.vec))
	}
	if m == 0 || n0 >= n1 {
		return
	}
	j := job{
		kn: kn, m: m, n: pb.n, k: pb.k, alpha: 1,
		a: operand{data: a, ld: lda, trans: transA},
		b: operand{pb: pb},
		c: c, ldc: ldc, threads: 1,
	}
	if !transA && !colsDirectA {
		// Pack A's panels rather than read its rows in place.
		j.packAF = func(dst []float32, i0, mcur, p0, kcur int) {
			packA(kn.mr, dst, a, lda, false, i0, mcur, p0, kcur)
		}
	}
	j.setEpilogue(&ep)
	if j.k == 0 {
		// Only this call's columns: others may be written concurrently.
		j.c, j.n = c[n0:], n1-n0
		if j.colBias != nil {
			j.colBias = j.colBias[n0:]
		}
		j.scaleOnly()
		return
	}
	j.workerCols(0, m, n0, n1)
}

// colsDirectA lets SgemmPackedCols read A in place (benchmarks compare).
var colsDirectA = true

// SetColsDirectA is colsDirectA's switch for benchmarks in other packages.
func SetColsDirectA(on bool) { colsDirectA = on }

// workerCols is worker on one goroutine for a prepacked B whose column
// range may start inside a panel (at a vector boundary).
func (j *job) workerCols(m0, m1, n0, n1 int) {
	ws := getWS()
	defer putWS(ws)
	pb, nr := j.b.pb, j.kn.nr
	if s := n0 % nr; s != 0 {
		// A start inside a panel: the rest of that panel through a view
		// whose panels begin s columns in (same rows, same stride).
		e := min(n1, n0-s+nr)
		view := *pb
		view.data, view.col0 = pb.data[s:], pb.col0+s
		jv := *j
		jv.b = operand{pb: &view}
		jv.worker(m0, m1, n0, e, ws)
		n0 = e
	}
	j.worker(m0, m1, n0, n1, ws)
}

// Tile is the micro-tile of the packing's kernel: mr rows of C by nr
// columns (one packed panel).
func (p *PackedB) Tile() (mr, nr int) { return p.kn.mr, p.kn.nr }

// Vec is the vector width of the packing's kernel: column ranges handed
// to SgemmPackedTransACols start at multiples of it.
func (p *PackedB) Vec() int { return p.kn.vec }

// PackedA is a left-hand operand packed once (for instance convolution
// weights W[Cout, K] in out = W x im2col). Read-only and shareable like
// PackedB.
type PackedA struct {
	kn   *fkern
	m, k int
	data []float32
}

// M and K return the packed operand's dimensions.
func (p *PackedA) M() int { return p.m }
func (p *PackedA) K() int { return p.k }

// Nr is the column width of the micro-kernel the operand was packed for:
// callers that feed B in column chunks keep chunks a multiple of it.
func (p *PackedA) Nr() int { return p.kn.nr }

// PackA packs op(A) (m x k) for SgemmPackedA.
func PackA(transA bool, m, k int, a []float32, lda int) *PackedA {
	checkMat("A", transA, m, k, a, lda)
	kn := kernelFor(cpu.Current())
	pa := &PackedA{kn: kn, m: m, k: k, data: alignedFloats(m * k)}
	for pc := 0; pc < k; pc += kn.kc {
		kcur := min(kn.kc, k-pc)
		packA(kn.mr, pa.data[pc*m:], a, lda, transA, 0, m, pc, kcur)
	}
	return pa
}

// SgemmPackedA computes C = epilogue(A x B) with A prepacked by PackA and B
// k x n row-major (ldb).
func SgemmPackedA(pa *PackedA, n int, b []float32, ldb int, c []float32, ldc int, ep Epilogue) {
	SgemmPackedAThreads(0, pa, n, b, ldb, c, ldc, ep)
}

// SgemmPackedAThreads is SgemmPackedA using at most threads goroutines
// (0 means Threads()). Callers that already split work across goroutines,
// such as a convolution running one column chunk per thread, pass 1.
func SgemmPackedAThreads(threads int, pa *PackedA, n int, b []float32, ldb int, c []float32, ldc int, ep Epilogue) {
	checkMat("B", false, pa.k, n, b, ldb)
	checkMat("C", false, pa.m, n, c, ldc)
	j := job{
		kn: pa.kn, m: pa.m, n: n, k: pa.k, alpha: 1,
		a: operand{pa: pa},
		b: operand{data: b, ld: ldb},
		c: c, ldc: ldc, threads: threads,
	}
	j.setEpilogue(&ep)
	j.run()
}

func (j *job) setEpilogue(ep *Epilogue) {
	j.beta = ep.Beta
	if ep.RowBias != nil {
		if len(ep.RowBias) < j.m {
			panic(fmt.Sprintf("gemm: RowBias has %d values, want >= %d", len(ep.RowBias), j.m))
		}
		j.rowBias = ep.RowBias
	}
	if ep.ColBias != nil {
		if len(ep.ColBias) < j.n {
			panic(fmt.Sprintf("gemm: ColBias has %d values, want >= %d", len(ep.ColBias), j.n))
		}
		j.colBias = ep.ColBias
	}
	j.clamp, j.lo, j.hi = ep.bounds()
}

// checkMat panics unless x holds a rows x cols matrix (cols x rows when
// trans) with leading dimension ld.
func checkMat(name string, trans bool, rows, cols int, x []float32, ld int) {
	if rows < 0 || cols < 0 {
		panic(fmt.Sprintf("gemm: negative dimension for %s: %d x %d", name, rows, cols))
	}
	if trans {
		rows, cols = cols, rows
	}
	if ld < max(1, cols) {
		panic(fmt.Sprintf("gemm: leading dimension of %s is %d, want >= %d", name, ld, max(1, cols)))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if need := (rows-1)*ld + cols; len(x) < need {
		panic(fmt.Sprintf("gemm: %s has %d elements, want >= %d", name, len(x), need))
	}
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }
