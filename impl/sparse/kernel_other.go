//go:build !amd64 || purego

package sparse

const haveAsm = false

func maxNV(r int) int { return 4 }

func bsrKernel(r, nv int, c1, edge bool) func(*sargs) { panic("sparse: no assembly kernels") }

func nm24Kernel(nv int, edge bool) func(*sargs) { panic("sparse: no assembly kernels") }
