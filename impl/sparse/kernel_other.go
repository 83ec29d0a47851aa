//go:build !amd64 || purego

package sparse

func asmISA() *isa { return nil }
