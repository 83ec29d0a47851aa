//go:build amd64 && !purego

package sparse

import "github.com/frugal-ml/frugal/impl/cpu"

func log2r(r int) int {
	switch r {
	case 1:
		return 0
	case 2:
		return 1
	case 4:
		return 2
	}
	return 3
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

var isa512 = &isa{
	name: "avx512", vec: 16,
	maxNV: func(r int) int {
		if r == 8 {
			return 3
		}
		return 4
	},
	bsr:  func(r, nv int, c1, edge bool) func(*sargs) { return bsrKernels[log2r(r)][nv][b2i(c1)][b2i(edge)] },
	nm24: func(nv int, edge bool) func(*sargs) { return nm24Kernels[nv][b2i(edge)] },
}

var isa256 = &isa{
	name: "avx2", vec: 8,
	maxNV: func(r int) int {
		switch r {
		case 4:
			return 2
		case 8:
			return 1
		}
		return 4
	},
	bsr:  func(r, nv int, c1, edge bool) func(*sargs) { return bsrKernels256[log2r(r)][nv][b2i(c1)][b2i(edge)] },
	nm24: func(nv int, edge bool) func(*sargs) { return nm24Kernels256[nv][b2i(edge)] },
}

// asmISA returns the assembly kernels for the current level, or nil.
func asmISA() *isa {
	switch l := cpu.Current(); {
	case l >= cpu.AVX512:
		return isa512
	case l >= cpu.AVX2:
		return isa256
	}
	return nil
}
