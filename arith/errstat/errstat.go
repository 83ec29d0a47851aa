// Package errstat measures what a number format does to data: signal to
// quantization noise ratio, maximum absolute and relative error, the bias
// (mean signed error), quantiles of the absolute error and a histogram of
// the signed error. It also generates the standard test distributions and
// reads tensors from text files, so that a format can be judged on the
// data it will actually see.
package errstat

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
)

// Quantile is one point of the absolute-error distribution.
type Quantile struct {
	P   float64 // in [0,1]
	Abs float64
}

// Stats summarises err = quantized - original over the finite pairs.
type Stats struct {
	N         int     // pairs compared (finite original and result)
	NonFinite int     // results that became Inf/NaN from a finite input (overflow)
	SQNR      float64 // dB: 10 log10(sum x^2 / sum err^2); +Inf when exact
	MSE       float64
	MaxAbs    float64
	MaxRel    float64 // over non-zero originals
	MeanErr   float64 // bias
	Quantiles []Quantile
	Hist      Histogram
}

// Histogram counts signed errors in equal bins over [Lo, Hi].
type Histogram struct {
	Lo, Hi float64
	Counts []int
}

// Ps are the reported quantiles.
var Ps = []float64{0.5, 0.9, 0.99, 0.999, 1}

// Analyze compares orig with its quantized version q (same length).
func Analyze(orig, q []float32) (Stats, error) {
	if len(orig) != len(q) {
		return Stats{}, fmt.Errorf("errstat: %d originals, %d quantized", len(orig), len(q))
	}
	var s Stats
	var sig, noise, sum float64
	abs := make([]float64, 0, len(orig))
	errs := make([]float64, 0, len(orig))
	for i, x := range orig {
		xf, qf := float64(x), float64(q[i])
		if math.IsNaN(xf) || math.IsInf(xf, 0) {
			continue
		}
		if math.IsNaN(qf) || math.IsInf(qf, 0) {
			s.NonFinite++
			continue
		}
		e := qf - xf
		sig += xf * xf
		noise += e * e
		sum += e
		a := math.Abs(e)
		s.MaxAbs = max(s.MaxAbs, a)
		if xf != 0 {
			s.MaxRel = max(s.MaxRel, a/math.Abs(xf))
		}
		abs = append(abs, a)
		errs = append(errs, e)
	}
	s.N = len(abs)
	if s.N == 0 {
		return s, nil
	}
	s.MSE = noise / float64(s.N)
	s.MeanErr = sum / float64(s.N)
	switch {
	case noise == 0:
		s.SQNR = math.Inf(1)
	case sig == 0:
		s.SQNR = math.Inf(-1)
	default:
		s.SQNR = 10 * math.Log10(sig/noise)
	}
	sort.Float64s(abs)
	for _, p := range Ps {
		i := int(math.Ceil(p*float64(s.N))) - 1
		s.Quantiles = append(s.Quantiles, Quantile{p, abs[max(i, 0)]})
	}
	s.Hist = Histogram{Lo: -s.MaxAbs, Hi: s.MaxAbs, Counts: make([]int, 11)}
	for _, e := range errs {
		s.Hist.Counts[s.Hist.Bin(e)]++
	}
	return s, nil
}

// Bin returns the bin index of e.
func (h Histogram) Bin(e float64) int {
	n := len(h.Counts)
	if h.Hi <= h.Lo {
		return n / 2
	}
	i := int((e - h.Lo) / (h.Hi - h.Lo) * float64(n))
	return min(max(i, 0), n-1)
}

// Generate draws n values from a named distribution with unit scale:
// normal (sigma 1), uniform [-1, 1) or laplace (b = 1).
func Generate(dist string, n int, seed uint64) ([]float32, error) {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	out := make([]float32, n)
	var f func() float64
	switch strings.ToLower(dist) {
	case "normal", "gaussian":
		f = rng.NormFloat64
	case "uniform":
		f = func() float64 { return 2*rng.Float64() - 1 }
	case "laplace":
		f = func() float64 {
			u := rng.Float64() - 0.5
			return -math.Copysign(math.Log(1-2*math.Abs(u)), u)
		}
	default:
		return nil, fmt.Errorf("unknown distribution %q (want normal, uniform or laplace)", dist)
	}
	for i := range out {
		out[i] = float32(f())
	}
	return out, nil
}

// ReadNumbers reads decimal numbers separated by white space or commas;
// '#' starts a comment. Errors name the line and the offending token.
func ReadNumbers(r io.Reader) ([]float32, error) {
	var out []float32
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<26)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		for _, tok := range strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\r' || r == ';' }) {
			v, err := strconv.ParseFloat(tok, 32)
			if err != nil {
				if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
					return nil, fmt.Errorf("line %d: %q is out of float32 range", line, tok)
				}
				return nil, fmt.Errorf("line %d: %q is not a number", line, tok)
			}
			out = append(out, float32(v))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %v", line+1, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no numbers found")
	}
	return out, nil
}
