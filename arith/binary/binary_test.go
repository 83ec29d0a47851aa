package binary

import (
	"math"
	"testing"
)

func TestBinary(t *testing.T) {
	b := Binarize([]float32{1, -3, 0, 2})
	if b.Scale != 1.5 {
		t.Fatalf("scale %v", b.Scale)
	}
	v := b.Values()
	if v[0] != 1.5 || v[1] != -1.5 || v[2] != 1.5 || v[3] != 1.5 {
		t.Fatalf("values %v", v)
	}
	// alpha = mean|x| minimises the squared error: nudging it increases it.
	x := []float32{0.3, -1.2, 0.7, -0.1, 2.2}
	b = Binarize(x)
	sse := func(a float32) float64 {
		s := 0.0
		for i, c := range b.Codes {
			q := a
			if c != 0 {
				q = -a
			}
			s += math.Pow(float64(x[i]-q), 2)
		}
		return s
	}
	if !(sse(b.Scale) < sse(b.Scale*1.01) && sse(b.Scale) < sse(b.Scale*0.99)) {
		t.Fatal("scale is not the L2 optimum")
	}
	s, codes, err := Unpack(Pack(b.Scale, b.Codes, 1), len(x), 1)
	if err != nil || s != b.Scale || len(codes) != len(x) || codes[1] != 1 || codes[0] != 0 {
		t.Fatal("pack round trip")
	}
	if len(Pack(1, make([]uint32, 64), 1)) != 4+8 {
		t.Fatal("1 bit per element")
	}
}

func TestTernary(t *testing.T) {
	x := []float32{1, -1, 0.1, -0.2, 2}
	// mean|x| = 0.86, delta = 0.602; kept 1, -1, 2 -> alpha = 4/3
	tr := Ternarize(x, 0)
	if math.Abs(float64(tr.Threshold)-0.602) > 1e-6 || math.Abs(float64(tr.Scale)-4.0/3) > 1e-6 {
		t.Fatalf("delta %v alpha %v", tr.Threshold, tr.Scale)
	}
	want := []uint32{1, 2, 0, 0, 1}
	for i := range want {
		if tr.Codes[i] != want[i] {
			t.Fatalf("codes %v", tr.Codes)
		}
	}
	if _, _, err := Unpack([]byte{1, 2}, 4, 2); err == nil {
		t.Fatal("short data accepted")
	}
}
