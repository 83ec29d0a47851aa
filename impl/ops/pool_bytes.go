package ops

import (
	"encoding/binary"
	"unsafe"

	"github.com/frugal-ml/frugal/impl/ref"
)

// 8-bit max pooling eight codes at a time.
//
// Go compiles a byte max to a compare and a branch, which real activations
// mispredict; widening to float32 for SIMD max and narrowing back costs two
// conversions per element. maxBytes8 instead takes the unsigned max of
// eight byte lanes of a uint64 in ten branch-free integer operations
// (a SWAR compare: Hacker's Delight, ch. 2). int8 codes are mapped to
// uint8 order by flipping the sign bit on the way in and out.

const hiBits = 0x8080808080808080

// poolKind is the element type of a plane the assembly max-pool kernels
// (pool_simd_amd64.go) take.
type poolKind uint8

const (
	poolU8 poolKind = iota
	poolS8
	poolF32
)

// maxBytes8 is the per-byte unsigned maximum of a and b.
func maxBytes8(a, b uint64) uint64 {
	// High bit of each byte: low seven bits of a >= those of b (no borrow
	// crosses a byte: each difference lies in [1, 255]).
	d := (a | hiBits) - (b &^ hiBits)
	ge := ((a &^ b) | (^(a ^ b) & d)) & hiBits // a >= b per byte
	m := (ge >> 7) * 0xFF
	return a&m | b&^m
}

// maxBytesInto sets d[i] = max(d[i], s[i]) (unsigned, after xor flip on s).
func maxBytesInto(d, s []byte, flip uint64) {
	s = s[:len(d)]
	i := 0
	for ; i+8 <= len(d); i += 8 {
		a := binary.LittleEndian.Uint64(d[i:])
		b := binary.LittleEndian.Uint64(s[i:]) ^ flip
		binary.LittleEndian.PutUint64(d[i:], maxBytes8(a, b))
	}
	for ; i < len(d); i++ {
		d[i] = byte(maxBytes8(uint64(d[i]), uint64(s[i]^byte(flip))))
	}
}

// bytePoolFits reports whether maxPoolBytes handles the window: any
// vertical window, and horizontally 3 wide at stride 1 or 2 with left
// padding 1 (ResNet's 3x3/2 stem pool), or 2 wide at stride 2 without.
func bytePoolFits(p ref.Conv2D) bool {
	if p.DW != 1 {
		return false
	}
	return (p.KW == 3 && p.PL == 1 && (p.SW == 1 || p.SW == 2)) || (p.KW == 2 && p.SW == 2 && p.PL == 0)
}

// maxPoolBytes max-pools one h x w plane of codes (int8 when signed) into
// oh x ow; buf holds at least bytePoolScratch(w, ow) bytes. The assembly
// kernels (pool_simd_amd64.go) take the windows of bytePoolFits with at most
// 3 rows at AVX2 and above (at AVX2, rows of at least 32 codes).
func maxPoolBytes(x []byte, h, w int, p ref.Conv2D, oh, ow int, signed bool, out, buf []byte) {
	if h > 0 && w > 0 && oh > 0 && ow > 0 {
		_, _ = x[h*w-1], out[oh*ow-1] // the kernels stay inside both planes
		k := poolU8
		if signed {
			k = poolS8
		}
		if maxPoolAsm(k, unsafe.Pointer(&x[0]), unsafe.Pointer(&out[0]), h, w, p, oh, ow) {
			return
		}
	}
	maxPoolBytesGo(x, h, w, p, oh, ow, signed, out, buf)
}

// maxPoolBytesGo is maxPoolBytes in Go (SWAR), the fallback and reference
// of the assembly kernels.
func maxPoolBytesGo(x []byte, h, w int, p ref.Conv2D, oh, ow int, signed bool, out, buf []byte) {
	var flip uint64
	if signed {
		flip = hiBits
	}
	// v: the vertical max of one output row's window over columns
	// [-1, 2ow+1), identity (0 after the flip) outside the image.
	vn := max(w, 2*ow+1) + 2
	v := buf[:vn]
	e, o := buf[vn:vn+ow+8], buf[vn+ow+8:vn+2*ow+16]
	for oy := 0; oy < oh; oy++ {
		clear(v)
		for ky := 0; ky < p.KH; ky++ {
			iy := oy*p.SH - p.PT + ky*p.DH
			if iy < 0 || iy >= h {
				continue
			}
			maxBytesInto(v[1:1+w], x[iy*w:(iy+1)*w], flip)
		}
		or := out[oy*ow : (oy+1)*ow]
		switch {
		case p.KW == 3 && p.SW == 1: // out[j] = max(v[j-1], v[j], v[j+1])
			copy(or, v[:ow])
			maxBytesInto(or, v[1:1+ow], 0)
			maxBytesInto(or, v[2:2+ow], 0)
		case p.KW == 3: // stride 2: out[j] = max(v[2j-1], v[2j], v[2j+1])
			// v[i] holds column i-1.
			gather2(e[:ow], v[0:])
			gather2(o[:ow], v[1:])
			gather2(or, v[2:])
			maxBytesInto(or, e[:ow], 0) // all three already flipped
			maxBytesInto(or, o[:ow], 0)
		default: // 2 wide, stride 2: out[j] = max(v[2j], v[2j+1])
			gather2(or, v[1:])
			gather2(o[:ow], v[2:])
			maxBytesInto(or, o[:ow], 0)
		}
		if signed {
			for i := range or {
				or[i] ^= 0x80
			}
		}
	}
}

// bytePoolScratch is the scratch maxPoolBytes needs.
func bytePoolScratch(w, ow int) int { return max(w, 2*ow+1) + 2 + 2*ow + 16 }
