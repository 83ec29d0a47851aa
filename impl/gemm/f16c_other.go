//go:build !amd64 || purego

package gemm

func halfToFloat32sAsm(dst []float32, src []uint16) int   { return 0 }
func halfFromFloat32sAsm(dst []uint16, src []float32) int { return 0 }
