package sparse

import (
	"fmt"

	"github.com/frugal-ml/frugal/impl/gemm"
)

// Overlapping windows: X with leading dimension 1.
//
// MatMulWindows computes Y = epilogue(W x X) where row k of X is the window
// x[k : k+n]: the rows of X overlap (its leading dimension is 1). With
// column indices that are offsets into a zero-padded input, W x X is a
// stride-1 convolution with no im2col matrix: the weight of input channel
// ci at kernel position (ky, kx) sits at column ci*Hp*Wp + ky*Wp + kx and
// multiplies the padded plane shifted by that much; output pixel (oy, ox)
// is column oy*Wp + ox (the ops package's sparse Conv builds these
// matrices). The kernels are the ones MatMul runs, with ldx = 1.

// MatMulWindows computes Y = epilogue(W x X) with X[k][j] = x[k+j], for j
// in [0, n); x must hold Cols-1+n values.
func (c *CSR) MatMulWindows(n int, x []float32, y []float32, ldy int, ep gemm.Epilogue) {
	if c.cache.Load() == nil {
		if err := c.validate(); err != nil {
			panic(err)
		}
		c.cache.Store(&slabCache{})
	}
	checkWindows(c.Cols, n, x)
	checkDense("Y", c.Rows, n, y, ldy)
	if k := asmISA(); k != nil && n > 0 && c.Rows > 0 && useSlabs(len(c.Val), c.Rows, c.Cols) {
		c.matMulSlabs(k, n, x, 1, y, ldy, ep)
		return
	}
	c.bsr().matMulRun(n, x, 1, y, ldy, ep)
}

// MatMulWindows computes Y = epilogue(W x X) with X[k][j] = x[k+j], for j
// in [0, n); x must hold Cols-1+n values. The blocks must be R x 1.
func (b *BSR) MatMulWindows(n int, x []float32, y []float32, ldy int, ep gemm.Epilogue) {
	if b.C != 1 {
		panic(fmt.Sprintf("sparse: MatMulWindows needs R x 1 blocks, have %dx%d", b.R, b.C))
	}
	if !b.checked.Load() {
		if err := b.validate(); err != nil {
			panic(err)
		}
		b.checked.Store(true)
	}
	checkWindows(b.Cols, n, x)
	checkDense("Y", b.Rows, n, y, ldy)
	b.matMulRun(n, x, 1, y, ldy, ep)
}

func checkWindows(cols, n int, x []float32) {
	if n < 0 {
		panic(fmt.Sprintf("sparse: negative width %d", n))
	}
	if cols > 0 && n > 0 && len(x) < cols-1+n {
		panic(fmt.Sprintf("sparse: windows of %d over %d columns need %d values, have %d", n, cols, cols-1+n, len(x)))
	}
}

// matMulRun is the BSR driver after the operand checks (MatMul checks
// dense operands, MatMulWindows overlapping windows): block rows are split
// across threads, full ones go to the assembly kernels.
func (b *BSR) matMulRun(n int, x []float32, ldx int, y []float32, ldy int, ep gemm.Epilogue) {
	if b.Rows == 0 || n == 0 {
		return
	}
	e := resolve(&ep, b.Rows, n)
	full := b.Rows / b.R
	nbr := (b.Rows + b.R - 1) / b.R
	macs := float64(len(b.Val)) * float64(n)
	k := asmISA()
	if b.Cols == 0 {
		k = nil
	}
	parallelRows(nbr, macs, func(br0, br1 int) {
		split := br0
		if k != nil {
			split = max(br0, min(br1, full))
		}
		if br0 < split {
			b.runAsm(k, br0, split, n, x, ldx, y, ldy, &e)
		}
		if split < br1 {
			b.runGo(split, br1, n, x, ldx, y, ldy, &e)
		}
	})
}
