package gemm

import (
	"encoding/binary"
	"math/bits"
	"sync"
	"unsafe"

	"github.com/frugal-ml/frugal/impl/cpu"
)

// noColKernel disables the column kernels (tests compare both paths).
var noColKernel = false

// noFusedStore disables the kernels with the requantizing store fused
// (tests and benchmarks compare both paths; see SetQFusedStore).
var noFusedStore = false

// SetQFusedStore turns the int8 kernels' fused requantizing store on or off
// (on by default; the outputs are identical either way) and returns the
// previous setting. For tests and benchmarks; not safe to call while a GEMM
// runs.
func SetQFusedStore(on bool) bool {
	prev := !noFusedStore
	noFusedStore = !on
	return prev
}

// qjob is one int8 GEMM (see qgemm.go for the arithmetic).
type qjob struct {
	kn      *qkern
	m, n, k int
	threads int  // goroutine cap for this call; 0 means Threads()
	au      bool // A is the unsigned side
	a       []byte
	lda     int
	flipA   byte
	za      []int32 // packed-representation zero points: nil, 1 or m
	pa      *PackedQA
	b       []byte
	ldb     int
	flipB   byte
	zb      []int32 // nil, 1 or n
	pb      *PackedQB
	rowOff  []int // B row p starts at b[rowOff[p]] (ldb unused); see QGemmPackedAOffsets
	cw, cs  int   // with rowOff: B column j at colOff(j, cw, cs) past a row's start
	out     unsafe.Pointer
	ldc     int
	requant bool
	lo, hi  int32 // output saturation bounds (requant)
	zp      int32 // output zero point
	perRow  bool
	bias    []int32
	scale   []float32
}

// Shared packed-B buffer cap (bytes) for the int8 row split.
var maxSharedQB = 1 << 24

func (j *qjob) run() {
	if j.m == 0 || j.n == 0 {
		return
	}
	kn := j.kn
	macs := float64(j.m) * float64(j.n) * float64(max(j.k, 1))
	// int8 runs ~4x the FP32 rate: require 4x the work per goroutine.
	t := 1
	if j.threads != 1 && macs >= 8*minMACsPerThread {
		tmax := j.threads
		if tmax <= 0 {
			tmax = Threads()
		}
		t = min(tmax, int(macs/(4*minMACsPerThread)))
	}
	mPanels := (j.m + kn.mr - 1) / kn.mr
	nPanels := (j.n + kn.nr - 1) / kn.nr
	if t <= 1 {
		ws := getQWS()
		j.worker(0, j.m, 0, j.n, ws)
		putQWS(ws)
		return
	}
	// Split the columns when there are enough panels for a balanced share:
	// each goroutine then packs its own B columns into L2 in one parallel
	// region. Splitting the rows shares one packed B and measured slower
	// even at 1 thread's speed (96x12544x16: 170 us at 2 threads against
	// 135 us at 1; by columns 90 us); it remains for few columns.
	if j.pb == nil && j.pa != nil && mPanels >= 2*t && nPanels < 4*t {
		// Few columns, many rows: split the rows, each goroutine packing
		// the narrow B itself (as the float driver does).
		t = min(t, mPanels)
		parallel(t, func(i int) {
			m0, m1 := split(mPanels, t, i, kn.mr, j.m)
			ws := getQWS()
			j.worker(m0, m1, 0, j.n, ws)
			putQWS(ws)
		})
		return
	}
	if (mPanels >= t && j.pb != nil) || nPanels < t || (nPanels < 4*t && mPanels >= 2*t) {
		t = min(t, mPanels)
		if j.pb != nil {
			parallel(t, func(i int) {
				m0, m1 := split(mPanels, t, i, kn.mr, j.m)
				ws := getQWS()
				j.worker(m0, m1, 0, j.n, ws)
				putQWS(ws)
			})
			return
		}
		kpad := roundUp(j.k, kn.g)
		es := kn.esize()
		w := j.n
		if kpad*es*roundUp(w, kn.nr) > maxSharedQB {
			w = max(kn.nr, maxSharedQB/(kpad*es)/kn.nr*kn.nr)
		}
		bufp := getSharedQB(kpad * es * roundUp(w, kn.nr))
		defer sharedQBPool.Put(bufp)
		buf := *bufp
		colSum := make([]int32, w)
		for jc := 0; jc < j.n; jc += w {
			ncur := min(w, j.n-jc)
			pb := &PackedQB{kn: kn, k: j.k, n: j.n, kpad: kpad, unsign: !j.au, zb: j.zb, colSum: colSum, data: buf}
			np := (ncur + kn.nr - 1) / kn.nr
			parallel(t, func(i int) {
				p0, p1 := split(np, t, i, kn.nr, ncur)
				if p0 < p1 {
					var cs []int32
					if j.needColSum() {
						cs = colSum[p0:p1]
					}
					j.packB(buf[p0*kpad*es:], jc+p0, p1-p0, cs)
				}
			})
			jj := *j
			jj.pb = pb
			parallel(t, func(i int) {
				m0, m1 := split(mPanels, t, i, kn.mr, j.m)
				ws := getQWS()
				jj.workerCols(m0, m1, jc, jc+ncur, jc, ws)
				putQWS(ws)
			})
		}
		return
	}
	t = min(t, nPanels)
	parallel(t, func(i int) {
		n0, n1 := split(nPanels, t, i, kn.nr, j.n)
		ws := getQWS()
		j.worker(0, j.m, n0, n1, ws)
		putQWS(ws)
	})
}

// needColSum reports whether the column sums of B' enter the result (only
// through za').
func (j *qjob) needColSum() bool { return len(j.za) > 1 || (len(j.za) == 1 && j.za[0] != 0) }

func (j *qjob) worker(m0, m1, n0, n1 int, ws *qworkspace) {
	j.workerCols(m0, m1, n0, n1, 0, ws)
}

// workerCols computes rows [m0, m1) x columns [n0, n1) of C; a prepacked B
// starts at column pbCol0.
func (j *qjob) workerCols(m0, m1, n0, n1, pbCol0 int, ws *qworkspace) {
	if m0 >= m1 || n0 >= n1 {
		return
	}
	kn := j.kn
	mr, nr, es := kn.mr, kn.nr, kn.esize()
	kpad := roundUp(j.k, kn.g)
	kg := kpad / kn.g
	k32 := int32(j.k)
	pa, pb := j.pa, j.pb
	ncBlk := kn.nc
	if pb != nil {
		ncBlk = n1 - n0
	}
	// A is read in place when it is a plain byte matrix on its own side
	// (no flip) and whole groups of 4 fit in each row.
	directA := pa == nil && j.flipA == 0 && kn.kernD != nil && j.k > 0 && j.k%kn.g == 0 && !noDirectA
	mcMax := min(kn.mc, m1-m0)
	ncMax := min(ncBlk, n1-n0)
	ws.grow(mr, nr, mcMax, ncMax, kpad*es)
	zaPer := len(j.za) > 1
	zbPer := len(j.zb) > 1
	var zaU, zbU int32
	if len(j.za) == 1 {
		zaU = j.za[0]
	}
	if len(j.zb) == 1 {
		zbU = j.zb[0]
	}
	biasRow := j.bias != nil && j.perRow
	biasCol := j.bias != nil && !j.perRow
	needRowAdd := biasRow || (!zbPer && zbU != 0)
	needColAdd := biasCol || (!zaPer && zaU != 0)
	// Row sums of A only enter through zb'; with zb' = 0 they are skipped.
	needRowSum := zbPer || zbU != 0
	var f qfin
	f.tile, f.tstride = &ws.tile[0], uintptr(nr)
	f.ldo = uintptr(j.ldc)
	if zbPer {
		f.flags |= qCorr1
	}
	if zaPer {
		f.flags |= qCorr2
	}
	if needRowAdd {
		f.flags |= qRowAdd
	}
	if needColAdd {
		f.flags |= qColAdd
	}
	osize := uintptr(4)
	if j.requant {
		f.flags |= qRequant
		f.setBounds(j.zp, j.lo, j.hi)
		osize = 1
		if j.perRow {
			f.flags |= qScaleRow
		}
		if j.lo < 0 {
			f.flags |= qSigned
		}
	}
	// The fused kernels handle the usual convolution epilogue: byte output
	// with per-row scales and at most row and column addends (ws.rowAdd
	// and ws.colAdd always hold them, zero when unused), for tiles of whole
	// vectors from a packed or prepacked A. Their byte narrowing needs
	// AVX512-VBMI.
	fused := kn.kernRQ != nil && !noFusedStore && cpu.Active().AVX512VBMI && !directA && kg > 0 && j.requant && j.perRow && f.flags&(qCorr1|qCorr2) == 0
	for jc := n0; jc < n1; jc += ncBlk {
		ncur := min(ncBlk, n1-jc)
		var bBase []byte
		var colSum []int32
		if pb != nil {
			bBase = pb.data[(jc-pbCol0)*kpad*es:]
			colSum = pb.colSum[jc-pbCol0:]
		} else {
			var cs []int32
			if j.needColSum() {
				cs = ws.colSum[:ncur]
			}
			j.packB(ws.b, jc, ncur, cs)
			bBase, colSum = ws.b, cs
		}
		for c := 0; c < ncur; c++ {
			var v int32
			if biasCol {
				v = j.bias[jc+c]
			}
			if colSum != nil {
				if !zaPer {
					v -= zaU * colSum[c]
				}
				ws.c2[c] = -colSum[c]
			}
			ws.colAdd[c] = v
		}
		for ic := m0; ic < m1; ic += kn.mc {
			mcur := min(kn.mc, m1-ic)
			var aBase []byte
			var rowSum []int32
			if directA {
				aBase = j.a[ic*j.lda:]
				if needRowSum {
					rowSum = ws.rowSum[:mcur]
					for r := range rowSum {
						rowSum[r] = sumBytes(j.a[(ic+r)*j.lda:(ic+r)*j.lda+j.k], 0, j.au)
					}
				}
			} else if pa != nil {
				aBase = pa.data[ic*kpad*es:]
				rowSum = pa.rowSum[ic:]
			} else {
				var rs []int32
				if needRowSum {
					rs = ws.rowSum[:mcur]
				}
				qpackA(kn, ws.a, j.a, j.lda, false, j.flipA, j.au, j.k, ic, mcur, rs)
				aBase, rowSum = ws.a, rs
			}
			for r := 0; r < mcur; r++ {
				za := zaU
				if zaPer {
					za = j.za[ic+r]
				}
				u := k32 * za
				if rowSum != nil {
					u -= rowSum[r]
				}
				ws.r1[r] = u
				ws.r2[r] = za
				var v int32
				if biasRow {
					v = j.bias[ic+r]
				}
				if !zbPer {
					v += zbU * u
				}
				ws.rowAdd[r] = v
			}
			for jr := 0; jr < ncur; jr += nr {
				cols := min(nr, ncur-jr)
				var bp unsafe.Pointer
				if kpad > 0 {
					bp = unsafe.Pointer(&bBase[jr*kpad*es])
				}
				if zbPer {
					f.c1 = &j.zb[jc+jr]
				}
				f.c2 = &ws.c2[jr]
				f.colAdd = &ws.colAdd[jr]
				if fused && cols%kn.vec == 0 {
					nv := cols / kn.vec
					for ir := 0; ir < mcur; ir += mr {
						f.rowAdd, f.scale = &ws.rowAdd[ir], &j.scale[ic+ir]
						f.out = unsafe.Add(j.out, uintptr((ic+ir)*j.ldc)+uintptr(jc+jr))
						kn.kernRQ(j.au, min(mr, mcur-ir), nv, kg, unsafe.Pointer(&aBase[ir*kpad*es]), bp, &f)
					}
					continue
				}
				for ir := 0; ir < mcur; ir += mr {
					rows := min(mr, mcur-ir)
					if kg > 0 && directA {
						kn.kernD(kn, j.au, rows, cols, kg, unsafe.Pointer(&aBase[ir*j.lda]), j.lda, bp, f.tile)
					} else if kg > 0 {
						ap := unsafe.Pointer(&aBase[ir*kpad*es])
						if tail := cols % max(kn.vec, 1); kn.kernCol != nil && tail > 0 && tail <= kn.colMax && tail < rows && !noColKernel {
							// The last few columns with the rows in the
							// lanes: tail VPDPBUSD per group instead of
							// one per row for a mostly empty vector.
							full := cols - tail
							if full > 0 {
								kn.kern(kn, j.au, rows, full, kg, ap, bp, f.tile)
							}
							kn.kernCol(j.au, rows, tail, kg, ap, unsafe.Add(bp, full*kn.g), (*int32)(unsafe.Add(unsafe.Pointer(f.tile), full*4)))
						} else {
							kn.kern(kn, j.au, rows, cols, kg, ap, bp, f.tile)
						}
					} else {
						clear(ws.tile[:mr*nr])
					}
					f.rows, f.cols = rows, cols
					f.r1, f.r2, f.rowAdd = &ws.r1[ir], &ws.r2[ir], &ws.rowAdd[ir]
					if j.requant {
						if j.perRow {
							f.scale = &j.scale[ic+ir]
						} else {
							f.scale = &j.scale[jc+jr]
						}
					}
					f.out = unsafe.Add(j.out, (uintptr((ic+ir)*j.ldc)+uintptr(jc+jr))*osize)
					kn.finish(&f)
				}
			}
		}
	}
}

// side returns the integer value of a packed byte on its side.
func side(x byte, unsigned bool) int32 {
	if unsigned {
		return int32(x)
	}
	return int32(int8(x))
}

// qpackA packs rows [i0, i0+mcur) of op(A) (all of k) into kernel panels:
// the panel at local row ir starts at ir*kpad elements and holds, per group
// of g k, g values for each of its rows. rowSum gets each row's sum of
// packed values over the true k.
func qpackA(kn *qkern, dst []byte, src []byte, lda int, trans bool, flip byte, unsigned bool, k, i0, mcur int, rowSum []int32) {
	g, mr := kn.g, kn.mr
	kpad := roundUp(k, g)
	at := func(i, p int) byte {
		if trans {
			return src[p*lda+i] ^ flip
		}
		return src[i*lda+p] ^ flip
	}
	for ir := 0; ir < mcur; ir += mr {
		rows := min(mr, mcur-ir)
		for r := 0; r < rows; r++ {
			i := i0 + ir + r
			if kpad == 0 {
				if rowSum != nil {
					rowSum[ir+r] = 0
				}
				continue
			}
			if !kn.wide && !trans {
				// Word copies: each group of 4 k of a row is one uint32.
				row := src[i*lda : i*lda+k]
				d := dst[ir*kpad : ir*kpad+rows*kpad]
				f32 := uint32(flip) * 0x01010101
				nq := k / 4
				for q := 0; q < nq; q++ {
					w := binary.LittleEndian.Uint32(row[4*q:]) ^ f32
					binary.LittleEndian.PutUint32(d[q*rows*4+r*4:], w)
				}
				if k%4 != 0 {
					var t [4]byte
					copy(t[:], row[4*nq:])
					for x := k % 4; x < 4; x++ {
						t[x] = flip // pads to 0 after the xor below
					}
					w := binary.LittleEndian.Uint32(t[:]) ^ f32
					binary.LittleEndian.PutUint32(d[nq*rows*4+r*4:], w)
				}
				if rowSum != nil {
					rowSum[ir+r] = sumBytes(row, flip, unsigned)
				}
				continue
			}
			var s int32
			if kn.wide {
				d := unsafe.Slice((*int16)(unsafe.Pointer(&dst[ir*kpad*2])), rows*kpad)
				for p := 0; p < kpad; p++ {
					var v int32
					if p < k {
						v = side(at(i, p), unsigned)
					}
					s += v
					d[(p/2)*rows*2+r*2+p%2] = int16(v)
				}
			} else {
				d := dst[ir*kpad : ir*kpad+rows*kpad]
				for p := 0; p < kpad; p++ {
					var x byte
					if p < k {
						x = at(i, p)
					}
					s += side(x, unsigned)
					d[(p>>2)*rows*4+r*4+p&3] = x
				}
			}
			if rowSum != nil {
				rowSum[ir+r] = s
			}
		}
	}
}

// sumBytes returns the sum of b[i]^flip read as uint8 (unsigned) or int8.
func sumBytes(b []byte, flip byte, unsigned bool) int32 {
	const lo8 = 0x00ff00ff00ff00ff
	f64 := uint64(flip) * 0x0101010101010101
	var total int64
	var neg int
	for len(b) >= 8 {
		// Up to 128 words per batch keep each 16-bit lane below 65536.
		n := min(len(b)/8, 128)
		var acc uint64
		for i := 0; i < n; i++ {
			w := binary.LittleEndian.Uint64(b[8*i:]) ^ f64
			acc += w&lo8 + (w>>8)&lo8
			neg += bits.OnesCount64(w & 0x8080808080808080)
		}
		total += int64(acc&0xffff + (acc>>16)&0xffff + (acc>>32)&0xffff + acc>>48)
		b = b[8*n:]
	}
	for _, x := range b {
		x ^= flip
		total += int64(x)
		if x >= 128 {
			neg++
		}
	}
	if !unsigned {
		total -= 256 * int64(neg)
	}
	return int32(total)
}

// qpackB packs columns [j0, j0+ncur) of op(B) into kernel panels: the panel
// at local column jr starts at jr*kpad elements and holds, per group of g k,
// g values for each of its nr columns (zero past ncur and past k). colSum
// gets each column's sum of packed values.
func qpackB(kn *qkern, dst []byte, src []byte, ldb int, trans bool, flip byte, unsigned bool, k, j0, ncur int, colSum []int32) {
	g, nr := kn.g, kn.nr
	kpad := roundUp(k, g)
	at := func(p, jj int) byte {
		if trans {
			return src[jj*ldb+p] ^ flip
		}
		return src[p*ldb+jj] ^ flip
	}
	for jr := 0; jr < ncur; jr += nr {
		cols := min(nr, ncur-jr)
		if colSum != nil {
			cs := colSum[jr : jr+cols]
			clear(cs)
			if !trans {
				for p := 0; p < k; p++ {
					for c, x := range src[p*ldb+j0+jr : p*ldb+j0+jr+cols] {
						cs[c] += side(x^flip, unsigned)
					}
				}
			} else {
				for c := range cs {
					var t int32
					for p := 0; p < k; p++ {
						t += side(at(p, j0+jr+c), unsigned)
					}
					cs[c] = t
				}
			}
		}
		if kpad == 0 {
			continue
		}
		if kn.wide {
			d := unsafe.Slice((*int16)(unsafe.Pointer(&dst[jr*kpad*2])), nr*kpad)
			clear(d)
			for p := 0; p < k; p++ {
				o := (p/2)*nr*2 + p%2
				for c := 0; c < cols; c++ {
					d[o+c*2] = int16(side(at(p, j0+jr+c), unsigned))
				}
			}
			continue
		}
		d := dst[jr*kpad : jr*kpad+nr*kpad]
		if cols < nr || k < kpad {
			clear(d)
		}
		q0 := 0
		if !trans {
			// A short last panel packs at full width too for the groups
			// whose rows have nr bytes in src (the extra columns are
			// never stored).
			kq := k / 4
			if cols < nr {
				if rest := len(src) - (j0 + jr) - nr; rest < 0 {
					kq = 0
				} else {
					kq = min(kq, (rest/ldb+1)/4)
				}
			}
			if kq > 0 {
				q0 = qpackBAsm(d, src[j0+jr:], ldb, 4*kq, nr, flip) / 4
			}
			// Four rows of B make one group: interleave their bytes into
			// one uint32 per column.
			f32 := uint32(flip) * 0x01010101
			for q := q0; q < k/4; q++ {
				base := 4*q*ldb + j0 + jr
				interleave4(d[q*nr*4:q*nr*4+cols*4], src, base, base+ldb, base+2*ldb, base+3*ldb, cols, f32)
			}
			q0 = k / 4
		}
		for p := 4 * q0; p < k; p++ {
			o := (p>>2)*nr*4 + p&3
			for c := 0; c < cols; c++ {
				d[o+c*4] = at(p, j0+jr+c)
			}
		}
	}
}

// qworkspace holds one goroutine's int8 buffers.
type qworkspace struct {
	a, b                   []byte
	tile                   []int32
	rowSum, r1, r2, rowAdd []int32
	colSum, c2, colAdd     []int32
}

var qwsPool = sync.Pool{New: func() any { return new(qworkspace) }}

func getQWS() *qworkspace  { return qwsPool.Get().(*qworkspace) }
func putQWS(w *qworkspace) { qwsPool.Put(w) }

func growI32(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}

func (w *qworkspace) grow(mr, nr, mc, nc, kbytes int) {
	if na := roundUp(mc, mr) * kbytes; cap(w.a) < na {
		w.a = alignedBytes(na)
	}
	if nb := roundUp(nc, nr) * kbytes; cap(w.b) < nb {
		w.b = alignedBytes(nb)
	}
	w.a, w.b = w.a[:cap(w.a)], w.b[:cap(w.b)]
	if cap(w.tile) < mr*nr+16 {
		w.tile = alignedInt32(mr * nr)
	}
	w.rowSum, w.r1, w.r2, w.rowAdd = growI32(w.rowSum, mc), growI32(w.r1, mc), growI32(w.r2, mc), growI32(w.rowAdd, mc)
	w.colSum, w.c2, w.colAdd = growI32(w.colSum, nc), growI32(w.c2, nc), growI32(w.colAdd, nc)
}

// alignedBytes returns n zeroed bytes starting on a 64-byte boundary.
func alignedBytes(n int) []byte {
	s := make([]byte, n+64)
	off := int(uintptr(unsafe.Pointer(unsafe.SliceData(s))) & 63)
	if off != 0 {
		off = 64 - off
	}
	return s[off : off+n : off+n]
}

func alignedInt32(n int) []int32 {
	b := alignedBytes(n * 4)
	return unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

// sharedQBPool recycles the packed-B buffer that the threads of a row
// split share (qjob.run), which small-N convolutions need on every call.
var sharedQBPool sync.Pool

func getSharedQB(n int) *[]byte {
	if p, ok := sharedQBPool.Get().(*[]byte); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	b := alignedBytes(n)
	return &b
}
