package sparse

import "github.com/frugal-ml/frugal/impl/gemm"

// K slabs: a chunk of 64 columns of X spans K*256 bytes, more than L1 for
// K > 128, and an unstructured row touches X rows at random, so every
// nonzero pulls 4 cache lines from L2. Splitting K into slabs of slabK rows
// keeps the X block of a slab (slabK x 64 floats, 8 KB) in L1 while all
// rows go through it; the rows' outputs make one round trip to memory per
// slab. It pays when a row has enough nonzeros per slab (minPerSlab).
// Measured here, small slabs win only at high density (30% and up); the
// L1 of this machine holds far less than its nominal 48 KB for streams of
// 64-byte loads (shared-tenant effects), hence slabs of 8 KB.
var (
	slabK      = 32
	minPerSlab = 10.0
	slabK24    = 16 // 2:4 slabs (4 groups): measured best here
)

type csrSlab struct {
	rowPtr []int32
	colIdx []int32
	val    []float32
}

type slabCache struct {
	kb    int
	slabs []csrSlab
}

// useSlabs reports whether splitting K pays for nnz nonzeros in m rows.
func useSlabs(nnz, m, k int) bool {
	ns := (k + slabK - 1) / slabK
	return ns > 1 && float64(nnz)/float64(max(m, 1))/float64(ns) >= minPerSlab
}

// slabs returns the CSR split into K slabs (column indices stay absolute),
// built once and cached. The CSR is validated on its first MatMul and must
// not change afterwards.
func (c *CSR) slabs() []csrSlab {
	if sc := c.cache.Load(); sc != nil && sc.kb == slabK && sc.slabs != nil {
		return sc.slabs
	}
	ns := (c.Cols + slabK - 1) / slabK
	out := make([]csrSlab, ns)
	for s := range out {
		out[s].rowPtr = make([]int32, c.Rows+1)
	}
	for i := 0; i < c.Rows; i++ {
		for p := c.RowPtr[i]; p < c.RowPtr[i+1]; p++ {
			s := int(c.ColIdx[p]) / slabK
			out[s].colIdx = append(out[s].colIdx, c.ColIdx[p])
			out[s].val = append(out[s].val, c.Val[p])
		}
		for s := range out {
			out[s].rowPtr[i+1] = int32(len(out[s].val))
		}
	}
	c.cache.Store(&slabCache{kb: slabK, slabs: out})
	return out
}

// slabFlags sets the epilogue flags of slab s of ns: the user's beta on
// the first, accumulate afterwards, bias and clamp on the last.
func slabFlags(a *sargs, e *epi, s, ns int) {
	full := e.flags()
	a.flags = 0
	a.beta = 1
	if s == 0 {
		a.beta = e.beta
		a.flags = full & sfLoadY
	} else {
		a.flags = sfLoadY
	}
	if s == ns-1 {
		a.flags |= full &^ sfLoadY
	}
}

// runSlabs runs rows [r0, r1) of a slabbed CSR through the R = 1 kernels.
func (c *CSR) runSlabs(k *isa, slabs []csrSlab, r0, r1, n int, x []float32, ldx int, y []float32, ldy int, e *epi) {
	chunk := k.maxNV(1) * k.vec
	var a sargs
	a.nbr, a.c = r1-r0, 1
	a.ldx, a.ldy, a.ldxC = uintptr(ldx)*4, uintptr(ldy)*4, uintptr(ldx)*4
	a.lo, a.hi = e.lo, e.hi
	for j0 := 0; j0 < n; j0 += chunk {
		nv, edge := k.chunk(&a, min(chunk, n-j0))
		a.x = &x[j0]
		a.y = &y[r0*ldy+j0]
		a.rowBias, a.colBias = nil, nil
		if e.rowBias != nil {
			a.rowBias = &e.rowBias[r0]
		}
		if e.colBias != nil {
			a.colBias = &e.colBias[j0]
		}
		kern := k.bsr(1, nv, true, edge)
		for s := range slabs {
			sl := &slabs[s]
			a.rowPtr = &sl.rowPtr[r0]
			a.colIdx, a.val = nil, nil
			if len(sl.colIdx) > 0 {
				a.colIdx = &sl.colIdx[0]
			}
			if f := int(sl.rowPtr[r0]); f < len(sl.val) {
				a.val = &sl.val[f]
			}
			slabFlags(&a, e, s, len(slabs))
			kern(&a)
		}
	}
}

// matMulSlabs is CSR.MatMul through K slabs (assembly only).
func (c *CSR) matMulSlabs(k *isa, n int, x []float32, ldx int, y []float32, ldy int, ep gemm.Epilogue) {
	e := resolve(&ep, c.Rows, n)
	slabs := c.slabs()
	parallelRows(c.Rows, float64(len(c.Val))*float64(n), func(r0, r1 int) {
		c.runSlabs(k, slabs, r0, r1, n, x, ldx, y, ldy, &e)
	})
}

// runAsmSlabs runs rows [r0, r1) of a 2:4 matrix in slabs of slabK24/4 groups.
func (s *NM24) runAsmSlabs(k *isa, r0, r1, n int, x []float32, ldx int, y []float32, ldy int, e *epi) {
	chunk := k.maxNV(1) * k.vec
	gs := slabK24 / 4
	ns := (s.Groups + gs - 1) / gs
	var a sargs
	a.nbr = r1 - r0
	a.ldx, a.ldy, a.ldxC = uintptr(ldx)*4, uintptr(ldy)*4, uintptr(4*ldx)*4
	a.lo, a.hi = e.lo, e.hi
	for j0 := 0; j0 < n; j0 += chunk {
		nv, edge := k.chunk(&a, min(chunk, n-j0))
		a.y = &y[r0*ldy+j0]
		a.rowBias, a.colBias = nil, nil
		if e.rowBias != nil {
			a.rowBias = &e.rowBias[r0]
		}
		if e.colBias != nil {
			a.colBias = &e.colBias[j0]
		}
		kern := k.nm24(nv, edge)
		for sl := 0; sl < ns; sl++ {
			g0 := sl * gs
			g1 := min(s.Groups, g0+gs)
			a.groups, a.skip = g1-g0, s.Groups-(g1-g0)
			a.meta = &s.Meta[r0*s.Groups+g0]
			a.val = &s.Val[(r0*s.Groups+g0)*2]
			a.x = &x[4*g0*ldx+j0]
			slabFlags(&a, e, sl, ns)
			kern(&a)
		}
	}
}
