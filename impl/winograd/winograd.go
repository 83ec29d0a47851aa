package winograd

import (
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/frugal-ml/frugal/impl/gemm"
)

// Tile selects the Winograd variant by its output tile size.
type Tile int

const (
	// F2 is F(2x2,3x3): 4x4 input tiles, 16 GEMMs, 2.25x fewer multiplies.
	F2 Tile = 2
	// F4 is F(4x4,3x3): 6x6 input tiles, 36 GEMMs, 4x fewer multiplies.
	F4 Tile = 4
)

func (t Tile) String() string {
	switch t {
	case F2:
		return "F(2x2,3x3)"
	case F4:
		return "F(4x4,3x3)"
	}
	return fmt.Sprintf("Tile(%d)", int(t))
}

func (t Tile) valid() bool { return t == F2 || t == F4 }

// in is the input tile side (m+2), pos the number of transform positions.
func (t Tile) in() int  { return int(t) + 2 }
func (t Tile) pos() int { return (int(t) + 2) * (int(t) + 2) }

// Weights are 3x3 filters transformed once (U = G g G^T) and laid out for
// the GEMMs: for each of the (m+2)^2 transform positions p, the cin x cout
// matrix U_p^T[ci][co] = U[co][ci][p], prepacked with gemm.PackB in column
// chunks of at most 64 output channels (so that threads can share one
// position's product when there are few tiles). Read-only after
// TransformWeights; safe for concurrent Conv calls. Like every packed GEMM
// operand it keeps the kernel (dispatch level) it was packed for.
type Weights struct {
	Tile      Tile
	Cin, Cout int
	cinP, coP int             // channel counts rounded up to the block lanes
	nc, nch   int             // output channels per chunk, chunks
	u         []*gemm.PackedB // [p*nch + chunk]
	bytes     int
}

// chunkCols is the output-channel width of one packed weight chunk.
const chunkCols = 64

// Bytes is the memory the transformed weights hold: (m+2)^2/9 times the
// float32 filters (4x for F4, 1.78x for F2), plus packing pads.
func (w *Weights) Bytes() int { return w.bytes }

// TransformWeights transforms float32 filters w[cout][cin][3][3] (ONNX
// Conv layout, groups = 1) for Conv with tile t.
func TransformWeights(w []float32, cout, cin int, t Tile) *Weights {
	if !t.valid() {
		panic(fmt.Sprintf("winograd: unknown tile %d", int(t)))
	}
	if cout <= 0 || cin <= 0 {
		panic(fmt.Sprintf("winograd: bad channel counts cout=%d cin=%d", cout, cin))
	}
	if len(w) < cout*cin*9 {
		panic(fmt.Sprintf("winograd: %d weights, want %d", len(w), cout*cin*9))
	}
	np := t.pos()
	u := make([]float64, np)
	mats := make([]float32, np*cin*cout) // [p][ci][co]
	for co := 0; co < cout; co++ {
		for ci := 0; ci < cin; ci++ {
			filterTransform(t, w[(co*cin+ci)*9:(co*cin+ci)*9+9], u)
			for p, v := range u {
				mats[(p*cin+ci)*cout+co] = float32(v)
			}
		}
	}
	nc := min(cout, chunkCols)
	nch := (cout + nc - 1) / nc
	wt := &Weights{Tile: t, Cin: cin, Cout: cout, cinP: roundUp(cin, lanes), coP: roundUp(cout, lanes),
		nc: nc, nch: nch, u: make([]*gemm.PackedB, np*nch)}
	for p := 0; p < np; p++ {
		mp := mats[p*cin*cout : (p+1)*cin*cout]
		for j := 0; j < nch; j++ {
			c0 := j * nc
			cols := min(nc, cout-c0)
			wt.u[p*nch+j] = gemm.PackB(false, cin, cols, mp[c0:], cout)
			wt.bytes += cin * roundUp(cols, 32) * 4
		}
	}
	return wt
}

// Epilogue is applied to each output after the inverse transform:
// out = act(conv + Bias[co]).
type Epilogue struct {
	Bias     []float32 // nil or one value per output channel
	Act      gemm.Activation
	Min, Max float32 // bounds of gemm.ActClip
}

func (e *Epilogue) bounds() (clamp bool, lo, hi float32) {
	switch e.Act {
	case gemm.ActNone:
		return false, 0, 0
	case gemm.ActRelu:
		return true, 0, inf32
	case gemm.ActRelu6:
		return true, 0, 6
	case gemm.ActClip:
		return true, e.Min, e.Max
	}
	panic(fmt.Sprintf("winograd: unknown activation %d", e.Act))
}

// Mode is how Conv spreads work over threads (see Conv).
type Mode int

const (
	// Auto picks Blocks when the transformed weights are at most 3 MB and
	// there are at least two tile blocks per thread, else PhasesSplit.
	Auto Mode = iota
	// Blocks: each thread runs the whole pipeline (input transform, the
	// GEMMs, output transform) on its own blocks of tiles; the small GEMMs
	// run on their thread and the scratch of a block stays in cache.
	Blocks
	// Phases: input transform of all tiles (threads split tiles x channel
	// blocks), then the GEMMs one position at a time with gemm's own
	// threading, then the output transform (threads split again).
	Phases
	// PhasesSplit is Phases with the products split into units (position,
	// 64-channel weight chunk, rows) claimed by the threads, each run on
	// one thread, instead of gemm's threading.
	PhasesSplit
)

// Tunables (tests and benchmarks change them).
var (
	// blockTiles bounds the tile block of the Blocks mode (GEMM rows; a
	// multiple of 14, the AVX-512 micro-tile height). 14..84 measured within
	// noise of each other on 64..256 channels; 56 was never worse.
	blockTiles = 56
	// maxScratch caps the floats of one chunk's scratch (transformed input
	// and products) in Phases modes, and of the padded input of an image
	// group; bigger problems are processed in chunks.
	maxScratch = 4 << 20
)

// Conv computes the 3x3, stride-1, dilation-1, groups-1 convolution of x
// [n][cin][h][w] (NCHW float32) with pads (top, left, bottom, right) and
// the transformed weights, writing out [n][cout][oh][ow], oh = h+padT+padB-2,
// ow = w+padL+padR-2, fused with ep (bias, ReLU/ReLU6/Clip). Only out's
// n*cout*oh*ow values are written. threads bounds the goroutines of the
// transforms (<= 0: gemm.Threads()); the GEMMs of the Phases mode use
// gemm's own budget. Scratch comes from a pool (see WorkspaceBytes).
func Conv(threads int, x []float32, n, h, w int, padT, padL, padB, padR int, wt *Weights, ep Epilogue, out []float32) {
	ConvMode(Auto, threads, x, n, h, w, padT, padL, padB, padR, wt, ep, out)
}

// ConvMode is Conv with an explicit threading mode.
func ConvMode(mode Mode, threads int, x []float32, n, h, w int, padT, padL, padB, padR int, wt *Weights, ep Epilogue, out []float32) {
	pl, err := newPlan(x, n, h, w, padT, padL, padB, padR, wt, &ep, out)
	if err != nil {
		panic(err)
	}
	if pl == nil {
		return
	}
	if threads <= 0 {
		threads = gemm.Threads()
	}
	if pl.macs() < 1<<20 {
		threads = 1 // waking a helper costs more than it saves
	}
	pl.run(mode, threads, x, out)
}

// plan holds one Conv call's geometry.
type plan struct {
	wt        *Weights
	m, a, np  int // output tile, input tile, positions
	cin, cout int
	cbI, cbO  int // channel blocks of lanes
	cinP, coP int // cin, cout rounded up to lanes (GEMM row lengths)
	n, h, w   int
	pt, pl    int
	oh, ow    int
	ty, tx    int       // tiles per image (rows, columns)
	imgT      int       // tiles per image
	hp, wp    int       // padded input plane (whole tiles plus the halo)
	cs        int       // floats between channel blocks of the padded input
	groupImgs int       // images per padded-input group
	bias      []float32 // padded copy of epBias (in the slab)
	epBias    []float32
	tmp       []float32 // edge-tile buffers, tmpFloats per thread
	pairs     bool      // output kernels may write 16 channels at once
	clamp     bool
	lo, hi    float32
	in        inFunc
	outF      outFunc
}

// inFunc transforms nblk channel blocks of one input tile (see inGo4).
type inFunc func(src []float32, s, rs, cs, nblk int, dst []float32, d, ps int)

// outFunc inverse-transforms nb (1 or 2) channel blocks of ntile tiles
// (see outGo4).
type outFunc func(m []float32, s, ps, mts, ntile int, dst []float32, d, ots, rs, chs int, bias []float32, nb int, clamp bool, lo, hi float32)

// geometry fills the shape-dependent fields of p (shared by newPlan and
// WorkspaceBytes).
func (p *plan) geometry(wt *Weights, n, oh, ow int) {
	m := int(wt.Tile)
	p.wt, p.m, p.a, p.np = wt, m, m+2, wt.Tile.pos()
	p.cin, p.cout, p.cinP, p.coP = wt.Cin, wt.Cout, wt.cinP, wt.coP
	p.cbI, p.cbO = wt.cinP/lanes, wt.coP/lanes
	p.n, p.oh, p.ow = n, oh, ow
	p.ty, p.tx = (oh+m-1)/m, (ow+m-1)/m
	p.imgT = p.ty * p.tx
	p.hp, p.wp = p.ty*m+2, p.tx*m+2
	p.cs = oddLines(p.hp * p.wp * lanes)
	p.groupImgs = max(1, min(n, maxScratch/(p.cbI*p.cs)))
}

// oddLines rounds a stride of n floats up to an odd number of 64-byte
// lines: 36 (or 16) rows that far apart then fall in distinct L1 sets
// instead of competing for one when n*4 is a multiple of 4 KiB.
func oddLines(n int) int {
	n = roundUp(n, 16)
	if n/16%2 == 0 {
		n += 16
	}
	return n
}

// aliasPeriod is the smallest k < 16 such that addresses k*stride bytes
// apart map to the same 64-byte-line L1 set (4 KiB period), or 16.
func aliasPeriod(stride int) int {
	for k := 1; k < 16; k++ {
		if r := k * stride % 4096; r < 64 || r > 4096-64 {
			return k
		}
	}
	return 16
}

// psV and psM are the position strides of the transformed input and of the
// products for a chunk of nt tiles.
func (p *plan) psV(nt int) int { return oddLines(nt * p.cinP) }
func (p *plan) psM(nt int) int { return oddLines(nt * p.coP) }

func newPlan(x []float32, n, h, w, padT, padL, padB, padR int, wt *Weights, ep *Epilogue, out []float32) (*plan, error) {
	if wt == nil {
		return nil, fmt.Errorf("winograd: nil weights")
	}
	if n < 0 || h < 0 || w < 0 || padT < 0 || padL < 0 || padB < 0 || padR < 0 {
		return nil, fmt.Errorf("winograd: negative size or padding")
	}
	oh, ow := h+padT+padB-2, w+padL+padR-2
	if n == 0 || oh <= 0 || ow <= 0 {
		return nil, nil
	}
	if len(x) < n*wt.Cin*h*w {
		return nil, fmt.Errorf("winograd: input has %d values, want %d", len(x), n*wt.Cin*h*w)
	}
	if len(out) < n*wt.Cout*oh*ow {
		return nil, fmt.Errorf("winograd: output has %d values, want %d", len(out), n*wt.Cout*oh*ow)
	}
	if ep.Bias != nil && len(ep.Bias) < wt.Cout {
		return nil, fmt.Errorf("winograd: bias has %d values, want %d", len(ep.Bias), wt.Cout)
	}
	p := &plan{h: h, w: w, pt: padT, pl: padL}
	p.geometry(wt, n, oh, ow)
	p.epBias = ep.Bias
	p.clamp, p.lo, p.hi = ep.bounds()
	p.in, p.outF = kernels(p.m)
	// Output channel planes whose stride is (nearly) a multiple of 4 KiB
	// share L1 sets: a 224x224 plane puts the same pixel of every channel
	// in one 12-way set, and 16 channels written at once keep evicting each
	// other's lines (measured 3-5x slower output transform). Write 8
	// channels at a time there.
	p.pairs = aliasPeriod(oh*ow*4) >= 4
	return p, nil
}

func kernels(m int) (inFunc, outFunc) {
	if in, out, ok := asmKernels(m); ok {
		return in, out
	}
	if m == 4 {
		return inGo4, outGo4
	}
	return inGo2, outGo2
}

// macs is the multiply-adds of the transformed-domain products.
func (p *plan) macs() float64 {
	return float64(p.n*p.imgT) * float64(p.np) * float64(p.cin) * float64(p.cout)
}

// WorkspaceBytes is the scratch Conv takes from its pool for these shapes
// with threads goroutines in Auto mode (Conv keeps one slab per concurrent
// call). It is the padded, channel-blocked input of an image group (cin
// rounded up to 8, planes rounded up to whole tiles plus the 2-pixel halo)
// plus the transformed input and the products, (m+2)^2 x tiles x
// (cin + cout) floats, for one tile block per thread (Blocks mode) or for
// a chunk of all tiles (Phases modes), both capped by maxScratch floats.
func WorkspaceBytes(threads int, n, h, w, padT, padL, padB, padR int, wt *Weights) int {
	oh, ow := h+padT+padB-2, w+padL+padR-2
	if n <= 0 || oh <= 0 || ow <= 0 {
		return 0
	}
	var p plan
	p.geometry(wt, n, oh, ow)
	if threads <= 0 {
		threads = gemm.Threads()
	}
	if p.macs() < 1<<20 {
		threads = 1
	}
	xp, scr := p.sizes(p.chooseMode(Auto, threads), threads)
	return (xp + scr) * 4
}

func (p *plan) chooseMode(mode Mode, threads int) Mode {
	if mode != Auto {
		return mode
	}
	// Blocks keeps each block's scratch in cache but reads all the
	// transformed weights once per block: only when they are small (F4
	// 128x128 channels: 2.4 MB). Large weights (256, 512 channels: 9.4,
	// 38 MB) are read once per Phases chunk instead, which measured 1.3-2x
	// faster there; few tiles cannot feed two threads with blocks.
	tiles := p.groupImgs * p.imgT
	small := p.np*p.cin*p.cout*4 <= 3<<20
	if small && ((tiles+blockTiles-1)/blockTiles >= 2*threads || threads == 1) {
		return Blocks
	}
	return PhasesSplit
}

// chunkTiles is the tile chunk of the Phases modes.
func (p *plan) chunkTiles() int {
	return max(blockTiles, min(p.groupImgs*p.imgT, maxScratch/(p.np*(p.cinP+p.coP))))
}

// sizes returns the floats of the padded input and of the other scratch
// (transformed input and products, edge-tile buffers, padded bias).
func (p *plan) sizes(mode Mode, threads int) (xp, scr int) {
	xp = p.groupImgs * p.cbI * p.cs
	if mode == Blocks {
		scr = min(threads, p.groupImgs*p.imgT) * p.blockScratch()
	} else {
		ct := p.chunkTiles()
		scr = p.np * (p.psV(ct) + p.psM(ct))
	}
	return xp, scr + threads*tmpFloats + p.coP
}

// tmpFloats is the edge-tile buffer of one thread (two channel blocks).
const tmpFloats = 2 * lanes * 16

// blockScratch is the scratch of one thread in the Blocks mode.
func (p *plan) blockScratch() int {
	tb := p.tbMax()
	return p.np * (p.psV(tb) + p.psM(tb))
}

var slabPool sync.Pool

func getSlab(n int) *[]float32 {
	if s, ok := slabPool.Get().(*[]float32); ok && cap(*s) >= n {
		*s = (*s)[:n]
		return s
	}
	s := alignedFloats(n)
	return &s
}

func alignedFloats(n int) []float32 {
	s := make([]float32, n+16)
	off := int(uintptr(unsafe.Pointer(unsafe.SliceData(s))) & 63 / 4)
	if off != 0 {
		off = 16 - off
	}
	return s[off : off+n : off+n]
}

func (p *plan) run(mode Mode, threads int, x, out []float32) {
	mode = p.chooseMode(mode, threads)
	xpN, scrN := p.sizes(mode, threads)
	slab := getSlab(xpN + scrN)
	defer slabPool.Put(slab)
	xp, scr := (*slab)[:xpN], (*slab)[xpN:]
	bias := scr[len(scr)-p.coP:]
	if p.epBias != nil {
		copy(bias, p.epBias[:p.cout])
		clear(bias[p.cout:])
	} else {
		clear(bias)
	}
	p.bias = bias
	p.tmp = scr[len(scr)-p.coP-threads*tmpFloats : len(scr)-p.coP]
	scr = scr[:len(scr)-p.coP-threads*tmpFloats]
	for b0 := 0; b0 < p.n; b0 += p.groupImgs {
		g := min(p.groupImgs, p.n-b0)
		p.repack(threads, x, b0, g, xp)
		tiles := g * p.imgT
		if mode == Blocks {
			p.runBlocks(threads, xp, b0, tiles, scr, out)
		} else {
			p.runPhases(mode, threads, xp, b0, tiles, scr, out)
		}
	}
}

// repack copies images [b0, b0+g) of x into xp[img][cblk][hp][wp][lanes]
// (blocks cs floats apart): zero padding around, zero channels beyond cin.
func (p *plan) repack(threads int, x []float32, b0, g int, xp []float32) {
	units := g * p.cbI
	t := min(threads, units)
	gemm.Parallel(t, func(i int) {
		for u := units * i / t; u < units*(i+1)/t; u++ {
			img, cb := u/p.cbI, u%p.cbI
			dst := xp[u*p.cs : u*p.cs+p.hp*p.wp*lanes]
			c0 := cb * lanes
			nc := min(lanes, p.cin-c0)
			src := x[((b0+img)*p.cin+c0)*p.h*p.w:]
			repackBlock(src, p.h, p.w, nc, dst, p.hp, p.wp, p.pt, p.pl)
		}
	})
}

// repackBlock writes one channel block: nc channels of h x w from src
// (planes h*w apart) into dst[hp][wp][lanes] at offset (pt, pl), zero elsewhere.
func repackBlock(src []float32, h, w, nc int, dst []float32, hp, wp, pt, pl int) {
	// Zero the halo rows and columns and the missing channels; the copy
	// below writes the rest.
	clear(dst[:pt*wp*lanes])
	clear(dst[(pt+h)*wp*lanes:])
	for y := 0; y < h; y++ {
		row := dst[(pt+y)*wp*lanes : (pt+y+1)*wp*lanes]
		clear(row[:pl*lanes])
		clear(row[(pl+w)*lanes:])
		if nc < lanes {
			clear(row[pl*lanes : (pl+w)*lanes])
		}
	}
	if repackAsm(src, h, w, nc, dst, wp, pt, pl) {
		return
	}
	for c := 0; c < nc; c++ {
		sp := src[c*h*w : (c+1)*h*w]
		for y := 0; y < h; y++ {
			sr := sp[y*w : (y+1)*w]
			dr := dst[((pt+y)*wp+pl)*lanes+c:]
			for x, v := range sr {
				dr[x*lanes] = v
			}
		}
	}
}

// tileOrigin returns the offset of tile t (index within the group) in xp,
// its image, its output coordinates and its column in the tile grid.
func (p *plan) tileOrigin(t int) (xoff, img, oy, ox, tx int) {
	img = t / p.imgT
	r := t % p.imgT
	ty := r / p.tx
	tx = r % p.tx
	oy, ox = ty*p.m, tx*p.m
	xoff = img*p.cbI*p.cs + (oy*p.wp+ox)*lanes
	return
}

// inRange transforms the flattened units [lo, hi) of (tile, cin block),
// tiles counted from t0 within the group, into v (positions psV apart).
func (p *plan) inRange(xp []float32, t0, nt, lo, hi int, v []float32) {
	ps := p.psV(nt)
	for u := lo; u < hi; {
		tt, cb := u/p.cbI, u%p.cbI
		nb := min(p.cbI-cb, hi-u)
		xoff, _, _, _, _ := p.tileOrigin(t0 + tt)
		p.in(xp, xoff+cb*p.cs, p.wp, p.cs, nb, v, tt*p.cinP+cb*lanes, ps)
		u += nb
	}
}

// gemm runs the product unit (position q, weight chunk j, rows [r0, r1)):
// M_q[r][chunk] = V_q[r][:cin] x U_q^T[:, chunk], for a chunk of nt tiles.
func (p *plan) gemm(nt, q, j, r0, r1 int, v, mm []float32) {
	if r0 >= r1 {
		return
	}
	gemm.SgemmPacked(r1-r0, v[q*p.psV(nt)+r0*p.cinP:], p.cinP, p.wt.u[q*p.wt.nch+j],
		mm[q*p.psM(nt)+r0*p.coP+j*p.wt.nc:], p.coP, gemm.Epilogue{})
}

// outRange inverse-transforms tiles [tlo, thi) of a chunk of nt tiles
// starting at t0, output channel blocks [cblo, cbhi). Whole tiles of whole
// blocks go to the kernels a tile row at a time, block pair by block pair
// (each output row's cache lines are filled before the next channels);
// edge tiles and a partial last block go through the thread's buffer.
func (p *plan) outRange(thread int, mm []float32, b0, t0, nt, tlo, thi, cblo, cbhi int, out []float32) {
	ps := p.psM(nt)
	plane := p.oh * p.ow
	full := p.cout / lanes // blocks with every channel present
	tmp := p.tmp[thread*tmpFloats : (thread+1)*tmpFloats]
	mm2 := p.m * p.m
	for tt := tlo; tt < thi; {
		_, img, oy, ox, tx := p.tileOrigin(t0 + tt)
		run := min(thi-tt, p.tx-tx) // tiles left in this tile row
		nFull := 0                  // leading tiles with all m x m outputs
		if oy+p.m <= p.oh {
			nFull = max(0, min(run, p.ow/p.m-tx))
		}
		ms := tt * p.coP
		obase := (b0+img)*p.cout*plane + oy*p.ow + ox
		if nFull > 0 {
			for cb := cblo; cb < min(cbhi, full); {
				nb := 1
				if p.pairs && cb+1 < min(cbhi, full) {
					nb = 2
				}
				p.outF(mm, ms+cb*lanes, ps, p.coP, nFull, out, obase+cb*lanes*plane, p.m, p.ow, plane,
					p.bias[cb*lanes:], nb, p.clamp, p.lo, p.hi)
				cb += nb
			}
		}
		for k := 0; k < run; k++ {
			cb0 := cblo
			if k < nFull {
				cb0 = max(cblo, full)
			}
			vh, vw := min(p.m, p.oh-oy), min(p.m, p.ow-ox-k*p.m)
			for cb := cb0; cb < cbhi; cb++ {
				p.outF(mm, ms+k*p.coP+cb*lanes, ps, 0, 1, tmp, 0, 0, p.m, mm2, p.bias[cb*lanes:], 1, p.clamp, p.lo, p.hi)
				for c := 0; c < min(lanes, p.cout-cb*lanes); c++ {
					o := obase + (cb*lanes+c)*plane + k*p.m
					for r := 0; r < vh; r++ {
						copy(out[o+r*p.ow:o+r*p.ow+vw], tmp[c*mm2+r*p.m:])
					}
				}
			}
		}
		tt += run
	}
}

// outSplit runs the output transform of a chunk on t threads: split by
// tiles when there are enough, else by pairs of channel blocks.
func (p *plan) outSplit(t int, mm []float32, b0, t0, nt int, out []float32) {
	if nt >= 2*t || p.cbO < 2*t {
		t = min(t, nt)
		gemm.Parallel(t, func(i int) {
			p.outRange(i, mm, b0, t0, nt, nt*i/t, nt*(i+1)/t, 0, p.cbO, out)
		})
		return
	}
	pairs := (p.cbO + 1) / 2
	t = min(t, pairs)
	gemm.Parallel(t, func(i int) {
		p.outRange(i, mm, b0, t0, nt, 0, nt, 2*(pairs*i/t), min(p.cbO, 2*(pairs*(i+1)/t)), out)
	})
}

// rowsSingle is the most GEMM rows (tiles) a product unit may have and
// still run on its caller inside gemm (which threads products from 2^20
// multiply-adds on): rows x chunk x cin < 2^20, in whole AVX-512 panels.
func (p *plan) rowsSingle() int {
	r := (1<<20 - 1) / (p.wt.nc * p.cin)
	if r >= 14 {
		r = r / 14 * 14
	}
	return max(1, r)
}

// tbMax bounds the tile block of the Blocks mode.
func (p *plan) tbMax() int { return max(1, min(blockTiles, p.rowsSingle())) }

// blocking returns the tile block of the Blocks mode: at most tbMax tiles,
// and a whole number of blocks per thread.
func (p *plan) blocking(tiles, threads int) (tb, nb int) {
	tb = p.tbMax()
	nb = max((tiles+tb-1)/tb, threads)
	nb = min(roundUp(nb, threads), tiles)
	tb = (tiles + nb - 1) / nb
	nb = (tiles + tb - 1) / tb
	return tb, nb
}

// runBlocks: each thread claims blocks of tiles and runs the whole
// pipeline on them; its scratch stays in its cache.
func (p *plan) runBlocks(threads int, xp []float32, b0, tiles int, scr, out []float32) {
	tb, nb := p.blocking(tiles, threads)
	t := min(threads, nb)
	per := p.blockScratch()
	var next atomic.Int32
	gemm.Parallel(t, func(i int) {
		buf := scr[i*per : (i+1)*per]
		for {
			blk := int(next.Add(1) - 1)
			if blk >= nb {
				return
			}
			t0 := blk * tb
			nt := min(tb, tiles-t0)
			v, mm := buf[:p.np*p.psV(nt)], buf[p.np*p.psV(nt):][:p.np*p.psM(nt)]
			p.inRange(xp, t0, nt, 0, nt*p.cbI, v)
			for q := 0; q < p.np; q++ {
				for j := 0; j < p.wt.nch; j++ {
					p.gemm(nt, q, j, 0, nt, v, mm)
				}
			}
			p.outRange(i, mm, b0, t0, nt, 0, nt, 0, p.cbO, out)
		}
	})
}

// runPhases: all tiles of a chunk through each phase in turn, with a
// barrier between phases. The products are either (Phases) one call per
// position and weight chunk, threaded by gemm, or (PhasesSplit) units of
// (position, weight chunk, rows) claimed by the threads, each small enough
// to run on one thread.
func (p *plan) runPhases(mode Mode, threads int, xp []float32, b0, tiles int, scr, out []float32) {
	ct := p.chunkTiles()
	for t0 := 0; t0 < tiles; t0 += ct {
		nt := min(ct, tiles-t0)
		v, mm := scr[:p.np*p.psV(nt)], scr[p.np*p.psV(nt):][:p.np*p.psM(nt)]
		units := nt * p.cbI
		t := min(threads, units)
		gemm.Parallel(t, func(i int) {
			p.inRange(xp, t0, nt, units*i/t, units*(i+1)/t, v)
		})
		if mode == PhasesSplit {
			rb := min(nt, p.rowsSingle())
			nr := (nt + rb - 1) / rb
			nch := p.wt.nch
			units := p.np * nch * nr
			var next atomic.Int32
			gemm.Parallel(min(threads, units), func(int) {
				for {
					u := int(next.Add(1) - 1)
					if u >= units {
						return
					}
					r := u % nr
					q, j := u/nr/nch, u/nr%nch
					p.gemm(nt, q, j, r*rb, min(nt, (r+1)*rb), v, mm)
				}
			})
		} else {
			for q := 0; q < p.np; q++ {
				for j := 0; j < p.wt.nch; j++ {
					p.gemm(nt, q, j, 0, nt, v, mm)
				}
			}
		}
		p.outSplit(threads, mm, b0, t0, nt, out)
	}
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }
