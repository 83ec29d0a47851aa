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

// BenchmarkQGemmConvShapes: int8 GEMMs of ResNet-18's 3x3 layers (M=Cout,
// N=OH*OW, K=9*Cin) with A (weights) prepacked, uint8 requantized output,
// on 1 and 2 threads.
func BenchmarkQGemmConvShapes(b *testing.B) {
	for _, sz := range [][3]int{{64, 3136, 576}, {128, 784, 1152}, {256, 196, 2304}, {512, 49, 4608}} {
		m, n, k := sz[0], sz[1], sz[2]
		A := make([]int8, m*k)
		B := make([]uint8, k*n)
		for i := range A {
			A[i] = int8(i * 5)
		}
		for i := range B {
			B[i] = uint8(i * 7)
		}
		C8 := make([]uint8, m*n)
		pa := PackQA(false, m, k, A, k, nil)
		scale := make([]float32, m)
		for i := range scale {
			scale[i] = 1e-4
		}
		for _, th := range []int{1, 2} {
			for _, v := range qConvShapeVariants {
				b.Run(fmt.Sprintf("%dx%dx%d/t%d%s", m, n, k, th, v.name), func(b *testing.B) {
					defer v.set()()
					for b.Loop() {
						QGemmPackedAThreads(th, pa, n, B, n, []int32{3}, C8, n, QEpilogue{PerRow: true, Scale: scale, ZeroPoint: 5, Relu: true})
					}
					reportOps(b, m, n, k)
				})
			}
		}
	}
}

// qConvShapeVariants are the driver configurations BenchmarkQGemmConvShapes
// compares side by side: as shipped, without the column kernels, and
// without the fused requantizing store.
var qConvShapeVariants = []struct {
	name string
	set  func() (restore func())
}{
	{"", func() func() { return func() {} }},
	{"/nocol", func() func() { noColKernel = true; return func() { noColKernel = false } }},
	{"/nofuse", func() func() { noFusedStore = true; return func() { noFusedStore = false } }},
}

// BenchmarkPackedColsDirectA: the channels-last pointwise GEMM
// out[49, Cout] = x[49, Cin] x W^T on one thread, A read in place or
// packed.
func BenchmarkPackedColsDirectA(b *testing.B) {
	for _, sz := range [][3]int{{1280, 49, 320}, {960, 49, 160}, {160, 49, 960}, {320, 49, 960}} {
		cout, m, cin := sz[0], sz[1], sz[2]
		W, X, C := benchMats(cout, m, cin)
		pb := PackB(true, cin, cout, W, cin)
		for _, direct := range []bool{false, true} {
			b.Run(fmt.Sprintf("%dx%dx%d/direct=%v", m, cout, cin, direct), func(b *testing.B) {
				defer SetColsDirectA(colsDirectA)
				SetColsDirectA(direct)
				for b.Loop() {
					SgemmPackedCols(m, X, cin, pb, 0, cout, C, cout, Epilogue{})
				}
				reportFlops(b, m, cout, cin)
			})
		}
	}
}

// BenchmarkPackedColsCold: the channels-last pointwise GEMM of
// BenchmarkPackedColsDirectA on two goroutines (columns halved), with the
// packed weights rotating through ~100 MiB of copies so every call streams
// them from DRAM, as a whole-model run does (MobileNetV2 re-reads 14 MB of
// weights per inference). pf=false turns the next-panel prefetch off.
func BenchmarkPackedColsCold(b *testing.B) {
	for _, sz := range [][3]int{{49, 960, 160}, {49, 1280, 320}, {196, 576, 96}, {49, 320, 960}} {
		m, cout, cin := sz[0], sz[1], sz[2]
		W, X, C := benchMats(cout, m, cin)
		var pbs []*PackedB
		for range 1 + (100<<20)/(cin*cout*4) {
			pbs = append(pbs, PackB(true, cin, cout, W, cin))
		}
		half := (cout/2 + 15) / 16 * 16
		for _, pf := range []bool{false, true} {
			b.Run(fmt.Sprintf("%dx%dx%d/pf=%v", m, cout, cin, pf), func(b *testing.B) {
				defer func(on bool) { prefetchNext = on }(prefetchNext)
				prefetchNext = pf
				it := 0
				for b.Loop() {
					pb := pbs[it%len(pbs)]
					it++
					Parallel(2, func(i int) {
						n0, n1 := 0, half
						if i == 1 {
							n0, n1 = half, cout
						}
						SgemmPackedCols(m, X, cin, pb, n0, n1, C, cout, Epilogue{})
					})
				}
				reportFlops(b, m, cout, cin)
			})
		}
	}
}
