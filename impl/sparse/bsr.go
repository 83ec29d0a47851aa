package sparse

import (
	"fmt"
	"sync/atomic"

	"github.com/frugal-ml/frugal/impl/gemm"
)

// BSR is an M x K matrix stored as R x C blocks: block row br (rows
// br*R .. br*R+R-1) holds blocks RowPtr[br] .. RowPtr[br+1]-1, block b sits
// at block column ColIdx[b] (columns ColIdx[b]*C ..) and its values are
// Val[b*R*C : (b+1)*R*C], column-major (for each of the C columns, R values).
// A last, partial block row (M not a multiple of R) is padded with zeros.
type BSR struct {
	Rows, Cols int
	R, C       int
	RowPtr     []int32
	ColIdx     []int32
	Val        []float32

	checked atomic.Bool // validated by the first MatMul; must not change afterwards
}

// CSR is an M x K matrix in compressed sparse row form: row i holds the
// nonzeros RowPtr[i] .. RowPtr[i+1]-1 at columns ColIdx[..] with values
// Val[..]. It shares the BSR kernels (1 x 1 blocks).
type CSR struct {
	Rows, Cols int
	RowPtr     []int32
	ColIdx     []int32
	Val        []float32

	cache atomic.Pointer[slabCache] // K slabs, built on first use
}

// NewCSR compresses a dense row-major M x K matrix, dropping exact zeros.
func NewCSR(m, k int, w []float32, ldw int) *CSR {
	checkDense("W", m, k, w, ldw)
	c := &CSR{Rows: m, Cols: k, RowPtr: make([]int32, m+1)}
	for i := 0; i < m && k > 0; i++ {
		for j, v := range w[i*ldw : i*ldw+k] {
			if v != 0 {
				c.ColIdx = append(c.ColIdx, int32(j))
				c.Val = append(c.Val, v)
			}
		}
		c.RowPtr[i+1] = int32(len(c.Val))
	}
	return c
}

// NNZ returns the number of stored values.
func (c *CSR) NNZ() int { return len(c.Val) }

// Dense expands the matrix (row-major, ld = Cols).
func (c *CSR) Dense() []float32 {
	d := make([]float32, c.Rows*c.Cols)
	for i := 0; i < c.Rows; i++ {
		for p := c.RowPtr[i]; p < c.RowPtr[i+1]; p++ {
			d[i*c.Cols+int(c.ColIdx[p])] += c.Val[p]
		}
	}
	return d
}

func (c *CSR) bsr() *BSR {
	return &BSR{Rows: c.Rows, Cols: c.Cols, R: 1, C: 1, RowPtr: c.RowPtr, ColIdx: c.ColIdx, Val: c.Val}
}

// MatMul computes Y = epilogue(W x X) for X K x n (row-major, ldx) and Y
// M x n (ldy).
func (c *CSR) MatMul(n int, x []float32, ldx int, y []float32, ldy int, ep gemm.Epilogue) {
	if c.cache.Load() == nil {
		if err := c.validate(); err != nil {
			panic(err)
		}
		c.cache.Store(&slabCache{})
	}
	if k := asmISA(); k != nil && n > 0 && c.Rows > 0 && useSlabs(len(c.Val), c.Rows, c.Cols) {
		checkDense("X", c.Cols, n, x, ldx)
		checkDense("Y", c.Rows, n, y, ldy)
		c.matMulSlabs(k, n, x, ldx, y, ldy, ep)
		return
	}
	c.bsr().matMul(n, x, ldx, y, ldy, ep)
}

func (c *CSR) validate() error {
	if len(c.RowPtr) != c.Rows+1 || c.RowPtr[0] != 0 || int(c.RowPtr[c.Rows]) != len(c.Val) || len(c.ColIdx) != len(c.Val) {
		return fmt.Errorf("sparse: malformed CSR (%d rows, %d row pointers, %d values, %d indices)", c.Rows, len(c.RowPtr), len(c.Val), len(c.ColIdx))
	}
	for i := 0; i < c.Rows; i++ {
		if c.RowPtr[i+1] < c.RowPtr[i] {
			return fmt.Errorf("sparse: CSR row pointers decrease at row %d", i)
		}
	}
	for _, j := range c.ColIdx {
		if j < 0 || int(j) >= c.Cols {
			return fmt.Errorf("sparse: CSR column index %d out of [0, %d)", j, c.Cols)
		}
	}
	return nil
}

// NewBSR compresses a dense M x K matrix into R x C blocks, keeping every
// block with a nonzero. R must be 1, 2, 4 or 8 and C must divide K.
func NewBSR(m, k, r, c int, w []float32, ldw int) (*BSR, error) {
	checkDense("W", m, k, w, ldw)
	if r != 1 && r != 2 && r != 4 && r != 8 {
		return nil, fmt.Errorf("sparse: block height %d: want 1, 2, 4 or 8", r)
	}
	if c < 1 || k%c != 0 {
		return nil, fmt.Errorf("sparse: block width %d must divide K = %d", c, k)
	}
	nbr := (m + r - 1) / r
	b := &BSR{Rows: m, Cols: k, R: r, C: c, RowPtr: make([]int32, nbr+1)}
	at := func(i, j int) float32 {
		if i >= m {
			return 0
		}
		return w[i*ldw+j]
	}
	for br := 0; br < nbr; br++ {
		for bc := 0; bc < k/c; bc++ {
			nz := false
			for cc := 0; cc < c && !nz; cc++ {
				for rr := 0; rr < r; rr++ {
					if at(br*r+rr, bc*c+cc) != 0 {
						nz = true
						break
					}
				}
			}
			if !nz {
				continue
			}
			b.ColIdx = append(b.ColIdx, int32(bc))
			for cc := 0; cc < c; cc++ {
				for rr := 0; rr < r; rr++ {
					b.Val = append(b.Val, at(br*r+rr, bc*c+cc))
				}
			}
		}
		b.RowPtr[br+1] = int32(len(b.ColIdx))
	}
	return b, nil
}

// Blocks returns the number of stored blocks.
func (b *BSR) Blocks() int { return len(b.ColIdx) }

// Dense expands the matrix (row-major, ld = Cols).
func (b *BSR) Dense() []float32 {
	d := make([]float32, b.Rows*b.Cols)
	for br := 0; br+1 < len(b.RowPtr); br++ {
		for p := b.RowPtr[br]; p < b.RowPtr[br+1]; p++ {
			v := b.Val[int(p)*b.R*b.C:]
			for cc := 0; cc < b.C; cc++ {
				for rr := 0; rr < b.R; rr++ {
					i, j := br*b.R+rr, int(b.ColIdx[p])*b.C+cc
					if i < b.Rows {
						d[i*b.Cols+j] += v[cc*b.R+rr]
					}
				}
			}
		}
	}
	return d
}

func (b *BSR) validate() error {
	nbr := (b.Rows + b.R - 1) / b.R
	if b.R != 1 && b.R != 2 && b.R != 4 && b.R != 8 || b.C < 1 || b.Cols%b.C != 0 {
		return fmt.Errorf("sparse: BSR blocks %dx%d invalid for K = %d", b.R, b.C, b.Cols)
	}
	if len(b.RowPtr) != nbr+1 || b.RowPtr[0] != 0 || int(b.RowPtr[nbr]) != len(b.ColIdx) || len(b.Val) != len(b.ColIdx)*b.R*b.C {
		return fmt.Errorf("sparse: malformed BSR")
	}
	for i := 0; i < nbr; i++ {
		if b.RowPtr[i+1] < b.RowPtr[i] {
			return fmt.Errorf("sparse: BSR row pointers decrease at block row %d", i)
		}
	}
	for _, j := range b.ColIdx {
		if j < 0 || int(j) >= b.Cols/b.C {
			return fmt.Errorf("sparse: BSR block column %d out of range", j)
		}
	}
	return nil
}

// MatMul computes Y = epilogue(W x X) for X K x n (ldx) and Y M x n (ldy).
func (b *BSR) MatMul(n int, x []float32, ldx int, y []float32, ldy int, ep gemm.Epilogue) {
	if !b.checked.Load() {
		if err := b.validate(); err != nil {
			panic(err)
		}
		b.checked.Store(true)
	}
	b.matMul(n, x, ldx, y, ldy, ep)
}

func (b *BSR) matMul(n int, x []float32, ldx int, y []float32, ldy int, ep gemm.Epilogue) {
	checkDense("X", b.Cols, n, x, ldx)
	checkDense("Y", b.Rows, n, y, ldy)
	b.matMulRun(n, x, ldx, y, ldy, ep)
}

// runAsm runs block rows [br0, br1) (all full) through the assembly
// kernels, one column chunk of X at a time.
func (b *BSR) runAsm(k *isa, br0, br1, n int, x []float32, ldx int, y []float32, ldy int, e *epi) {
	chunk := k.maxNV(b.R) * k.vec
	var s sargs
	s.rowPtr = &b.RowPtr[br0]
	if len(b.ColIdx) > 0 {
		s.colIdx = &b.ColIdx[0]
	}
	s.nbr, s.c = br1-br0, b.C
	s.ldx, s.ldy, s.ldxC = uintptr(ldx)*4, uintptr(ldy)*4, uintptr(ldx*b.C)*4
	s.flags, s.beta, s.lo, s.hi = e.flags(), e.beta, e.lo, e.hi
	first := int(b.RowPtr[br0]) * b.R * b.C
	for j0 := 0; j0 < n; j0 += chunk {
		nv, edge := k.chunk(&s, min(chunk, n-j0))
		if first < len(b.Val) {
			s.val = &b.Val[first]
		} else {
			s.val = nil
		}
		s.x = &x[j0]
		s.y = &y[br0*b.R*ldy+j0]
		if e.rowBias != nil {
			s.rowBias = &e.rowBias[br0*b.R]
		}
		if e.colBias != nil {
			s.colBias = &e.colBias[j0]
		}
		k.bsr(b.R, nv, b.C == 1, edge)(&s)
	}
}

// runGo is the pure-Go kernel for block rows [br0, br1).
func (b *BSR) runGo(br0, br1, n int, x []float32, ldx int, y []float32, ldy int, e *epi) {
	R, C := b.R, b.C
	acc := make([]float32, R*n)
	for br := br0; br < br1; br++ {
		clear(acc)
		for p := b.RowPtr[br]; p < b.RowPtr[br+1]; p++ {
			v := b.Val[int(p)*R*C : (int(p)+1)*R*C]
			k0 := int(b.ColIdx[p]) * C
			for cc := 0; cc < C; cc++ {
				xr := x[(k0+cc)*ldx : (k0+cc)*ldx+n]
				for rr := 0; rr < R; rr++ {
					wv := v[cc*R+rr]
					if wv == 0 {
						continue
					}
					ar := acc[rr*n : rr*n+n]
					for j, xv := range xr {
						ar[j] += wv * xv
					}
				}
			}
		}
		for rr := 0; rr < R; rr++ {
			i := br*R + rr
			if i >= b.Rows {
				break
			}
			yr := y[i*ldy : i*ldy+n]
			for j := range yr {
				yr[j] = e.apply(acc[rr*n+j], yr[j], i, j)
			}
		}
	}
}
