package checkpoint

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/frugal-ml/frugal/tensor"
)

func TestRoundTrip(t *testing.T) {
	ts := map[string]*tensor.Tensor{
		"w":     tensor.MustFromSlice([]float32{1, -2.5, 3e-8, 4}, 2, 2),
		"i":     tensor.MustFromSlice([]int64{-1, 1 << 40}, 2),
		"b":     tensor.MustFromSlice([]bool{true, false, true}, 3),
		"h":     &tensor.Tensor{DType: tensor.BFloat16, Shape: []int{2}, Data: []uint16{0x3f80, 0xc000}},
		"s":     tensor.Scalar(float64(2.5)),
		"empty": tensor.New(tensor.Float32, 0, 3),
	}
	meta := map[string]string{"step": "42", "format": "frugal"}
	path := filepath.Join(t.TempDir(), "ck.safetensors")
	if err := Write(path, ts, meta); err != nil {
		t.Fatal(err)
	}
	got, gm, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gm, meta) {
		t.Fatalf("meta %v", gm)
	}
	for k, v := range ts {
		g := got[k]
		if g == nil || g.DType != v.DType || !tensor.SameShape(g.Shape, v.Shape) || !reflect.DeepEqual(g.Data, v.Data) {
			t.Fatalf("%s: got %v want %v", k, g, v)
		}
	}
	// header length is 8-aligned; no temp files left behind
	b, _ := os.ReadFile(path)
	if binary.LittleEndian.Uint64(b)%8 != 0 {
		t.Fatal("header not padded")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("directory holds %d files", len(entries))
	}
}

func TestDecodeRejectsCorrupt(t *testing.T) {
	good, err := Encode(map[string]*tensor.Tensor{"w": tensor.MustFromSlice([]float32{1, 2, 3}, 3)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	hl := binary.LittleEndian.Uint64(good)
	bad := [][]byte{
		nil,
		good[:5],
		good[:len(good)-1], // truncated data
		append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, good[8:]...), // huge header
	}
	mut := func(old, new string) []byte {
		h := string(good[8 : 8+hl])
		r := []byte(h)
		copy(r, []byte(replace(h, old, new)))
		return append(append(append([]byte(nil), good[:8]...), r...), good[8+hl:]...)
	}
	bad = append(bad, mut(`"F32"`, `"F99"`), mut(`[3]`, `[4]`), mut(`[0,12]`, `[4,16]`), mut(`{"w"`, `["w"`))
	for i, b := range bad {
		if _, _, err := Decode(b); err == nil {
			t.Errorf("case %d: corrupt file accepted", i)
		}
	}
}

func replace(s, old, new string) string {
	for i := 0; i+len(old) <= len(s); i++ {
		if s[i:i+len(old)] == old {
			out := s[:i] + new + s[i+len(old):]
			if len(out) > len(s) {
				return out[:len(s)]
			}
			for len(out) < len(s) {
				out += " "
			}
			return out
		}
	}
	return s
}

func FuzzDecode(f *testing.F) {
	good, _ := Encode(map[string]*tensor.Tensor{"w": tensor.MustFromSlice([]float32{1, 2}, 2), "i": tensor.MustFromSlice([]int8{1}, 1)}, map[string]string{"a": "b"})
	f.Add(good)
	f.Fuzz(func(t *testing.T, b []byte) {
		Decode(b) // must not panic
	})
}
