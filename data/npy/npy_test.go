package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/frugal-ml/frugal/tensor"
)

func encodeT(t *testing.T, x *tensor.Tensor) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, x); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRoundTripEveryDType(t *testing.T) {
	cases := []*tensor.Tensor{
		tensor.MustFromSlice([]float32{1.5, -2, 3e-7, 0, 5, 6}, 2, 3),
		tensor.MustFromSlice([]float64{1.25, -1e300}, 2),
		tensor.MustFromSlice([]int8{-128, 127, 0}, 3, 1),
		tensor.MustFromSlice([]uint8{0, 255}, 1, 2),
		tensor.MustFromSlice([]int16{-32768, 7}, 2),
		tensor.MustFromSlice([]uint16{65535, 1}, 2),
		tensor.MustFromSlice([]int32{-1 << 31, 42}, 2),
		tensor.MustFromSlice([]uint32{1<<32 - 1, 0}, 2),
		tensor.MustFromSlice([]int64{-1 << 63, 999, 1 << 40, 3}, 2, 2),
		tensor.MustFromSlice([]uint64{1<<64 - 1}, 1),
		tensor.MustFromSlice([]bool{true, false, true}, 3),
		{DType: tensor.Float16, Shape: []int{2}, Data: []uint16{0x3c00, 0xc000}},
		{DType: tensor.Float32, Shape: []int{}, Data: []float32{7}}, // scalar
		{DType: tensor.Int64, Shape: []int{0, 32}, Data: []int64{}}, // no rows
		tensor.MustFromSlice(make([]float32, 2*3*4*5), 2, 3, 4, 5),  // rank 4
	}
	for _, x := range cases {
		b := encodeT(t, x)
		if off := bytes.IndexByte(b, '\n') + 1; off%64 != 0 {
			t.Errorf("%s%v: data starts at %d, want a multiple of 64", x.DType, x.Shape, off)
		}
		got, err := Read(bytes.NewReader(b), "rt")
		if err != nil {
			t.Fatalf("%s%v: %v", x.DType, x.Shape, err)
		}
		if got.DType != x.DType || !tensor.SameShape(got.Shape, x.Shape) || !reflect.DeepEqual(got.Data, x.Data) {
			t.Errorf("round trip: wrote %v, read %v", x, got)
		}
	}
}

// numpyFile builds a file the way numpy lays it out, with any header.
func numpyFile(major byte, header string, data []byte) []byte {
	b := append([]byte("\x93NUMPY"), major, 0)
	if major == 1 {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(header)))
	} else {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(header)))
	}
	return append(append(b, header...), data...)
}

func TestReadNumpyVariants(t *testing.T) {
	be := binary.BigEndian.AppendUint64(nil, uint64(0xfffffffffffffffe)) // -2
	be = binary.BigEndian.AppendUint64(be, 7)
	f := numpyFile(2, "{'descr': '>i8', 'fortran_order': False, 'shape': (1, 2), }          \n", be)
	x, err := Read(bytes.NewReader(f), "be")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(x.I64(), []int64{-2, 7}) || !tensor.SameShape(x.Shape, []int{1, 2}) {
		t.Errorf("big-endian int64: got %v", x)
	}
	// Version 3 (utf8 header), Python 2 long dims, double quotes.
	f = numpyFile(3, `{"descr": "<f4", "fortran_order": False, "shape": (2L,), }`+"\n", binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 0x3f800000), 0x40000000))
	x, err = Read(bytes.NewReader(f), "v3")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(x.F32(), []float32{1, 2}) {
		t.Errorf("v3: got %v", x)
	}
}

func TestReadErrors(t *testing.T) {
	good := encodeT(t, tensor.MustFromSlice([]int64{1, 2, 3, 4, 5, 6}, 2, 3))
	hdr := func(s string) []byte { return numpyFile(1, s+"\n", make([]byte, 8)) }
	cases := []struct {
		name string
		b    []byte
		kind error
		msg  string
	}{
		{"empty", nil, ErrTruncated, "empty"},
		{"magic", []byte("PK\x03\x04 zip file, not npy"), ErrBadMagic, "NUMPY"},
		{"short magic", []byte("\x93NU"), ErrTruncated, "preamble"},
		{"short wrong", []byte("\x93NX"), ErrBadMagic, "NUMPY"},
		{"version", numpyFile(4, "{}", nil), ErrHeader, "version 4.0"},
		{"header length", good[:9], ErrTruncated, "header length"},
		{"header", good[:40], ErrTruncated, "truncated header"},
		{"huge header", append([]byte("\x93NUMPY\x02\x00"), 0xff, 0xff, 0xff, 0x7f), ErrHeader, "header length"},
		{"data", good[:len(good)-3], ErrTruncated, "truncated data: shape [2 3] of <i8 needs 48 bytes, only 45"},
		{"no data", good[:len(good)-48], ErrTruncated, "only 0"},
		{"trailing", append(append([]byte{}, good...), 0), ErrTrailing, "data after"},
		{"fortran", hdr("{'descr': '<i8', 'fortran_order': True, 'shape': (1,), }"), ErrOrder, "Fortran"},
		{"complex", hdr("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }"), ErrDType, "<c8"},
		{"unicode", hdr("{'descr': '<U2', 'fortran_order': False, 'shape': (1,), }"), ErrDType, "<U2"},
		{"object", hdr("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"), ErrDType, "|O"},
		{"order char", hdr("{'descr': '!i8', 'fortran_order': False, 'shape': (1,), }"), ErrDType, "byte order"},
		{"structured", hdr("{'descr': [('a', '<i8')], 'fortran_order': False, 'shape': (1,), }"), ErrHeader, "structured"},
		{"no shape", hdr("{'descr': '<i8', 'fortran_order': False, }"), ErrHeader, "shape"},
		{"no order", hdr("{'descr': '<i8', 'shape': (1,), }"), ErrHeader, "fortran_order"},
		{"not a dict", hdr("'descr': '<i8', 'fortran_order': False, 'shape': (1,)"), ErrHeader, "dict"},
		{"negative", hdr("{'descr': '<i8', 'fortran_order': False, 'shape': (-1,), }"), ErrHeader, "bad shape"},
		{"empty dim", hdr("{'descr': '<i8', 'fortran_order': False, 'shape': (1,,2), }"), ErrHeader, "bad shape"},
		{"word dim", hdr("{'descr': '<i8', 'fortran_order': False, 'shape': (n,), }"), ErrHeader, "bad shape"},
		{"too large", hdr("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }"), ErrTooLarge, "more than"},
		{"overflow", hdr("{'descr': '<f8', 'fortran_order': False, 'shape': (9223372036854775807, 9223372036854775807), }"), ErrTooLarge, "more than"},
	}
	for _, c := range cases {
		_, err := Read(bytes.NewReader(c.b), "f.npy")
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.msg) || !strings.HasPrefix(err.Error(), "npy: f.npy: ") {
			t.Errorf("%s: got %q, want %v mentioning %q and the file", c.name, err, c.kind, c.msg)
		}
	}
}

func TestWriteRejects(t *testing.T) {
	if err := Write(&bytes.Buffer{}, &tensor.Tensor{DType: tensor.BFloat16, Shape: []int{1}, Data: []uint16{0}}); !errors.Is(err, ErrDType) {
		t.Errorf("bfloat16: got %v, want ErrDType", err)
	}
	if err := Write(&bytes.Buffer{}, &tensor.Tensor{DType: tensor.Float32, Shape: []int{3}, Data: []float32{1}}); err == nil {
		t.Error("inconsistent tensor accepted")
	}
}

func TestFiles(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.npy")
	x := tensor.MustFromSlice([]int64{5, 6, 7}, 3)
	if err := WriteFile(p, x); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(p)
	if err != nil || !reflect.DeepEqual(got.Data, x.Data) {
		t.Fatalf("ReadFile: %v, %v", got, err)
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing.npy")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v", err)
	}
}

// TestNumpyInterop checks both directions against numpy itself when
// Debian's python3-numpy is installed (as bench/ort's scripts use it).
func TestNumpyInterop(t *testing.T) {
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import numpy").Run(); err != nil {
		t.Skip("/usr/bin/python3 with numpy not available (Debian python3-numpy)")
	}
	dir := t.TempDir()
	ours := filepath.Join(dir, "ours.npy")
	if err := WriteFile(ours, tensor.MustFromSlice([]int64{-3, 1 << 40, 7, 8, 9, 10}, 2, 3)); err != nil {
		t.Fatal(err)
	}
	theirs := filepath.Join(dir, "theirs.npy")
	script := `import numpy as np, sys
a = np.load(sys.argv[1])
assert a.dtype == np.int64 and a.shape == (2, 3) and a[0, 1] == 1 << 40, (a.dtype, a.shape, a)
np.save(sys.argv[2], (np.arange(24, dtype=np.float32) / 8).reshape(2, 3, 4))`
	if out, err := exec.Command(py, "-c", script, ours, theirs).CombinedOutput(); err != nil {
		t.Fatalf("numpy did not read our file: %v\n%s", err, out)
	}
	x, err := ReadFile(theirs)
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.SameShape(x.Shape, []int{2, 3, 4}) || x.F32()[23] != 23.0/8 {
		t.Errorf("numpy's file read as %v", x)
	}
}

// FuzzRead: no input may panic the reader, and an accepted array must be
// consistent and survive a round trip.
// Run with: go test ./data/npy -run '^$' -fuzz FuzzRead -fuzztime 30s
func FuzzRead(f *testing.F) {
	f.Add(encodeTB(tensor.MustFromSlice([]int64{1, 2, 3, 4}, 2, 2)))
	f.Add(encodeTB(tensor.MustFromSlice([]float32{1}, 1)))
	f.Add(encodeTB(tensor.MustFromSlice([]bool{true}, 1, 1, 1)))
	f.Add([]byte("\x93NUMPY\x01\x00"))
	f.Add(numpyFile(2, "{'descr': '>u2', 'fortran_order': False, 'shape': (), }\n", []byte{1, 2}))
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := Read(bytes.NewReader(b), "fuzz")
		if err != nil {
			return
		}
		if x.Len() != dataLen(x.Data) {
			t.Fatalf("accepted inconsistent array %v", x)
		}
		y, err := Read(bytes.NewReader(encodeTB(x)), "again")
		if err != nil || !reflect.DeepEqual(x.Data, y.Data) && x.DType != tensor.Float32 && x.DType != tensor.Float64 && x.DType != tensor.Float16 {
			t.Fatalf("round trip of %v: %v, %v", x, y, err)
		}
	})
}

func encodeTB(x *tensor.Tensor) []byte {
	var b bytes.Buffer
	if err := Write(&b, x); err != nil {
		panic(err)
	}
	return b.Bytes()
}
