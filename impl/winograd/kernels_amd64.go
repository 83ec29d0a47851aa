//go:build amd64 && !purego

package winograd

import (
	"fmt"

	"github.com/frugal-ml/frugal/impl/cpu"
)

// Implemented in transform_amd64.s (AVX2 + FMA). Strides are in bytes.

//go:noescape
func wgIn4(src *float32, rs, cs uintptr, nblk int, dst *float32, ps uintptr)

//go:noescape
func wgOut4(m *float32, ps uintptr, ntile int, dst *float32, rs, chs uintptr, bias *float32, lo, hi float32, mts, ots uintptr)

//go:noescape
func wgIn2(src *float32, rs, cs uintptr, nblk int, dst *float32, ps uintptr)

//go:noescape
func wgOut2(m *float32, ps uintptr, ntile int, dst *float32, rs, chs uintptr, bias *float32, lo, hi float32, mts, ots uintptr)

// Implemented in transform512_amd64.s (AVX-512 F + DQ): the same
// transforms on pairs of 8-channel blocks.

//go:noescape
func wgIn4x16(src *float32, rs, cs uintptr, npair int, dst *float32, ps uintptr)

//go:noescape
func wgOut4x16(m *float32, ps uintptr, ntile int, dst *float32, rs, chs uintptr, bias *float32, lo, hi float32, mts, ots uintptr)

//go:noescape
func wgIn2x16(src *float32, rs, cs uintptr, npair int, dst *float32, ps uintptr)

//go:noescape
func wgOut2x16(m *float32, ps uintptr, ntile int, dst *float32, rs, chs uintptr, bias *float32, lo, hi float32, mts, ots uintptr)

type inKern func(src *float32, rs, cs uintptr, nblk int, dst *float32, ps uintptr)
type outKern func(m *float32, ps uintptr, ntile int, dst *float32, rs, chs uintptr, bias *float32, lo, hi float32, mts, ots uintptr)

// asmTab holds the wrapped kernels: [F4][AVX-512].
var asmTab [2][2]struct {
	in  inFunc
	out outFunc
}

func init() {
	for i, m := range []int{2, 4} {
		in8, out8, in16, out16 := inKern(wgIn2), outKern(wgOut2), inKern(wgIn2x16), outKern(wgOut2x16)
		if m == 4 {
			in8, out8, in16, out16 = wgIn4, wgOut4, wgIn4x16, wgOut4x16
		}
		asmTab[i][0].in, asmTab[i][0].out = inAsm(in8, nil, m+2), outAsm(out8, nil, m)
		asmTab[i][1].in, asmTab[i][1].out = inAsm(in8, in16, m+2), outAsm(out8, out16, m)
	}
}

// asmKernels returns the transforms for output tile m at the current
// dispatch level: AVX-512 (16 channels per instruction, 8 for an odd last
// block), AVX2 + FMA, or none.
func asmKernels(m int) (inFunc, outFunc, bool) {
	f := cpu.Active()
	if !f.AVX2 || !f.FMA {
		return nil, nil, false
	}
	i, j := 0, 0
	if m == 4 {
		i = 1
	}
	if f.AVX512F && f.AVX512DQ {
		j = 1
	}
	return asmTab[i][j].in, asmTab[i][j].out, true
}

// inAsm wraps an input transform with one bounds check per call (the
// assembly itself is unchecked). With a 16-channel kernel, pairs of blocks
// go to it and an odd last block to the 8-channel one.
func inAsm(k8, k16 inKern, a int) inFunc {
	return func(src []float32, s, rs, cs, nblk int, dst []float32, d, ps int) {
		if nblk <= 0 {
			return
		}
		if s < 0 || d < 0 || s+(nblk-1)*cs+((a-1)*rs+a)*lanes > len(src) || d+(a*a-1)*ps+nblk*lanes > len(dst) {
			panic(fmt.Sprintf("winograd: input transform out of range (s %d rs %d cs %d nblk %d len %d; d %d ps %d len %d)",
				s, rs, cs, nblk, len(src), d, ps, len(dst)))
		}
		if k16 != nil && nblk >= 2 {
			np := nblk / 2
			k16(&src[s], uintptr(rs*lanes*4), uintptr(cs*4), np, &dst[d], uintptr(ps*4))
			if nblk%2 == 0 {
				return
			}
			s, d, nblk = s+2*np*cs, d+2*np*lanes, 1
		}
		k8(&src[s], uintptr(rs*lanes*4), uintptr(cs*4), nblk, &dst[d], uintptr(ps*4))
	}
}

// outAsm wraps an output transform: one bounds check per call, then the
// 16-channel kernel for a pair of blocks (or the 8-channel one per block).
func outAsm(k8, k16 outKern, m int) outFunc {
	a := m + 2
	return func(mm []float32, s, ps, mts, ntile int, dst []float32, d, ots, rs, chs int, bias []float32, nb int, clamp bool, lo, hi float32) {
		if ntile <= 0 || nb <= 0 {
			return
		}
		if nb > 2 || s < 0 || d < 0 || mts < 0 || ots < 0 || s+(ntile-1)*mts+(a*a-1)*ps+nb*lanes > len(mm) ||
			d+(ntile-1)*ots+(nb*lanes-1)*chs+(m-1)*rs+m > len(dst) || nb*lanes > len(bias) {
			panic(fmt.Sprintf("winograd: output transform out of range (s %d ps %d mts %d ntile %d nb %d len %d; d %d ots %d rs %d chs %d len %d)",
				s, ps, mts, ntile, nb, len(mm), d, ots, rs, chs, len(dst)))
		}
		if !clamp {
			lo, hi = -inf32, inf32
		}
		if nb == 2 && k16 != nil {
			k16(&mm[s], uintptr(ps*4), ntile, &dst[d], uintptr(rs*4), uintptr(chs*4), &bias[0], lo, hi, uintptr(mts*4), uintptr(ots*4))
			return
		}
		for b := 0; b < nb; b++ {
			k8(&mm[s+b*lanes], uintptr(ps*4), ntile, &dst[d+b*lanes*chs], uintptr(rs*4), uintptr(chs*4), &bias[b*lanes], lo, hi, uintptr(mts*4), uintptr(ots*4))
		}
	}
}

//go:noescape
func wgRepack8(src *float32, plane, rowStride uintptr, rows, n8 int, dst *float32, dstRow uintptr)

// repackAsm interleaves a full block of 8 channels (see repackBlock): 8x8
// register transposes for whole groups of 8 pixels, Go for the rest of
// each row.
func repackAsm(src []float32, h, w, nc int, dst []float32, wp, pt, pl int) bool {
	if nc != lanes || w < lanes || h == 0 || !cpu.Active().AVX2 {
		return false
	}
	n8 := w / lanes
	if len(src) < lanes*h*w || len(dst) < ((pt+h-1)*wp+pl+w)*lanes {
		panic("winograd: repack out of range")
	}
	wgRepack8(&src[0], uintptr(h*w*4), uintptr(w*4), h, n8, &dst[(pt*wp+pl)*lanes], uintptr(wp*lanes*4))
	for c := 0; c < lanes; c++ {
		sp := src[c*h*w : (c+1)*h*w]
		for y := 0; y < h; y++ {
			dr := dst[((pt+y)*wp+pl)*lanes+c:]
			for x := n8 * lanes; x < w; x++ {
				dr[x*lanes] = sp[y*w+x]
			}
		}
	}
	return true
}
