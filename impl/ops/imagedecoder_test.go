package ops

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

func bytesT(b []byte) *tensor.Tensor {
	return &tensor.Tensor{DType: tensor.Uint8, Shape: []int{len(b)}, Data: b}
}

// A 2x1 image: red, then (10, 20, 30).
var testPixels = []uint8{255, 0, 0, 10, 20, 30}

func TestImageDecoderFormats(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	img.Set(0, 0, color.NRGBA{255, 0, 0, 255})
	img.Set(1, 0, color.NRGBA{10, 20, 30, 255})
	var pngBuf bytes.Buffer
	if err := png.Encode(&pngBuf, img); err != nil {
		t.Fatal(err)
	}
	ppm := append([]byte("P6\n2 1\n255\n"), testPixels...)
	bmp := make([]byte, 54, 62)
	copy(bmp, "BM")
	binary.LittleEndian.PutUint32(bmp[10:], 54)
	binary.LittleEndian.PutUint32(bmp[18:], 2)
	binary.LittleEndian.PutUint32(bmp[22:], 1)
	binary.LittleEndian.PutUint16(bmp[28:], 24)
	bmp = append(bmp, 0, 0, 255, 30, 20, 10, 0, 0) // BGR rows padded to 4 bytes
	for name, data := range map[string][]byte{"png": pngBuf.Bytes(), "ppm": ppm, "bmp": bmp} {
		rgb := run1(t, mk("ImageDecoder", 1, 1), 20, bytesT(data))
		expect(t, name, rgb, sh(1, 2, 3), toF(testPixels), 0)
	}
	bgr := run1(t, mk("ImageDecoder", 1, 1, graph.AttrS("pixel_format", "BGR")), 20, bytesT(ppm))
	expect(t, "BGR", bgr, sh(1, 2, 3), []float64{0, 0, 255, 30, 20, 10}, 0)
	gray := run1(t, mk("ImageDecoder", 1, 1, graph.AttrS("pixel_format", "Grayscale")), 20, bytesT(ppm))
	expect(t, "Grayscale", gray, sh(1, 2, 1), []float64{76, 18}, 0)
	expectErr(t, mk("ImageDecoder", 1, 1), 20, "WebP", bytesT([]byte("RIFF\x00\x00\x00\x00WEBPVP8 ")))
	expectErr(t, mk("ImageDecoder", 1, 1), 20, "decoding image", bytesT([]byte("garbage bytes")))
}

func toF(b []uint8) []float64 {
	out := make([]float64, len(b))
	for i, v := range b {
		out[i] = float64(v)
	}
	return out
}

var _ = fmt.Sprint
