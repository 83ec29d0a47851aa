package ops

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/gif" // registers GIF with image.Decode
	_ "image/jpeg"
	_ "image/png"
	"strconv"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// ImageDecoder decodes baseline JPEG bit-exactly with libjpeg (jpeg.go),
// PNG, GIF and progressive JPEG through Go's standard library, plus
// uncompressed BMP, binary/ASCII PNM and uncompressed 8-bit TIFF with small
// decoders here, into [H, W, 3] RGB/BGR or [H, W, 1] grayscale (PIL's
// ITU-R 601 luma). WebP and JPEG 2000 are not supported.

func init() {
	Register(Impl{Op: "ImageDecoder", DTypes: []tensor.DType{tensor.Uint8}, Build: buildImageDecoder})
	graph.RegisterShape("", "ImageDecoder", func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, v int64) ([]graph.Type, error) {
		return []graph.Type{{DType: tensor.Uint8}}, nil
	})
}

func buildImageDecoder(b *BuildInfo) (Kernel, error) {
	pf, err := b.Node.String("pixel_format", "RGB")
	if err != nil {
		return nil, err
	}
	switch pf {
	case "RGB", "BGR", "Grayscale":
	default:
		return nil, fmt.Errorf("unknown pixel_format %q", pf)
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		if err := CheckDType(ts[0], "encoded_stream", tensor.Uint8); err != nil {
			return nil, err
		}
		data := ts[0].U8()
		rgb, w, h, err := decodeImage(data)
		if err != nil {
			return nil, err
		}
		if pf == "Grayscale" {
			out := tensor.New(tensor.Uint8, h, w, 1)
			o := out.U8()
			for i := range o {
				r, g, bb := uint32(rgb[3*i]), uint32(rgb[3*i+1]), uint32(rgb[3*i+2])
				o[i] = uint8((r*19595 + g*38470 + bb*7471 + 0x8000) >> 16)
			}
			return []Value{out}, nil
		}
		if pf == "BGR" {
			for i := 0; i < w*h; i++ {
				rgb[3*i], rgb[3*i+2] = rgb[3*i+2], rgb[3*i]
			}
		}
		return []Value{tensor.MustFromSlice(rgb, h, w, 3)}, nil
	}), nil
}

// decodeImage returns interleaved 8-bit RGB.
func decodeImage(b []byte) ([]uint8, int, int, error) {
	switch {
	case len(b) >= 2 && b[0] == 'B' && b[1] == 'M':
		return decodeBMP(b)
	case len(b) >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6':
		return decodePNM(b)
	case len(b) >= 4 && (string(b[:4]) == "II*\x00" || string(b[:4]) == "MM\x00*"):
		return decodeTIFF(b)
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return nil, 0, 0, fmt.Errorf("WebP images are not supported")
	case len(b) >= 12 && (bytes.HasPrefix(b, []byte{0, 0, 0, 12, 'j', 'P'}) || bytes.HasPrefix(b, []byte{0xff, 0x4f, 0xff, 0x51})):
		return nil, 0, 0, fmt.Errorf("JPEG 2000 images are not supported")
	}
	if len(b) >= 2 && b[0] == 0xff && b[1] == 0xd8 {
		rgb, w, h, err := decodeBaselineJPEG(b)
		if err == nil {
			return rgb, w, h, nil
		}
		if !errors.Is(err, errNotBaseline) {
			return nil, 0, 0, err
		}
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("decoding image: %w", err)
	}
	if yc, ok := img.(*image.YCbCr); ok {
		if out, ok := libjpegRGB(yc); ok {
			return out, yc.Rect.Dx(), yc.Rect.Dy(), nil
		}
	}
	r := img.Bounds()
	w, h := r.Dx(), r.Dy()
	out := make([]uint8, 0, w*h*3)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			out = append(out, c.R, c.G, c.B)
		}
	}
	return out, w, h, nil
}

func decodeBMP(b []byte) ([]uint8, int, int, error) {
	if len(b) < 54 {
		return nil, 0, 0, fmt.Errorf("BMP: truncated header")
	}
	off := int(binary.LittleEndian.Uint32(b[10:]))
	w := int(int32(binary.LittleEndian.Uint32(b[18:])))
	h := int(int32(binary.LittleEndian.Uint32(b[22:])))
	bpp := int(binary.LittleEndian.Uint16(b[28:]))
	comp := binary.LittleEndian.Uint32(b[30:])
	if comp != 0 && comp != 3 || (bpp != 24 && bpp != 32) {
		return nil, 0, 0, fmt.Errorf("BMP: only uncompressed 24/32-bit images are supported (bpp %d, compression %d)", bpp, comp)
	}
	topDown := h < 0
	if topDown {
		h = -h
	}
	if w <= 0 || h <= 0 || w > 1<<15 || h > 1<<15 {
		return nil, 0, 0, fmt.Errorf("BMP: bad size %dx%d", w, h)
	}
	bytesPP := bpp / 8
	stride := (w*bytesPP + 3) &^ 3
	if off < 0 || off+stride*h > len(b) {
		return nil, 0, 0, fmt.Errorf("BMP: pixel data truncated")
	}
	out := make([]uint8, w*h*3)
	for y := 0; y < h; y++ {
		src := y
		if !topDown {
			src = h - 1 - y
		}
		row := b[off+src*stride:]
		for x := 0; x < w; x++ {
			p := row[x*bytesPP:]
			out[(y*w+x)*3], out[(y*w+x)*3+1], out[(y*w+x)*3+2] = p[2], p[1], p[0]
		}
	}
	return out, w, h, nil
}

func decodePNM(b []byte) ([]uint8, int, int, error) {
	kind := b[1]
	pos := 2
	next := func() (int, error) {
		for pos < len(b) {
			c := b[pos]
			if c == '#' {
				for pos < len(b) && b[pos] != '\n' {
					pos++
				}
				continue
			}
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				pos++
				continue
			}
			break
		}
		start := pos
		for pos < len(b) && b[pos] >= '0' && b[pos] <= '9' {
			pos++
		}
		return strconv.Atoi(string(b[start:pos]))
	}
	w, err := next()
	if err != nil {
		return nil, 0, 0, fmt.Errorf("PNM: bad width")
	}
	h, err := next()
	if err != nil {
		return nil, 0, 0, fmt.Errorf("PNM: bad height")
	}
	maxv := 1
	if kind != '1' && kind != '4' {
		if maxv, err = next(); err != nil || maxv <= 0 || maxv > 255 {
			return nil, 0, 0, fmt.Errorf("PNM: only 8-bit images are supported")
		}
	}
	if w <= 0 || h <= 0 || w > 1<<15 || h > 1<<15 {
		return nil, 0, 0, fmt.Errorf("PNM: bad size %dx%d", w, h)
	}
	pos++ // single whitespace before binary data
	chans := 1
	if kind == '3' || kind == '6' {
		chans = 3
	}
	n := w * h * chans
	vals := make([]int, n)
	switch kind {
	case '5', '6':
		if pos+n > len(b) {
			return nil, 0, 0, fmt.Errorf("PNM: pixel data truncated")
		}
		for i := range vals {
			vals[i] = int(b[pos+i])
		}
	case '2', '3':
		pos--
		for i := range vals {
			if vals[i], err = next(); err != nil {
				return nil, 0, 0, fmt.Errorf("PNM: bad pixel value")
			}
		}
	default:
		return nil, 0, 0, fmt.Errorf("PNM: bitmaps (P1/P4) are not supported")
	}
	out := make([]uint8, w*h*3)
	for i := 0; i < w*h; i++ {
		for c := 0; c < 3; c++ {
			v := vals[i*chans+min(c, chans-1)]
			out[i*3+c] = uint8(v * 255 / maxv)
		}
	}
	return out, w, h, nil
}

func decodeTIFF(b []byte) ([]uint8, int, int, error) {
	var bo binary.ByteOrder = binary.LittleEndian
	if b[0] == 'M' {
		bo = binary.BigEndian
	}
	if len(b) < 8 {
		return nil, 0, 0, fmt.Errorf("TIFF: truncated")
	}
	ifd := int(bo.Uint32(b[4:]))
	if ifd+2 > len(b) {
		return nil, 0, 0, fmt.Errorf("TIFF: bad IFD offset")
	}
	n := int(bo.Uint16(b[ifd:]))
	tags := map[uint16][]int{}
	for i := 0; i < n; i++ {
		e := ifd + 2 + 12*i
		if e+12 > len(b) {
			return nil, 0, 0, fmt.Errorf("TIFF: truncated IFD")
		}
		tag, typ, cnt := bo.Uint16(b[e:]), bo.Uint16(b[e+2:]), int(bo.Uint32(b[e+4:]))
		size := map[uint16]int{1: 1, 3: 2, 4: 4}[typ]
		if size == 0 || cnt > 1<<20 {
			continue
		}
		data := b[e+8 : e+12]
		if size*cnt > 4 {
			o := int(bo.Uint32(b[e+8:]))
			if o < 0 || o+size*cnt > len(b) {
				return nil, 0, 0, fmt.Errorf("TIFF: tag %d out of range", tag)
			}
			data = b[o : o+size*cnt]
		}
		vals := make([]int, cnt)
		for k := range vals {
			switch size {
			case 1:
				vals[k] = int(data[k])
			case 2:
				vals[k] = int(bo.Uint16(data[2*k:]))
			case 4:
				vals[k] = int(bo.Uint32(data[4*k:]))
			}
		}
		tags[tag] = vals
	}
	one := func(tag uint16, def int) int {
		if v, ok := tags[tag]; ok && len(v) > 0 {
			return v[0]
		}
		return def
	}
	w, h := one(256, 0), one(257, 0)
	if comp := one(259, 1); comp != 1 {
		return nil, 0, 0, fmt.Errorf("TIFF: only uncompressed images are supported (compression %d)", comp)
	}
	spp := one(277, 1)
	if bits := one(258, 8); bits != 8 || (spp != 3 && spp != 4 && spp != 1) || one(284, 1) != 1 {
		return nil, 0, 0, fmt.Errorf("TIFF: only chunky 8-bit gray/RGB(A) images are supported")
	}
	if w <= 0 || h <= 0 || w > 1<<15 || h > 1<<15 {
		return nil, 0, 0, fmt.Errorf("TIFF: bad size %dx%d", w, h)
	}
	offs, counts := tags[273], tags[279]
	if len(offs) == 0 || len(counts) != len(offs) {
		return nil, 0, 0, fmt.Errorf("TIFF: missing strips")
	}
	var raw []byte
	for i, o := range offs {
		if o < 0 || o+counts[i] > len(b) {
			return nil, 0, 0, fmt.Errorf("TIFF: strip out of range")
		}
		raw = append(raw, b[o:o+counts[i]]...)
	}
	if len(raw) < w*h*spp {
		return nil, 0, 0, fmt.Errorf("TIFF: pixel data truncated")
	}
	out := make([]uint8, w*h*3)
	for i := 0; i < w*h; i++ {
		for c := 0; c < 3; c++ {
			out[i*3+c] = raw[i*spp+min(c, spp-1)]
		}
	}
	return out, w, h, nil
}

// libjpegRGB converts decoded JPEG planes to RGB the way libjpeg does by
// default: "fancy" (triangle-filter) chroma upsampling and its fixed-point
// YCbCr->RGB tables, so pixels match decoders built on libjpeg (PIL).
func libjpegRGB(m *image.YCbCr) ([]uint8, bool) {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	cw, ch := w, h
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio444:
	case image.YCbCrSubsampleRatio422:
		cw = (w + 1) / 2
	case image.YCbCrSubsampleRatio420:
		cw, ch = (w+1)/2, (h+1)/2
	default:
		return nil, false
	}
	up := func(plane []uint8) []int {
		src := func(x, y int) int { return int(plane[y*m.CStride+x]) }
		out := make([]int, w*h)
		switch m.SubsampleRatio {
		case image.YCbCrSubsampleRatio444:
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					out[y*w+x] = src(x, y)
				}
			}
			return out
		}
		// Vertical pass (h2v2 only) into column sums scaled by 4 (3:1).
		rows := h
		if m.SubsampleRatio == image.YCbCrSubsampleRatio422 {
			rows = ch
		}
		colsum := make([]int, rows*cw)
		for y := 0; y < rows; y++ {
			for x := 0; x < cw; x++ {
				if m.SubsampleRatio == image.YCbCrSubsampleRatio420 {
					cy := y / 2
					ny := cy - 1
					if y%2 == 1 {
						ny = cy + 1
					}
					ny = min(max(ny, 0), ch-1)
					colsum[y*cw+x] = src(x, cy)*3 + src(x, ny)
				} else {
					colsum[y*cw+x] = src(x, y)
				}
			}
		}
		v2 := m.SubsampleRatio == image.YCbCrSubsampleRatio420
		for y := 0; y < h; y++ {
			cs := colsum[y*cw : (y+1)*cw]
			for x := 0; x < w; x++ {
				i := x / 2
				this := cs[i]
				var v int
				if v2 {
					switch {
					case cw == 1:
						v = (this*4 + 8 - x%2) >> 4
					case x%2 == 0 && i == 0:
						v = (this*4 + 8) >> 4
					case x%2 == 0:
						v = (this*3 + cs[i-1] + 8) >> 4
					case i == cw-1:
						v = (this*4 + 7) >> 4
					default:
						v = (this*3 + cs[i+1] + 7) >> 4
					}
				} else {
					switch {
					case cw == 1:
						v = this
					case x%2 == 0 && i == 0:
						v = this
					case x%2 == 0:
						v = (this*3 + cs[i-1] + 1) >> 2
					case i == cw-1:
						v = this
					default:
						v = (this*3 + cs[i+1] + 2) >> 2
					}
				}
				out[y*w+x] = v
			}
		}
		return out
	}
	cb, cr := up(m.Cb), up(m.Cr)
	const one = 1 << 16
	fix := func(f float64) int { return int(f*one + 0.5) }
	clamp := func(v int) uint8 { return uint8(min(max(v, 0), 255)) }
	out := make([]uint8, w*h*3)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			yy := int(m.Y[y*m.YStride+x])
			b, r := cb[y*w+x]-128, cr[y*w+x]-128
			rr := yy + (fix(1.40200)*r+one/2)>>16
			gg := yy + ((-fix(0.34414))*b+one/2+(-fix(0.71414))*r)>>16
			bb := yy + (fix(1.77200)*b+one/2)>>16
			p := (y*w + x) * 3
			out[p], out[p+1], out[p+2] = clamp(rr), clamp(gg), clamp(bb)
		}
	}
	return out, true
}
