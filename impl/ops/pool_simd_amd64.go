//go:build amd64 && !purego

package ops

import (
	"math"
	"unsafe"

	"github.com/frugal-ml/frugal/impl/cpu"
	"github.com/frugal-ml/frugal/impl/ref"
)

// Assembly max pooling (pool_simd_amd64.s) for the windows ResNet-style
// networks use: 3 wide with left padding 1 at stride 2 or 1, and 2 wide at
// stride 2 without padding, with any window of at most 3 rows. The Go code
// (pool_bytes.go, pool_fast.go) stays the fallback and the reference.
//
// Each kernel pools a run of output rows whose window rows sit at fixed
// distances (off1, off2) from the first one: the vertical max of the (at
// most three) rows, then the horizontal window max, vector by vector, in
// registers. Padding rows are never read: Go passes a window's rows inside
// the image and repeats one of them for the rest (max is idempotent).
// Padding columns and the row ends are the identity (0 for uint8, -128 for
// int8, -Inf for float32):
//   - AVX-512 kernels load with byte or dword masks (merged into the
//     identity) for the first and last block of a row and store the last
//     one masked, so they take any width;
//   - AVX2 kernels have no byte masks: they read the column left of a block
//     from the previous block's registers, never load past a row's end
//     (blocks past the last full one take their input from a copy of the
//     row's last columns followed by the identity) and store the last
//     block's outputs in 16/8/4/2/1-byte pieces. They need a row at least
//     one vector wide (32 codes or 8/16 floats); narrower planes run Go.
//
// NaN (float32): Go's max, which the Go kernel uses, returns NaN when either
// operand is NaN; VMAXPS returns its second operand instead (and VRANGEPS,
// like IEEE maxNum, the number). So the float kernels also OR together an
// unordered compare of every input vector and report any NaN; the plane is
// then pooled again in Go, and NaN wins exactly as before. The one visible
// difference left is the sign of a zero result when a window holds both
// -0 and +0 and nothing larger (Go's max gives +0, VMAXPS its second
// operand, the reference the first it meets); they compare equal.
//
// Each output row also prefetches the input rows that the window of the
// output row pfAhead rows below adds: a plane streams in from memory (the
// previous layer's output is a few MB), and that more than halves the time
// of ResNet-18's float pool from memory (3.2 MB: 358 -> 109 us).

// poolArgs is the kernels' argument block; the assembly reads it through
// the go_asm.h offsets.
type poolArgs struct {
	out   unsafe.Pointer // first output row of the call
	in    unsafe.Pointer // window row 0 of the first output row
	ors   uintptr        // bytes between output rows
	istep uintptr        // bytes between consecutive output rows' window row 0
	off1  uintptr        // window row 1, bytes after row 0
	off2  uintptr        // window row 2, bytes after row 0
	rows  int            // output rows
	nb    int            // AVX-512: blocks per row (first, nb-2 full ones, last)
	nf    int            // AVX2: leading full blocks per row
	owb   int            // AVX2: output row bytes
	tlo   int            // AVX2: input byte offset of the row's last L columns
	nan   int            // float: set when some input is NaN
	pfoff uintptr        // prefetch: bytes from window row 0 to the first line to prefetch
	pfn   int            // prefetch: cache lines per output row
	head  [4]uint64      // AVX-512: masks of the first block (loads 0-2, store)
	tail  [4]uint64      // AVX-512: masks of the last block
	t     [128]byte      // AVX2: the vertical max of the last L columns, then the identity
}

// Horizontal windows the kernels take.
const (
	poolS2K3 = iota // 3 wide, stride 2, left pad 1 (ResNet's stem pool)
	poolS1K3        // 3 wide, stride 1, left pad 1
	poolS2K2        // 2 wide, stride 2, no left pad
	poolModes
)

// pfAhead is how many output rows ahead the kernels prefetch input.
const pfAhead = 8

// poolModeOf is p's horizontal window, or -1 when no kernel takes p.
func poolModeOf(p ref.Conv2D) int {
	if p.DW != 1 || p.KH < 1 || p.KH > 3 || p.SH < 1 || p.DH < 1 {
		return -1
	}
	switch {
	case p.KW == 3 && p.PL == 1 && p.SW == 2:
		return poolS2K3
	case p.KW == 3 && p.PL == 1 && p.SW == 1:
		return poolS1K3
	case p.KW == 2 && p.PL == 0 && p.SW == 2:
		return poolS2K2
	}
	return -1
}

// poolCall runs kernel id (poolKernelID) on a. A switch of direct calls:
// through a func value the argument block would escape to the heap.
func poolCall(id int, a *poolArgs) {
	switch id {
	case 0:
		maxPoolU8S2K3AVX2(a)
	case 1:
		maxPoolU8S1K3AVX2(a)
	case 2:
		maxPoolU8S2K2AVX2(a)
	case 3:
		maxPoolS8S2K3AVX2(a)
	case 4:
		maxPoolS8S1K3AVX2(a)
	case 5:
		maxPoolS8S2K2AVX2(a)
	case 6:
		maxPoolF32S2K3AVX2(a)
	case 7:
		maxPoolF32S1K3AVX2(a)
	case 8:
		maxPoolF32S2K2AVX2(a)
	case 9:
		maxPoolU8S2K3AVX512(a)
	case 10:
		maxPoolU8S1K3AVX512(a)
	case 11:
		maxPoolU8S2K2AVX512(a)
	case 12:
		maxPoolS8S2K3AVX512(a)
	case 13:
		maxPoolS8S1K3AVX512(a)
	case 14:
		maxPoolS8S2K2AVX512(a)
	case 15:
		maxPoolF32S2K3AVX512(a)
	case 16:
		maxPoolF32S1K3AVX512(a)
	case 17:
		maxPoolF32S2K2AVX512(a)
	default:
		panic("ops: no max-pool kernel")
	}
}

// poolKernelID numbers the kernels for poolCall.
func poolKernelID(avx512 bool, k poolKind, mode int) int {
	id := int(k)*poolModes + mode
	if avx512 {
		id += 3 * poolModes
	}
	return id
}

// poolBlock512 is the AVX-512 blocking of a mode: ob outputs per block,
// loads of lanes elements starting offs[i] columns after the block's first
// window column s*J (noff of them), one mask each, then the store's.
type poolBlock512 struct {
	ob, lanes, noff int
	offs            [3]int
}

var (
	poolBlocks512Bytes = [poolModes]poolBlock512{
		poolS2K3: {ob: 32, lanes: 64, noff: 2, offs: [3]int{-1, 0}},
		poolS1K3: {ob: 64, lanes: 64, noff: 3, offs: [3]int{-1, 0, 1}},
		poolS2K2: {ob: 32, lanes: 64, noff: 1},
	}
	poolBlocks512F32 = [poolModes]poolBlock512{
		poolS2K3: {ob: 16, lanes: 16, noff: 2, offs: [3]int{0, 16}},
		poolS1K3: {ob: 16, lanes: 16, noff: 3, offs: [3]int{-1, 0, 1}},
		poolS2K2: {ob: 16, lanes: 16, noff: 2, offs: [3]int{0, 16}},
	}
)

// laneMask has bit i set when lo <= c0+i < hi, for i < n (n <= 64).
func laneMask(c0, n, lo, hi int) uint64 {
	a := max(lo-c0, 0)
	b := min(hi-c0, n)
	if b <= a {
		return 0
	}
	m := ^uint64(0) >> (64 - uint(b))
	return m &^ (uint64(1)<<uint(a) - 1)
}

// masks are block b's load masks and store mask; full reports whether they
// are all set.
func (bl *poolBlock512) masks(b, s, w, ow int) (m [4]uint64, full bool) {
	J := b * bl.ob
	all := ^uint64(0) >> (64 - uint(bl.lanes))
	full = true
	for i := 0; i < bl.noff; i++ {
		m[i] = laneMask(s*J+bl.offs[i], bl.lanes, 0, w)
		full = full && m[i] == all
	}
	m[3] = laneMask(J, bl.ob, 0, ow)
	full = full && m[3] == ^uint64(0)>>(64-uint(bl.ob))
	return m, full
}

// poolBlock256 is the AVX2 blocking of a mode: ob outputs per block, whose
// loads span L columns from the block's first window column (plus extra
// for the right neighbour column at stride 1).
type poolBlock256 struct{ ob, L, extra int }

var (
	poolBlocks256Bytes = [poolModes]poolBlock256{
		poolS2K3: {ob: 16, L: 32},
		poolS1K3: {ob: 32, L: 32, extra: 1},
		poolS2K2: {ob: 16, L: 32},
	}
	poolBlocks256F32 = [poolModes]poolBlock256{
		poolS2K3: {ob: 8, L: 16},
		poolS1K3: {ob: 8, L: 8, extra: 1},
		poolS2K2: {ob: 8, L: 16},
	}
)

// maxPoolAsm max-pools one h x w plane of k elements at x into the oh x ow
// plane at out with the assembly kernels of the active level. It returns
// false when it did not (level below AVX2, a window no kernel takes, a row
// too narrow for AVX2, a right padding that leaves an unmasked AVX-512
// block short, or a NaN in a float plane); out is then garbage and the
// caller pools in Go.
func maxPoolAsm(k poolKind, x, out unsafe.Pointer, h, w int, p ref.Conv2D, oh, ow int) bool {
	lvl := cpu.Current()
	mode := poolModeOf(p)
	if lvl < cpu.AVX2 || mode < 0 || h <= 0 || w <= 0 || oh <= 0 || ow <= 0 {
		return false
	}
	es := 1
	if k == poolF32 {
		es = 4
	}
	s := p.SW
	var a poolArgs
	if lvl >= cpu.AVX512 {
		bl := &poolBlocks512Bytes[mode]
		if k == poolF32 {
			bl = &poolBlocks512F32[mode]
		}
		nb := (ow + bl.ob - 1) / bl.ob
		a.nb = nb
		a.head, _ = bl.masks(0, s, w, ow)
		if nb > 1 {
			a.tail, _ = bl.masks(nb-1, s, w, ow)
		}
		if nb > 2 {
			// Blocks 1..nb-2 run unmasked: the last of them must be full
			// (the others then are). Only odd paddings break this.
			if _, full := bl.masks(nb-2, s, w, ow); !full {
				return false
			}
		}
	} else {
		bl := poolBlocks256Bytes[mode]
		if k == poolF32 {
			bl = poolBlocks256F32[mode]
		}
		if w < bl.L {
			return false
		}
		if w >= bl.L+bl.extra {
			a.nf = min((w-bl.L-bl.extra)/(s*bl.ob)+1, ow/bl.ob)
		}
		a.owb = ow * es
		a.tlo = (w - bl.L) * es
		switch k {
		case poolS8:
			for i := range a.t {
				a.t[i] = 0x80
			}
		case poolF32:
			ninf := math.Float32bits(float32(math.Inf(-1)))
			for i := 0; i < len(a.t); i += 4 {
				*(*uint32)(unsafe.Pointer(&a.t[i])) = ninf
			}
		}
	}
	kern := poolKernelID(lvl >= cpu.AVX512, k, mode)
	rs := uintptr(w * es)
	ors := uintptr(ow * es)
	a.ors = ors
	a.istep = uintptr(p.SH) * rs
	last := (p.KH - 1) * p.DH // window row offset of the last row
	// Prefetch: the rows the window of output row oy+pfAhead adds (see
	// the top of the file).
	a.pfoff = uintptr(last+1)*rs + uintptr(pfAhead-1)*a.istep
	a.pfn = max(1, int((a.istep+63)/64))
	for oy := 0; oy < oh; {
		y0 := oy*p.SH - p.PT
		a.out = unsafe.Add(out, uintptr(oy)*ors)
		if y0 >= 0 && y0+last < h {
			// A run of output rows whose windows lie inside the image.
			n := min((h-1-last-y0)/p.SH+1, oh-oy)
			a.in = unsafe.Add(x, uintptr(y0)*rs)
			a.off1 = uintptr(min(1, p.KH-1)*p.DH) * rs
			a.off2 = uintptr(last) * rs
			a.rows = n
			poolCall(kern, &a)
			oy += n
			continue
		}
		// A row whose window reaches into the padding.
		var r [3]int
		m := 0
		for ky := 0; ky < p.KH; ky++ {
			if iy := y0 + ky*p.DH; iy >= 0 && iy < h {
				r[m] = iy
				m++
			}
		}
		if m == 0 {
			poolFillIdentity(k, a.out, ow)
			oy++
			continue
		}
		for ; m < 3; m++ {
			r[m] = r[m-1]
		}
		a.in = unsafe.Add(x, uintptr(r[0])*rs)
		a.off1 = uintptr(r[1]-r[0]) * rs
		a.off2 = uintptr(r[2]-r[0]) * rs
		a.rows = 1
		poolCall(kern, &a)
		oy++
	}
	return a.nan == 0
}

// poolFillIdentity sets n outputs at out to the identity of max (what a
// window wholly inside the padding pools to).
func poolFillIdentity(k poolKind, out unsafe.Pointer, n int) {
	switch k {
	case poolU8:
		clear(unsafe.Slice((*byte)(out), n))
	case poolS8:
		o := unsafe.Slice((*byte)(out), n)
		for i := range o {
			o[i] = 0x80
		}
	case poolF32:
		o := unsafe.Slice((*float32)(out), n)
		for i := range o {
			o[i] = float32(math.Inf(-1))
		}
	}
}

// Implemented in pool_simd_amd64.s.
//
//go:noescape
func maxPoolU8S2K3AVX512(a *poolArgs)

//go:noescape
func maxPoolU8S1K3AVX512(a *poolArgs)

//go:noescape
func maxPoolU8S2K2AVX512(a *poolArgs)

//go:noescape
func maxPoolS8S2K3AVX512(a *poolArgs)

//go:noescape
func maxPoolS8S1K3AVX512(a *poolArgs)

//go:noescape
func maxPoolS8S2K2AVX512(a *poolArgs)

//go:noescape
func maxPoolF32S2K3AVX512(a *poolArgs)

//go:noescape
func maxPoolF32S1K3AVX512(a *poolArgs)

//go:noescape
func maxPoolF32S2K2AVX512(a *poolArgs)

//go:noescape
func maxPoolU8S2K3AVX2(a *poolArgs)

//go:noescape
func maxPoolU8S1K3AVX2(a *poolArgs)

//go:noescape
func maxPoolU8S2K2AVX2(a *poolArgs)

//go:noescape
func maxPoolS8S2K3AVX2(a *poolArgs)

//go:noescape
func maxPoolS8S1K3AVX2(a *poolArgs)

//go:noescape
func maxPoolS8S2K2AVX2(a *poolArgs)

//go:noescape
func maxPoolF32S2K3AVX2(a *poolArgs)

//go:noescape
func maxPoolF32S1K3AVX2(a *poolArgs)

//go:noescape
func maxPoolF32S2K2AVX2(a *poolArgs)
