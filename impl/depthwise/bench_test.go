package depthwise

import (
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/frugal-ml/frugal/impl/cpu"
)

// MobileNetV2's depthwise layers at batch 1 (3x3, pads 1; each followed by
// ReLU6).
var mnv2Layers = []struct{ c, hw, s int }{
	{32, 112, 1}, {96, 112, 2}, {144, 56, 1}, {144, 56, 2},
	{192, 28, 1}, {384, 14, 1}, {576, 14, 2}, {960, 7, 1},
}

// BenchmarkMobileNetV2 runs each layer with 2 threads: "base" is the
// impl/ops depthwise algorithm as of this package's creation (copied below,
// with its separate ReLU6 pass), "go" this package at the Generic level,
// then each assembly level. Compare ns/op within one run (shared machine).
func BenchmarkMobileNetV2(b *testing.B) {
	threads := benchThreads()
	for _, L := range mnv2Layers {
		p := Params{KH: 3, KW: 3, SH: L.s, SW: L.s, PT: 1, PL: 1, PB: 1, PR: 1, DH: 1, DW: 1}
		oh, ow := Out(p, L.hw, L.hw)
		r := rand.New(rand.NewSource(1))
		x := make([]float32, L.c*L.hw*L.hw)
		w := make([]float32, L.c*9)
		bias := make([]float32, L.c)
		randVals(r, x)
		randVals(r, w)
		randVals(r, bias)
		out := make([]float32, L.c*oh*ow)
		flops := float64(2 * 9 * L.c * oh * ow)
		name := fmt.Sprintf("%dch@%d_s%d", L.c, L.hw, L.s)
		report := func(b *testing.B, cpu0 int64) {
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			b.ReportMetric(float64(cpuNanos()-cpu0)/float64(b.N), "cpu-ns/op")
		}
		b.Run(name+"/base", func(b *testing.B) {
			cpu0 := cpuNanos()
			for i := 0; i < b.N; i++ {
				baseDepthwise(threads, x, w, bias, 1, L.c, L.hw, L.hw, p, oh, ow, out)
				baseClip(out, 0, 6)
			}
			report(b, cpu0)
		})
		for _, l := range cpu.Levels() {
			lname := l.String()
			if l == cpu.Generic {
				lname = "go"
			}
			b.Run(name+"/"+lname, func(b *testing.B) {
				restore := cpu.Force(l)
				defer restore()
				cpu0 := cpuNanos()
				for i := 0; i < b.N; i++ {
					Conv(threads, x, 1, L.c, L.hw, L.hw, p, w, bias, 0, 6, out)
				}
				report(b, cpu0)
			})
		}
	}
}

// BenchmarkMobileNetV2All runs all eight layers back to back (one
// "model's worth" of depthwise work) per level.
func BenchmarkMobileNetV2All(b *testing.B) {
	threads := benchThreads()
	type layer struct {
		p               Params
		c, hw, oh, ow   int
		x, w, bias, out []float32
	}
	var ls []layer
	var flops float64
	for _, L := range mnv2Layers {
		p := Params{KH: 3, KW: 3, SH: L.s, SW: L.s, PT: 1, PL: 1, PB: 1, PR: 1, DH: 1, DW: 1}
		oh, ow := Out(p, L.hw, L.hw)
		r := rand.New(rand.NewSource(1))
		ly := layer{p: p, c: L.c, hw: L.hw, oh: oh, ow: ow, x: make([]float32, L.c*L.hw*L.hw), w: make([]float32, L.c*9),
			bias: make([]float32, L.c), out: make([]float32, L.c*oh*ow)}
		randVals(r, ly.x)
		randVals(r, ly.w)
		ls = append(ls, ly)
		flops += float64(2 * 9 * L.c * oh * ow)
	}
	report := func(b *testing.B, cpu0 int64) {
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		b.ReportMetric(float64(cpuNanos()-cpu0)/float64(b.N), "cpu-ns/op")
	}
	b.Run("base", func(b *testing.B) {
		cpu0 := cpuNanos()
		for i := 0; i < b.N; i++ {
			for _, l := range ls {
				baseDepthwise(threads, l.x, l.w, l.bias, 1, l.c, l.hw, l.hw, l.p, l.oh, l.ow, l.out)
				baseClip(l.out, 0, 6)
			}
		}
		report(b, cpu0)
	})
	for _, lv := range cpu.Levels() {
		lname := lv.String()
		if lv == cpu.Generic {
			lname = "go"
		}
		b.Run(lname, func(b *testing.B) {
			restore := cpu.Force(lv)
			defer restore()
			cpu0 := cpuNanos()
			for i := 0; i < b.N; i++ {
				for _, l := range ls {
					Conv(threads, l.x, 1, l.c, l.hw, l.hw, l.p, l.w, l.bias, 0, 6, l.out)
				}
			}
			report(b, cpu0)
		})
	}
}

// baseDepthwise is impl/ops' depthwise kernel (conv.go, func depthwise) as
// it was when this package was written, with its Parallel helper: the
// baseline the benchmarks compare against.
func baseDepthwise(threads int, x, w, bias []float32, n, cout, h, wd int, p Params, oh, ow int, out []float32) {
	plane, oplane := h*wd, oh*ow
	baseParallel(threads, n*cout, func(lo, hi int) {
		for nc := lo; nc < hi; nc++ {
			c := nc % cout
			xs := x[nc*plane : (nc+1)*plane]
			os := out[nc*oplane : (nc+1)*oplane]
			ws := w[c*p.KH*p.KW : (c+1)*p.KH*p.KW]
			var b float32
			if bias != nil {
				b = bias[c]
			}
			for i := range os {
				os[i] = b
			}
			for ky := 0; ky < p.KH; ky++ {
				for kx := 0; kx < p.KW; kx++ {
					wv := ws[ky*p.KW+kx]
					for oy := 0; oy < oh; oy++ {
						iy := oy*p.SH - p.PT + ky*p.DH
						if iy < 0 || iy >= h {
							continue
						}
						xr := xs[iy*wd : (iy+1)*wd]
						or := os[oy*ow : (oy+1)*ow]
						ix := -p.PL + kx*p.DW
						ox0 := 0
						for ox0 < ow && ix+ox0*p.SW < 0 {
							ox0++
						}
						ox1 := ow
						for ox1 > ox0 && ix+(ox1-1)*p.SW >= wd {
							ox1--
						}
						if p.SW == 1 {
							xo := xr[ix+ox0 : ix+ox1]
							oo := or[ox0:ox1]
							for i, v := range xo {
								oo[i] += wv * v
							}
							continue
						}
						for ox := ox0; ox < ox1; ox++ {
							or[ox] += wv * xr[ix+ox*p.SW]
						}
					}
				}
			}
		}
	})
}

// baseParallel is impl/ops.Parallel.
func baseParallel(threads, n int, f func(lo, hi int)) {
	if threads <= 1 || n <= 1 {
		f(0, n)
		return
	}
	if threads > n {
		threads = n
	}
	var wg sync.WaitGroup
	chunk := (n + threads - 1) / threads
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			f(lo, hi)
		}(lo, hi)
	}
	wg.Wait()
}

// baseClip is impl/ops' Activation.Apply for Clip (ConvForward's separate
// pass after depthwise).
func baseClip(x []float32, lo, hi float32) {
	for i, v := range x {
		x[i] = min(max(v, lo), hi)
	}
}

// benchThreads is 2, or DW_BENCH_THREADS.
func benchThreads() int {
	if s := os.Getenv("DW_BENCH_THREADS"); s != "" {
		if t, err := strconv.Atoi(s); err == nil && t > 0 {
			return t
		}
	}
	return 2
}
