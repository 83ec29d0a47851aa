package gemm

import (
	"math"
	"sync"
	"unsafe"
)

var inf = math.Inf(1)

// operand is a raw matrix (data, ld, trans) or a prepacked one.
type operand struct {
	data  []float32
	ld    int
	trans bool
	pa    *PackedA
	pb    *PackedB
}

// job is one FP32 GEMM: C = clamp(alpha*op(A)op(B) + beta*C + bias).
type job struct {
	kn               *fkern
	m, n, k          int
	alpha, beta      float32
	a, b             operand
	c                []float32
	ldc              int
	rowBias, colBias []float32
	clamp            bool
	lo, hi           float32
	threads          int  // goroutine cap for this call; 0 means Threads()
	directB          bool // kernels read the raw row-major B in place
	// Optional packers replacing packA/packB (bf16 operands); k, kc and
	// offsets are then in the packer's units (bf16 pairs).
	packAF func(dst []float32, i0, mcur, p0, kcur int)
	packBF func(dst []float32, p0, kcur, j0, ncur int)
}

func (j *job) packA(dst []float32, i0, mcur, p0, kcur int) {
	if j.packAF != nil {
		j.packAF(dst, i0, mcur, p0, kcur)
		return
	}
	packA(j.kn.mr, dst, j.a.data, j.a.ld, j.a.trans, i0, mcur, p0, kcur)
}

func (j *job) packB(dst []float32, p0, kcur, j0, ncur int) {
	if j.packBF != nil {
		j.packBF(dst, p0, kcur, j0, ncur)
		return
	}
	packB(j.kn.nr, dst, j.b.data, j.b.ld, j.b.trans, p0, kcur, j0, ncur)
}

// Work per goroutine below which a GEMM runs on the caller alone (in
// multiply-adds): spawning and joining costs a few microseconds.
var minMACsPerThread = float64(1 << 19)

// Shared packed-B buffers are capped at this many floats; wider problems are
// processed in column chunks.
var maxSharedB = 1 << 22

// directBMaxPanels is the most row panels of A for which a column-split
// GEMM reads B in place.
var directBMaxPanels = 3

// noDirectA forces packing A (tests cover both paths).
var noDirectA = false

func (j *job) run() {
	if j.m == 0 || j.n == 0 {
		return
	}
	if j.k == 0 || j.alpha == 0 {
		j.scaleOnly()
		return
	}
	kn := j.kn
	macs := float64(j.m) * float64(j.n) * float64(j.k)
	t := 1
	if j.threads != 1 && macs >= 2*minMACsPerThread { // Threads reads GOMAXPROCS, which locks
		tmax := j.threads
		if tmax <= 0 {
			tmax = Threads()
		}
		t = min(tmax, int(macs/minMACsPerThread))
	}
	mPanels := (j.m + kn.mr - 1) / kn.mr
	nPanels := (j.n + kn.nr - 1) / kn.nr
	if t <= 1 {
		j.directB = j.b.pb == nil && !j.b.trans && mPanels <= 2 && j.packBF == nil
		ws := getWS()
		j.worker(0, j.m, 0, j.n, ws)
		putWS(ws)
		return
	}
	// The goroutines share a heap copy; the caller's job stays on its
	// stack, so serial calls (Winograd issues hundreds per convolution)
	// allocate nothing.
	jc := *j
	jc.runParallel(t, mPanels, nPanels)
}

func (j *job) runParallel(t, mPanels, nPanels int) {
	kn := j.kn
	// A needs no per-goroutine packing when prepacked or read in place; then
	// splitting the columns lets each goroutine pack its own share of B in a
	// single parallel region (no shared pack, no barrier).
	// With few column panels the split is lopsided (49 columns are a panel
	// of 32 and one of 17): split whichever dimension gives the busiest
	// goroutine the smaller share (64x196x384: columns 4+3 panels beat rows
	// 3+2, 29 -> 26 us; 1280x49x320: rows).
	aShared := j.a.pa != nil || j.directA()
	byCols := busiest(nPanels, t, kn.nr, j.n) <= busiest(mPanels, t, kn.mr, j.m) || mPanels < 2*t
	if j.b.pb == nil && aShared && nPanels >= t && byCols {
		t = min(t, nPanels)
		// Few rows of A: read B in place rather than pack it, each packed
		// value serving only mPanels tiles.
		j.directB = !j.b.trans && mPanels <= directBMaxPanels && j.packBF == nil
		parallel(t, func(i int) {
			n0, n1 := split(nPanels, t, i, kn.nr, j.n)
			ws := getWS()
			j.worker(0, j.m, n0, n1, ws)
			putWS(ws)
		})
		return
	}
	if j.b.pb == nil && aShared && mPanels >= 2*t {
		// Few columns, many rows: split the rows, each goroutine packing
		// the narrow B itself (K x N, small next to its rows' work) rather
		// than sharing one packing behind a barrier (960x49x160 at 2
		// threads: 74 us by columns, 51 us this way).
		t = min(t, mPanels)
		parallel(t, func(i int) {
			m0, m1 := split(mPanels, t, i, kn.mr, j.m)
			ws := getWS()
			j.worker(m0, m1, 0, j.n, ws)
			putWS(ws)
		})
		return
	}
	if mPanels >= 2*t || (mPanels >= t && j.b.pb != nil) || nPanels < t {
		// Split the rows of C. B is shared: prepacked, or packed here once
		// (in parallel) in column chunks.
		t = min(t, mPanels)
		if j.b.pb != nil {
			parallel(t, func(i int) {
				m0, m1 := split(mPanels, t, i, kn.mr, j.m)
				ws := getWS()
				j.worker(m0, m1, 0, j.n, ws)
				putWS(ws)
			})
			return
		}
		w := j.n
		if j.k*roundUp(w, kn.nr) > maxSharedB {
			w = max(kn.nr, maxSharedB/j.k/kn.nr*kn.nr)
		}
		buf := getBuf(j.k * roundUp(w, kn.nr))
		defer putBuf(buf)
		for jc := 0; jc < j.n; jc += w {
			ncur := min(w, j.n-jc)
			pb := &PackedB{kn: kn, k: j.k, kdim: j.k, n: jc + ncur, npad: roundUp(ncur, kn.nr), col0: jc, data: buf}
			np := (ncur + kn.nr - 1) / kn.nr
			parallel(t, func(i int) {
				// Thread i packs a share of the panels of every depth block.
				p0, p1 := split(np, t, i, kn.nr, ncur)
				if p0 >= p1 {
					return
				}
				for pc := 0; pc < j.k; pc += kn.kc {
					kcur := min(kn.kc, j.k-pc)
					j.packB(buf[pc*pb.npad+p0*kcur:], pc, kcur, jc+p0, p1-p0)
				}
			})
			jj := *j
			jj.b = operand{pb: pb}
			parallel(t, func(i int) {
				m0, m1 := split(mPanels, t, i, kn.mr, j.m)
				ws := getWS()
				jj.worker(m0, m1, jc, jc+ncur, ws)
				putWS(ws)
			})
		}
		return
	}
	// Few rows: split the columns; each goroutine packs (or reads in place)
	// its own columns of B and packs the few rows of A itself.
	t = min(t, nPanels)
	j.directB = j.b.pb == nil && !j.b.trans && mPanels <= 2 && j.packBF == nil
	parallel(t, func(i int) {
		n0, n1 := split(nPanels, t, i, kn.nr, j.n)
		ws := getWS()
		j.worker(0, j.m, n0, n1, ws)
		putWS(ws)
	})
}

// busiest is the largest fraction of total (in units of size unit, the
// last one possibly cut) that one of t goroutines gets when n units are
// split evenly: how lopsided a split along that dimension is.
func busiest(n, t, unit, total int) float64 {
	if n <= 0 || total <= 0 {
		return 1
	}
	per := (n + t - 1) / t
	return float64(min(total, per*unit)) / float64(total)
}

// split returns the share of goroutine i of n units of size unit (the last
// unit may be cut at total).
func split(n, t, i, unit, total int) (int, int) {
	lo := n * i / t
	hi := n * (i + 1) / t
	return min(lo*unit, total), min(hi*unit, total)
}

// worker computes rows [m0, m1) x columns [n0, n1) of C. m0 is a multiple of
// mr and n0 of nr (prepacked operands are addressed by panel).
// prefetchNext turns the next-panel prefetch on (benchmarks compare).
var prefetchNext = true

func (j *job) worker(m0, m1, n0, n1 int, ws *workspace) {
	if m0 >= m1 || n0 >= n1 {
		return
	}
	kn := j.kn
	mr, nr := kn.mr, kn.nr
	pa, pb := j.a.pa, j.b.pb
	ncBlk := kn.nc
	if pb != nil || j.directB {
		ncBlk = n1 - n0
	}
	ep := &ws.ep
	*ep = kargs{alpha: j.alpha, lo: j.lo, hi: j.hi}
	// A is read in place when it is a plain row-major matrix and the kernel
	// can: no packing at all for the left operand.
	directA := j.directA()
	var aBuf, bBuf []float32
	if pa == nil && !directA {
		aBuf = ws.floatsA(min(kn.mc, m1-m0) * min(kn.kc, j.k))
	}
	if pb == nil && !j.directB {
		bBuf = ws.floatsB(min(kn.kc, j.k) * roundUp(min(ncBlk, n1-n0), nr))
	}
	for jc := n0; jc < n1; jc += ncBlk {
		ncur := min(ncBlk, n1-jc)
		for pc := 0; pc < j.k; pc += kn.kc {
			kcur := min(kn.kc, j.k-pc)
			// B block: pointer to its first panel, row stride, panel stride.
			var bBase *float32
			ldb, pstride := nr, kcur
			switch {
			case pb != nil:
				bBase = &pb.data[pc*pb.npad+(jc-pb.col0)*kcur]
			case j.directB:
				bBase = &j.b.data[pc*j.b.ld+jc]
				ldb, pstride = j.b.ld, 1
			default:
				j.packB(bBuf, pc, kcur, jc, ncur)
				bBase = &bBuf[0]
			}
			ep.flags = 0
			if j.alpha != 1 {
				ep.flags |= flAlpha
			}
			ep.beta = 1
			if pc == 0 {
				ep.beta = j.beta
			}
			if ep.beta != 0 {
				ep.flags |= flLoadC
			}
			if pc+kcur == j.k {
				if j.rowBias != nil {
					ep.flags |= flRowBias
				}
				if j.colBias != nil {
					ep.flags |= flColBias
				}
				if j.clamp {
					ep.flags |= flClamp
				}
			}
			for ic := m0; ic < m1; ic += kn.mc {
				mcur := min(kn.mc, m1-ic)
				var aBase *float32
				switch {
				case directA:
					aBase = &j.a.data[ic*j.a.ld+pc]
				case pa != nil:
					aBase = &pa.data[pc*pa.m+ic*kcur]
				default:
					j.packA(aBuf, ic, mcur, pc, kcur)
					aBase = &aBuf[0]
				}
				for jr := 0; jr < ncur; jr += nr {
					cols := min(nr, ncur-jr)
					bp := add(bBase, jr*pstride)
					if ep.flags&flColBias != 0 {
						ep.colBias = &j.colBias[jc+jr]
					}
					// Prepacked weights come from memory once per call: the
					// row tiles of this panel prefetch the next one, a
					// share each (see kargs.pf).
					ep.pf = nil
					var next *float32
					pfChunk := 0
					if pb != nil && jr+nr < ncur && prefetchNext {
						next = add(bp, nr*pstride)
						tiles := (mcur + mr - 1) / mr
						pfChunk = roundUp((nr*kcur+tiles-1)/tiles, 32)
					}
					for ir := 0; ir < mcur; ir += mr {
						rows := min(mr, mcur-ir)
						if next != nil {
							ep.pf = add(next, max(0, min(ir/mr*pfChunk, nr*kcur-32)))
						}
						if ep.flags&flRowBias != 0 {
							ep.rowBias = &j.rowBias[ic+ir]
						}
						if directA {
							kn.tileD(kn, rows, cols, kcur, add(aBase, ir*j.a.ld), j.a.ld, bp, ldb, &j.c[(ic+ir)*j.ldc+jc+jr], j.ldc, ep)
						} else {
							kn.tile(kn, rows, cols, kcur, add(aBase, ir*kcur), bp, ldb, &j.c[(ic+ir)*j.ldc+jc+jr], j.ldc, ep)
						}
					}
				}
			}
		}
	}
}

// directA reports whether the kernels read A in place (no packing).
func (j *job) directA() bool {
	return j.a.pa == nil && !j.a.trans && j.packAF == nil && j.kn.tileD != nil && !noDirectA
}

// scaleOnly handles k == 0 or alpha == 0: C = clamp(beta*C + bias).
func (j *job) scaleOnly() {
	for i := 0; i < j.m; i++ {
		row := j.c[i*j.ldc : i*j.ldc+j.n]
		for jj := range row {
			var v float32
			if j.beta != 0 {
				v = j.beta * row[jj]
			}
			if j.rowBias != nil {
				v += j.rowBias[i]
			}
			if j.colBias != nil {
				v += j.colBias[jj]
			}
			if j.clamp {
				v = clamp(v, j.lo, j.hi)
			}
			row[jj] = v
		}
	}
}

// workspace holds one goroutine's packing buffers.
type workspace struct {
	a, b []float32
	// ep is the kernels' argument block; kept here because a pointer to
	// it reaches assembly through a function value, which would move a
	// stack copy to the heap on every call.
	ep kargs
}

var wsPool = sync.Pool{New: func() any { return new(workspace) }}

func getWS() *workspace  { return wsPool.Get().(*workspace) }
func putWS(w *workspace) { wsPool.Put(w) }
func (w *workspace) floatsA(n int) []float32 {
	if cap(w.a) < n {
		w.a = alignedFloats(n)
	}
	return w.a[:n]
}
func (w *workspace) floatsB(n int) []float32 {
	if cap(w.b) < n {
		w.b = alignedFloats(n)
	}
	return w.b[:n]
}

var bufPool sync.Pool

func getBuf(n int) []float32 {
	if p, ok := bufPool.Get().(*[]float32); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return alignedFloats(n)
}

func putBuf(b []float32) { bufPool.Put(&b) }

// alignedFloats returns n floats starting on a 64-byte boundary.
func alignedFloats(n int) []float32 {
	s := make([]float32, n+16)
	off := int(uintptr(unsafe.Pointer(unsafe.SliceData(s))) & 63 / 4)
	if off != 0 {
		off = 16 - off
	}
	return s[off : off+n : off+n]
}
