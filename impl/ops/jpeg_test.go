package ops

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"testing"
)

func TestIdctIslowDCAndRange(t *testing.T) {
	var coef, q, ws [64]int32
	for i := range q {
		q[i] = 1
	}
	coef[0] = 80 // DC 80 -> every sample 128 + 80/8
	out := make([]uint8, 64)
	idctIslow(&coef, &q, &ws, out, 8)
	for i, v := range out {
		if v != 138 {
			t.Fatalf("sample %d = %d, want 138", i, v)
		}
	}
	for v, want := range map[int32]uint8{-129: 0, -128: 0, -1: 127, 0: 128, 127: 255, 300: 255, -400: 0} {
		if got := idctRange(v); got != want {
			t.Errorf("idctRange(%d) = %d, want %d", v, got, want)
		}
	}
}

// The baseline decoder agrees with Go's decoder up to IDCT/upsampling
// rounding, for colour (4:2:0) and grayscale images.
func TestBaselineJPEGAgainstGo(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	rgba := image.NewRGBA(image.Rect(0, 0, 37, 21))
	gray := image.NewGray(image.Rect(0, 0, 37, 21))
	for y := 0; y < 21; y++ {
		for x := 0; x < 37; x++ {
			v := uint8(x*5 + y*3 + r.IntN(20))
			rgba.Set(x, y, color.RGBA{v, uint8(255 - int(v)), uint8(x * 7), 255})
			gray.SetGray(x, y, color.Gray{v})
		}
	}
	for name, img := range map[string]image.Image{"color": rgba, "gray": gray} {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
			t.Fatal(err)
		}
		mine, w, h, err := decodeBaselineJPEG(buf.Bytes())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ref, err := jpeg.Decode(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if w != 37 || h != 21 {
			t.Fatalf("%s: size %dx%d", name, w, h)
		}
		tol := 1
		if name == "color" {
			tol = 24 // nearest vs triangle-filter chroma upsampling
		}
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				c := color.NRGBAModel.Convert(ref.At(x, y)).(color.NRGBA)
				p := (y*w + x) * 3
				for k, v := range []uint8{c.R, c.G, c.B} {
					if d := int(mine[p+k]) - int(v); d > tol || d < -tol {
						t.Fatalf("%s: pixel (%d,%d) channel %d = %d, Go decodes %d", name, x, y, k, mine[p+k], v)
					}
				}
			}
		}
	}
	if _, _, _, err := decodeBaselineJPEG([]byte{0xff, 0xd8, 0xff, 0xc2, 0, 8, 8, 0, 1, 0, 1, 1}); err != errNotBaseline {
		t.Errorf("progressive frame: %v", err)
	}
	if _, _, _, err := decodeBaselineJPEG([]byte{0xff, 0xd8, 0xff, 0xdb, 0xff, 0xff}); err == nil {
		t.Error("truncated segment decoded")
	}
}

// Corrupted and truncated files return errors, never panic.
func TestBaselineJPEGCorruption(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 3000; i++ {
		b := append([]byte{}, good...)
		switch i % 3 {
		case 0:
			b = b[:r.IntN(len(b))]
		default:
			for k := 0; k < 1+r.IntN(4); k++ {
				b[r.IntN(len(b))] = byte(r.IntN(256))
			}
		}
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("mutation %d panicked: %v", i, p)
				}
			}()
			_, _, _, _ = decodeImage(b)
		}()
	}
}
