//go:build amd64 && !purego

package sparse

const haveAsm = true

// Column chunk widths (vectors of 16 floats) per block height.
func maxNV(r int) int {
	if r == 8 {
		return 3
	}
	return 4
}

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

func bsrKernel(r, nv int, c1, edge bool) func(*sargs) {
	ci, ei := 0, 0
	if c1 {
		ci = 1
	}
	if edge {
		ei = 1
	}
	return bsrKernels[log2r(r)][nv][ci][ei]
}

func nm24Kernel(nv int, edge bool) func(*sargs) {
	if edge {
		return nm24Kernels[nv][1]
	}
	return nm24Kernels[nv][0]
}
