package gemm

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/frugal-ml/frugal/impl/cpu"
)

// INT8 GEMM.
//
// Every int8 entry point computes the exact int32 accumulator
//
//	acc[i][j] = sum_p (A[i][p] - za[i]) * (B[p][j] - zb[j])  (+ bias)
//
// (za per row or per tensor, zb per column or per tensor, int32 wrap-around
// like the reference) and then either stores it (int32 output) or
// requantizes it in float32 as ONNX Runtime does (MLAS's
// MlasRequantizeOutput behind its QLinearConv / QLinearMatMul):
//
//	p = float32(float32(acc) * scale)        one float32 rounding
//	y = roundHalfEven(clamp(p, lo-zp, hi-zp)) + zp
//
// with scale the float32 per-channel multiplier (ONNX Runtime computes it
// as x_scale*w_scale/y_scale in float32), lo, hi the output type's range
// narrowed by Relu (at the zero point) and Clamp, and zp the output zero
// point. Clamping before rounding is the same as clamping after (rounding is
// monotonic and fixes the integral bounds), and it keeps huge or infinite
// products out of the float -> int conversion; a NaN product gives lo. See
// Requantize for the scalar definition.
//
// How the kernels see the operands: the VNNI instruction multiplies an
// unsigned byte by a signed byte. One operand is packed as the "unsigned
// side" and the other as the "signed side"; an operand whose type does not
// match its side is flipped with x ^ 0x80 (u8 -> s8 is x-128, s8 -> u8 is
// x+128), and its zero point moves by the same 128, so (x - z) is unchanged.
// The kernel computes S = sum a'b' over the packed values and the finisher
// adds the zero-point terms:
//
//	acc = S + zb'[j]*(K*za'[i] - RA'[i]) - za'[i]*CB'[j]
//
// with RA' the row sums of A' and CB' the column sums of B' (computed while
// packing). When a zero point is per tensor, its term folds into a per-row
// or per-column addend; only per-row za with per-column zb needs the two
// multiplies per element.

// Int8 is the element type of quantized operands.
type Int8 interface{ ~uint8 | ~int8 }

// QOut is the element type of an int8 GEMM's output.
type QOut interface{ ~int32 | ~uint8 | ~int8 }

// QEpilogue describes the output stage of an int8 GEMM.
type QEpilogue struct {
	Bias      []int32   // nil, or added to acc: one per row (PerRow) or per column
	Scale     []float32 // requantization multipliers (1, or one per row/column); required for uint8/int8 output, ignored for int32
	PerRow    bool      // Bias and Scale index rows (conv as W x im2col) instead of columns
	ZeroPoint int32     // output zero point (uint8/int8 output), |ZeroPoint| <= 2^23
	Relu      bool      // clamp at ZeroPoint from below
	// Clamp narrows the output codes to [Lo, Hi] (within the type's range):
	// a fused Clip, e.g. ReLU6, is exact in the quantized domain because
	// quantization is monotonic.
	Clamp  bool
	Lo, Hi int32
}

// qfin is the finisher's argument block (offsets fixed for the assembly; see
// _asm/qgemm.go, checked by TestQfinLayout).
type qfin struct {
	flags   uint64         // 0
	r1, c1  *int32         // 8, 16: v += r1[i]*c1[j]
	r2, c2  *int32         // 24, 32: v += r2[i]*c2[j]
	rowAdd  *int32         // 40
	colAdd  *int32         // 48
	scale   *float32       // 56: per row (qScaleRow) or per column
	zp      int32          // 64: output zero point
	lo, hi  float32        // 68, 72: saturation bounds minus zp (exact integers)
	_       uint32         // 76
	out     unsafe.Pointer // 80
	ldo     uintptr        // 88: output row stride in elements
	rows    int            // 96
	cols    int            // 104
	tile    *int32         // 112
	tstride uintptr        // 120: tile row stride in elements
}

// setBounds stores the output stage's zero point and saturation bounds
// [lo, hi] as the finisher uses them: lo-zp and hi-zp in float32, exact
// because |zp| <= 2^23 (every real zero point lies in the output type's
// range; a larger one panics rather than round the bounds).
func (f *qfin) setBounds(zp, lo, hi int32) {
	checkZeroPoint(zp)
	f.zp = zp
	f.lo, f.hi = float32(lo-zp), float32(hi-zp)
}

// qMaxZeroPoint bounds |ZeroPoint| so that lo-zp and hi-zp (lo, hi within
// [-128, 255], see outRange) are integers below 2^24 in magnitude.
const qMaxZeroPoint = 1 << 23

func checkZeroPoint(zp int32) {
	if zp < -qMaxZeroPoint || zp > qMaxZeroPoint {
		panic(fmt.Sprintf("gemm: output zero point %d out of range", zp))
	}
}

const (
	qCorr1    = 1
	qCorr2    = 2
	qRowAdd   = 4
	qColAdd   = 8
	qRequant  = 16
	qScaleRow = 32
	qSigned   = 64 // int8 output (AVX2 finisher)
)

// qfinishSplit runs an assembly finisher on the columns it handles (a
// multiple of vec) and the Go finisher on the rest.
func qfinishSplit(f *qfin, vec int, asm func(*qfin)) {
	c := f.cols / vec * vec
	if c > 0 && f.rows > 0 {
		g := *f
		g.cols = c
		asm(&g)
	}
	if c == f.cols {
		return
	}
	g := *f
	g.cols = f.cols - c
	osize := uintptr(4)
	if f.flags&qRequant != 0 {
		osize = 1
	}
	g.out = unsafe.Add(f.out, uintptr(c)*osize)
	g.tile = (*int32)(unsafe.Add(unsafe.Pointer(f.tile), c*4))
	if f.flags&qCorr1 != 0 {
		g.c1 = (*int32)(unsafe.Add(unsafe.Pointer(f.c1), c*4))
	}
	if f.flags&qCorr2 != 0 {
		g.c2 = (*int32)(unsafe.Add(unsafe.Pointer(f.c2), c*4))
	}
	if f.flags&qColAdd != 0 {
		g.colAdd = (*int32)(unsafe.Add(unsafe.Pointer(f.colAdd), c*4))
	}
	if f.flags&qRequant != 0 && f.flags&qScaleRow == 0 {
		g.scale = (*float32)(unsafe.Add(unsafe.Pointer(f.scale), c*4))
	}
	qfinishGo(&g)
}

// qgemmFunc is the assembly int8 micro-kernel signature: kg groups of k,
// packed panels a and b, the int32 tile t with rows ldt bytes apart.
type qgemmFunc func(kg int, a, b unsafe.Pointer, t *int32, ldt uintptr)

// qgemmRQFunc is a micro-kernel with the requantizing store fused: it
// reads the tile's addends, scales, bounds and output from f.
type qgemmRQFunc func(kg int, a, b unsafe.Pointer, f *qfin)

// qgemmRQOFunc is qgemmRQFunc with B read through per-group offsets
// (see QGemmPackedAC4).
type qgemmRQOFunc func(kg int, a, b unsafe.Pointer, goff *int, f *qfin)

// qgemmDirectFunc reads a row-major A in place (rows lda bytes apart).
type qgemmDirectFunc func(kg int, a unsafe.Pointer, lda uintptr, b unsafe.Pointer, t *int32, ldt uintptr)

// qcolFunc is a column kernel: rows (the lanes) of a packed A panel against
// a few columns of a packed B panel (b at the first column's dword), sums
// stored into the tile (row stride 32 int32).
type qcolFunc func(kg int, a, b unsafe.Pointer, t *int32, rows int)

// qkern describes one int8 micro-kernel.
type qkern struct {
	level  cpu.Level
	name   string
	mr, nr int
	g      int  // k per group (4 bytes for VNNI, 2 int16 for VPMADDWD)
	wide   bool // operands packed as int16
	mc, nc int
	// kern computes a rows x nr tile (whole vectors) into t (stride nr).
	kern func(kn *qkern, au bool, rows, cols, kg int, a, b unsafe.Pointer, t *int32)
	// kernD, when set, is kern reading a row-major byte A in place.
	kernD func(kn *qkern, au bool, rows, cols, kg int, a unsafe.Pointer, lda int, b unsafe.Pointer, t *int32)
	// kernCol, when set, computes a tile of up to colMax columns with the
	// rows in the lanes (t at the tile's first column, b at the B panel's
	// first column): the cols%vec tail of a panel.
	kernCol func(au bool, rows, cols, kg int, a, b unsafe.Pointer, t *int32)
	colMax  int
	vec     int // columns per kernel vector (kernCol splits at multiples of vec)
	finish  func(f *qfin)
	// kernRQ, when set, is kern with the finisher's byte-output fast path
	// fused into its epilogue (see qjob.workerCols for when it applies):
	// a rows x nv*vec tile requantized straight from the registers to
	// f.out, with f.rowAdd, f.colAdd and f.scale (per row) at the tile.
	kernRQ func(au bool, rows, nv, kg int, a, b unsafe.Pointer, f *qfin)
}

func (kn *qkern) esize() int {
	if kn.wide {
		return 2
	}
	return 1
}

var qkernGeneric = &qkern{
	level: cpu.Generic, name: "go-4x4", mr: 4, nr: 4, g: 4,
	mc: 64, nc: 512,
	kern: qtileGo, finish: qfinishGo,
}

func qkernelFor(l cpu.Level) *qkern {
	f := cpu.At(l)
	for _, k := range qasmKernels {
		if k.level <= l && (k.name != "vnni-14x32" || f.AVX512VNNI) {
			return k
		}
	}
	return qkernGeneric
}

// QKernelName names the int8 micro-kernel the current dispatch level uses.
func QKernelName() string { return qkernelFor(cpu.Current()).name }

// qtileGo is the pure-Go int8 micro-kernel over byte groups of 4.
func qtileGo(kn *qkern, au bool, rows, cols, kg int, a, b unsafe.Pointer, t *int32) {
	nr := kn.nr
	as := unsafe.Slice((*byte)(a), kg*4*rows)
	bs := unsafe.Slice((*byte)(b), kg*4*nr)
	ts := unsafe.Slice(t, rows*nr)
	clear(ts)
	for q := 0; q < kg; q++ {
		aq := as[q*4*rows : (q+1)*4*rows]
		bq := bs[q*4*nr : (q+1)*4*nr]
		for r := 0; r < rows; r++ {
			ar := aq[r*4 : r*4+4 : r*4+4]
			var a0, a1, a2, a3 int32
			if au {
				a0, a1, a2, a3 = int32(ar[0]), int32(ar[1]), int32(ar[2]), int32(ar[3])
			} else {
				a0, a1, a2, a3 = int32(int8(ar[0])), int32(int8(ar[1])), int32(int8(ar[2])), int32(int8(ar[3]))
			}
			tr := ts[r*nr : r*nr+nr]
			for j := range tr {
				bj := bq[j*4 : j*4+4 : j*4+4]
				if au {
					tr[j] += a0*int32(int8(bj[0])) + a1*int32(int8(bj[1])) + a2*int32(int8(bj[2])) + a3*int32(int8(bj[3]))
				} else {
					tr[j] += a0*int32(bj[0]) + a1*int32(bj[1]) + a2*int32(bj[2]) + a3*int32(bj[3])
				}
			}
		}
	}
}

// qfinishGo is the pure-Go finisher (same contract as qfinish_avx512).
func qfinishGo(f *qfin) {
	rows, cols := f.rows, f.cols
	if rows == 0 || cols == 0 {
		return
	}
	tile := unsafe.Slice(f.tile, (rows-1)*int(f.tstride)+cols)
	var r1, c1, r2, c2, ra, ca []int32
	if f.flags&qCorr1 != 0 {
		r1, c1 = unsafe.Slice(f.r1, rows), unsafe.Slice(f.c1, cols)
	}
	if f.flags&qCorr2 != 0 {
		r2, c2 = unsafe.Slice(f.r2, rows), unsafe.Slice(f.c2, cols)
	}
	if f.flags&qRowAdd != 0 {
		ra = unsafe.Slice(f.rowAdd, rows)
	}
	if f.flags&qColAdd != 0 {
		ca = unsafe.Slice(f.colAdd, cols)
	}
	var sc []float32
	if f.flags&qRequant != 0 {
		if f.flags&qScaleRow != 0 {
			sc = unsafe.Slice(f.scale, rows)
		} else {
			sc = unsafe.Slice(f.scale, cols)
		}
	}
	for i := 0; i < rows; i++ {
		t := tile[i*int(f.tstride) : i*int(f.tstride)+cols]
		for j, v := range t {
			if r1 != nil {
				v += r1[i] * c1[j]
			}
			if r2 != nil {
				v += r2[i] * c2[j]
			}
			if ra != nil {
				v += ra[i]
			}
			if ca != nil {
				v += ca[j]
			}
			if f.flags&qRequant == 0 {
				*(*int32)(unsafe.Add(f.out, (uintptr(i)*f.ldo+uintptr(j))*4)) = v
				continue
			}
			var s float32
			if f.flags&qScaleRow != 0 {
				s = sc[i]
			} else {
				s = sc[j]
			}
			// The assembly's steps: VCVTDQ2PS, VMULPS, VMAXPS (a NaN
			// takes the bound), VMINPS, VCVTPS2DQ (half to even, exact:
			// the value is an integer-bounded float), VPADDD.
			p := float32(float32(v) * s)
			if !(p > f.lo) {
				p = f.lo
			}
			if !(p < f.hi) {
				p = f.hi
			}
			y := int32(math.RoundToEven(float64(p))) + f.zp
			*(*int8)(unsafe.Add(f.out, uintptr(i)*f.ldo+uintptr(j))) = int8(y)
		}
	}
}

// Requantize is the scalar definition of the byte output stage, ONNX
// Runtime's (MlasRequantizeOutput) float32 arithmetic:
//
//	p = float32(float32(acc) * scale)
//	y = roundHalfEven(min(max(p, lo-zp), hi-zp)) + zp
//
// max and min in that order (lo > hi gives hi; a NaN p gives lo, or hi if
// lo > hi). This equals roundHalfEven(p)+zp saturated to [lo, hi]. The
// finishers compute the same bit for bit (for |zp| <= 2^23, which they
// require).
func Requantize(acc int32, scale float32, zp, lo, hi int32) int32 {
	p := float64(float32(float32(acc) * scale))
	// Bounds in float64: exact for any int32 operands.
	flo, fhi := float64(lo)-float64(zp), float64(hi)-float64(zp)
	if !(p > flo) {
		p = flo
	}
	if !(p < fhi) {
		p = fhi
	}
	return int32(int64(math.RoundToEven(p)) + int64(zp))
}

// outRange returns the saturation bounds of an output type.
func outRange[TC QOut](ep *QEpilogue) (requant bool, lo, hi int32) {
	var z TC
	var tlo, thi int32
	switch {
	case unsafe.Sizeof(z) == 4:
		return false, math.MinInt32, math.MaxInt32
	case ^z < 0:
		tlo, thi = -128, 127
	default:
		tlo, thi = 0, 255
	}
	lo, hi = tlo, thi
	if ep.Relu && ep.ZeroPoint > lo {
		lo = ep.ZeroPoint
	}
	if ep.Clamp {
		lo, hi = max(lo, ep.Lo), min(hi, ep.Hi)
	}
	// Both bounds stay within the type's range (an empty range, lo > hi,
	// yields hi as before, now always a valid code).
	return true, min(lo, thi), max(hi, tlo)
}

func isSigned[T Int8]() bool {
	var z T
	return ^z < 0
}

// PackedQB is an int8 right-hand operand (weights) packed once for the int8
// kernels; read-only and shareable.
type PackedQB struct {
	kn     *qkern
	k, n   int
	kpad   int
	unsign bool    // packed as the unsigned side
	zb     []int32 // zero points in packed representation (1 or n)
	colSum []int32 // column sums of the packed values over k
	data   []byte
}

// PackedQA is an int8 left-hand operand (conv weights W[Cout, K]) packed once.
type PackedQA struct {
	kn     *qkern
	m, k   int
	kpad   int
	unsign bool
	za     []int32
	rowSum []int32
	data   []byte
}

// flipFor returns the xor that maps an operand of the given signedness to a
// side, and the zero-point shift that goes with it.
func flipFor(signed, unsignedSide bool) (byte, int32) {
	switch {
	case signed && unsignedSide:
		return 0x80, 128
	case !signed && !unsignedSide:
		return 0x80, -128
	}
	return 0, 0
}

func mapZero(z []int32, shift int32, want int, name string) []int32 {
	if len(z) == 0 {
		if shift == 0 {
			return nil
		}
		return []int32{shift}
	}
	if len(z) != 1 && len(z) != want {
		panic(fmt.Sprintf("gemm: %s has %d zero points, want 1 or %d", name, len(z), want))
	}
	out := make([]int32, len(z))
	for i, v := range z {
		out[i] = v + shift
	}
	return out
}

func bytesOf[T Int8](x []T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(x))), len(x))
}

func checkQMat(name string, trans bool, rows, cols, n, ld int) {
	if rows < 0 || cols < 0 {
		panic(fmt.Sprintf("gemm: negative dimension for %s: %d x %d", name, rows, cols))
	}
	if trans {
		rows, cols = cols, rows
	}
	if ld < max(1, cols) {
		panic(fmt.Sprintf("gemm: leading dimension of %s is %d, want >= %d", name, ld, max(1, cols)))
	}
	if rows > 0 && cols > 0 && n < (rows-1)*ld+cols {
		panic(fmt.Sprintf("gemm: %s has %d elements, want >= %d", name, n, (rows-1)*ld+cols))
	}
}

// PackQB packs op(B) (k x n, op(B) = B or B^T) with per-tensor or
// per-column zero points zb (nil means 0).
func PackQB[TB Int8](transB bool, k, n int, b []TB, ldb int, zb []int32) *PackedQB {
	checkQMat("B", transB, k, n, len(b), ldb)
	kn := qkernelFor(cpu.Current())
	unsign := !isSigned[TB]()
	flip, shift := flipFor(!unsign, unsign)
	pb := &PackedQB{kn: kn, k: k, n: n, kpad: roundUp(k, kn.g), unsign: unsign}
	pb.zb = mapZero(zb, shift, n, "zb")
	pb.colSum = make([]int32, n)
	pb.data = alignedBytes(roundUp(n, kn.nr) * pb.kpad * kn.esize())
	qpackB(kn, pb.data, bytesOf(b), ldb, transB, flip, unsign, k, 0, n, pb.colSum)
	return pb
}

// PackQA packs op(A) (m x k) with per-tensor or per-row zero points za.
func PackQA[TA Int8](transA bool, m, k int, a []TA, lda int, za []int32) *PackedQA {
	checkQMat("A", transA, m, k, len(a), lda)
	kn := qkernelFor(cpu.Current())
	unsign := !isSigned[TA]()
	flip, shift := flipFor(!unsign, unsign)
	pa := &PackedQA{kn: kn, m: m, k: k, kpad: roundUp(k, kn.g), unsign: unsign}
	pa.za = mapZero(za, shift, m, "za")
	pa.rowSum = make([]int32, m)
	pa.data = alignedBytes(m * pa.kpad * kn.esize())
	qpackA(kn, pa.data, bytesOf(a), lda, transA, flip, unsign, k, 0, m, pa.rowSum)
	return pa
}

// K, N, M report packed dimensions.
func (p *PackedQB) K() int { return p.k }
func (p *PackedQB) N() int { return p.n }
func (p *PackedQA) M() int { return p.m }
func (p *PackedQA) K() int { return p.k }

// Nr is the column width of the micro-kernel the operand was packed for.
func (p *PackedQA) Nr() int { return p.kn.nr }

// QGemm computes the int8 GEMM of A (m x k, row-major, lda) and B (k x n,
// ldb) with zero points za (nil, 1 or m values) and zb (nil, 1 or n values)
// into C (int32, or requantized uint8/int8) with the epilogue ep.
func QGemm[TA, TB Int8, TC QOut](m, n, k int, a []TA, lda int, za []int32, b []TB, ldb int, zb []int32, c []TC, ldc int, ep QEpilogue) {
	checkQMat("A", false, m, k, len(a), lda)
	checkQMat("B", false, k, n, len(b), ldb)
	checkQMat("C", false, m, n, len(c), ldc)
	kn := qkernelFor(cpu.Current())
	j := &qjob{kn: kn, m: m, n: n, k: k}
	// A decides the flavour: it keeps its own signedness, B takes the other side.
	j.au = !isSigned[TA]()
	fa, sa := flipFor(isSigned[TA](), j.au)
	fb, sb := flipFor(isSigned[TB](), !j.au)
	j.a, j.lda, j.flipA, j.za = bytesOf(a), lda, fa, mapZero(za, sa, m, "za")
	j.b, j.ldb, j.flipB, j.zb = bytesOf(b), ldb, fb, mapZero(zb, sb, n, "zb")
	setQOut(j, c, ldc, &ep)
	j.run()
}

// QGemmPackedB is QGemm with B prepacked by PackQB.
func QGemmPackedB[TA Int8, TC QOut](m int, a []TA, lda int, za []int32, pb *PackedQB, c []TC, ldc int, ep QEpilogue) {
	checkQMat("A", false, m, pb.k, len(a), lda)
	checkQMat("C", false, m, pb.n, len(c), ldc)
	j := &qjob{kn: pb.kn, m: m, n: pb.n, k: pb.k, pb: pb, au: !pb.unsign}
	fa, sa := flipFor(isSigned[TA](), j.au)
	j.a, j.lda, j.flipA, j.za = bytesOf(a), lda, fa, mapZero(za, sa, m, "za")
	j.zb = pb.zb
	setQOut(j, c, ldc, &ep)
	j.run()
}

// QGemmPackedA is QGemm with A prepacked by PackQA.
func QGemmPackedA[TB Int8, TC QOut](pa *PackedQA, n int, b []TB, ldb int, zb []int32, c []TC, ldc int, ep QEpilogue) {
	QGemmPackedAThreads(0, pa, n, b, ldb, zb, c, ldc, ep)
}

// QGemmPackedAThreads is QGemmPackedA on at most threads goroutines (0
// means Threads()); callers that split the columns themselves pass 1.
func QGemmPackedAThreads[TB Int8, TC QOut](threads int, pa *PackedQA, n int, b []TB, ldb int, zb []int32, c []TC, ldc int, ep QEpilogue) {
	checkQMat("B", false, pa.k, n, len(b), ldb)
	checkQMat("C", false, pa.m, n, len(c), ldc)
	j := &qjob{kn: pa.kn, m: pa.m, n: n, k: pa.k, pa: pa, au: pa.unsign, threads: threads}
	fb, sb := flipFor(isSigned[TB](), !j.au)
	j.b, j.ldb, j.flipB, j.zb = bytesOf(b), ldb, fb, mapZero(zb, sb, n, "zb")
	j.za = pa.za
	setQOut(j, c, ldc, &ep)
	j.run()
}

// GemmU8S8 computes C = A x B exactly in int32 for A uint8 and B int8.
func GemmU8S8(m, n, k int, a []uint8, lda int, b []int8, ldb int, c []int32, ldc int) {
	QGemm(m, n, k, a, lda, nil, b, ldb, nil, c, ldc, QEpilogue{})
}

// GemmS8S8 computes C = A x B exactly in int32 for int8 A and B (A is
// shifted by +128 into the unsigned side; a column-sum term corrects it).
func GemmS8S8(m, n, k int, a []int8, lda int, b []int8, ldb int, c []int32, ldc int) {
	QGemm(m, n, k, a, lda, nil, b, ldb, nil, c, ldc, QEpilogue{})
}

func setQOut[TC QOut](j *qjob, c []TC, ldc int, ep *QEpilogue) {
	j.out, j.ldc = unsafe.Pointer(unsafe.SliceData(c)), ldc
	j.requant, j.lo, j.hi = outRange[TC](ep)
	j.zp = ep.ZeroPoint
	if j.requant {
		checkZeroPoint(j.zp) // here, not in a worker goroutine
	}
	j.perRow = ep.PerRow
	want, name := j.n, "column"
	if ep.PerRow {
		want, name = j.m, "row"
	}
	if ep.Bias != nil {
		if len(ep.Bias) < want {
			panic(fmt.Sprintf("gemm: Bias has %d values, want one per %s (%d)", len(ep.Bias), name, want))
		}
		j.bias = ep.Bias
	}
	if j.requant {
		switch {
		case len(ep.Scale) == 1:
			j.scale = make([]float32, want)
			for i := range j.scale {
				j.scale[i] = ep.Scale[0]
			}
		case len(ep.Scale) >= want:
			j.scale = ep.Scale
		default:
			panic(fmt.Sprintf("gemm: Scale has %d values, want 1 or one per %s (%d)", len(ep.Scale), name, want))
		}
	}
}

// RequantizeRows turns a rows x cols block of int32 accumulators (row
// stride cols) into 8-bit codes with the GEMM's own finisher (assembly
// where available): out[i][j] = Requantize(acc[i][j] + rowBias[i],
// scale[i], ep.ZeroPoint, lo, hi) with lo, hi the output type's range
// narrowed as ep says (Relu, Clamp). Kernels that accumulate outside the
// GEMM (direct depthwise convolution) share the exact output stage of
// QLinearConv this way.
//
// The multipliers are float32; float64 ones are rounded to float32 first
// (for a multiplier computed as float64(float32(sx*sw))/float64(sy) that
// rounding gives exactly the float32 quotient ONNX Runtime uses: float64
// carries more than 2*24+2 bits, so the double rounding of a division is
// innocuous).
func RequantizeRows[TC int8 | uint8, TS float32 | float64](acc []int32, rows, cols int, rowBias []int32, scale []TS, ep QEpilogue, out []TC) {
	if rows == 0 || cols == 0 {
		return
	}
	if len(acc) < rows*cols || len(out) < rows*cols || len(scale) < rows || (rowBias != nil && len(rowBias) < rows) {
		panic(fmt.Sprintf("gemm: RequantizeRows %dx%d: acc %d, out %d, scale %d, bias %d values", rows, cols, len(acc), len(out), len(scale), len(rowBias)))
	}
	if s32, ok := any(scale).([]float32); ok {
		requantizeRows(new(qfin), acc, rows, cols, rowBias, s32, ep, out)
		return
	}
	// One allocation (the argument block escapes through the finisher
	// call) holds the converted multipliers too.
	tmp := new(struct {
		f   qfin
		buf [64]float32
	})
	for r0 := 0; r0 < rows; r0 += len(tmp.buf) {
		n := min(len(tmp.buf), rows-r0)
		for i := range n {
			tmp.buf[i] = float32(scale[r0+i])
		}
		var rb []int32
		if rowBias != nil {
			rb = rowBias[r0:]
		}
		requantizeRows(&tmp.f, acc[r0*cols:], n, cols, rb, tmp.buf[:n], ep, out[r0*cols:])
	}
}

func requantizeRows[TC int8 | uint8](f *qfin, acc []int32, rows, cols int, rowBias []int32, scale []float32, ep QEpilogue, out []TC) {
	*f = qfin{flags: qRequant | qScaleRow, scale: &scale[0], out: unsafe.Pointer(unsafe.SliceData(out)),
		ldo: uintptr(cols), rows: rows, cols: cols, tile: &acc[0], tstride: uintptr(cols)}
	_, lo, hi := outRange[TC](&ep)
	f.setBounds(ep.ZeroPoint, lo, hi)
	if isSigned[TC]() {
		f.flags |= qSigned
	}
	if rowBias != nil {
		f.flags |= qRowAdd
		f.rowAdd = &rowBias[0]
	}
	qkernelFor(cpu.Current()).finish(f)
}
