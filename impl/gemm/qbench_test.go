package gemm

import (
	"fmt"
	"testing"

	"github.com/frugal-ml/frugal/impl/cpu"
)

func reportOps(b *testing.B, m, n, k int) {
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOP/s")
}

// BenchmarkQGemm: int8 size ladder per dispatch level, raw and prepacked B,
// beside FP32 at the same size.
func BenchmarkQGemm(b *testing.B) {
	for _, s := range []int{64, 256, 512, 1024} {
		m, n, k := s, s, s
		A := make([]uint8, m*k)
		B := make([]int8, k*n)
		for i := range A {
			A[i] = uint8(i * 7)
		}
		for i := range B {
			B[i] = int8(i * 5)
		}
		C := make([]int32, m*n)
		C8 := make([]uint8, m*n)
		for _, l := range cpu.Levels() {
			if l == cpu.Generic && s > 256 {
				continue
			}
			b.Run(fmt.Sprintf("%s/%d", l, s), func(b *testing.B) {
				restore := cpu.Force(l)
				defer restore()
				for b.Loop() {
					GemmU8S8(m, n, k, A, k, B, n, C, n)
				}
				reportOps(b, m, n, k)
			})
		}
		pb := PackQB(false, k, n, B, n, nil)
		b.Run(fmt.Sprintf("packedB/%d", s), func(b *testing.B) {
			for b.Loop() {
				QGemmPackedB(m, A, k, []int32{3}, pb, C, n, QEpilogue{})
			}
			reportOps(b, m, n, k)
		})
		b.Run(fmt.Sprintf("packedB-requant/%d", s), func(b *testing.B) {
			for b.Loop() {
				QGemmPackedB(m, A, k, []int32{3}, pb, C8, n, QEpilogue{Scale: []float32{1e-4}, ZeroPoint: 5, Relu: true})
			}
			reportOps(b, m, n, k)
		})
		if s <= 256 {
			b.Run(fmt.Sprintf("naive/%d", s), func(b *testing.B) {
				for b.Loop() {
					QGemmRef(m, n, k, A, k, nil, B, n, nil, C, n, QEpilogue{})
				}
				reportOps(b, m, n, k)
			})
		}
	}
}
