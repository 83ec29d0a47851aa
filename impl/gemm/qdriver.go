package gemm

import (
	"sync"
	"unsafe"
)

// qjob is one int8 GEMM (see qgemm.go for the arithmetic).
type qjob struct {
	kn      *qkern
	m, n, k int
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
	out     unsafe.Pointer
	ldc     int
	requant bool
	lo, hi  float64
	zp      float64
	perRow  bool
	bias    []int32
	scale   []float64
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
	t := min(Threads(), max(1, int(macs/(4*minMACsPerThread))))
	mPanels := (j.m + kn.mr - 1) / kn.mr
	nPanels := (j.n + kn.nr - 1) / kn.nr
	if t <= 1 {
		ws := getQWS()
		j.worker(0, j.m, 0, j.n, ws)
		putQWS(ws)
		return
	}
	if mPanels >= 2*t || (mPanels >= t && j.pb != nil) || nPanels < t {
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
		buf := alignedBytes(kpad * es * roundUp(w, kn.nr))
		colSum := make([]int32, w)
		for jc := 0; jc < j.n; jc += w {
			ncur := min(w, j.n-jc)
			pb := &PackedQB{kn: kn, k: j.k, n: j.n, kpad: kpad, unsign: !j.au, zb: j.zb, colSum: colSum, data: buf}
			np := (ncur + kn.nr - 1) / kn.nr
			parallel(t, func(i int) {
				p0, p1 := split(np, t, i, kn.nr, ncur)
				if p0 < p1 {
					qpackB(kn, buf[p0*kpad*es:], j.b, j.ldb, false, j.flipB, !j.au, j.k, jc+p0, p1-p0, colSum[p0:p1])
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
	var f qfin
	f.tile, f.tstride = &ws.tile[0], uintptr(nr)
	f.zp, f.lo, f.hi = j.zp, j.lo, j.hi
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
		osize = 1
		if j.perRow {
			f.flags |= qScaleRow
		}
	}
	for jc := n0; jc < n1; jc += ncBlk {
		ncur := min(ncBlk, n1-jc)
		var bBase []byte
		var colSum []int32
		if pb != nil {
			bBase = pb.data[(jc-pbCol0)*kpad*es:]
			colSum = pb.colSum[jc-pbCol0:]
		} else {
			qpackB(kn, ws.b, j.b, j.ldb, false, j.flipB, !j.au, j.k, jc, ncur, ws.colSum[:ncur])
			bBase, colSum = ws.b, ws.colSum
		}
		for c := 0; c < ncur; c++ {
			var v int32
			if biasCol {
				v = j.bias[jc+c]
			}
			if !zaPer {
				v -= zaU * colSum[c]
			}
			ws.colAdd[c] = v
			ws.c2[c] = -colSum[c]
		}
		for ic := m0; ic < m1; ic += kn.mc {
			mcur := min(kn.mc, m1-ic)
			var aBase []byte
			var rowSum []int32
			if pa != nil {
				aBase = pa.data[ic*kpad*es:]
				rowSum = pa.rowSum[ic:]
			} else {
				qpackA(kn, ws.a, j.a, j.lda, false, j.flipA, j.au, j.k, ic, mcur, ws.rowSum[:mcur])
				aBase, rowSum = ws.a, ws.rowSum
			}
			for r := 0; r < mcur; r++ {
				za := zaU
				if zaPer {
					za = j.za[ic+r]
				}
				u := k32*za - rowSum[r]
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
				for ir := 0; ir < mcur; ir += mr {
					rows := min(mr, mcur-ir)
					if kg > 0 {
						kn.kern(kn, j.au, rows, cols, kg, unsafe.Pointer(&aBase[ir*kpad*es]), bp, f.tile)
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
			var s int32
			if kpad == 0 {
				rowSum[ir+r] = 0
				continue
			}
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
				if !trans && k > 0 {
					row := src[i*lda : i*lda+k]
					for p, x := range row {
						x ^= flip
						s += side(x, unsigned)
						d[(p>>2)*rows*4+r*4+p&3] = x
					}
					for p := k; p < kpad; p++ {
						d[(p>>2)*rows*4+r*4+p&3] = 0
					}
				} else {
					for p := 0; p < kpad; p++ {
						var x byte
						if p < k {
							x = at(i, p)
						}
						s += side(x, unsigned)
						d[(p>>2)*rows*4+r*4+p&3] = x
					}
				}
			}
			rowSum[ir+r] = s
		}
	}
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
		for c := 0; c < cols; c++ {
			colSum[jr+c] = 0
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
					v := side(at(p, j0+jr+c), unsigned)
					colSum[jr+c] += v
					d[o+c*2] = int16(v)
				}
			}
			continue
		}
		d := dst[jr*kpad : jr*kpad+nr*kpad]
		if cols < nr || k < kpad {
			clear(d)
		}
		for p := 0; p < k; p++ {
			o := (p>>2)*nr*4 + p&3
			if !trans {
				row := src[p*ldb+j0+jr : p*ldb+j0+jr+cols]
				for c, x := range row {
					x ^= flip
					colSum[jr+c] += side(x, unsigned)
					d[o+c*4] = x
				}
				continue
			}
			for c := 0; c < cols; c++ {
				x := at(p, j0+jr+c)
				colSum[jr+c] += side(x, unsigned)
				d[o+c*4] = x
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
