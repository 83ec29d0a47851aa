package ops

// Pruned weights on the sparse kernels of impl/sparse.
//
// Conv (and ai.frugal:FusedConv), Gemm and MatMul with a constant float32
// weight register one implementation per sparse format ("sparse-csr",
// "sparse-bsr8x1", "sparse-bsr4x1", "sparse-bsr4x4") above the dense ones.
// Their Match inspects the weight once when the session is built: it counts
// the nonzeros (CSR) and the R x C blocks holding a nonzero (BSR), keeps the
// formats that beat the dense GEMM on the measured crossover (below) and
// ranks them by estimated speed-up; the best format that is not disabled
// matches, every other Match of the node declines, and a weight that is
// dense enough matches none, so the dense kernel runs. Build converts the
// weight once; the converted matrix is only read afterwards, so Sessions
// may run concurrently.
//
// The sparse kernels compute Y = W x X with the sparse matrix on the left:
//
//   - Conv: Y[Cout/G, OH*OW] = W_g[Cout/G, Cin/G*KH*KW] x im2col(x_g) per
//     image and group, bias and fused activation in the kernels' epilogue.
//     A 1x1 stride-1 unpadded Conv multiplies the input directly. Other
//     stride-1 Convs with CSR or R x 1 blocks need no im2col either: the
//     weights' column indices are re-indexed (once per input size) to
//     offsets into a zero-padded copy of the input, whose shifted windows
//     are the rows of the im2col matrix (sparse.CSR.MatMulWindows); the
//     output comes out with the padded row pitch and is compacted. Strided
//     Convs and 4x4 blocks expand im2col a chunk of columns at a time.
//   - Gemm Y[M, N] = alpha A'[M, K] B'[K, N] + beta C and MatMul
//     Y[..., M, N] = A[..., M, K] B[K, N]: Y^T[N, M] = W[N, K] A'^T[K, M]
//     with W = alpha B'^T. The activation is transposed into scratch (not
//     at batch 1, nor with transA, where A is already A'^T), and Y^T back;
//     beta C becomes a row bias ([N], [1, N], scalar), a column bias
//     ([M, 1]) or the kernels' Beta with Y^T preloaded ([M, N]).
//
// Inputs the sparse kernels do not handle (other dtypes or ranks, a
// broadcasting FusedConv addend) run the node's dense kernel, built on
// first use.
//
// # Thresholds (measured on this 2-core AVX-512 EPYC, one thread's CPU time)
//
// Speed-up over the dense implementation through the registry (Build +
// Run; TestSparseOpsCrossover), by stored fraction (nonzeros for CSR,
// kept blocks for BSR):
//
//	                                 CSR 0.1  0.2   0.3   0.4 | 8x1 0.3  0.5   0.6   0.8 | 4x1 0.3  0.6 | 4x4 0.3  0.6
//	Gemm 1024x1024, batch 64         3.5x  2.0x  1.3x  1.2x  | 2.9x  2.1x  1.8x  1.4x  | 3.2x  1.7x  | 2.9x  1.8x
//	Gemm 1024x1024, batch 8          2.7x  1.5x  1.0x  0.4x  | 2.9x  1.7x  1.5x  1.2x  | 2.0x  1.1x  | 2.0x  1.1x
//	Gemm 1024x1024, batch 1          2.3x  1.2x  0.8x  0.3x  | 2.6x  1.6x  1.4x  1.0x  | 1.8x  0.9x  | 1.8x  0.9x
//	Conv 3x3 256->256 @14x14         3.6x  2.0x  1.4x  1.1x  | 3.8x  2.4x  2.0x  1.5x  | 3.4x  1.8x  | 1.9x  1.3x
//	Conv 3x3 64->64 @56x56           4.9x  3.1x  2.1x  1.7x  | 5.2x  3.5x  2.8x  2.4x  | 4.2x  2.4x  | 2.6x  1.8x
//	Conv 3x3 128->256 @28x28 s2      2.5x  1.6x  1.2x  1.1x  | 2.3x  1.8x  1.5x  1.3x  | 2.3x  1.4x  | 2.2x  1.5x
//	Conv 1x1 256->1024 @14x14        2.5x  1.7x  1.2x  0.9x  | 2.2x  1.6x  1.7x  1.3x  | 2.7x  1.3x  | 2.2x  1.3x
//
// A format's speed-up is estimated as rate / stored fraction with the rates
// of sparseFormats (CSR 0.33, 8x1 0.87, 4x1 0.75, 4x4 0.70: the lower end
// of the table's speed-up x fraction); a format is eligible when the
// estimate is at least SparseMinSpeedup (1.1) and it stores at most
// SparseCSRMaxDensity (0.30) nonzeros or SparseBSRMaxBlocks (0.60) kept
// blocks. The kernels lose at small n (the batch of a Gemm or MatMul: each
// nonzero then feeds one lane), so a batch below 2 (below 8) runs the dense
// kernel unless the estimate is at least 1.3 (1.2): SparseSmallBatch.

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"weak"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/gemm"
	"github.com/frugal-ml/frugal/impl/sparse"
	"github.com/frugal-ml/frugal/tensor"
)

// SparsePriority is the priority of the sparse implementations: above the
// dense float32 kernels, which they fall back to by declining.
const SparsePriority = 20

// Selection thresholds (see the package comment above); tests and
// experiments may change them before sessions are built.
var (
	// SparseCSRMaxDensity is the largest fraction of nonzeros CSR takes.
	SparseCSRMaxDensity = 0.30
	// SparseBSRMaxBlocks is the largest fraction of kept blocks BSR takes.
	SparseBSRMaxBlocks = 0.60
	// SparseMinSpeedup is the estimated speed-up over dense a format needs.
	SparseMinSpeedup = 1.1
)

// SparseBatchRule: a Gemm or MatMul whose batch (the sparse kernels' n) is
// below N runs the dense kernel unless the weight's estimated speed-up is
// at least MinSpeedup.
type SparseBatchRule struct {
	N          int
	MinSpeedup float64
}

// SparseSmallBatch are the small-batch rules, by increasing N (measured at
// batch 1, the speed-up is about 0.9 times the estimate, see above).
var SparseSmallBatch = []SparseBatchRule{{N: 2, MinSpeedup: 1.3}, {N: 8, MinSpeedup: 1.2}}

// SparseDisableAll is the Disabled name that turns all sparse
// implementations off (FRUGAL_DISABLE_IMPL=sparse).
const SparseDisableAll = "sparse"

type spFormat struct {
	name string
	r, c int     // block shape; 0 for CSR
	rate float64 // speed-up x stored fraction (from the table above)
}

// sparseFormats are the formats the implementations choose from.
var sparseFormats = []*spFormat{
	{name: "sparse-csr", rate: 0.33},
	{name: "sparse-bsr8x1", r: 8, c: 1, rate: 0.87},
	{name: "sparse-bsr4x1", r: 4, c: 1, rate: 0.75},
	{name: "sparse-bsr4x4", r: 4, c: 4, rate: 0.70},
}

func init() {
	f32 := []tensor.DType{tensor.Float32}
	for _, f := range sparseFormats {
		Register(Impl{Op: "Conv", Name: f.name, Priority: SparsePriority, DTypes: f32,
			Match: func(b *BuildInfo) bool { return sparseMatch(b, f, analyzeConv) },
			Build: func(b *BuildInfo) (Kernel, error) { return buildSparseConv(b, f) }})
		Register(Impl{Op: "FusedConv", Domain: FrugalDomain, Name: f.name, Priority: SparsePriority, DTypes: f32,
			Match: func(b *BuildInfo) bool { return sparseMatch(b, f, analyzeConv) },
			Build: func(b *BuildInfo) (Kernel, error) { return buildSparseConv(b, f) }})
		Register(Impl{Op: "Gemm", Name: f.name, Priority: SparsePriority, DTypes: f32,
			Match: func(b *BuildInfo) bool { return sparseMatch(b, f, analyzeGemm) },
			Build: func(b *BuildInfo) (Kernel, error) { return buildSparseGemm(b, f) }})
		Register(Impl{Op: "MatMul", Name: f.name, Priority: SparsePriority, DTypes: f32,
			Match: func(b *BuildInfo) bool { return sparseMatch(b, f, analyzeMatMul) },
			Build: func(b *BuildInfo) (Kernel, error) { return buildSparseMatMul(b, f) }})
	}
}

// ---------------------------------------------------------------------------
// Weight analysis and format choice.

// spStats counts a weight's nonzeros and, per format, its kept blocks.
type spStats struct {
	cells  float64 // weight values (the dense work)
	nnz    int
	blocks []int     // per format: stored blocks, or -1 when the shape does not fit
	total  []float64 // per format: possible blocks
}

func newSpStats() *spStats {
	return &spStats{blocks: make([]int, len(sparseFormats)), total: make([]float64, len(sparseFormats))}
}

// add counts the m x k matrix W with W[i][j] = w[i*ld+j], or w[j*ld+i]
// when trans is set.
func (s *spStats) add(m, k int, w []float32, ld int, trans bool) {
	s.cells += float64(m) * float64(k)
	type marks struct {
		f     *spFormat
		nbc   int
		bits  []uint64
		valid bool
	}
	ms := make([]marks, len(sparseFormats))
	for fi, f := range sparseFormats {
		if f.r == 0 || s.blocks[fi] < 0 {
			continue
		}
		if k%f.c != 0 {
			s.blocks[fi] = -1
			continue
		}
		nbr, nbc := (m+f.r-1)/f.r, k/f.c
		ms[fi] = marks{f: f, nbc: nbc, bits: make([]uint64, (nbr*nbc+63)/64), valid: true}
		s.total[fi] += float64(nbr) * float64(nbc)
	}
	mark := func(i, j int) {
		s.nnz++
		for fi := range ms {
			if mk := &ms[fi]; mk.valid {
				b := i/mk.f.r*mk.nbc + j/mk.f.c
				mk.bits[b>>6] |= 1 << (b & 63)
			}
		}
	}
	// Walk the storage in order; (p, q) is storage row and column.
	rows, cols := m, k
	if trans {
		rows, cols = k, m
	}
	for p := 0; p < rows; p++ {
		for q, v := range w[p*ld : p*ld+cols] {
			if v == 0 {
				continue
			}
			if trans {
				mark(q, p)
			} else {
				mark(p, q)
			}
		}
	}
	for fi := range ms {
		if mk := &ms[fi]; mk.valid {
			for _, x := range mk.bits {
				s.blocks[fi] += popcount(x)
			}
		}
	}
}

func popcount(x uint64) int {
	n := 0
	for x != 0 {
		x &= x - 1
		n++
	}
	return n
}

// spChoice is an eligible format and its estimated speed-up over dense.
type spChoice struct {
	f       *spFormat
	speedup float64
}

// rank returns the eligible formats, best first.
func (s *spStats) rank() []spChoice {
	var out []spChoice
	if s.cells == 0 {
		return nil
	}
	for fi, f := range sparseFormats {
		var frac, stored float64
		if f.r == 0 {
			frac = float64(s.nnz) / s.cells
			stored = frac
			if frac > SparseCSRMaxDensity {
				continue
			}
		} else {
			if s.blocks[fi] < 0 || s.total[fi] == 0 {
				continue
			}
			frac = float64(s.blocks[fi]) / s.total[fi]
			stored = float64(s.blocks[fi]) * float64(f.r*f.c) / s.cells
			if frac > SparseBSRMaxBlocks {
				continue
			}
		}
		sp := f.rate / math.Max(stored, 1e-9)
		if sp < SparseMinSpeedup {
			continue
		}
		// insertion by speed-up, stable for ties (format order)
		at := len(out)
		for at > 0 && out[at-1].speedup < sp {
			at--
		}
		out = append(out, spChoice{})
		copy(out[at+1:], out[at:])
		out[at] = spChoice{f, sp}
	}
	return out
}

// spAnalyzer checks that a node fits an op's sparse kernel and returns its
// weight statistics (nil when it does not fit).
type spAnalyzer func(b *BuildInfo) *spStats

// The analysis of a node is shared by the Match of every format (Select
// asks them in turn) and the Build that follows; it is keyed by weak
// pointers, so it never keeps a graph alive and a reused address never
// hits a stale entry.
type spKey struct {
	info weak.Pointer[BuildInfo]
	node weak.Pointer[graph.Node]
	w    weak.Pointer[tensor.Tensor]
}

var (
	spCacheMu sync.Mutex
	spCache   = map[spKey][]spChoice{}
)

func sparseRanked(b *BuildInfo, an spAnalyzer) []spChoice {
	if b == nil || b.Node == nil || len(b.Const) < 2 || b.Const[1] == nil {
		return nil
	}
	k := spKey{weak.Make(b), weak.Make(b.Node), weak.Make(b.Const[1])}
	spCacheMu.Lock()
	r, ok := spCache[k]
	spCacheMu.Unlock()
	if ok {
		return r
	}
	if st := an(b); st != nil {
		r = st.rank()
	}
	spCacheMu.Lock()
	if len(spCache) >= 64 {
		clear(spCache)
	}
	spCache[k] = r
	spCacheMu.Unlock()
	return r
}

// sparseChoice returns the best eligible format that is not disabled.
func sparseChoice(b *BuildInfo, an spAnalyzer) (spChoice, bool) {
	if Disabled[SparseDisableAll] {
		return spChoice{}, false
	}
	for _, c := range sparseRanked(b, an) {
		if !Disabled[c.f.name] {
			return c, true
		}
	}
	return spChoice{}, false
}

func sparseMatch(b *BuildInfo, f *spFormat, an spAnalyzer) bool {
	c, ok := sparseChoice(b, an)
	return ok && c.f == f
}

// constIn is input i when it is a constant, else nil.
func constIn(b *BuildInfo, i int) *tensor.Tensor {
	if b == nil || i >= len(b.Const) {
		return nil
	}
	return b.Const[i]
}

func f32OrUnknown(b *BuildInfo, i int) bool {
	dt := b.InDType(i)
	return dt == tensor.Float32 || dt == tensor.Undefined
}

// convLayout checks a Conv node for the sparse kernel and returns its
// group count.
func convLayout(b *BuildInfo) (w *tensor.Tensor, group int, ok bool) {
	w = constIn(b, 1)
	if w == nil || b.Node == nil || w.DType != tensor.Float32 || (w.Rank() != 3 && w.Rank() != 4) || w.Len() == 0 || !f32OrUnknown(b, 0) {
		return nil, 0, false
	}
	if c := constIn(b, 2); c != nil && c.DType != tensor.Float32 {
		return nil, 0, false
	}
	g, err := b.Node.Int("group", 1)
	if err != nil || g < 1 || w.Shape[0]%int(g) != 0 {
		return nil, 0, false
	}
	if w.Shape[1] == 1 && w.Shape[0] == int(g) && g > 1 {
		return nil, 0, false // depthwise: the direct kernel
	}
	if _, err := ActivationFromNode(b.Node); err != nil {
		return nil, 0, false
	}
	return w, int(g), true
}

func analyzeConv(b *BuildInfo) *spStats {
	w, group, ok := convLayout(b)
	if !ok {
		return nil
	}
	opg := w.Shape[0] / group
	kk := w.Len() / w.Shape[0]
	st := newSpStats()
	wd := w.F32()
	for gi := 0; gi < group; gi++ {
		st.add(opg, kk, wd[gi*opg*kk:(gi+1)*opg*kk], kk, false)
	}
	return st
}

type gemmAttrs struct {
	alpha, beta float32
	ta, tb      bool
	act         Activation
}

func readGemmAttrs(n *graph.Node) (gemmAttrs, error) {
	var g gemmAttrs
	var err error
	if g.alpha, err = n.Float("alpha", 1); err != nil {
		return g, err
	}
	if g.beta, err = n.Float("beta", 1); err != nil {
		return g, err
	}
	ta, err := n.Int("transA", 0)
	if err != nil {
		return g, err
	}
	tb, err := n.Int("transB", 0)
	if err != nil {
		return g, err
	}
	g.ta, g.tb = ta != 0, tb != 0
	g.act, err = ActivationFromNode(n)
	return g, err
}

func analyzeGemm(b *BuildInfo) *spStats {
	w := constIn(b, 1)
	if w == nil || w.DType != tensor.Float32 || w.Rank() != 2 || w.Len() == 0 || !f32OrUnknown(b, 0) {
		return nil
	}
	if c := constIn(b, 2); c != nil && (c.DType != tensor.Float32 || c.Rank() > 2) {
		return nil
	}
	ga, err := readGemmAttrs(b.Node)
	if err != nil || ga.alpha == 0 || math.IsInf(float64(ga.alpha), 0) || math.IsNaN(float64(ga.alpha)) {
		return nil
	}
	st := newSpStats()
	if ga.tb { // B is [N, K] = W
		st.add(w.Shape[0], w.Shape[1], w.F32(), w.Shape[1], false)
	} else { // B is [K, N], W = B^T
		st.add(w.Shape[1], w.Shape[0], w.F32(), w.Shape[1], true)
	}
	return st
}

func analyzeMatMul(b *BuildInfo) *spStats {
	w := constIn(b, 1)
	if w == nil || w.DType != tensor.Float32 || w.Rank() != 2 || w.Len() == 0 || !f32OrUnknown(b, 0) {
		return nil
	}
	st := newSpStats()
	st.add(w.Shape[1], w.Shape[0], w.F32(), w.Shape[1], true)
	return st
}

// ---------------------------------------------------------------------------
// Conversion.

// spMat is a converted weight: Y = epilogue(W x X).
type spMat interface {
	MatMul(n int, x []float32, ldx int, y []float32, ldy int, ep gemm.Epilogue)
}

// newSpMat converts the m x k row-major matrix w (ld) and runs it once, so
// that validation and any lazily built layout happen now: afterwards the
// matrix is only read.
func newSpMat(f *spFormat, m, k int, w []float32, ld int) (spMat, error) {
	var s spMat
	if f.r == 0 {
		s = sparse.NewCSR(m, k, w, ld)
	} else {
		b, err := sparse.NewBSR(m, k, f.r, f.c, w, ld)
		if err != nil {
			return nil, err
		}
		s = b
	}
	if m > 0 && k > 0 {
		s.MatMul(1, make([]float32, k), 1, make([]float32, m), 1, gemm.Epilogue{})
	}
	return s, nil
}

// lazyKernel builds the dense kernel of a node on first use: the fallback
// for inputs the sparse kernel does not handle.
type lazyKernel struct {
	once  sync.Once
	build func() (Kernel, error)
	k     Kernel
	err   error
}

func (l *lazyKernel) Run(ctx *Ctx, in []Value) ([]Value, error) {
	l.once.Do(func() { l.k, l.err = l.build() })
	if l.err != nil {
		return nil, l.err
	}
	return l.k.Run(ctx, in)
}

func threadsOf(ctx *Ctx) int {
	if ctx == nil || ctx.Threads < 1 {
		return 1
	}
	return ctx.Threads
}

// ---------------------------------------------------------------------------
// Conv.

type sparseConvKernel struct {
	w      *tensor.Tensor
	f      *spFormat
	group  int
	mats   []spMat // one per group, Cout/G x Cin/G*KH*KW
	act    Activation
	node   *graph.Node
	dense  *lazyKernel
	fusedZ bool // FusedConv: input 3 is the addend
	// win holds the weights re-indexed for the direct stride-1 path, for
	// the last input geometry seen.
	win atomic.Pointer[convWindows]
}

// convWindows are a Conv's weights with column k = (ci, ky, kx) moved to
// the offset ci*Hp*Wp + ky*DH*Wp + kx*DW of the padded input: each row of
// the implicit im2col matrix is then a window of that input
// (sparse.CSR.MatMulWindows), so the stride-1 convolution needs no im2col.
type convWindows struct {
	h, w, wp, plane, n int
	mats               []winMat
}

type winMat interface {
	MatMulWindows(n int, x []float32, y []float32, ldy int, ep gemm.Epilogue)
}

// windows returns the re-indexed weights for geometry g, building them on
// the first call with a new input size (concurrent builds are harmless:
// the matrices are validated on first use through atomics).
func (k *sparseConvKernel) windows(g ConvGeom) *convWindows {
	if cw := k.win.Load(); cw != nil && cw.h == g.H && cw.w == g.W {
		return cw
	}
	p := g.P
	wp := g.W + p.PL + p.PR
	plane := (g.H + p.PT + p.PB) * wp
	cpg := g.Cin / g.Group
	n := (g.OH-1)*wp + g.OW
	cols := cpg*plane - n + 1
	khw := p.KH * p.KW
	remap := func(idx []int32) []int32 {
		out := make([]int32, len(idx))
		for i, c := range idx {
			ci, r := int(c)/khw, int(c)%khw
			out[i] = int32(ci*plane + r/p.KW*p.DH*wp + r%p.KW*p.DW)
		}
		return out
	}
	cw := &convWindows{h: g.H, w: g.W, wp: wp, plane: plane, n: n}
	for _, m := range k.mats {
		switch t := m.(type) {
		case *sparse.CSR:
			cw.mats = append(cw.mats, &sparse.CSR{Rows: t.Rows, Cols: cols, RowPtr: t.RowPtr, ColIdx: remap(t.ColIdx), Val: t.Val})
		case *sparse.BSR:
			cw.mats = append(cw.mats, &sparse.BSR{Rows: t.Rows, Cols: cols, R: t.R, C: 1, RowPtr: t.RowPtr, ColIdx: remap(t.ColIdx), Val: t.Val})
		}
	}
	k.win.Store(cw)
	return cw
}

func buildSparseConv(b *BuildInfo, f *spFormat) (Kernel, error) {
	w, group, ok := convLayout(b)
	if !ok {
		return nil, fmt.Errorf("sparse Conv: needs a constant float32 weight of rank 3 or 4")
	}
	act, err := ActivationFromNode(b.Node)
	if err != nil {
		return nil, err
	}
	opg := w.Shape[0] / group
	kk := w.Len() / w.Shape[0]
	k := &sparseConvKernel{w: w, f: f, group: group, act: act, node: b.Node,
		fusedZ: b.Node.OpType == "FusedConv",
		dense:  &lazyKernel{build: func() (Kernel, error) { return buildConv(b) }}}
	wd := w.F32()
	for gi := 0; gi < group; gi++ {
		m, err := newSpMat(f, opg, kk, wd[gi*opg*kk:(gi+1)*opg*kk], kk)
		if err != nil {
			return nil, err
		}
		k.mats = append(k.mats, m)
	}
	return k, nil
}

func (k *sparseConvKernel) Run(ctx *Ctx, in []Value) ([]Value, error) {
	ts, err := MustTensors(in, 2)
	if err != nil {
		return nil, err
	}
	x, w := ts[0], ts[1]
	bias, err := Tensor(in, 2)
	if err != nil {
		return nil, err
	}
	var z *tensor.Tensor
	if k.fusedZ {
		if z, err = Tensor(in, 3); err != nil {
			return nil, err
		}
	}
	if w != k.w || x.DType != tensor.Float32 || (x.Rank() != 3 && x.Rank() != 4) || x.Rank() != w.Rank() ||
		(bias != nil && bias.DType != tensor.Float32) {
		return k.dense.Run(ctx, in)
	}
	g, err := ResolveConv2D(k.node, x.Shape, w.Shape)
	if err != nil {
		return nil, err
	}
	if g.Group != k.group {
		return k.dense.Run(ctx, in)
	}
	shape := g.OutShape(x.Rank())
	if z != nil && (z.DType != tensor.Float32 || !tensor.SameShape(z.Shape, shape)) {
		return k.dense.Run(ctx, in) // broadcasting addend
	}
	var bv []float32
	if bias != nil {
		if bias.Len() != g.Cout {
			return nil, fmt.Errorf("bias has %d elements, want %d", bias.Len(), g.Cout)
		}
		bv = bias.F32()
	}
	out := ctx.Empty(tensor.Float32, shape...)
	od := out.F32()
	if z != nil {
		copy(od, z.F32())
	}
	k.conv(ctx, x.F32(), bv, g, z != nil, od)
	return []Value{out}, nil
}

// sparseColChunk is the fewest im2col columns expanded at once: a multiple
// of the sparse kernels' column chunk (64 with AVX-512).
var sparseColChunk = 64

// conv runs the convolution on the sparse weights; with residual set, out
// holds the addend and the kernels accumulate onto it. The im2col matrix
// is expanded a chunk of columns at a time (about colTarget floats, at
// least sparseColChunk columns), channels split across threads, and each
// chunk is multiplied while it is still in L2.
func (k *sparseConvKernel) conv(ctx *Ctx, x, bias []float32, g ConvGeom, residual bool, out []float32) {
	cpg, opg := g.Cin/g.Group, g.Cout/g.Group
	kk := cpg * g.P.KH * g.P.KW
	ohw, hw := g.OH*g.OW, g.H*g.W
	pointwise := g.P.KH == 1 && g.P.KW == 1 && g.P.SH == 1 && g.P.SW == 1 && g.P.PT+g.P.PL+g.P.PB+g.P.PR == 0
	padded := int64(cpg) * int64(g.H+g.P.PT+g.P.PB) * int64(g.W+g.P.PL+g.P.PR)
	if !pointwise && g.P.SH == 1 && g.P.SW == 1 && k.f.c <= 1 && !SparseConvIm2col && padded < math.MaxInt32 {
		k.convDirect(ctx, x, bias, g, residual, out)
		return
	}
	cw := min(ohw, max(sparseColChunk, colTarget/max(kk, 1)/sparseColChunk*sparseColChunk))
	var col []float32
	if !pointwise {
		var done func()
		col, done = scratch(ctx, kk*cw)
		defer done()
	}
	rowsPer := g.P.KH * g.P.KW
	t := min(threadsOf(ctx), cpg)
	if kk*cw < 1<<14 {
		t = 1
	}
	for b := 0; b < g.N; b++ {
		for gi := 0; gi < g.Group; gi++ {
			xg := x[(b*g.Cin+gi*cpg)*hw : (b*g.Cin+(gi+1)*cpg)*hw]
			og := out[(b*g.Cout+gi*opg)*ohw : (b*g.Cout+(gi+1)*opg)*ohw]
			var bg []float32
			if bias != nil {
				bg = bias[gi*opg : (gi+1)*opg]
			}
			ep := k.act.epilogue(bg)
			if residual {
				ep.Beta = 1
			}
			if pointwise {
				k.mats[gi].MatMul(ohw, xg, ohw, og, ohw, ep)
				continue
			}
			for j0 := 0; j0 < ohw; j0 += cw {
				j1 := min(ohw, j0+cw)
				n := j1 - j0
				gemm.Parallel(t, func(i int) {
					c0, c1 := i*cpg/t, (i+1)*cpg/t
					im2colCols(xg[c0*hw:], c1-c0, g.H, g.W, g.P, g.OW, j0, j1, col[c0*rowsPer*n:c1*rowsPer*n])
				})
				k.mats[gi].MatMul(n, col, n, og[j0:], ohw, ep)
			}
		}
	}
}

// SparseConvIm2col makes stride-1 Convs expand im2col like the others
// instead of the direct path (benchmarks compare the two).
var SparseConvIm2col = false

// convDirect is the stride-1 convolution without im2col: the input of a
// group is copied into a zero-padded buffer (Hp x Wp per channel), the
// re-indexed weights multiply windows of it into Y[Cout/G, (OH-1)*Wp+OW]
// (output pixel (oy, ox) at column oy*Wp+ox; the Wp-OW columns between
// output rows are computed and dropped), and the rows are compacted into
// out. With residual, Y is preloaded from out and accumulated onto.
func (k *sparseConvKernel) convDirect(ctx *Ctx, x, bias []float32, g ConvGeom, residual bool, out []float32) {
	cw := k.windows(g)
	p := g.P
	cpg, opg := g.Cin/g.Group, g.Cout/g.Group
	ohw, hw := g.OH*g.OW, g.H*g.W
	padded := p.PT+p.PB+p.PL+p.PR != 0
	var xp []float32
	if padded {
		var done func()
		xp, done = scratch(ctx, cpg*cw.plane)
		defer done()
	}
	yb, done := scratch(ctx, opg*cw.n)
	defer done()
	threads := threadsOf(ctx)
	for b := 0; b < g.N; b++ {
		for gi := 0; gi < g.Group; gi++ {
			xg := x[(b*g.Cin+gi*cpg)*hw : (b*g.Cin+(gi+1)*cpg)*hw]
			og := out[(b*g.Cout+gi*opg)*ohw : (b*g.Cout+(gi+1)*opg)*ohw]
			var bg []float32
			if bias != nil {
				bg = bias[gi*opg : (gi+1)*opg]
			}
			ep := k.act.epilogue(bg)
			if padded {
				t := min(threads, cpg)
				if cpg*cw.plane < 1<<15 {
					t = 1
				}
				gemm.Parallel(t, func(i int) {
					padPlanes(xg, i*cpg/t, (i+1)*cpg/t, g.H, g.W, p.PT, p.PB, p.PL, p.PR, xp)
				})
			} else {
				xp = xg
			}
			if residual {
				clear(yb)
				moveRows(og, g.OW, yb, cw.wp, opg, g.OH, false)
				ep.Beta = 1
			}
			cw.mats[gi].MatMulWindows(cw.n, xp[:cpg*cw.plane], yb, cw.n, ep)
			moveRows(og, g.OW, yb, cw.wp, opg, g.OH, true)
		}
	}
}

// padPlanes copies channels [c0, c1) of x (h x w each) into xp with the
// given zero padding around each plane.
func padPlanes(x []float32, c0, c1, h, w, pt, pb, pl, pr int, xp []float32) {
	wp := w + pl + pr
	plane := (h + pt + pb) * wp
	for c := c0; c < c1; c++ {
		dst := xp[c*plane : (c+1)*plane]
		src := x[c*h*w : (c+1)*h*w]
		clear(dst[:pt*wp+pl])
		for y := 0; y < h; y++ {
			row := dst[(pt+y)*wp+pl:]
			copy(row[:w], src[y*w:(y+1)*w])
			if y < h-1 {
				clear(row[w : w+pr+pl])
			}
		}
		clear(dst[(pt+h-1)*wp+pl+w:])
	}
}

// moveRows copies rows planes of oh x ow pixels between the compact layout
// (c: row stride ow, plane stride oh*ow) and the strided one (y: row
// stride wp, plane stride (oh-1)*wp+ow), into c when toCompact, else into y.
func moveRows(c []float32, ow int, y []float32, wp, rows, oh int, toCompact bool) {
	n := (oh-1)*wp + ow
	for r := 0; r < rows; r++ {
		for oy := 0; oy < oh; oy++ {
			cs := c[r*oh*ow+oy*ow : r*oh*ow+(oy+1)*ow]
			ys := y[r*n+oy*wp : r*n+oy*wp+ow]
			if toCompact {
				copy(cs, ys)
			} else {
				copy(ys, cs)
			}
		}
	}
}

// ---------------------------------------------------------------------------
// Gemm and MatMul: Y^T = W A'^T.

type sparseGemmKernel struct {
	w       *tensor.Tensor // the constant B
	mat     spMat          // W = alpha B'^T, N x K
	n, k    int
	speedup float64
	ga      gemmAttrs
	rowBias []float32 // beta C when C is a constant of shape [N], [1, N] or a scalar
	cConst  *tensor.Tensor
	dense   *lazyKernel
}

// newSparseGemm converts W = alpha B'^T.
func newSparseGemm(b *BuildInfo, f *spFormat, c spChoice, ga gemmAttrs) (*sparseGemmKernel, error) {
	bm := constIn(b, 1)
	if bm == nil || bm.DType != tensor.Float32 || bm.Rank() != 2 || bm.Len() == 0 {
		return nil, fmt.Errorf("sparse %s: needs a constant non-empty 2-D float32 weight", b.Node.OpType)
	}
	n, k := bm.Shape[1], bm.Shape[0]
	if ga.tb {
		n, k = k, n
	}
	bd := bm.F32()
	w := bd
	if !ga.tb || ga.alpha != 1 {
		w = make([]float32, n*k)
		for i := 0; i < n; i++ {
			for j := 0; j < k; j++ {
				v := bd[i*k+j]
				if !ga.tb {
					v = bd[j*n+i]
				}
				w[i*k+j] = ga.alpha * v
			}
		}
	}
	mat, err := newSpMat(f, n, k, w, k)
	if err != nil {
		return nil, err
	}
	return &sparseGemmKernel{w: bm, mat: mat, n: n, k: k, speedup: c.speedup, ga: ga}, nil
}

func buildSparseGemm(b *BuildInfo, f *spFormat) (Kernel, error) {
	ga, err := readGemmAttrs(b.Node)
	if err != nil {
		return nil, err
	}
	c, _ := sparseChoice(b, analyzeGemm)
	kern, err := newSparseGemm(b, f, c, ga)
	if err != nil {
		return nil, err
	}
	kern.dense = &lazyKernel{build: func() (Kernel, error) { return buildGemm(b) }}
	if cc := constIn(b, 2); cc != nil && ga.beta != 0 {
		if cc.DType == tensor.Float32 && (cc.Len() == 1 || (cc.Len() == kern.n && cc.Shape[cc.Rank()-1] == kern.n)) {
			kern.cConst = cc
			kern.rowBias = make([]float32, kern.n)
			cd := cc.F32()
			for i := range kern.rowBias {
				kern.rowBias[i] = ga.beta * cd[min(i, len(cd)-1)]
			}
		}
	}
	return kern, nil
}

// useDense reports whether a batch of m rows runs faster on the dense kernel.
func (k *sparseGemmKernel) useDense(m int) bool {
	for _, r := range SparseSmallBatch {
		if m < r.N {
			return k.speedup < r.MinSpeedup
		}
	}
	return false
}

func (k *sparseGemmKernel) Run(ctx *Ctx, in []Value) ([]Value, error) {
	ts, err := MustTensors(in, 2)
	if err != nil {
		return nil, err
	}
	a, bm := ts[0], ts[1]
	c, err := Tensor(in, 2)
	if err != nil {
		return nil, err
	}
	if bm != k.w || a.DType != tensor.Float32 || a.Rank() != 2 || (c != nil && (c.DType != tensor.Float32 || c.Rank() > 2)) {
		return k.dense.Run(ctx, in)
	}
	m, kd := a.Shape[0], a.Shape[1]
	if k.ga.ta {
		m, kd = kd, m
	}
	if kd != k.k || k.useDense(m) {
		return k.dense.Run(ctx, in)
	}
	out := ctx.Empty(tensor.Float32, m, k.n)
	if m == 0 {
		return []Value{out}, nil
	}
	ep := k.ga.act.epilogue(nil)
	var full []float32 // C of shape [M, N] (M > 1)
	if c != nil && k.ga.beta != 0 {
		switch {
		case c == k.cConst:
			ep.RowBias = k.rowBias
		default:
			c0, c1 := 1, 1
			switch c.Rank() {
			case 1:
				c1 = c.Shape[0]
			case 2:
				c0, c1 = c.Shape[0], c.Shape[1]
			}
			cd := c.F32()
			switch {
			case c0 == 1 && (c1 == 1 || c1 == k.n):
				rb := ctx.Float32s(k.n)
				defer ctx.Release(rb)
				for i := range rb {
					rb[i] = k.ga.beta * cd[min(i, c1-1)]
				}
				ep.RowBias = rb
			case c0 == m && c1 == 1:
				cb := ctx.Float32s(m)
				defer ctx.Release(cb)
				for i := range cb {
					cb[i] = k.ga.beta * cd[i]
				}
				ep.ColBias = cb
			case c0 == m && c1 == k.n:
				full = cd
			default:
				return nil, fmt.Errorf("Gemm: C %v does not broadcast to %v", c.Shape, out.Shape)
			}
		}
	}
	k.run(ctx, a.F32(), m, k.ga.ta, full, ep, out.F32())
	return []Value{out}, nil
}

// run computes out[m, N] from A (m x K, or K x m when ta) on the sparse
// weight: Y^T = W A^T, with scratch transposes when m > 1. full, when set,
// is an [m, N] addend scaled by beta.
func (k *sparseGemmKernel) run(ctx *Ctx, a []float32, m int, ta bool, full []float32, ep gemm.Epilogue, out []float32) {
	x, ldx := a, m // A'^T is K x m
	if !ta && m > 1 {
		var done func()
		x, done = scratch(ctx, k.k*m)
		defer done()
		transposeF32(ctx, a, m, k.k, x)
	}
	if m == 1 {
		// Y^T (N x 1) is Y (1 x N).
		if full != nil {
			copy(out, full)
			ep.Beta = k.ga.beta
		}
		k.mat.MatMul(1, x, ldx, out, 1, ep)
		return
	}
	yt, done := scratch(ctx, k.n*m)
	defer done()
	if full != nil {
		transposeF32(ctx, full, m, k.n, yt)
		ep.Beta = k.ga.beta
	}
	k.mat.MatMul(m, x, ldx, yt, m, ep)
	transposeF32(ctx, yt, k.n, m, out)
}

// transposeF32 writes the transpose of src (rows x cols, row-major) into
// dst (cols x rows) in 8 x 8 tiles (each read and written as 8 contiguous
// floats: ~0.35 ns per element here, a tenth of a plain tiled loop when
// rows are long), splitting large ones across threads by bands of rows.
func transposeF32(ctx *Ctx, src []float32, rows, cols int, dst []float32) {
	bands := (rows + 7) / 8
	t := 1
	if rows*cols >= 1<<15 {
		t = min(threadsOf(ctx), bands)
	}
	if t <= 1 {
		transposeRows(src, rows, cols, dst, 0, rows)
		return
	}
	gemm.Parallel(t, func(i int) {
		transposeRows(src, rows, cols, dst, bands*i/t*8, min(rows, bands*(i+1)/t*8))
	})
}

// transposeRows transposes rows [r0, r1) of src (r0 a multiple of 8).
func transposeRows(src []float32, rows, cols int, dst []float32, r0, r1 int) {
	i0 := r0
	for ; i0+8 <= r1; i0 += 8 {
		j0 := 0
		for ; j0+8 <= cols; j0 += 8 {
			s0 := (*[8]float32)(src[(i0+0)*cols+j0:])
			s1 := (*[8]float32)(src[(i0+1)*cols+j0:])
			s2 := (*[8]float32)(src[(i0+2)*cols+j0:])
			s3 := (*[8]float32)(src[(i0+3)*cols+j0:])
			s4 := (*[8]float32)(src[(i0+4)*cols+j0:])
			s5 := (*[8]float32)(src[(i0+5)*cols+j0:])
			s6 := (*[8]float32)(src[(i0+6)*cols+j0:])
			s7 := (*[8]float32)(src[(i0+7)*cols+j0:])
			for j := 0; j < 8; j++ {
				d := (*[8]float32)(dst[(j0+j)*rows+i0:])
				d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7] = s0[j], s1[j], s2[j], s3[j], s4[j], s5[j], s6[j], s7[j]
			}
		}
		for ; j0 < cols; j0++ {
			for i := i0; i < i0+8; i++ {
				dst[j0*rows+i] = src[i*cols+j0]
			}
		}
	}
	for ; i0 < r1; i0++ {
		for j := 0; j < cols; j++ {
			dst[j*rows+i0] = src[i0*cols+j]
		}
	}
}

// scratch returns an uninitialized buffer of n floats from the run's arena,
// or without one from the pool the dense Conv uses, and its release.
func scratch(ctx *Ctx, n int) ([]float32, func()) {
	if ctx != nil && ctx.Arena != nil {
		b := ctx.Float32s(n)
		return b, func() { ctx.Release(b) }
	}
	p := getCols(n)
	return *p, func() { colPool.Put(p) }
}

func buildSparseMatMul(b *BuildInfo, f *spFormat) (Kernel, error) {
	c, _ := sparseChoice(b, analyzeMatMul)
	kern, err := newSparseGemm(b, f, c, gemmAttrs{alpha: 1})
	if err != nil {
		return nil, err
	}
	kern.dense = &lazyKernel{build: func() (Kernel, error) { return matMulF32Kernel, nil }}
	return sparseMatMulKernel{kern}, nil
}

// sparseMatMulKernel runs MatMul(A[..., M, K], B[K, N]) as a Gemm over the
// flattened rows of A.
type sparseMatMulKernel struct{ *sparseGemmKernel }

func (k sparseMatMulKernel) Run(ctx *Ctx, in []Value) ([]Value, error) {
	ts, err := MustTensors(in, 2)
	if err != nil {
		return nil, err
	}
	a, bm := ts[0], ts[1]
	if bm != k.w || a.DType != tensor.Float32 || a.Rank() < 1 || a.Shape[a.Rank()-1] != k.k {
		return k.dense.Run(ctx, in)
	}
	m := a.Len() / k.k
	if k.useDense(m) {
		return k.dense.Run(ctx, in)
	}
	shape := append(append([]int{}, a.Shape[:a.Rank()-1]...), k.n)
	out := ctx.Empty(tensor.Float32, shape...)
	if m > 0 {
		k.run(ctx, a.F32(), m, false, nil, gemm.Epilogue{}, out.F32())
	}
	return []Value{out}, nil
}
