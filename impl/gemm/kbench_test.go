package gemm

import (
	"testing"

	"github.com/frugal-ml/frugal/impl/cpu"
)

// BenchmarkMicroKernel measures one micro-kernel call on L1/L2-resident
// panels: the ceiling the driver can reach.
func BenchmarkMicroKernel(b *testing.B) {
	kn := kernelFor(cpu.Current())
	k := kn.kc
	a := alignedFloats(kn.mr * k)
	bb := alignedFloats(kn.nr * k)
	c := alignedFloats(kn.mr * kn.nr)
	var ep kargs
	for b.Loop() {
		kn.tile(kn, kn.mr, kn.nr, k, &a[0], &bb[0], kn.nr, &c[0], kn.nr, &ep)
	}
	b.ReportMetric(2*float64(kn.mr*kn.nr*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
