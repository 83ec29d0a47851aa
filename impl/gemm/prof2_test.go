package gemm

import (
	"fmt"
	"testing"
)

func TestDirectAB(t *testing.T) {
	SetThreads(1)
	defer SetThreads(0)
	for _, s := range []int{128, 256, 512, 1024} {
		A, B, C := benchMats(s, s, s)
		for round := 0; round < 3; round++ {
			for _, nd := range []bool{false, true} {
				noDirectA = nd
				r := cpuRate(max(4, 2e10/(2*s*s*s)), 2*float64(s*s*s), func() { Sgemm(false, false, s, s, s, 1, A, s, B, s, 0, C, s) })
				fmt.Printf("%d packA=%v: %.1f  ", s, nd, r/1e9)
			}
		}
		fmt.Println()
	}
	noDirectA = false
}
