//go:build amd64 && !purego

package gemm

import (
	"fmt"
	"testing"
	"unsafe"
)

// BenchmarkQKernelL1: the 14x32 VNNI micro-kernel alone over np A panels
// and one B panel of kg groups (the ceiling for the GEMM). Measured ~1040-
// 1090 GOP/s for every kg up to 1152 (K = 4608) and np up to 37 (A from
// L3, a 147 KB B panel from L2): deep K needs no K blocking.
func BenchmarkQKernelL1(b *testing.B) {
	for _, kg := range []int{64, 144, 288, 576, 1152} {
		for _, np := range []int{1, 16, 37} {
			b.Run(fmt.Sprintf("kg%d/np%d", kg, np), func(b *testing.B) {
				a := alignedBytes(np * 14 * 4 * kg)
				bb := alignedBytes(32 * 4 * kg)
				t := alignedInt32(14 * 32)
				for b.Loop() {
					for i := 0; i < np; i++ {
						qgemmKernels_vnni[0][14][2](kg, unsafe.Pointer(&a[i*14*4*kg]), unsafe.Pointer(&bb[0]), &t[0], 128)
					}
				}
				b.ReportMetric(2*14*32*4*float64(kg)*float64(np)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOP/s")
			})
		}
	}
}
