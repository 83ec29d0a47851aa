package data

import (
	"math"
	"slices"
	"testing"
)

func tinySet(t *testing.T, n, c, h, w int) *Dataset {
	t.Helper()
	pix := make([]uint8, n*c*h*w)
	for i := range pix {
		pix[i] = uint8(i * 37)
	}
	labels := make([]uint8, n)
	for i := range labels {
		labels[i] = uint8(i % 10)
	}
	d, err := FromUint8("tiny", n, c, h, w, pix, labels, 10)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestFromUint8Validates(t *testing.T) {
	if _, err := FromUint8("x", 2, 1, 2, 2, make([]uint8, 7), make([]uint8, 2), 10); err == nil {
		t.Error("short pixels accepted")
	}
	if _, err := FromUint8("x", 2, 1, 2, 2, make([]uint8, 8), make([]uint8, 3), 10); err == nil {
		t.Error("label count mismatch accepted")
	}
	if _, err := FromUint8("x", 1, 1, 1, 1, []uint8{0}, []uint8{10}, 10); err == nil {
		t.Error("label out of range accepted")
	}
	if _, err := FromUint8("x", 1, 0, 1, 1, nil, []uint8{0}, 10); err == nil {
		t.Error("zero channels accepted")
	}
}

func TestNormalizeValuesAndIdempotence(t *testing.T) {
	d := tinySet(t, 3, 2, 2, 2)
	if err := d.Normalize([]float32{0.5, 0.25}, []float32{0.5, 2}); err != nil {
		t.Fatal(err)
	}
	check := func() {
		t.Helper()
		hw := 4
		for i, p := range d.Raw {
			c := (i / hw) % 2
			mean, std := []float32{0.5, 0.25}[c], []float32{0.5, 2}[c]
			want := (float32(p)/255 - mean) / std
			if d.Images[i] != want {
				t.Fatalf("value %d (channel %d): %v, want %v", i, c, d.Images[i], want)
			}
		}
	}
	check()
	// Normalising again with the same numbers must not compound.
	if err := d.Normalize([]float32{0.5, 0.25}, []float32{0.5, 2}); err != nil {
		t.Fatal(err)
	}
	check()
	if d.ZeroValue(0) != -1 || d.ZeroValue(1) != -0.125 {
		t.Fatalf("ZeroValue = %v %v", d.ZeroValue(0), d.ZeroValue(1))
	}
	if d.Normalize([]float32{0}, []float32{0}) == nil {
		t.Error("std 0 accepted")
	}
	if d.Normalize([]float32{0, 0, 0}, []float32{1}) == nil {
		t.Error("3 means for 2 channels accepted")
	}
}

// Without Raw, Normalize must undo the previous normalisation itself.
func TestNormalizeWithoutRaw(t *testing.T) {
	d := tinySet(t, 2, 1, 3, 3)
	want := slices.Clone(d.Images)
	d.Raw = nil
	if err := d.Normalize([]float32{0.3}, []float32{0.7}); err != nil {
		t.Fatal(err)
	}
	if err := d.Normalize([]float32{0.1}, []float32{0.2}); err != nil {
		t.Fatal(err)
	}
	for i, v := range d.Images {
		x := v*0.2 + 0.1
		if math.Abs(float64(x-want[i])) > 1e-6 {
			t.Fatalf("value %d: %v, want %v", i, x, want[i])
		}
	}
	m, s := d.Stats()
	d2 := tinySet(t, 2, 1, 3, 3)
	m2, s2 := d2.Stats()
	if math.Abs(m[0]-m2[0]) > 1e-6 || math.Abs(s[0]-s2[0]) > 1e-6 {
		t.Fatalf("stats without raw %v %v, with raw %v %v", m, s, m2, s2)
	}
}

func TestStats(t *testing.T) {
	// Half the pixels 0, half 255: mean 0.5, std 0.5.
	d, err := FromUint8("s", 2, 1, 1, 2, []uint8{0, 255, 255, 0}, []uint8{0, 1}, 2)
	if err != nil {
		t.Fatal(err)
	}
	m, s := d.Stats()
	if m[0] != 0.5 || s[0] != 0.5 {
		t.Fatalf("got mean %v std %v", m, s)
	}
}

func TestSubsetAndSplit(t *testing.T) {
	d := tinySet(t, 10, 1, 2, 2)
	if err := d.Normalize([]float32{0.5}, []float32{0.25}); err != nil {
		t.Fatal(err)
	}
	s, err := d.Subset([]int{7, 2, 7})
	if err != nil {
		t.Fatal(err)
	}
	if s.N != 3 || !slices.Equal(s.Labels, []uint8{7, 2, 7}) || !slices.Equal(s.Image(1), d.Image(2)) || !slices.Equal(s.Raw[:4], d.Raw[28:32]) {
		t.Fatalf("bad subset %+v", s)
	}
	if s.Mean[0] != 0.5 || s.Std[0] != 0.25 {
		t.Fatal("subset lost normalisation")
	}
	s.Images[0] = 99
	if d.Images[28] == 99 {
		t.Fatal("subset aliases parent")
	}
	if _, err := d.Subset([]int{10}); err == nil {
		t.Fatal("out-of-range index accepted")
	}

	a, b, err := d.Split(3, 42)
	if err != nil {
		t.Fatal(err)
	}
	if a.N != 3 || b.N != 7 {
		t.Fatalf("sizes %d %d", a.N, b.N)
	}
	// A partition: every sample in exactly one part (labels are i%10 = i).
	all := append(slices.Clone(a.Labels), b.Labels...)
	slices.Sort(all)
	for i, l := range all {
		if int(l) != i {
			t.Fatalf("not a partition: %v", all)
		}
	}
	if !slices.IsSorted(a.Labels) || !slices.IsSorted(b.Labels) {
		t.Fatal("parts not in original order")
	}
	a2, _, _ := d.Split(3, 42)
	if !slices.Equal(a.Labels, a2.Labels) {
		t.Fatal("same seed, different split")
	}
	differs := false
	for seed := uint64(0); seed < 5; seed++ {
		a3, _, _ := d.Split(3, seed)
		differs = differs || !slices.Equal(a.Labels, a3.Labels)
	}
	if !differs {
		t.Fatal("seed ignored")
	}
	if _, _, err := d.Split(11, 0); err == nil {
		t.Fatal("split larger than the set accepted")
	}
}
