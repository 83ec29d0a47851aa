package tensor

import (
	"testing"
)

func TestBroadcastShapes(t *testing.T) {
	cases := []struct {
		a, b, want []int
		err        bool
	}{
		{[]int{2, 3}, []int{3}, []int{2, 3}, false},
		{[]int{2, 1, 4}, []int{3, 1}, []int{2, 3, 4}, false},
		{[]int{}, []int{5}, []int{5}, false},
		{[]int{2, 3}, []int{2}, nil, true},
		{[]int{0, 3}, []int{1, 3}, []int{0, 3}, false},
	}
	for _, c := range cases {
		got, err := BroadcastShapes(c.a, c.b)
		if (err != nil) != c.err {
			t.Errorf("%v %v: err %v", c.a, c.b, err)
			continue
		}
		if !c.err && !SameShape(got, c.want) {
			t.Errorf("%v %v: got %v want %v", c.a, c.b, got, c.want)
		}
	}
}

// Every fast path of BinaryInto must agree with the generic index path.
func TestBinaryPathsAgree(t *testing.T) {
	shapes := [][2][]int{
		{{2, 3, 4}, {2, 3, 4}}, {{2, 3, 4}, {}}, {{}, {2, 3, 4}}, {{2, 3, 4}, {4}},
		{{2, 3, 4}, {3, 1}}, {{2, 1, 4}, {1, 3, 1}}, {{5, 1}, {1, 6}}, {{3, 4}, {1, 4}},
	}
	for _, s := range shapes {
		a := make([]float64, NumElems(s[0]))
		b := make([]float64, NumElems(s[1]))
		for i := range a {
			a[i] = float64(i + 1)
		}
		for i := range b {
			b[i] = float64(100 * (i + 1))
		}
		got, os, err := Binary(a, s[0], b, s[1], func(x, y float64) float64 { return x*1000 + y })
		if err != nil {
			t.Fatal(err)
		}
		// Oracle: explicit coordinates.
		st := Strides(os)
		for k := range got {
			ia, ib := 0, 0
			rem := k
			coord := make([]int, len(os))
			for d := range os {
				coord[d] = rem / st[d]
				rem %= st[d]
			}
			as, bs := Strides(s[0]), Strides(s[1])
			for d := range s[0] {
				c := coord[len(os)-len(s[0])+d]
				if s[0][d] == 1 {
					c = 0
				}
				ia += c * as[d]
			}
			for d := range s[1] {
				c := coord[len(os)-len(s[1])+d]
				if s[1][d] == 1 {
					c = 0
				}
				ib += c * bs[d]
			}
			if want := a[ia]*1000 + b[ib]; got[k] != want {
				t.Fatalf("%v x %v at %d: got %v want %v", s[0], s[1], k, got[k], want)
			}
		}
	}
}

func TestFromSliceChecksLength(t *testing.T) {
	if _, err := FromSlice([]float32{1, 2, 3}, 2, 2); err == nil {
		t.Fatal("expected length mismatch error")
	}
	if _, err := FromSlice([]complex64{}, 0); err != nil {
		t.Fatal(err)
	}
	x := MustFromSlice([]int64{1, 2, 3, 4, 5, 6}, 2, 3)
	y, err := x.Reshaped(3, 2)
	if err != nil || y.I64()[5] != 6 {
		t.Fatal(err)
	}
	if _, err := x.Reshaped(4, 2); err == nil {
		t.Fatal("expected reshape error")
	}
}

func TestHalfToFloat32(t *testing.T) {
	cases := map[uint16]float32{0x3c00: 1, 0xc000: -2, 0x7bff: 65504, 0x0001: 5.960464477539063e-08, 0x0000: 0, 0x3555: 0.333251953125}
	for h, want := range cases {
		if got := HalfToFloat32(h); got != want {
			t.Errorf("%#04x: got %g want %g", h, got, want)
		}
	}
}

func TestRows(t *testing.T) {
	x := MustFromSlice([]int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 3, 2, 2)
	r, err := x.Rows(1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !SameShape(r.Shape, []int{2, 2, 2}) || r.DType != Int64 || r.I64()[0] != 4 || len(r.I64()) != 8 {
		t.Fatalf("Rows(1,3) = %v", r)
	}
	r.I64()[0] = -4 // a view: writes reach x
	if x.I64()[4] != -4 {
		t.Error("Rows copied instead of sharing storage")
	}
	if _, err := x.Rows(1, 1); err != nil {
		t.Errorf("empty range: %v", err)
	}
	// Appending to a row view must not overwrite the next row.
	r0, _ := x.Rows(0, 1)
	_ = append(r0.I64(), 99)
	if x.I64()[4] != -4 {
		t.Error("append to a row view wrote into the next row")
	}
	for _, c := range [][2]int{{-1, 1}, {2, 1}, {0, 4}} {
		if _, err := x.Rows(c[0], c[1]); err == nil {
			t.Errorf("Rows(%d,%d) of %v accepted", c[0], c[1], x.Shape)
		}
	}
	if _, err := Scalar(float32(1)).Rows(0, 1); err == nil {
		t.Error("Rows of a scalar accepted")
	}
	f, _ := MustFromSlice([]float32{1, 2, 3}, 3).Rows(2, 3)
	if f.F32()[0] != 3 || !SameShape(f.Shape, []int{1}) {
		t.Errorf("float rows: %v", f)
	}
}
