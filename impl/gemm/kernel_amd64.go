//go:build amd64 && !purego

package gemm

import "github.com/frugal-ml/frugal/impl/cpu"

// asmKernels lists the assembly FP32 kernels, best first.
var asmKernels = []*fkern{
	{
		level: cpu.AVX512, name: "avx512-14x32", mr: 14, nr: 32, vec: 16,
		// Deep kc: fewer passes over C; the B micro-panel (kc x 32) then
		// streams from L2, which the measurements here favour.
		kc: 512, mc: 14 * 10, nc: 512,
		tile:  tileAsm(pad15(&sgemmKernels_avx512)),
		tileD: tileAsmDirect(pad15d(&sgemmKernelsDirect_avx512)),
	},
	{
		level: cpu.AVX2, name: "avx2-6x16", mr: 6, nr: 16, vec: 8,
		kc: 256, mc: 6 * 24, nc: 1024,
		tile:  tileAsm(pad15(&sgemmKernels_avx2)),
		tileD: tileAsmDirect(pad15d(&sgemmKernelsDirect_avx2)),
	},
}

// pad15 copies a generated table into the common [15][3][2] shape.
func pad15[T any](t *T) *[15][3][2]sgemmFunc {
	var out [15][3][2]sgemmFunc
	switch v := any(t).(type) {
	case *[15][3][2]sgemmFunc:
		out = *v
	case *[7][3][2]sgemmFunc:
		for i := range v {
			out[i] = v[i]
		}
	default:
		panic("gemm: unexpected kernel table shape")
	}
	return &out
}

func init() {
	kernBF16 = &fkern{
		level: cpu.AVX512, name: "avx512bf16-14x32", mr: 14, nr: 32, vec: 16,
		kc: 256, mc: 14 * 20, nc: 1024,
		tile: tileAsm(pad15(&sgemmKernels_avx512bf16)),
	}
}

// pad15d is pad15 for direct-A tables.
func pad15d[T any](t *T) *[15][3][2]sgemmDirectFunc {
	var out [15][3][2]sgemmDirectFunc
	switch v := any(t).(type) {
	case *[15][3][2]sgemmDirectFunc:
		out = *v
	case *[7][3][2]sgemmDirectFunc:
		for i := range v {
			out[i] = v[i]
		}
	default:
		panic("gemm: unexpected kernel table shape")
	}
	return &out
}
