package errstat

import (
	"math"
	"strings"
	"testing"
)

func TestAnalyze(t *testing.T) {
	x := []float32{1, -2, 4, 0.5}
	q := []float32{1, -2.5, 4, 0.25}
	s, err := Analyze(x, q)
	if err != nil {
		t.Fatal(err)
	}
	// signal 1+4+16+0.25 = 21.25; noise 0.25+0.0625 = 0.3125
	if math.Abs(s.SQNR-10*math.Log10(21.25/0.3125)) > 1e-9 || s.MaxAbs != 0.5 || s.MaxRel != 0.5 || s.N != 4 {
		t.Fatalf("%+v", s)
	}
	if s.MeanErr != (-0.5-0.25)/4 || s.Quantiles[len(s.Quantiles)-1].Abs != 0.5 || s.Quantiles[0].Abs != 0 {
		t.Fatalf("%+v", s)
	}
	tot := 0
	for _, c := range s.Hist.Counts {
		tot += c
	}
	if tot != 4 {
		t.Fatal("histogram")
	}
	s, _ = Analyze([]float32{1, 1e6}, []float32{1, float32(math.Inf(1))})
	if s.NonFinite != 1 || !math.IsInf(s.SQNR, 1) {
		t.Fatalf("overflow accounting %+v", s)
	}
	if _, err := Analyze(x, q[:2]); err == nil {
		t.Fatal("length mismatch accepted")
	}
}

func TestGenerate(t *testing.T) {
	for _, d := range []string{"normal", "uniform", "laplace"} {
		xs, err := Generate(d, 100000, 1)
		if err != nil {
			t.Fatal(err)
		}
		var m, v float64
		for _, x := range xs {
			m += float64(x)
			v += float64(x) * float64(x)
		}
		m /= float64(len(xs))
		v /= float64(len(xs))
		want := map[string]float64{"normal": 1, "uniform": 1.0 / 3, "laplace": 2}[d]
		if math.Abs(m) > 0.02 || math.Abs(v-want) > 0.05*want {
			t.Errorf("%s: mean %v var %v want var %v", d, m, v, want)
		}
	}
	if _, err := Generate("cauchy", 1, 1); err == nil {
		t.Fatal("unknown distribution accepted")
	}
}

func TestReadNumbers(t *testing.T) {
	xs, err := ReadNumbers(strings.NewReader("1, 2.5 -3e2 # comment\n\n4;5\n"))
	if err != nil || len(xs) != 5 || xs[2] != -300 {
		t.Fatal(xs, err)
	}
	_, err = ReadNumbers(strings.NewReader("1 2\n3 x7\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "x7") {
		t.Fatalf("bad error: %v", err)
	}
	if _, err := ReadNumbers(strings.NewReader("# nothing\n")); err == nil {
		t.Fatal("empty accepted")
	}
	if _, err := ReadNumbers(strings.NewReader("1e99")); err == nil || !strings.Contains(err.Error(), "range") {
		t.Fatalf("range: %v", err)
	}
}
