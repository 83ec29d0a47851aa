package sparse

import (
	"fmt"

	"github.com/frugal-ml/frugal/impl/gemm"
)

// sargs is the argument block of the assembly kernels (offsets fixed, see
// _asm/sparse.go; checked by TestSargsLayout).
type sargs struct {
	rowPtr  *int32   // 0
	colIdx  *int32   // 8
	val     *float32 // 16
	nbr     int      // 24: block rows (rows for 2:4)
	c       int      // 32: block columns C
	x       *float32 // 40: X at the chunk's first column
	ldx     uintptr  // 48: bytes
	y       *float32 // 56: Y at the first row, chunk column
	ldy     uintptr  // 64: bytes
	flags   uint64   // 72
	beta    float32  // 80
	lo, hi  float32  // 84, 88
	_       float32  // 92
	rowBias *float32 // 96
	colBias *float32 // 104
	mask    uint64   // 112: lanes of the last vector
	ldxC    uintptr  // 120: bytes between block columns (C*ldx; 4*ldx for 2:4)
	meta    *uint8   // 128
	groups  int      // 136
	skip    int      // 144: 2:4 groups per row outside the slab
	maskv   [8]int32 // 152: AVX2 lane mask of the last vector (-1 = on)
}

// isa is one set of assembly kernels.
type isa struct {
	name  string
	vec   int             // floats per vector
	maxNV func(r int) int // widest column chunk (vectors) for block height r
	bsr   func(r, nv int, c1, edge bool) func(*sargs)
	nm24  func(nv int, edge bool) func(*sargs)
}

// chunk prepares the masks for a column chunk of w floats and returns the
// vector count and whether the last vector is partial.
func (k *isa) chunk(a *sargs, w int) (nv int, edge bool) {
	nv = (w + k.vec - 1) / k.vec
	rem := w - (nv-1)*k.vec
	a.mask = 1<<uint(rem) - 1
	for i := range a.maskv {
		a.maskv[i] = 0
		if i < rem {
			a.maskv[i] = -1
		}
	}
	return nv, rem != k.vec
}

const (
	sfLoadY   = 1
	sfRowBias = 2
	sfColBias = 4
	sfClamp   = 8
)

// epi is a resolved epilogue.
type epi struct {
	beta             float32
	rowBias, colBias []float32
	clamp            bool
	lo, hi           float32
}

func resolve(ep *gemm.Epilogue, m, n int) epi {
	e := epi{beta: ep.Beta, rowBias: ep.RowBias, colBias: ep.ColBias}
	if e.rowBias != nil && len(e.rowBias) < m {
		panic(fmt.Sprintf("sparse: RowBias has %d values, want %d", len(e.rowBias), m))
	}
	if e.colBias != nil && len(e.colBias) < n {
		panic(fmt.Sprintf("sparse: ColBias has %d values, want %d", len(e.colBias), n))
	}
	switch ep.Act {
	case gemm.ActNone:
	case gemm.ActRelu:
		e.clamp, e.lo, e.hi = true, 0, float32(inf)
	case gemm.ActRelu6:
		e.clamp, e.lo, e.hi = true, 0, 6
	case gemm.ActClip:
		e.clamp, e.lo, e.hi = true, ep.Min, ep.Max
	default:
		panic(fmt.Sprintf("sparse: unknown activation %d", ep.Act))
	}
	return e
}

func (e *epi) flags() uint64 {
	var f uint64
	if e.beta != 0 {
		f |= sfLoadY
	}
	if e.rowBias != nil {
		f |= sfRowBias
	}
	if e.colBias != nil {
		f |= sfColBias
	}
	if e.clamp {
		f |= sfClamp
	}
	return f
}

// apply finishes one output value like the kernels do.
func (e *epi) apply(acc, y float32, i, j int) float32 {
	if e.beta != 0 {
		acc = fma32(e.beta, y, acc)
	}
	if e.rowBias != nil {
		acc += e.rowBias[i]
	}
	if e.colBias != nil {
		acc += e.colBias[j]
	}
	if e.clamp {
		if acc < e.lo {
			acc = e.lo
		}
		if acc > e.hi {
			acc = e.hi
		}
	}
	return acc
}

// Work per goroutine (multiply-adds) below which a product stays on the
// caller's goroutine.
var minMACsPerThread = 1 << 18

// parallelRows splits [0, units) among goroutines by work (nnz per unit).
func parallelRows(units int, macs float64, f func(u0, u1 int)) {
	t := 1
	if macs >= 2*float64(minMACsPerThread) {
		t = min(gemm.Threads(), units, int(macs/float64(minMACsPerThread)))
	}
	if t <= 1 {
		f(0, units)
		return
	}
	gemm.Parallel(t, func(i int) { f(units*i/t, units*(i+1)/t) })
}

func checkDense(name string, rows, cols int, x []float32, ld int) {
	if ld < max(1, cols) {
		panic(fmt.Sprintf("sparse: leading dimension of %s is %d, want >= %d", name, ld, max(1, cols)))
	}
	if rows > 0 && cols > 0 && len(x) < (rows-1)*ld+cols {
		panic(fmt.Sprintf("sparse: %s has %d elements, want >= %d", name, len(x), (rows-1)*ld+cols))
	}
}
