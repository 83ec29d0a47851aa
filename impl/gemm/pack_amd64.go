//go:build amd64 && !purego

package gemm

//go:noescape
func packRows32(dst, src *float32, lds uintptr, k int)

//go:noescape
func packRows16(dst, src *float32, lds uintptr, k int)

//go:noescape
func packRows14(dst, src *float32, lds uintptr, k int)

// packRowsAsm copies k rows of w floats (w = 32, 16 or 14) when an assembly
// loop exists for w; the caller guarantees the ISA (w follows from the
// selected kernel).
func packRowsAsm(dst, src []float32, lds, k, w int) bool {
	if noAsmPack {
		return false
	}
	if k == 0 {
		return true
	}
	_ = dst[k*w-1]
	_ = src[(k-1)*lds+w-1]
	switch w {
	case 32:
		packRows32(&dst[0], &src[0], uintptr(lds)*4, k)
	case 16:
		packRows16(&dst[0], &src[0], uintptr(lds)*4, k)
	case 14:
		packRows14(&dst[0], &src[0], uintptr(lds)*4, k)
	default:
		if w <= 0 || w > 16 {
			return false
		}
		packRowsW(&dst[0], &src[0], uintptr(lds)*4, k, w)
	}
	return true
}

//go:noescape
func packRowsW(dst, src *float32, lds uintptr, k, w int)

//go:noescape
func packT32(dst, src *float32, lds uintptr, k16 int)

// packTAsm packs a full 32-column panel of op(B) = B^T for k values in
// blocks of 16 and returns how many k it packed.
func packTAsm(dst, src []float32, lds, k, nr int) int {
	if noAsmPack || nr != 32 || k < 16 {
		return 0
	}
	k16 := k / 16
	_ = dst[k16*16*32-1]
	_ = src[31*lds+k16*16-1]
	packT32(&dst[0], &src[0], uintptr(lds)*4, k16)
	return k16 * 16
}

//go:noescape
func qpackB32(dst, src *byte, ldb uintptr, kq int, flip uint32)

// qpackBAsm packs the whole groups of 4 k of a full 32-column VNNI panel
// from a row-major B and returns how many k it packed.
func qpackBAsm(dst, src []byte, ldb, k, nr int, flip byte) int {
	kq := k / 4
	if noAsmPack || nr != 32 || kq == 0 {
		return 0
	}
	_ = dst[kq*128-1]
	_ = src[(4*kq-1)*ldb+31]
	qpackB32(&dst[0], &src[0], uintptr(ldb), kq, uint32(flip)*0x01010101)
	return 4 * kq
}

//go:noescape
func qpackB32Off(dst, src *byte, off *int, kq int, flip uint32)

// qpackBOffAsm packs the whole groups of 4 k of a full 32-column VNNI panel
// whose rows start at src[off[p]] and returns how many k it packed; the
// caller guarantees every row has 32 bytes.
func qpackBOffAsm(dst, src []byte, off []int, k, nr int, flip byte) int {
	kq := k / 4
	if noAsmPack || nr != 32 || kq == 0 || len(src) == 0 {
		return 0
	}
	_ = dst[kq*128-1]
	_ = off[4*kq-1]
	qpackB32Off(&dst[0], &src[0], &off[0], kq, uint32(flip)*0x01010101)
	return 4 * kq
}

//go:noescape
func packRows32Off(dst, src *float32, off *int, k int)

// packRowsOffAsm copies k rows of a full 32-float panel, row p starting at
// src[off[p]]; the caller guarantees 32 floats per row and the ISA (an
// AVX-512 kernel's panel).
func packRowsOffAsm(dst, src []float32, off []int, k, w int) bool {
	if noAsmPack || w != 32 || k == 0 || len(src) == 0 {
		return false
	}
	_ = dst[k*32-1]
	_ = off[k-1]
	packRows32Off(&dst[0], &src[0], &off[0], k)
	return true
}

// packRowsOff2Avail reports whether packRowsOff2Asm runs (the caller's
// kernel being an AVX-512 one).
func packRowsOff2Avail() bool { return !noAsmPack }

//go:noescape
func packRows32Off2(dst, src0, src1 *float32, off *int, k int, mask uint32)

// packRowsOff2Asm copies k rows of a full 32-float panel made of two runs:
// columns [0, split) from src[off[p]+a:], columns [split, 32) from
// src[off[p]+b:] (b >= split). The caller guarantees 32 readable floats
// per row from each start and the ISA (an AVX-512 kernel's panel).
func packRowsOff2Asm(dst, src []float32, off []int, k, w, a, b, split int) bool {
	if noAsmPack || w != 32 || k == 0 || split <= 0 || split >= 32 || b < split {
		return false
	}
	_ = dst[k*32-1]
	_ = off[k-1]
	packRows32Off2(&dst[0], &src[a], &src[b-split], &off[0], k, uint32(1)<<split-1)
	return true
}

//go:noescape
func qpackB32OffPerm(dst, src *byte, off *int, kq int, flip uint32, idx *[64]byte)

// qpackBOffPermAsm packs the whole groups of 4 k of a full 32-column VNNI
// panel whose columns sit, for every row p, within the 64 bytes at
// src[off[p]], gathered by the permute idx (see qpackB32OffPerm), and
// returns how many k it packed. The caller guarantees AVX512-VBMI and the
// 64 bytes of every row.
func qpackBOffPermAsm(dst, src []byte, off []int, k int, flip byte, idx *[64]byte) int {
	kq := k / 4
	if noAsmPack || kq == 0 || len(src) < 64 {
		return 0
	}
	_ = dst[kq*128-1]
	_ = off[4*kq-1]
	qpackB32OffPerm(&dst[0], &src[0], &off[0], kq, uint32(flip)*0x01010101, idx)
	return 4 * kq
}
