//go:build amd64 && !purego

package ops

import (
	"unsafe"

	"github.com/frugal-ml/frugal/impl/cpu"
)

//go:noescape
func fillBytesAVX512(dst *byte, n int, v uint64)

//go:noescape
func copyRowsAVX512(dst, src *byte, rows, w, ds, ss int)

//go:noescape
func gatherRows2AVX512(dst, src *byte, rows, w, ds, ss int)

// planeRowsAsm fills a phase plane in one call per plane: all of plane
// gets zx, then rows rows of w input bytes (every sx-th byte of src, sx 1
// or 2, src rows ss apart) land at plane[at:], ds apart. It reports false
// when the CPU lacks AVX-512BW (the caller then goes row by row in Go).
func planeRowsAsm(plane []byte, zx byte, at int, src []byte, rows, w, ds, ss, sx int) bool {
	if cpu.Current() < cpu.AVX512 || sx > 2 {
		return false
	}
	if len(plane) > 0 {
		fillBytesAVX512(&plane[0], len(plane), uint64(zx))
	}
	if rows <= 0 || w <= 0 {
		return true
	}
	// Bounds: the last row's last byte on both sides.
	_ = plane[at+(rows-1)*ds+w-1]
	_ = src[(rows-1)*ss+sx*(w-1)]
	if sx == 1 {
		copyRowsAVX512(&plane[at], &src[0], rows, w, ds, ss)
	} else {
		gatherRows2AVX512(&plane[at], &src[0], rows, w, ds, ss)
	}
	return true
}

// planesRowsAsm is planeRowsAsm for count planes at once (dst planes
// dstPlane bytes apart, src planes srcPlane apart), all with the same
// window: one bounds check and no per-plane setup, for the hundreds of
// small planes of a deep layer on a small map.
func planesRowsAsm(dst []byte, dstPlane int, zx byte, at int, src []byte, srcPlane, count, rows, w, ds, ss, sx int) bool {
	if cpu.Current() < cpu.AVX512 || sx > 2 {
		return false
	}
	if count <= 0 {
		return true
	}
	_ = dst[(count-1)*dstPlane+dstPlane-1]
	if rows > 0 && w > 0 {
		_ = dst[(count-1)*dstPlane+at+(rows-1)*ds+w-1]
		_ = src[(count-1)*srcPlane+(rows-1)*ss+sx*(w-1)]
	}
	d, sp := unsafe.Pointer(&dst[0]), unsafe.Pointer(unsafe.SliceData(src))
	for i := 0; i < count; i++ {
		fillBytesAVX512((*byte)(unsafe.Add(d, i*dstPlane)), dstPlane, uint64(zx))
		if rows <= 0 || w <= 0 {
			continue
		}
		if sx == 1 {
			copyRowsAVX512((*byte)(unsafe.Add(d, i*dstPlane+at)), (*byte)(unsafe.Add(sp, i*srcPlane)), rows, w, ds, ss)
		} else {
			gatherRows2AVX512((*byte)(unsafe.Add(d, i*dstPlane+at)), (*byte)(unsafe.Add(sp, i*srcPlane)), rows, w, ds, ss)
		}
	}
	return true
}

// copyRowsAsm copies rows rows of w bytes (dst rows ds apart, src rows ss
// apart) in one call; false without AVX-512BW.
func copyRowsAsm(dst, src []byte, rows, w, ds, ss int) bool {
	if cpu.Current() < cpu.AVX512 {
		return false
	}
	if rows <= 0 || w <= 0 {
		return true
	}
	_ = dst[(rows-1)*ds+w-1]
	_ = src[(rows-1)*ss+w-1]
	copyRowsAVX512(&dst[0], &src[0], rows, w, ds, ss)
	return true
}

//go:noescape
func gatherRows2F32AVX512(dst, src *float32, rows, w, ds, ss int)

// planeRowsF32Asm is planeRowsAsm for float32 planes padded with zeros.
func planeRowsF32Asm(plane []float32, at int, src []float32, rows, w, ds, ss, sx int) bool {
	if cpu.Current() < cpu.AVX512 || sx > 2 {
		return false
	}
	clear(plane)
	if rows <= 0 || w <= 0 {
		return true
	}
	_ = plane[at+(rows-1)*ds+w-1]
	_ = src[(rows-1)*ss+sx*(w-1)]
	if sx == 1 {
		copyRowsAVX512((*byte)(unsafe.Pointer(&plane[at])), (*byte)(unsafe.Pointer(&src[0])), rows, 4*w, 4*ds, 4*ss)
	} else {
		gatherRows2F32AVX512(&plane[at], &src[0], rows, w, ds, ss)
	}
	return true
}

//go:noescape
func interleave4AVX(dst, src *byte, n, stride int)

// interleave4Asm weaves the first n16 = n &^ 15 positions of four byte rows
// (src, stride apart) into dst (4 bytes per position) and returns n16; 0
// without AVX2.
func interleave4Asm(dst, src []byte, n, stride int) int {
	n16 := n &^ 15
	if cpu.Current() < cpu.AVX2 || n16 == 0 {
		return 0
	}
	_ = dst[4*n16-1]
	_ = src[3*stride+n16-1]
	interleave4AVX(&dst[0], &src[0], n16, stride)
	return n16
}
