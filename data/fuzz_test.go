package data

import (
	"bytes"
	"testing"
)

// FuzzReadIDX: no input may panic the reader or make it allocate beyond
// what it read, and an accepted file must be self-consistent.
// Run with: go test ./data -run '^$' -fuzz FuzzReadIDX -fuzztime 30s
func FuzzReadIDX(f *testing.F) {
	pix, labels := synth(3, 2, 2, 10)
	img := idxBytes(f, IDXUint8, []int{3, 2, 2}, pix)
	f.Add(img)
	f.Add(gzBytes(f, img))
	f.Add(idxBytes(f, IDXUint8, []int{3}, labels))
	f.Add(idxBytes(f, IDXFloat64, []int{1, 1}, make([]byte, 8)))
	f.Add(img[:10])                                                           // truncated header
	f.Add(img[:20])                                                           // truncated data
	f.Add(gzBytes(f, img)[:25])                                               // truncated gzip
	f.Add([]byte{0x1f, 0x8b})                                                 // gzip magic only
	f.Add([]byte{1, 2, 3, 4})                                                 // bad magic
	f.Add([]byte{0, 0, 7, 1, 0, 0, 0, 1, 0})                                  // bad dtype
	f.Add([]byte{0, 0, 8, 0})                                                 // rank 0
	f.Add([]byte{0, 0, 8, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) // huge
	f.Add([]byte{0, 0, 8, 1, 0x7f, 0xff, 0xff, 0xff})                         // 2 GiB promised, 0 present
	f.Add(append(append([]byte{}, img...), 9, 9))                             // trailing
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := ReadIDX(bytes.NewReader(b), "fuzz")
		if err != nil {
			return
		}
		n := x.Type.Size()
		for _, d := range x.Dims {
			n *= d
		}
		if n != len(x.Data) || n == 0 && x.Type.Size() == 0 {
			t.Fatalf("accepted inconsistent file: type %v dims %v, %d data bytes", x.Type, x.Dims, len(x.Data))
		}
	})
}

// FuzzDecodeCache: a corrupt cache file must be rejected, never trusted or
// panicked on.
func FuzzDecodeCache(f *testing.F) {
	pix, labels := synth(3, 2, 2, 10)
	var b bytes.Buffer
	if err := encodeCache(&b, &cacheEntry{key: "k", n: 3, c: 1, h: 2, w: 2, classes: 10, pix: pix, labels: labels}); err != nil {
		f.Fatal(err)
	}
	good := b.Bytes()
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(good[:20])
	flipped := append([]byte{}, good...)
	flipped[40] ^= 1
	f.Add(flipped)
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeCache(b)
		if err != nil {
			return
		}
		if len(e.pix) != e.n*e.c*e.h*e.w || len(e.labels) != e.n {
			t.Fatalf("accepted inconsistent cache: %dx%dx%dx%d, %d pixels, %d labels", e.n, e.c, e.h, e.w, len(e.pix), len(e.labels))
		}
	})
}
