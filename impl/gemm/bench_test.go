package gemm

import (
	"fmt"
	"testing"

	"github.com/frugal-ml/frugal/impl/cpu"
)

func benchMats(m, n, k int) (a, b, c []float32) {
	a = make([]float32, m*k)
	b = make([]float32, k*n)
	c = make([]float32, m*n)
	for i := range a {
		a[i] = float32(i%13) * 0.1
	}
	for i := range b {
		b[i] = float32(i%7) * 0.1
	}
	return
}

func reportFlops(b *testing.B, m, n, k int) {
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkSgemm runs the size ladder on every dispatch level beside the
// naive triple loop (naive only up to 256).
func BenchmarkSgemm(b *testing.B) {
	for _, s := range []int{16, 64, 128, 256, 512, 1024} {
		m, n, k := s, s, s
		A, B, C := benchMats(m, n, k)
		for _, l := range cpu.Levels() {
			b.Run(fmt.Sprintf("%s/%d", l, s), func(b *testing.B) {
				restore := cpu.Force(l)
				defer restore()
				for b.Loop() {
					Sgemm(false, false, m, n, k, 1, A, k, B, n, 0, C, n)
				}
				reportFlops(b, m, n, k)
			})
		}
		if s <= 256 {
			b.Run(fmt.Sprintf("naive/%d", s), func(b *testing.B) {
				for b.Loop() {
					SgemmRef(false, false, m, n, k, 1, A, k, B, n, 0, C, n)
				}
				reportFlops(b, m, n, k)
			})
		}
	}
}

// BenchmarkSgemmShapes covers small inference shapes (batch 1 and LeNet-like).
func BenchmarkSgemmShapes(b *testing.B) {
	for _, sz := range [][3]int{{1, 1000, 512}, {1, 128, 784}, {6, 784, 25}, {16, 100, 150}, {64, 500, 800}, {64, 3136, 576}, {256, 196, 2304}} {
		m, n, k := sz[0], sz[1], sz[2]
		A, B, C := benchMats(m, n, k)
		b.Run(fmt.Sprintf("%dx%dx%d", m, n, k), func(b *testing.B) {
			for b.Loop() {
				Sgemm(false, false, m, n, k, 1, A, k, B, n, 0, C, n)
			}
			reportFlops(b, m, n, k)
		})
		pb := PackB(false, k, n, B, n)
		b.Run(fmt.Sprintf("packedB/%dx%dx%d", m, n, k), func(b *testing.B) {
			for b.Loop() {
				SgemmPacked(m, A, k, pb, C, n, Epilogue{})
			}
			reportFlops(b, m, n, k)
		})
		pa := PackA(false, m, k, A, k)
		b.Run(fmt.Sprintf("packedA/%dx%dx%d", m, n, k), func(b *testing.B) {
			for b.Loop() {
				SgemmPackedA(pa, n, B, n, C, n, Epilogue{})
			}
			reportFlops(b, m, n, k)
		})
	}
}
