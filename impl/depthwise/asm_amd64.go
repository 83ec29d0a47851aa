//go:build amd64 && !purego

package depthwise

import (
	"encoding/binary"
	"sync/atomic"
	"unsafe"

	"github.com/frugal-ml/frugal/impl/cpu"
)

// asmKind selects an assembly kernel (0: none, run Go).
type asmKind int8

const (
	asmNone asmKind = iota
	asm512s1
	asm512s2
	asm256s1
	asm256s2
)

const haveAsm = true

// call runs kernel k (direct calls, so the arguments stay on the stack).
func (k asmKind) call(a *dwArgs) {
	switch k {
	case asm512s1:
		dw3x3s1_avx512(a)
	case asm512s2:
		dw3x3s2_avx512(a)
	case asm256s1:
		dw3x3s1_avx2(a)
	case asm256s2:
		dw3x3s2_avx2(a)
	default:
		panic("depthwise: no kernel")
	}
}

// asmFor picks the kernel for pl at level l, or asmNone when the geometry
// has none (not 3x3 stride 1 or 2 dilation 1, or more masked blocks per row
// than the kernels take).
func asmFor(l cpu.Level, pl *plan) asmKind {
	p := &pl.p
	if l < cpu.AVX2 || p.KH != 3 || p.KW != 3 || p.DH != 1 || p.DW != 1 || p.SH != p.SW || (p.SH != 1 && p.SH != 2) {
		return asmNone
	}
	// Rows of at most 8 outputs fill an 8-lane vector better than half a
	// 16-lane one: the AVX2 kernel is faster there (960ch@7: ~1.3x).
	k := asm256s1
	if l >= cpu.AVX512 && pl.ow > 8 {
		k = asm512s1
	}
	if p.SH == 2 {
		k++
	}
	if _, _, _, ok := pl.blocks(k); !ok {
		return asmNone
	}
	return k
}

func (k asmKind) lanes() int {
	if k == asm512s1 || k == asm512s2 {
		return 16
	}
	return 8
}

// blocks classifies the column blocks of an output row: nh masked head
// blocks, nf full ones (every load inside the row, all lanes stored), nt
// masked tail blocks.
func (pl *plan) blocks(k asmKind) (nh, nf, nt int, ok bool) {
	v := k.lanes()
	s := pl.p.SW
	last := v + 1 // last input column a block reads, from its first
	if s == 2 {
		last = 2 * v
	}
	nb := (pl.ow + v - 1) / v
	full := func(b int) bool {
		c0 := s*v*b - pl.p.PL
		return v*b+v <= pl.ow && c0 >= 0 && c0+last <= pl.w-1
	}
	b0 := 0
	for b0 < nb && !full(b0) {
		b0++
	}
	b1 := b0
	for b1 < nb && full(b1) {
		b1++
	}
	nh, nf, nt = b0, b1-b0, nb-b1
	if nf == 0 {
		nh, nt = nb, 0
	}
	return nh, nf, nt, nh+nt <= dwMaxMasked
}

// fill sets the geometry and the masks of a (not the per-call pointers).
func (pl *plan) fill(a *dwArgs) {
	k := pl.asm
	v := k.lanes()
	p := &pl.p
	s := p.SW
	nh, nf, nt, _ := pl.blocks(k)
	a.inPlane = uintptr(pl.h * pl.w * 4)
	a.rs = uintptr(pl.w * 4)
	a.ors = uintptr(pl.ow * 4)
	a.h, a.oh, a.pt = pl.h, pl.oh, p.PT
	a.colOff = -4 * p.PL
	step := v * s * 4 // input bytes per block
	a.hEnd, a.fEnd, a.tEnd = nh*step, (nh+nf)*step, (nh+nf+nt)*step
	a.lo, a.hi = pl.lo, pl.hi
	a.zero = zeroRow(pl.w)
	a.zeroAdj = uintptr(unsafe.Pointer(a.zero)) - uintptr(4*p.PL)
	// Load starts, relative to the block's first input column c0.
	var starts []int
	if s == 1 {
		starts = []int{0, 1, 2}
	} else {
		starts = []int{0, v, 1, v + 1}
	}
	slot := 0
	blk := func(b int) {
		ox0 := v * b
		c0 := s*ox0 - p.PL
		for m, st := range starts {
			pl.setMask(a, k, slot, m, func(i int) bool { c := c0 + st + i; return c >= 0 && c < pl.w })
		}
		pl.setMask(a, k, slot, 4, func(i int) bool { return ox0+i < pl.ow })
		slot++
	}
	for b := 0; b < nh; b++ {
		blk(b)
	}
	for b := nh + nf; b < nh+nf+nt; b++ {
		blk(b)
	}
}

func (pl *plan) setMask(a *dwArgs, k asmKind, slot, m int, on func(i int) bool) {
	if k.lanes() == 16 {
		var bits uint16
		for i := 0; i < 16; i++ {
			if on(i) {
				bits |= 1 << i
			}
		}
		binary.LittleEndian.PutUint16(a.mask[slot*dwSlot512+2*m:], bits)
		return
	}
	for i := 0; i < 8; i++ {
		var l uint32
		if on(i) {
			l = 0xffffffff
		}
		binary.LittleEndian.PutUint32(a.mask[slot*dwSlot256+32*m+4*i:], l)
	}
}

// planesPerCall bounds one kernel call to about 64K outputs, so a call
// stays short (assembly is not preemptible).
func (pl *plan) planesPerCall() int { return max(1, (1<<16)/(pl.oh*pl.ow)) }

var zeroBias = [1]float32{}

// runAsm computes planes consecutive channel planes: x, wts, bias (nil or
// one per plane) and out start at the first.
func (pl *plan) runAsm(x, wts, bias, out []float32, planes int) {
	var a dwArgs
	pl.fill(&a)
	plane, oplane := pl.h*pl.w, pl.oh*pl.ow
	step := pl.planesPerCall()
	for q := 0; q < planes; q += step {
		cnt := min(step, planes-q)
		// Bounds: every plane of the call is inside the slices.
		_ = x[(q+cnt)*plane-1]
		_ = out[(q+cnt)*oplane-1]
		_ = wts[(q+cnt)*9-1]
		a.in = &x[q*plane]
		a.out = &out[q*oplane]
		a.w = &wts[q*9]
		if bias != nil {
			_ = bias[q+cnt-1]
			a.bias, a.biasStep = &bias[q], 4
		} else {
			a.bias, a.biasStep = &zeroBias[0], 0
		}
		a.planes = cnt
		pl.asm.call(&a)
	}
}

// runAsmRows is runAsm for output rows [r0, r1) of each plane only: one
// kernel call per plane, the kernel starting at row r0.
func (pl *plan) runAsmRows(x, wts, bias, out []float32, planes, r0, r1 int) {
	var a dwArgs
	pl.fill(&a)
	plane, oplane := pl.h*pl.w, pl.oh*pl.ow
	_ = x[planes*plane-1]
	_ = out[planes*oplane-1]
	_ = wts[planes*9-1]
	if bias != nil {
		_ = bias[planes-1]
	}
	a.planes, a.oy0, a.oh = 1, r0, r1
	a.bias, a.biasStep = &zeroBias[0], 0
	for q := 0; q < planes; q++ {
		a.in = &x[q*plane]
		a.out = &out[q*oplane+r0*pl.ow]
		a.w = &wts[q*9]
		if bias != nil {
			a.bias = &bias[q]
		}
		pl.asm.call(&a)
	}
}

// zeros is a shared, never written row of zeros the kernels read for
// padding rows. The row sits inside zeroMargin zeros on either side: the
// kernels' masked loads touch addresses up to about PL floats before a row
// and PR + 2V after it, and although masked-off lanes are never read, a
// vector that reaches into a page that is not present costs a microcode
// assist on every load (seen here: 4-10x slower small layers when the
// allocation happened to start a page).
var zeros atomic.Pointer[[]float32]

const zeroMargin = 256

func zeroRow(n int) *float32 {
	if z := zeros.Load(); z != nil && len(*z) >= n+2*zeroMargin {
		return &(*z)[zeroMargin]
	}
	z := make([]float32, max(n, 4096)+2*zeroMargin)
	zeros.Store(&z)
	return &z[zeroMargin]
}
