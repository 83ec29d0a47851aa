package gemm

import (
	"fmt"
	"testing"
)

func BenchmarkSgemmThreads(b *testing.B) {
	for _, s := range []int{512, 1024} {
		A, B, C := benchMats(s, s, s)
		for _, th := range []int{1, 2} {
			b.Run(fmt.Sprintf("%d/t%d", s, th), func(b *testing.B) {
				SetThreads(th)
				defer SetThreads(0)
				for b.Loop() {
					Sgemm(false, false, s, s, s, 1, A, s, B, s, 0, C, s)
				}
				reportFlops(b, s, s, s)
			})
		}
	}
}
