package gemm

import (
	"fmt"
	"testing"
)

// BenchmarkMobileNetV2Pointwise: the pointwise convolutions of MobileNetV2
// as SgemmPackedA (weights packed once, activations B in NCHW), M=Cout,
// N=H*W, K=Cin, 1 and 2 threads.
func BenchmarkMobileNetV2Pointwise(b *testing.B) {
	for _, sz := range [][3]int{{24, 3136, 144}, {32, 784, 192}, {64, 196, 384}, {96, 196, 576}, {160, 49, 576}, {320, 49, 960}, {144, 3136, 24}, {576, 196, 96}, {960, 49, 160}, {1280, 49, 320}} {
		m, n, k := sz[0], sz[1], sz[2]
		A, B, C := benchMats(m, n, k)
		pa := PackA(false, m, k, A, k)
		for _, th := range []int{1, 2} {
			b.Run(fmt.Sprintf("%dx%dx%d/t%d", m, n, k, th), func(b *testing.B) {
				for b.Loop() {
					SgemmPackedAThreads(th, pa, n, B, n, C, n, Epilogue{})
				}
				reportFlops(b, m, n, k)
			})
		}
	}
}

// BenchmarkMobileNetV2PointwiseT: the same as C^T = X^T W^T (pixels as
// rows, channels in lanes), W^T prepacked, X read transposed.
func BenchmarkMobileNetV2PointwiseT(b *testing.B) {
	for _, sz := range [][3]int{{24, 3136, 144}, {32, 784, 192}, {64, 196, 384}, {96, 196, 576}, {160, 49, 576}, {320, 49, 960}, {144, 3136, 24}, {576, 196, 96}, {960, 49, 160}, {1280, 49, 320}} {
		m, n, k := sz[0], sz[1], sz[2]
		A, B, C := benchMats(m, n, k)
		pb := PackB(true, k, m, A, k)
		for _, th := range []int{1, 2} {
			b.Run(fmt.Sprintf("%dx%dx%d/t%d", m, n, k, th), func(b *testing.B) {
				for b.Loop() {
					SgemmPackedTransACols(n, B, n, pb, 0, m, C, m, Epilogue{})
				}
				reportFlops(b, m, n, k)
			})
		}
	}
}
