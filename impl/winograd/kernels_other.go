//go:build !amd64 || purego

package winograd

func asmKernels(m int) (inFunc, outFunc, bool) { return nil, nil, false }

func repackAsm(src []float32, h, w, nc int, dst []float32, wp, pt, pl int) bool { return false }
