package ops

import (
	"encoding/binary"
	"errors"
)

// A baseline (sequential Huffman, 8-bit) JPEG decoder that reproduces
// libjpeg's default output bit for bit: the "islow" integer IDCT
// (jidctint.c), its range-limiting table, fancy chroma upsampling and the
// fixed-point YCbCr->RGB tables. Decoders built on libjpeg (PIL, OpenCV)
// define ImageDecoder's reference output. Progressive and arithmetic-coded
// files return errNotBaseline and fall back to Go's image/jpeg.

var errNotBaseline = errors.New("not a baseline JPEG")

var jpegZigzag = [64]int{
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
}

type jpegHuff struct {
	maxcode [18]int32
	valptr  [17]int32
	mincode [17]int32
	vals    []uint8
}

func newJpegHuff(counts []uint8, vals []uint8) *jpegHuff {
	h := &jpegHuff{vals: vals}
	code, k := int32(0), int32(0)
	for l := 1; l <= 16; l++ {
		n := int32(counts[l-1])
		if n == 0 {
			h.maxcode[l] = -1
		} else {
			h.valptr[l] = k
			h.mincode[l] = code
			code += n
			k += n
			h.maxcode[l] = code - 1
		}
		code <<= 1
	}
	h.maxcode[17] = 0x7fffffff
	return h
}

type jpegBits struct {
	data   []byte
	pos    int
	acc    uint32
	n      int
	marker bool
}

func (r *jpegBits) bit() int {
	if r.n == 0 {
		var b byte
		if !r.marker && r.pos < len(r.data) {
			b = r.data[r.pos]
			if b == 0xff {
				if r.pos+1 < len(r.data) && r.data[r.pos+1] == 0 {
					r.pos += 2
				} else {
					r.marker = true // a marker: feed zeros as libjpeg does
					b = 0
				}
			} else {
				r.pos++
			}
		}
		r.acc, r.n = uint32(b), 8
	}
	r.n--
	return int(r.acc>>uint(r.n)) & 1
}

func (r *jpegBits) bits(s int) int {
	v := 0
	for i := 0; i < s; i++ {
		v = v<<1 | r.bit()
	}
	return v
}

func (r *jpegBits) decode(h *jpegHuff) (int, error) {
	code := int32(r.bit())
	l := 1
	for code > h.maxcode[l] {
		code = code<<1 | int32(r.bit())
		l++
		if l > 16 {
			return 0, errors.New("JPEG: bad Huffman code")
		}
	}
	i := h.valptr[l] + code - h.mincode[l]
	if i < 0 || int(i) >= len(h.vals) {
		return 0, errors.New("JPEG: bad Huffman code")
	}
	return int(h.vals[i]), nil
}

// restart skips to after the next RSTn marker.
func (r *jpegBits) restart() {
	r.n, r.marker = 0, false
	for r.pos+1 < len(r.data) {
		if r.data[r.pos] == 0xff && r.data[r.pos+1] >= 0xd0 && r.data[r.pos+1] <= 0xd7 {
			r.pos += 2
			return
		}
		r.pos++
	}
}

func jpegExtend(v, s int) int {
	if s > 0 && v < 1<<(s-1) {
		v += (-1 << s) + 1
	}
	return v
}

type jpegComp struct {
	id, h, v, tq int
	td, ta       int
	w, ht        int // component size in samples (ceil)
	bw, bh       int // blocks per line / column (MCU padded)
	plane        []uint8
	stride       int
}

// decodeBaselineJPEG returns interleaved RGB.
func decodeBaselineJPEG(b []byte) ([]uint8, int, int, error) {
	if len(b) < 4 || b[0] != 0xff || b[1] != 0xd8 {
		return nil, 0, 0, errNotBaseline
	}
	var qt [4][64]int32
	var dc, ac [4]*jpegHuff
	var comps []*jpegComp
	W, H, restartInterval := 0, 0, 0
	pos := 2
	for pos+4 <= len(b) {
		if b[pos] != 0xff {
			pos++
			continue
		}
		m := b[pos+1]
		if m == 0xff {
			pos++
			continue
		}
		if m == 0xd8 || (m >= 0xd0 && m <= 0xd7) {
			pos += 2
			continue
		}
		if m == 0xd9 {
			break
		}
		L := int(binary.BigEndian.Uint16(b[pos+2:]))
		if L < 2 || pos+2+L > len(b) {
			return nil, 0, 0, errors.New("JPEG: truncated segment")
		}
		seg := b[pos+4 : pos+2+L]
		switch {
		case m == 0xdb:
			for len(seg) > 0 {
				pq, tq := seg[0]>>4, seg[0]&15
				if tq > 3 {
					return nil, 0, 0, errors.New("JPEG: bad DQT")
				}
				n := 64
				if pq != 0 {
					n = 128
				}
				if len(seg) < 1+n {
					return nil, 0, 0, errors.New("JPEG: short DQT")
				}
				for i := 0; i < 64; i++ {
					v := int32(seg[1+i])
					if pq != 0 {
						v = int32(binary.BigEndian.Uint16(seg[1+2*i:]))
					}
					qt[tq][jpegZigzag[i]] = v
				}
				seg = seg[1+n:]
			}
		case m == 0xc0 || m == 0xc1:
			if len(seg) < 6 || seg[0] != 8 {
				return nil, 0, 0, errNotBaseline
			}
			H, W = int(binary.BigEndian.Uint16(seg[1:])), int(binary.BigEndian.Uint16(seg[3:]))
			nc := int(seg[5])
			if len(seg) < 6+3*nc || W <= 0 || H <= 0 || W > 1<<15 || H > 1<<15 || W*H > 1<<27 || (nc != 1 && nc != 3) {
				return nil, 0, 0, errNotBaseline
			}
			for i := 0; i < nc; i++ {
				c := seg[6+3*i:]
				comps = append(comps, &jpegComp{id: int(c[0]), h: int(c[1] >> 4), v: int(c[1] & 15), tq: int(c[2] & 3)})
			}
		case m >= 0xc2 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc:
			return nil, 0, 0, errNotBaseline
		case m == 0xc4:
			for len(seg) >= 17 {
				tc, th := seg[0]>>4, seg[0]&3
				counts := seg[1:17]
				n := 0
				for _, c := range counts {
					n += int(c)
				}
				if len(seg) < 17+n {
					return nil, 0, 0, errors.New("JPEG: short DHT")
				}
				h := newJpegHuff(counts, append([]uint8{}, seg[17:17+n]...))
				if tc == 0 {
					dc[th] = h
				} else {
					ac[th] = h
				}
				seg = seg[17+n:]
			}
		case m == 0xdd:
			if len(seg) >= 2 {
				restartInterval = int(binary.BigEndian.Uint16(seg))
			}
		case m == 0xda:
			if comps == nil {
				return nil, 0, 0, errors.New("JPEG: scan before frame")
			}
			if len(seg) < 1 {
				return nil, 0, 0, errors.New("JPEG: short SOS")
			}
			ns := int(seg[0])
			if ns != len(comps) || len(seg) < 1+2*ns {
				return nil, 0, 0, errNotBaseline // non-interleaved multi-scan files: use the fallback
			}
			for i := 0; i < ns; i++ {
				id, t := int(seg[1+2*i]), seg[2+2*i]
				if t>>4 > 3 || t&15 > 3 {
					return nil, 0, 0, errors.New("JPEG: bad scan table selector")
				}
				for _, c := range comps {
					if c.id == id {
						c.td, c.ta = int(t>>4), int(t&3)
					}
				}
			}
			rgb, err := jpegScan(b[pos+2+L:], W, H, comps, &qt, dc, ac, restartInterval)
			return rgb, W, H, err
		}
		pos += 2 + L
	}
	return nil, 0, 0, errors.New("JPEG: no scan")
}

func jpegScan(data []byte, W, H int, comps []*jpegComp, qt *[4][64]int32, dc, ac [4]*jpegHuff, ri int) ([]uint8, error) {
	hmax, vmax := 1, 1
	for _, c := range comps {
		if c.h < 1 || c.v < 1 || c.h > 2 || c.v > 2 {
			return nil, errNotBaseline
		}
		hmax, vmax = max(hmax, c.h), max(vmax, c.v)
	}
	mx := (W + 8*hmax - 1) / (8 * hmax)
	my := (H + 8*vmax - 1) / (8 * vmax)
	if len(comps) == 1 {
		// A single-component scan is non-interleaved: one block per MCU.
		c := comps[0]
		c.h, c.v, hmax, vmax = 1, 1, 1, 1
		mx, my = (W+7)/8, (H+7)/8
	}
	for _, c := range comps {
		if dc[c.td] == nil || ac[c.ta] == nil {
			return nil, errors.New("JPEG: missing Huffman table")
		}
		c.w = (W*c.h + hmax - 1) / hmax
		c.ht = (H*c.v + vmax - 1) / vmax
		c.bw, c.bh = mx*c.h, my*c.v
		c.stride = c.bw * 8
		c.plane = make([]uint8, c.stride*c.bh*8)
	}
	r := &jpegBits{data: data}
	pred := make([]int, len(comps))
	var coef [64]int32
	var ws [64]int32
	mcu := 0
	for y := 0; y < my; y++ {
		for x := 0; x < mx; x++ {
			if ri > 0 && mcu > 0 && mcu%ri == 0 {
				r.restart()
				for i := range pred {
					pred[i] = 0
				}
			}
			mcu++
			for ci, c := range comps {
				for by := 0; by < c.v; by++ {
					for bx := 0; bx < c.h; bx++ {
						for i := range coef {
							coef[i] = 0
						}
						s, err := r.decode(dc[c.td])
						if err != nil {
							return nil, err
						}
						if s > 11 {
							return nil, errors.New("JPEG: bad DC size")
						}
						pred[ci] += jpegExtend(r.bits(s), s)
						coef[0] = int32(pred[ci])
						for k := 1; k < 64; k++ {
							rs, err := r.decode(ac[c.ta])
							if err != nil {
								return nil, err
							}
							run, size := rs>>4, rs&15
							if size == 0 {
								if run != 15 {
									break
								}
								k += 15
								continue
							}
							k += run
							if k > 63 {
								return nil, errors.New("JPEG: bad AC run")
							}
							coef[jpegZigzag[k]] = int32(jpegExtend(r.bits(size), size))
						}
						q := &qt[c.tq]
						off := ((y*c.v+by)*8)*c.stride + (x*c.h+bx)*8
						idctIslow(&coef, q, &ws, c.plane[off:], c.stride)
					}
				}
			}
		}
	}
	out := make([]uint8, W*H*3)
	if len(comps) == 1 {
		c := comps[0]
		for yy := 0; yy < H; yy++ {
			for xx := 0; xx < W; xx++ {
				v := c.plane[yy*c.stride+xx]
				p := (yy*W + xx) * 3
				out[p], out[p+1], out[p+2] = v, v, v
			}
		}
		return out, nil
	}
	up := make([][]int, 3)
	for i, c := range comps {
		fx, fy := hmax/c.h, vmax/c.v
		switch {
		case fx == 1 && fy == 1:
			u := make([]int, W*H)
			for yy := 0; yy < H; yy++ {
				for xx := 0; xx < W; xx++ {
					u[yy*W+xx] = int(c.plane[yy*c.stride+xx])
				}
			}
			up[i] = u
		case fx == 2 && (fy == 1 || fy == 2):
			up[i] = fancyUpsample(c.plane, c.stride, c.w, c.ht, W, H, fy == 2)
		default:
			return nil, errNotBaseline
		}
	}
	const one = 1 << 16
	fix := func(f float64) int { return int(f*one + 0.5) }
	clamp := func(v int) uint8 { return uint8(min(max(v, 0), 255)) }
	for i := 0; i < W*H; i++ {
		yv, cb, cr := up[0][i], up[1][i]-128, up[2][i]-128
		p := i * 3
		out[p] = clamp(yv + (fix(1.40200)*cr+one/2)>>16)
		out[p+1] = clamp(yv + ((-fix(0.34414))*cb+one/2+(-fix(0.71414))*cr)>>16)
		out[p+2] = clamp(yv + (fix(1.77200)*cb+one/2)>>16)
	}
	return out, nil
}

// fancyUpsample is libjpeg's h2v1/h2v2 triangle-filter upsampling of a
// plane of cw x ch samples to w x h.
func fancyUpsample(plane []uint8, stride, cw, ch, w, h int, v2 bool) []int {
	src := func(x, y int) int { return int(plane[y*stride+x]) }
	out := make([]int, w*h)
	cs := make([]int, cw)
	for y := 0; y < h; y++ {
		for x := 0; x < cw; x++ {
			if v2 {
				cy := min(y/2, ch-1)
				ny := cy - 1
				if y%2 == 1 {
					ny = cy + 1
				}
				ny = min(max(ny, 0), ch-1)
				cs[x] = src(x, cy)*3 + src(x, ny)
			} else {
				cs[x] = src(x, min(y, ch-1))
			}
		}
		for x := 0; x < w; x++ {
			i := x / 2
			if i >= cw {
				i = cw - 1
			}
			this := cs[i]
			var val int
			if v2 {
				switch {
				case cw == 1:
					val = (this*4 + 8 - x%2) >> 4
				case x%2 == 0 && i == 0:
					val = (this*4 + 8) >> 4
				case x%2 == 0:
					val = (this*3 + cs[i-1] + 8) >> 4
				case i == cw-1:
					val = (this*4 + 7) >> 4
				default:
					val = (this*3 + cs[i+1] + 7) >> 4
				}
			} else {
				switch {
				case cw == 1, x%2 == 0 && i == 0, x%2 == 1 && i == cw-1:
					val = this
				case x%2 == 0:
					val = (this*3 + cs[i-1] + 1) >> 2
				default:
					val = (this*3 + cs[i+1] + 2) >> 2
				}
			}
			out[y*w+x] = val
		}
	}
	return out
}

// idctRange maps a centred IDCT output through libjpeg's range-limit table.
func idctRange(v int32) uint8 {
	i := v & 1023
	switch {
	case i < 128:
		return uint8(i + 128)
	case i < 384:
		return 255
	case i < 896:
		return 0
	}
	return uint8(i - 896)
}

// idctIslow is libjpeg's jpeg_idct_islow: dequantise, two 1-D passes with
// 13-bit fixed-point constants, and write 8x8 samples.
func idctIslow(coef *[64]int32, q *[64]int32, ws *[64]int32, out []uint8, stride int) {
	const (
		constBits = 13
		pass1Bits = 2
		f0298     = 2446
		f0390     = 3196
		f0541     = 4433
		f0765     = 6270
		f0899     = 7373
		f1175     = 9633
		f1501     = 12299
		f1847     = 15137
		f1961     = 16069
		f2053     = 16819
		f2562     = 20995
		f3072     = 25172
	)
	descale := func(x int32, n uint) int32 { return (x + 1<<(n-1)) >> n }
	for c := 0; c < 8; c++ {
		in := func(r int) int32 { return coef[r*8+c] * q[r*8+c] }
		z2, z3 := in(2), in(6)
		z1 := (z2 + z3) * f0541
		tmp2 := z1 + z3*(-f1847)
		tmp3 := z1 + z2*f0765
		z2, z3 = in(0), in(4)
		tmp0 := (z2 + z3) << constBits
		tmp1 := (z2 - z3) << constBits
		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2
		t0, t1, t2, t3 := in(7), in(5), in(3), in(1)
		z1, z2, z3 = t0+t3, t1+t2, t0+t2
		z4 := t1 + t3
		z5 := (z3 + z4) * f1175
		t0 *= f0298
		t1 *= f2053
		t2 *= f3072
		t3 *= f1501
		z1 *= -f0899
		z2 *= -f2562
		z3 *= -f1961
		z4 *= -f0390
		z3 += z5
		z4 += z5
		t0 += z1 + z3
		t1 += z2 + z4
		t2 += z2 + z3
		t3 += z1 + z4
		const s = constBits - pass1Bits
		ws[0*8+c] = descale(tmp10+t3, s)
		ws[7*8+c] = descale(tmp10-t3, s)
		ws[1*8+c] = descale(tmp11+t2, s)
		ws[6*8+c] = descale(tmp11-t2, s)
		ws[2*8+c] = descale(tmp12+t1, s)
		ws[5*8+c] = descale(tmp12-t1, s)
		ws[3*8+c] = descale(tmp13+t0, s)
		ws[4*8+c] = descale(tmp13-t0, s)
	}
	for r := 0; r < 8; r++ {
		w := ws[r*8 : r*8+8]
		z2, z3 := w[2], w[6]
		z1 := (z2 + z3) * f0541
		tmp2 := z1 + z3*(-f1847)
		tmp3 := z1 + z2*f0765
		tmp0 := (w[0] + w[4]) << constBits
		tmp1 := (w[0] - w[4]) << constBits
		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2
		t0, t1, t2, t3 := w[7], w[5], w[3], w[1]
		z1, z2, z3 = t0+t3, t1+t2, t0+t2
		z4 := t1 + t3
		z5 := (z3 + z4) * f1175
		t0 *= f0298
		t1 *= f2053
		t2 *= f3072
		t3 *= f1501
		z1 *= -f0899
		z2 *= -f2562
		z3 *= -f1961
		z4 *= -f0390
		z3 += z5
		z4 += z5
		t0 += z1 + z3
		t1 += z2 + z4
		t2 += z2 + z3
		t3 += z1 + z4
		const s = constBits + pass1Bits + 3
		o := out[r*stride : r*stride+8]
		o[0] = idctRange(descale(tmp10+t3, s))
		o[7] = idctRange(descale(tmp10-t3, s))
		o[1] = idctRange(descale(tmp11+t2, s))
		o[6] = idctRange(descale(tmp11-t2, s))
		o[2] = idctRange(descale(tmp12+t1, s))
		o[5] = idctRange(descale(tmp12-t1, s))
		o[3] = idctRange(descale(tmp13+t0, s))
		o[4] = idctRange(descale(tmp13-t0, s))
	}
}
