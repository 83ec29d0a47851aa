//go:build !amd64 || purego

package ops

func reluVec(x, out []float32) int { return 0 }
