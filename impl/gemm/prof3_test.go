package gemm

import (
	"fmt"
	"sort"
	"testing"
	"time"
)

func TestWall2(t *testing.T) {
	for _, s := range []int{128, 256, 512, 1024} {
		A, B, C := benchMats(s, s, s)
		for _, th := range []int{1, 2} {
			SetThreads(th)
			var ts []float64
			for i := 0; i < max(21, 2e9/(s*s*s)); i++ {
				t0 := time.Now()
				Sgemm(false, false, s, s, s, 1, A, s, B, s, 0, C, s)
				ts = append(ts, time.Since(t0).Seconds())
			}
			sort.Float64s(ts)
			fmt.Printf("%d t%d: %.1f GF/s   ", s, th, 2*float64(s*s*s)/ts[len(ts)/2]/1e9)
		}
		fmt.Println()
	}
	SetThreads(0)
}
