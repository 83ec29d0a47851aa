package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// idxBytes builds an uncompressed IDX file in memory.
func idxBytes(t testing.TB, typ IDXType, dims []int, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteIDX(&b, typ, dims, data); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gzBytes(t testing.TB, raw []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writeFile(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// synth makes n deterministic h x w images and labels in 0..classes-1.
func synth(n, h, w, classes int) (pix, labels []uint8) {
	pix = make([]uint8, n*h*w)
	for i := range pix {
		pix[i] = uint8(i*7 + i/13)
	}
	labels = make([]uint8, n)
	for i := range labels {
		labels[i] = uint8((i * 3) % classes)
	}
	return
}

// writeSet writes the four IDX files of a synthetic dataset into dir, gzipped
// or not, and returns the train pixels and labels.
func writeSet(t testing.TB, dir string, gz bool, nTrain, nTest, h, w int) (pix, labels []uint8) {
	t.Helper()
	for _, s := range []struct {
		prefix string
		n      int
	}{{"train", nTrain}, {"t10k", nTest}} {
		p, l := synth(s.n, h, w, 10)
		if s.prefix == "train" {
			pix, labels = p, l
		}
		img := idxBytes(t, IDXUint8, []int{s.n, h, w}, p)
		lbl := idxBytes(t, IDXUint8, []int{s.n}, l)
		ext := ""
		if gz {
			img, lbl, ext = gzBytes(t, img), gzBytes(t, lbl), ".gz"
		}
		writeFile(t, dir, s.prefix+"-images-idx3-ubyte"+ext, img)
		writeFile(t, dir, s.prefix+"-labels-idx1-ubyte"+ext, lbl)
	}
	return
}

func TestReadIDXGoodRawAndGzip(t *testing.T) {
	pix, _ := synth(5, 3, 4, 10)
	raw := idxBytes(t, IDXUint8, []int{5, 3, 4}, pix)
	dir := t.TempDir()
	for name, b := range map[string][]byte{"a.idx": raw, "a.idx.gz": gzBytes(t, raw), "gz-without-extension": gzBytes(t, raw)} {
		p := writeFile(t, dir, name, b)
		x, err := ReadIDXFile(p)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if x.Type != IDXUint8 || len(x.Dims) != 3 || x.Dims[0] != 5 || x.Dims[1] != 3 || x.Dims[2] != 4 {
			t.Fatalf("%s: type %v dims %v", name, x.Type, x.Dims)
		}
		if !bytes.Equal(x.Data, pix) {
			t.Fatalf("%s: data differs", name)
		}
		// The stream reader (no file size) must agree with the file reader.
		y, err := ReadIDX(bytes.NewReader(b), name)
		if err != nil || !bytes.Equal(y.Data, pix) {
			t.Fatalf("%s: ReadIDX: %v", name, err)
		}
	}
}

func TestReadIDXMultiByteTypes(t *testing.T) {
	data := make([]byte, 3*4)
	for i := range 3 {
		binary.BigEndian.PutUint32(data[4*i:], uint32(1000*i+1))
	}
	x, err := ReadIDX(bytes.NewReader(idxBytes(t, IDXInt32, []int{3}, data)), "i32")
	if err != nil {
		t.Fatal(err)
	}
	if x.Type != IDXInt32 || binary.BigEndian.Uint32(x.Data[8:]) != 2001 {
		t.Fatalf("got %v %v", x.Type, x.Data)
	}
}

// wantErr checks both the sentinel and that the message names the file and
// contains each fragment.
func wantErr(t *testing.T, err error, kind error, frags ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", kind)
	}
	if !errors.Is(err, kind) {
		t.Fatalf("error %q is not %v", err, kind)
	}
	for _, f := range frags {
		if !strings.Contains(err.Error(), f) {
			t.Fatalf("error %q lacks %q", err, f)
		}
	}
}

func TestReadIDXErrors(t *testing.T) {
	dir := t.TempDir()
	pix, _ := synth(4, 3, 3, 10)
	good := idxBytes(t, IDXUint8, []int{4, 3, 3}, pix)

	badMagic := append([]byte{}, good...)
	badMagic[0] = 0x50 // e.g. a PNG or HTML error page saved under the name
	badType := append([]byte{}, good...)
	badType[2] = 0x07
	rank0 := []byte{0, 0, 8, 0}
	huge := []byte{0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3}
	hugeI32 := []byte{0, 0, 0x0C, 1, 0x40, 0, 0, 0} // 2^30 int32 = 4 GiB
	trailing := append(append([]byte{}, good...), 1, 2, 3)

	cases := []struct {
		name  string
		b     []byte
		kind  error
		frags []string
	}{
		{"badmagic", badMagic, ErrBadMagic, []string{"bad magic number 0x50000803"}},
		{"badmagic.gz", gzBytes(t, badMagic), ErrBadMagic, []string{"bad magic"}},
		{"dtype", badType, ErrDType, []string{"wrong dtype code 0x07"}},
		{"rank0", rank0, ErrRank, []string{"wrong rank 0"}},
		{"empty", nil, ErrTruncated, []string{"file has 0 bytes"}},
		{"short-magic", []byte{0, 0}, ErrTruncated, []string{"file has 2 bytes"}},
		{"short-header", good[:9], ErrTruncated, []string{"needs 16 bytes, file has 9"}},
		{"truncated", good[:20], ErrTruncated, []string{"truncated: header promises 4x3x3 bytes, file has 4"}},
		{"truncated.gz", gzBytes(t, good[:20]), ErrTruncated, []string{"header promises 4x3x3 bytes, file has 4 after gunzip"}},
		{"cut.gz", gzBytes(t, good)[:30], ErrTruncated, []string{"truncated"}},
		{"huge", huge, ErrTooLarge, []string{"4294967295x4294967295x4294967295"}},
		{"hugeI32", hugeI32, ErrTooLarge, []string{"1073741824 int32"}},
		{"trailing", trailing, ErrTrailing, []string{"3 extra bytes"}},
		{"trailing.gz", gzBytes(t, trailing), ErrTrailing, []string{"3 more bytes"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeFile(t, dir, c.name, c.b)
			_, err := ReadIDXFile(p)
			wantErr(t, err, c.kind, append(c.frags, "data: "+p+": ")...)
			// Same verdict from the stream reader, which cannot stat.
			_, err = ReadIDX(bytes.NewReader(c.b), c.name)
			wantErr(t, err, c.kind)
		})
	}
}

// A damaged gzip body must be reported as corruption (CRC or deflate
// error), not accepted: gzip only checks its CRC at EOF, which the reader
// must therefore reach.
func TestReadIDXCorruptGzip(t *testing.T) {
	pix, _ := synth(50, 8, 8, 10)
	z := gzBytes(t, idxBytes(t, IDXUint8, []int{50, 8, 8}, pix))
	crcFlip := append([]byte{}, z...)
	crcFlip[len(crcFlip)-6] ^= 0xff // inside the CRC-32 trailer
	_, err := ReadIDX(bytes.NewReader(crcFlip), "crc")
	wantErr(t, err, ErrCorrupt, "checksum")

	bodyFlip := append([]byte{}, z...)
	bodyFlip[len(bodyFlip)/2] ^= 0x55
	if _, err := ReadIDX(bytes.NewReader(bodyFlip), "body"); err == nil {
		t.Fatal("a flipped byte in the deflate body went unnoticed")
	}
}

func TestReadImagesLabelsWrongTypeAndRank(t *testing.T) {
	dir := t.TempDir()
	lbl := writeFile(t, dir, "l", idxBytes(t, IDXUint8, []int{4}, []byte{1, 2, 3, 4}))
	_, _, _, _, _, err := ReadImages(lbl)
	wantErr(t, err, ErrRank, "rank 1", lbl)
	img := writeFile(t, dir, "i", idxBytes(t, IDXUint8, []int{1, 2, 2}, []byte{1, 2, 3, 4}))
	_, err = ReadLabels(img)
	wantErr(t, err, ErrRank, "rank 3", img)
	f := writeFile(t, dir, "f", idxBytes(t, IDXFloat32, []int{1, 1, 1}, []byte{0, 0, 0, 0}))
	_, _, _, _, _, err = ReadImages(f)
	wantErr(t, err, ErrDType, "float32", "want uint8")
	_, err = ReadLabels(f)
	wantErr(t, err, ErrDType)
}

// Rank-4 images are N x H x W x C on disk and must come out CHW.
func TestReadImagesRank4Transposes(t *testing.T) {
	dir := t.TempDir()
	// One 1x2 image with 3 channels: pixel0 = (1,2,3), pixel1 = (4,5,6).
	p := writeFile(t, dir, "rgb", idxBytes(t, IDXUint8, []int{1, 1, 2, 3}, []byte{1, 2, 3, 4, 5, 6}))
	n, c, h, w, pix, err := ReadImages(p)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || c != 3 || h != 1 || w != 2 || !bytes.Equal(pix, []byte{1, 4, 2, 5, 3, 6}) {
		t.Fatalf("got %d %d %d %d %v", n, c, h, w, pix)
	}
}

func TestReadPairCountMismatchNamesBothFiles(t *testing.T) {
	dir := t.TempDir()
	pix, labels := synth(6, 2, 2, 10)
	img := writeFile(t, dir, "imgs.gz", gzBytes(t, idxBytes(t, IDXUint8, []int{6, 2, 2}, pix)))
	lbl := writeFile(t, dir, "lbls", idxBytes(t, IDXUint8, []int{5}, labels[:5]))
	_, err := ReadPair("x", img, lbl, 10)
	wantErr(t, err, ErrMismatch, img, lbl, "6", "5")
	good := writeFile(t, dir, "lbls6", idxBytes(t, IDXUint8, []int{6}, labels))
	d, err := ReadPair("x", img, good, 10)
	if err != nil {
		t.Fatal(err)
	}
	if d.N != 6 || d.C != 1 || d.H != 2 || d.W != 2 || !bytes.Equal(d.Labels, labels) {
		t.Fatalf("got %+v", d)
	}
	for i, v := range d.Images {
		if v != float32(pix[i])/255 {
			t.Fatalf("image value %d = %v, want %v", i, v, float32(pix[i])/255)
		}
	}
	// A label beyond the class count is an error naming the labels file.
	bad := writeFile(t, dir, "lblsbad", idxBytes(t, IDXUint8, []int{6}, []byte{0, 1, 2, 3, 4, 10}))
	_, err = ReadPair("x", img, bad, 10)
	wantErr(t, err, ErrCorrupt, bad, "label 10 at index 5")
}

func TestWriteIDXRejectsBadInput(t *testing.T) {
	var b bytes.Buffer
	if WriteIDX(&b, 0x07, []int{1}, []byte{0}) == nil {
		t.Error("unknown type accepted")
	}
	if WriteIDX(&b, IDXUint8, nil, nil) == nil {
		t.Error("rank 0 accepted")
	}
	if WriteIDX(&b, IDXInt16, []int{2}, []byte{0, 0}) == nil {
		t.Error("short data accepted")
	}
}
