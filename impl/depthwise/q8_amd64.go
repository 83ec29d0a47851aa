//go:build amd64 && !purego

package depthwise

import (
	"unsafe"

	"github.com/frugal-ml/frugal/impl/cpu"
)

// q8Args is q8dw3's argument block; the assembly reads it at the offsets
// in the comments (q8Offsets, checked by a test).
//
// Output rows go in groups of R rows: R = 1 when OW > 8 (a row is
// ceil(OW/16) blocks of 16 outputs, the last one masked); for OW <= 8 one
// block holds R = 16/OW whole rows (lane j: row j/OW, column j%OW; idx
// reads row j/OW at byte offset (j/OW)*SH*wp of the 64-byte load) when
// they fit in the load, so small late maps do not waste half the lanes.
type q8Args struct {
	x        *byte    // 0: first input plane
	xPlane   uintptr  // 8: bytes between input planes (H*W)
	buf      *byte    // 16: padded plane buffer: two slots of hp*wp + q8Slack bytes
	out      *byte    // 24: first output plane (planes contiguous)
	wts      *int32   // 32: 3 weight dwords per plane
	corr     *int32   // 40: one start value per plane (bias - zx'*sum w')
	mult     *float32 // 48: one multiplier per plane
	bufX     uintptr  // 56: address of slot 0 xor address of slot 1
	planes   int      // 64
	h        int      // 72: input rows
	w        int      // 80: input columns (bytes per input row)
	pt       int      // 88: top padding rows
	pl       int      // 96: left padding columns
	hp       int      // 104: padded rows
	wp       int      // 112: padded row stride in bytes (PL + W + PR)
	groups   int      // 120: output row groups (the last one may be partial)
	ow16     int      // 128: full 16-output blocks per group
	rowStep  uintptr  // 136: bytes between the first padded rows of consecutive groups (R*SH*wp)
	tapStep  uintptr  // 144: bytes between kernel rows (DH*wp)
	colStep  uintptr  // 152: bytes between the first columns of consecutive blocks (16*SW)
	zy       int32    // 160: output zero point
	lo, hi   float32  // 164, 168: clamp bounds minus zy
	pad      uint32   // 172: padding byte, replicated 4 times
	xor      uint32   // 176: 0x80808080 for int8 input (flip to x+128), else 0
	_        uint32   // 180
	tailMask uint64   // 184: byte mask of the last W%64 input bytes of a row (0: none)
	outMask  uint64   // 192: lanes of a group's last, partial block (0: none)
	tailN    int      // 200: outputs of that block
	lastMask uint64   // 208: the same for the last group
	lastN    int      // 216
	narrow   uint64   // 224: when PL + W + PR <= 64, bytes PL..PL+W-1 (else 0): rows padded in one load and store
	_        [24]byte // 232
	idx      [64]byte // 256: VPERMB index: byte t of dword j reads byte off(j)+t of the load
}

var q8Offsets = map[string]uintptr{
	"x": 0, "xPlane": 8, "buf": 16, "out": 24, "wts": 32, "corr": 40, "mult": 48, "bufX": 56,
	"planes": 64, "h": 72, "w": 80, "pt": 88, "pl": 96, "hp": 104, "wp": 112, "groups": 120, "ow16": 128,
	"rowStep": 136, "tapStep": 144, "colStep": 152, "zy": 160, "lo": 164, "hi": 168, "pad": 172,
	"xor": 176, "tailMask": 184, "outMask": 192, "tailN": 200, "lastMask": 208, "lastN": 216, "narrow": 224, "idx": 256,
}

// q8dw3 computes a.planes planes of a 3 x KW (KW <= 4) depthwise
// convolution in one call: it pads plane i+1 into one slot of a.buf
// before convolving and requantizing plane i from the other (the loads
// then find the padding stores long committed; padding and convolving
// the same plane back to back stalled on store forwarding). Needs
// AVX512-F/BW + VBMI + VNNI. See q8_amd64.s.
//
//go:noescape
func q8dw3(a *q8Args)

// q8Slack: bytes past the padded plane that the kernel may read (a block's
// 64-byte load) or write (the padding stores run up to 64 bytes past a
// row's end).
const q8Slack = 192

func q8Native(q *Q8) bool {
	f := cpu.Active()
	if !f.AVX512VBMI || !f.AVX512VNNI || f.Level() < cpu.AVX512 {
		return false
	}
	p := norm(q.P)
	return p.KH == 3 && p.KW <= 4 && p.DW == 1 && (p.SW == 1 || p.SW == 2) &&
		p.PL <= 32 && p.PR <= 32 && p.PT <= 32 && p.PB <= 32 && q.H > 0 && q.W > 0
}

func q8Asm(q *Q8, p Params, oh, ow int, x []byte, c0, c1 int, out []byte) {
	nc := c1 - c0
	hp, wp := q.H+p.PT+p.PB, q.W+p.PL+p.PR
	slot := (hp*wp + q8Slack + 63) &^ 63
	// Scratch: two padded-plane slots, then nc int32 start values.
	sp := q8Scratch(2*slot + 4*nc + 64)
	defer q8Pool.Put(sp)
	s := *sp
	base := int((64 - uintptr(unsafe.Pointer(&s[0]))%64) % 64) // 64-byte aligned slots
	corr := unsafe.Slice((*int32)(unsafe.Pointer(&s[base+2*slot])), nc)
	zx8 := q.zx8()
	for i := range corr {
		var b int32
		if q.Bias != nil {
			b = q.Bias[c0+i]
		}
		corr[i] = b - zx8*q.Wts.sums[c0+i]
	}
	a := q8Args{
		x: &x[0], xPlane: uintptr(q.H * q.W), buf: &s[base], out: &out[0],
		wts: &q.Wts.rows[c0*3], corr: &corr[0], mult: &q.Mult[c0],
		bufX:   uintptr(unsafe.Pointer(&s[base])) ^ uintptr(unsafe.Pointer(&s[base+slot])),
		planes: nc, h: q.H, w: q.W, pt: p.PT, pl: p.PL, hp: hp, wp: wp,
		tapStep: uintptr(p.DH * wp), colStep: uintptr(16 * p.SW),
		zy: q.ZY, lo: float32(q.Lo - q.ZY), hi: float32(q.Hi - q.ZY),
		pad: uint32(uint8(zx8)) * 0x01010101,
	}
	if q.Signed {
		a.xor = 0x80808080
	}
	if r := q.W % 64; r != 0 {
		a.tailMask = 1<<r - 1
	}
	if wp <= 64 {
		a.narrow = (1<<q.W - 1) << p.PL
	}
	// Rows per group: as many whole rows of OW <= 8 outputs as one block
	// and one 64-byte load hold.
	rs := p.SH * wp
	r := 1
	if ow <= 8 {
		r = 16 / ow
		for r > 1 && (r-1)*rs+p.SW*(ow-1)+p.KW > 64 {
			r--
		}
	}
	for j := 0; j < 16; j++ {
		off := p.SW * j
		if r > 1 {
			off = (j/ow)*rs + p.SW*(j%ow)
			if j >= r*ow {
				off = 0 // unused lane
			}
		}
		for t := 0; t < 4; t++ {
			a.idx[4*j+t] = byte(off + t)
		}
	}
	a.groups = (oh + r - 1) / r
	a.rowStep = uintptr(r * rs)
	if r == 1 {
		a.ow16 = ow / 16
		a.tailN = ow % 16
		a.lastN = a.tailN
	} else {
		a.tailN = r * ow
		a.lastN = (oh - (a.groups-1)*r) * ow
	}
	a.outMask = 1<<a.tailN - 1
	a.lastMask = 1<<a.lastN - 1
	_ = x[nc*q.H*q.W-1]
	_ = out[nc*oh*ow-1]
	q8dw3(&a)
}
