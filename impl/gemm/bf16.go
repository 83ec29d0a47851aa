package gemm

import (
	"math"
	"unsafe"

	"github.com/frugal-ml/frugal/impl/cpu"
)

// BF16 GEMM: operands are bfloat16 (given as raw bits, or float32 rounded to
// the nearest bfloat16, ties to even), products and sums are float32.
//
// With AVX512_BF16 the kernel is the AVX-512 14 x 32 FP32 kernel with its FMA
// replaced by VDPBF16PS: a k step is a pair of bf16 values, packed as one
// dword per row of A (broadcast) and one per column of B, so a packed pair
// takes the slot of one float32 and the FP32 driver runs unchanged with k
// counted in pairs. VDPBF16PS adds the two products of a pair into the
// float32 lane with round-to-nearest-even and treats denormals as zero.
// Elsewhere the bf16 values are widened to float32 while packing and the
// FP32 kernels run: the same products, summed in a different order.

// BF16FromFloat32 rounds f to the nearest bfloat16 (ties to even); NaNs stay
// NaN (quieted).
func BF16FromFloat32(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// BF16ToFloat32 widens a bfloat16 exactly.
func BF16ToFloat32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// bfSrc reads elements of op(X) as bfloat16 from float32 or raw bf16 data.
type bfSrc struct {
	f32   []float32
	b16   []uint16
	ld    int
	trans bool
}

func (s *bfSrc) h(i, j int) uint16 {
	idx := i*s.ld + j
	if s.trans {
		idx = j*s.ld + i
	}
	if s.f32 != nil {
		return BF16FromFloat32(s.f32[idx])
	}
	return s.b16[idx]
}

var kernBF16 *fkern // set on amd64 when the generated kernels exist

// bf16KernelFor returns the VDPBF16PS kernel when level l has AVX512_BF16.
func bf16KernelFor(l cpu.Level) *fkern {
	if kernBF16 != nil && cpu.At(l).AVX512BF16 {
		return kernBF16
	}
	return nil
}

// packAPairs packs rows [i0, i0+mcur) and pairs [q0, q0+kq) of op(A): the
// panel at local row ir starts at slot ir*kq; slot (q, r) holds elements
// 2q (low half) and 2q+1 (high half) of row r, zero past k.
func packAPairs(mr int, dst []float32, src *bfSrc, k, i0, mcur, q0, kq int) {
	d := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(dst))), len(dst))
	for ir := 0; ir < mcur; ir += mr {
		rows := min(mr, mcur-ir)
		p := d[ir*kq : ir*kq+rows*kq]
		for r := 0; r < rows; r++ {
			i := i0 + ir + r
			if !src.trans && src.f32 != nil && 2*(q0+kq) <= k {
				row := src.f32[i*src.ld+2*q0 : i*src.ld+2*(q0+kq)]
				for q := 0; q < kq; q++ {
					p[q*rows+r] = uint32(BF16FromFloat32(row[2*q])) | uint32(BF16FromFloat32(row[2*q+1]))<<16
				}
				continue
			}
			for q := 0; q < kq; q++ {
				kk := 2 * (q0 + q)
				var lo, hi uint32
				if kk < k {
					lo = uint32(src.h(i, kk))
				}
				if kk+1 < k {
					hi = uint32(src.h(i, kk+1))
				}
				p[q*rows+r] = lo | hi<<16
			}
		}
	}
}

// packBPairs packs pairs [q0, q0+kq) and columns [j0, j0+ncur) of op(B):
// the panel at local column jr starts at slot jr*kq; slot (q, c) holds
// elements 2q and 2q+1 of column c, zero past k and past ncur.
func packBPairs(nr int, dst []float32, src *bfSrc, k, q0, kq, j0, ncur int) {
	d := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(dst))), len(dst))
	for jr := 0; jr < ncur; jr += nr {
		cols := min(nr, ncur-jr)
		p := d[jr*kq : jr*kq+nr*kq]
		if cols < nr {
			clear(p)
		}
		for q := 0; q < kq; q++ {
			kk := 2 * (q0 + q)
			o := p[q*nr : q*nr+cols]
			if !src.trans && src.f32 != nil && kk+1 < k {
				r0 := src.f32[kk*src.ld+j0+jr:][:cols]
				r1 := src.f32[(kk+1)*src.ld+j0+jr:][:cols]
				for c := range o {
					o[c] = uint32(BF16FromFloat32(r0[c])) | uint32(BF16FromFloat32(r1[c]))<<16
				}
				continue
			}
			for c := range o {
				var lo, hi uint32
				if kk < k {
					lo = uint32(src.h(kk, j0+jr+c))
				}
				if kk+1 < k {
					hi = uint32(src.h(kk+1, j0+jr+c))
				}
				o[c] = lo | hi<<16
			}
		}
	}
}

// packAWiden / packBWiden pack bf16 values widened to float32 in the FP32
// panel layout (the fallback path).
func packAWiden(mr int, dst []float32, src *bfSrc, i0, mcur, p0, kcur int) {
	for ir := 0; ir < mcur; ir += mr {
		rows := min(mr, mcur-ir)
		d := dst[ir*kcur : ir*kcur+rows*kcur]
		for r := 0; r < rows; r++ {
			for p := 0; p < kcur; p++ {
				d[p*rows+r] = BF16ToFloat32(src.h(i0+ir+r, p0+p))
			}
		}
	}
}

func packBWiden(nr int, dst []float32, src *bfSrc, p0, kcur, j0, ncur int) {
	for jr := 0; jr < ncur; jr += nr {
		cols := min(nr, ncur-jr)
		d := dst[jr*kcur : jr*kcur+nr*kcur]
		if cols < nr {
			clear(d)
		}
		for p := 0; p < kcur; p++ {
			o := d[p*nr : p*nr+cols]
			for c := range o {
				o[c] = BF16ToFloat32(src.h(p0+p, j0+jr+c))
			}
		}
	}
}

// bf16Job prepares a job multiplying bf16 sources A and B.
func bf16Job(m, n, k int, A, B *bfSrc, c []float32, ldc int, ep *Epilogue) *job {
	l := cpu.Current()
	j := &job{m: m, n: n, alpha: 1, c: c, ldc: ldc}
	if kn := bf16KernelFor(l); kn != nil {
		j.kn, j.k = kn, (k+1)/2
		j.packAF = func(dst []float32, i0, mcur, p0, kcur int) { packAPairs(kn.mr, dst, A, k, i0, mcur, p0, kcur) }
		j.packBF = func(dst []float32, p0, kcur, j0, ncur int) { packBPairs(kn.nr, dst, B, k, p0, kcur, j0, ncur) }
	} else {
		kn := kernelFor(l)
		j.kn, j.k = kn, k
		j.packAF = func(dst []float32, i0, mcur, p0, kcur int) { packAWiden(kn.mr, dst, A, i0, mcur, p0, kcur) }
		j.packBF = func(dst []float32, p0, kcur, j0, ncur int) { packBWiden(kn.nr, dst, B, p0, kcur, j0, ncur) }
	}
	j.setEpilogue(ep)
	return j
}

// SgemmBF16 computes C = epilogue(op(A) x op(B)) with A and B rounded to
// bfloat16 and float32 accumulation (VDPBF16PS where available).
func SgemmBF16(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, ep Epilogue) {
	checkMat("A", transA, m, k, a, lda)
	checkMat("B", transB, k, n, b, ldb)
	checkMat("C", false, m, n, c, ldc)
	bf16Job(m, n, k, &bfSrc{f32: a, ld: lda, trans: transA}, &bfSrc{f32: b, ld: ldb, trans: transB}, c, ldc, &ep).run()
}

// GemmBF16 computes C = epilogue(op(A) x op(B)) for raw bfloat16 operands
// (uint16 bit patterns) with float32 accumulation.
func GemmBF16(transA, transB bool, m, n, k int, a []uint16, lda int, b []uint16, ldb int, c []float32, ldc int, ep Epilogue) {
	checkLen16("A", transA, m, k, len(a), lda)
	checkLen16("B", transB, k, n, len(b), ldb)
	checkMat("C", false, m, n, c, ldc)
	bf16Job(m, n, k, &bfSrc{b16: a, ld: lda, trans: transA}, &bfSrc{b16: b, ld: ldb, trans: transB}, c, ldc, &ep).run()
}

// GemmBF16Ref is the specification of GemmBF16: widen to float32, then
// SgemmEpRef.
func GemmBF16Ref(transA, transB bool, m, n, k int, a []uint16, lda int, b []uint16, ldb int, c []float32, ldc int, ep Epilogue) {
	af := make([]float32, len(a))
	for i, v := range a {
		af[i] = BF16ToFloat32(v)
	}
	bf := make([]float32, len(b))
	for i, v := range b {
		bf[i] = BF16ToFloat32(v)
	}
	SgemmEpRef(transA, transB, m, n, k, 1, af, lda, bf, ldb, c, ldc, ep)
}

// PackBBF16 packs op(B) rounded to bfloat16 for SgemmPacked, which then
// rounds A to bfloat16 too (bf16 inputs, float32 accumulation).
func PackBBF16(transB bool, k, n int, b []float32, ldb int) *PackedB {
	checkMat("B", transB, k, n, b, ldb)
	src := &bfSrc{f32: b, ld: ldb, trans: transB}
	if kn := bf16KernelFor(cpu.Current()); kn != nil {
		kq := (k + 1) / 2
		pb := &PackedB{kn: kn, k: kq, kdim: k, n: n, npad: roundUp(n, kn.nr), bf16: true}
		pb.data = alignedFloats(kq * pb.npad)
		for pc := 0; pc < kq; pc += kn.kc {
			kcur := min(kn.kc, kq-pc)
			packBPairs(kn.nr, pb.data[pc*pb.npad:], src, k, pc, kcur, 0, n)
		}
		return pb
	}
	kn := kernelFor(cpu.Current())
	pb := &PackedB{kn: kn, k: k, kdim: k, n: n, npad: roundUp(n, kn.nr), bf16: true}
	pb.data = alignedFloats(k * pb.npad)
	for pc := 0; pc < k; pc += kn.kc {
		kcur := min(kn.kc, k-pc)
		packBWiden(kn.nr, pb.data[pc*pb.npad:], src, pc, kcur, 0, n)
	}
	return pb
}

func sgemmPackedBF16(m int, a []float32, lda int, pb *PackedB, c []float32, ldc int, ep Epilogue) {
	A := &bfSrc{f32: a, ld: lda}
	kn := pb.kn
	j := &job{kn: kn, m: m, n: pb.n, k: pb.k, alpha: 1, b: operand{pb: pb}, c: c, ldc: ldc}
	if kn == kernBF16 {
		j.packAF = func(dst []float32, i0, mcur, p0, kcur int) { packAPairs(kn.mr, dst, A, pb.kdim, i0, mcur, p0, kcur) }
	} else {
		j.packAF = func(dst []float32, i0, mcur, p0, kcur int) { packAWiden(kn.mr, dst, A, i0, mcur, p0, kcur) }
	}
	j.setEpilogue(&ep)
	j.run()
}

func checkLen16(name string, trans bool, rows, cols, n, ld int) {
	checkQMat(name, trans, rows, cols, n, ld)
}

// BF16KernelName names the kernel SgemmBF16 uses at the current level.
func BF16KernelName() string {
	if kn := bf16KernelFor(cpu.Current()); kn != nil {
		return kn.name
	}
	return kernelFor(cpu.Current()).name + " (bf16 widened)"
}
