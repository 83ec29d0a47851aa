package gemm

import (
	"testing"
	"time"
)

func TestPhaseTimes(t *testing.T) {
	s := 1024
	A, B, C := benchMats(s, s, s)
	pb := PackB(false, s, s, B, s)
	pa := PackA(false, s, s, A, s)
	med := func(f func()) time.Duration {
		var ts []time.Duration
		for i := 0; i < 31; i++ {
			t0 := time.Now()
			f()
			ts = append(ts, time.Since(t0))
		}
		for i := range ts {
			for j := i + 1; j < len(ts); j++ {
				if ts[j] < ts[i] {
					ts[i], ts[j] = ts[j], ts[i]
				}
			}
		}
		return ts[len(ts)/2]
	}
	for _, th := range []int{1, 2} {
		SetThreads(th)
		t.Logf("threads %d: Sgemm %v  packedB %v  packedA %v  PackB %v  PackA %v", th,
			med(func() { Sgemm(false, false, s, s, s, 1, A, s, B, s, 0, C, s) }),
			med(func() { SgemmPacked(s, A, s, pb, C, s, Epilogue{}) }),
			med(func() { SgemmPackedA(pa, s, B, s, C, s, Epilogue{}) }),
			med(func() { PackB(false, s, s, B, s) }),
			med(func() { PackA(false, s, s, A, s) }))
	}
	SetThreads(0)
}
