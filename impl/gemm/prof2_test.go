package gemm

import (
	"fmt"
	"testing"
)

func TestPackAB(t *testing.T) {
	SetThreads(1)
	defer SetThreads(0)
	for _, s := range []int{256, 512, 1024} {
		A, B, C := benchMats(s, s, s)
		for round := 0; round < 3; round++ {
			for _, np := range []bool{false, true} {
				noAsmPack = np
				r := cpuRate(max(4, 2e10/(2*s*s*s)), 2*float64(s*s*s), func() { Sgemm(false, true, s, s, s, 1, A, s, B, s, 0, C, s) })
				r2 := cpuRate(max(4, 2e10/(2*s*s*s)), 2*float64(s*s*s), func() { Sgemm(false, false, s, s, s, 1, A, s, B, s, 0, C, s) })
				fmt.Printf("%d noasm=%v: NT %.1f NN %.1f | ", s, np, r/1e9, r2/1e9)
			}
		}
		fmt.Println()
	}
	noAsmPack = false
}
