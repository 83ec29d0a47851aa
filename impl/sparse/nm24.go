package sparse

import (
	"fmt"
	"sync/atomic"

	"github.com/frugal-ml/frugal/impl/gemm"
)

// NM24 is an M x K matrix with 2:4 structured sparsity: in each group of 4
// consecutive columns of a row at most 2 values are nonzero. Group g of row
// i keeps Val[(i*Groups+g)*2 : +2] and Meta[i*Groups+g], whose bits 0-1 and
// 2-3 give the positions (0..3) of the two values within the group. Storage
// is 2 floats + 1 byte per 4 weights (56% of dense; 2 bits of index per
// value if the metadata of two groups shared a byte).
type NM24 struct {
	Rows, Cols int
	Groups     int // ceil(Cols / 4)
	Val        []float32
	Meta       []uint8

	checked atomic.Bool // validated by the first MatMul; must not change afterwards
}

// NewNM24 compresses a dense M x K matrix that satisfies 2:4 sparsity; it
// returns an error naming the first group with more than 2 nonzeros.
func NewNM24(m, k int, w []float32, ldw int) (*NM24, error) {
	checkDense("W", m, k, w, ldw)
	g := (k + 3) / 4
	s := &NM24{Rows: m, Cols: k, Groups: g, Val: make([]float32, m*g*2), Meta: make([]uint8, m*g)}
	for i := 0; i < m; i++ {
		for q := 0; q < g; q++ {
			var pos [2]int
			var val [2]float32
			cnt := 0
			for t := 0; t < 4 && 4*q+t < k; t++ {
				if v := w[i*ldw+4*q+t]; v != 0 {
					if cnt == 2 {
						return nil, fmt.Errorf("sparse: row %d, columns %d..%d have more than 2 nonzeros: not 2:4", i, 4*q, min(4*q+3, k-1))
					}
					pos[cnt], val[cnt] = t, v
					cnt++
				}
			}
			// Unused slots hold 0 at the group's first column (always < K).
			if cnt < 2 {
				pos[1] = 0
				if cnt == 0 {
					pos[0] = 0
				}
			}
			s.Val[(i*g+q)*2], s.Val[(i*g+q)*2+1] = val[0], val[1]
			s.Meta[i*g+q] = uint8(pos[0] | pos[1]<<2)
		}
	}
	return s, nil
}

// Prune24 zeroes, in every group of 4 consecutive columns of each row, the
// two values of smallest magnitude (ties keep the earlier column): the
// magnitude 2:4 pruning that NewNM24 accepts.
func Prune24(m, k int, w []float32, ldw int) {
	for i := 0; i < m; i++ {
		for q := 0; q < k; q += 4 {
			row := w[i*ldw+q : i*ldw+min(q+4, k)]
			for len(nonzero(row)) > 2 {
				small := -1
				for t, v := range row {
					if v != 0 && (small < 0 || abs32(v) < abs32(row[small])) {
						small = t
					}
				}
				row[small] = 0
			}
		}
	}
}

func nonzero(r []float32) []int {
	var nz []int
	for i, v := range r {
		if v != 0 {
			nz = append(nz, i)
		}
	}
	return nz
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// Dense expands the matrix (row-major, ld = Cols).
func (s *NM24) Dense() []float32 {
	d := make([]float32, s.Rows*s.Cols)
	for i := 0; i < s.Rows; i++ {
		for q := 0; q < s.Groups; q++ {
			mb := s.Meta[i*s.Groups+q]
			for t := 0; t < 2; t++ {
				j := 4*q + int(mb>>(2*t)&3)
				if j < s.Cols {
					d[i*s.Cols+j] += s.Val[(i*s.Groups+q)*2+t]
				}
			}
		}
	}
	return d
}

func (s *NM24) validate() error {
	if s.Groups != (s.Cols+3)/4 || len(s.Val) != s.Rows*s.Groups*2 || len(s.Meta) != s.Rows*s.Groups {
		return fmt.Errorf("sparse: malformed NM24")
	}
	for i, mb := range s.Meta {
		q := i % max(s.Groups, 1)
		for t := 0; t < 2; t++ {
			if 4*q+int(mb>>(2*t)&3) >= s.Cols {
				return fmt.Errorf("sparse: NM24 position past K in group %d", i)
			}
		}
	}
	return nil
}

// MatMul computes Y = epilogue(W x X) for X K x n (ldx) and Y M x n (ldy).
func (s *NM24) MatMul(n int, x []float32, ldx int, y []float32, ldy int, ep gemm.Epilogue) {
	if !s.checked.Load() {
		if err := s.validate(); err != nil {
			panic(err)
		}
		s.checked.Store(true)
	}
	checkDense("X", s.Cols, n, x, ldx)
	checkDense("Y", s.Rows, n, y, ldy)
	if s.Rows == 0 || n == 0 {
		return
	}
	e := resolve(&ep, s.Rows, n)
	macs := float64(len(s.Val)) * float64(n)
	k := asmISA()
	if s.Groups == 0 {
		k = nil
	}
	parallelRows(s.Rows, macs, func(r0, r1 int) {
		if k != nil && s.Cols > slabK24 {
			s.runAsmSlabs(k, r0, r1, n, x, ldx, y, ldy, &e)
		} else if k != nil {
			s.runAsm(k, r0, r1, n, x, ldx, y, ldy, &e)
		} else {
			s.runGo(r0, r1, n, x, ldx, y, ldy, &e)
		}
	})
}

func (s *NM24) runAsm(k *isa, r0, r1, n int, x []float32, ldx int, y []float32, ldy int, e *epi) {
	chunk := k.maxNV(1) * k.vec
	var a sargs
	a.nbr, a.groups = r1-r0, s.Groups
	a.ldx, a.ldy, a.ldxC = uintptr(ldx)*4, uintptr(ldy)*4, uintptr(4*ldx)*4
	a.flags, a.beta, a.lo, a.hi = e.flags(), e.beta, e.lo, e.hi
	for j0 := 0; j0 < n; j0 += chunk {
		nv, edge := k.chunk(&a, min(chunk, n-j0))
		a.meta = &s.Meta[r0*s.Groups]
		a.val = &s.Val[r0*s.Groups*2]
		a.x = &x[j0]
		a.y = &y[r0*ldy+j0]
		if e.rowBias != nil {
			a.rowBias = &e.rowBias[r0]
		}
		if e.colBias != nil {
			a.colBias = &e.colBias[j0]
		}
		k.nm24(nv, edge)(&a)
	}
}

func (s *NM24) runGo(r0, r1, n int, x []float32, ldx int, y []float32, ldy int, e *epi) {
	acc := make([]float32, n)
	for i := r0; i < r1; i++ {
		clear(acc)
		for q := 0; q < s.Groups; q++ {
			mb := s.Meta[i*s.Groups+q]
			for t := 0; t < 2; t++ {
				v := s.Val[(i*s.Groups+q)*2+t]
				if v == 0 {
					continue
				}
				k := 4*q + int(mb>>(2*t)&3)
				for j, xv := range x[k*ldx : k*ldx+n] {
					acc[j] += v * xv
				}
			}
		}
		yr := y[i*ldy : i*ldy+n]
		for j := range yr {
			yr[j] = e.apply(acc[j], yr[j], i, j)
		}
	}
}
