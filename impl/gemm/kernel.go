package gemm

import (
	"unsafe"

	"github.com/frugal-ml/frugal/impl/cpu"
)

// kargs is the epilogue block every FP32 micro-kernel reads; the assembly
// uses fixed offsets (see _asm/sgemm.go, checked by TestKargsLayout).
type kargs struct {
	alpha   float32  // 0: acc *= alpha when flAlpha
	beta    float32  // 4: acc += beta*C when flLoadC
	lo      float32  // 8: clamp bounds when flClamp
	hi      float32  // 12
	flags   uint64   // 16
	rowBias *float32 // 24: acc[r][*] += rowBias[r] when flRowBias
	colBias *float32 // 32: acc[*][j] += colBias[j] when flColBias
	mask    uint64   // 40: AVX-512 lane mask of the last column vector
	maskv   [8]int32 // 48: AVX2 lane mask of the last column vector (-1 = on)
	// pf is where the k loop prefetches: two cache lines per pair of k
	// steps, from pf on (nil: the kernel's own B panel, a no-op). The
	// driver points it at the next packed B panel, spread over the row
	// tiles of the current one, so that panel's first tile does not wait
	// on memory: weights streamed from DRAM once per inference are the
	// case that needs it.
	pf *float32 // 80
}

const (
	flAlpha   = 1
	flLoadC   = 2
	flRowBias = 4
	flColBias = 8
	flClamp   = 16
)

// sgemmFunc is the assembly micro-kernel signature: rows and columns are
// fixed per function; ldb and ldc are in bytes.
type sgemmFunc func(k int, a, b *float32, ldb uintptr, c *float32, ldc uintptr, ep *kargs)

// sgemmDirectFunc is the micro-kernel reading a row-major A in place (rows
// lda bytes apart) instead of a packed panel.
type sgemmDirectFunc func(k int, a *float32, lda uintptr, b *float32, ldb uintptr, c *float32, ldc uintptr, ep *kargs)

// fkern describes one FP32 micro-kernel and its blocking parameters.
type fkern struct {
	level      cpu.Level
	name       string
	mr, nr     int // register tile
	vec        int // floats per vector register
	kc, mc, nc int // cache blocking: depth, rows (multiple of mr), columns (multiple of nr)
	// tile computes a rows x cols (<= mr x nr) tile: a is a packed A
	// micro-panel (k x rows), b a B micro-panel with rows ldb floats apart.
	tile func(kn *fkern, rows, cols, k int, a, b *float32, ldb int, c *float32, ldc int, ep *kargs)
	// tileD, when set, is tile reading a row-major A in place (lda floats).
	tileD func(kn *fkern, rows, cols, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, ep *kargs)
}

// setMask prepares the lane masks for a tile of cols columns and returns
// the number of vectors and whether the last one is partial.
func (kn *fkern) setMask(cols int, ep *kargs) (nv, edge int) {
	nv = (cols + kn.vec - 1) / kn.vec
	rem := cols - (nv-1)*kn.vec
	if rem != kn.vec {
		edge = 1
		ep.mask = 1<<uint(rem) - 1
		for i := range ep.maskv {
			ep.maskv[i] = 0
			if i < rem {
				ep.maskv[i] = -1
			}
		}
	}
	return nv, edge
}

// tileAsmDirect dispatches to a generated direct-A kernel table.
func tileAsmDirect(tab *[15][3][2]sgemmDirectFunc) func(kn *fkern, rows, cols, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, ep *kargs) {
	return func(kn *fkern, rows, cols, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, ep *kargs) {
		nv, e := kn.setMask(cols, ep)
		tab[rows][nv][e](k, a, uintptr(lda)*4, b, uintptr(ldb)*4, c, uintptr(ldc)*4, ep)
	}
}

// tileAsm dispatches to the generated kernel table.
func tileAsm(tab *[15][3][2]sgemmFunc) func(kn *fkern, rows, cols, k int, a, b *float32, ldb int, c *float32, ldc int, ep *kargs) {
	return func(kn *fkern, rows, cols, k int, a, b *float32, ldb int, c *float32, ldc int, ep *kargs) {
		nv, e := kn.setMask(cols, ep)
		tab[rows][nv][e](k, a, b, uintptr(ldb)*4, c, uintptr(ldc)*4, ep)
	}
}

var kernGeneric = &fkern{
	level: cpu.Generic, name: "go-4x4", mr: 4, nr: 4, vec: 4,
	kc: 256, mc: 64, nc: 512,
	tile: tileGo,
}

// kernelFor returns the FP32 micro-kernel for level l.
func kernelFor(l cpu.Level) *fkern {
	for _, k := range asmKernels {
		if k.level <= l {
			return k
		}
	}
	return kernGeneric
}

// add returns p advanced by n floats.
func add(p *float32, n int) *float32 {
	return (*float32)(unsafe.Add(unsafe.Pointer(p), uintptr(n)*4))
}
