//go:build !amd64 || purego

package convert

func registerFusedAsm(map[string]fusedKernels) string { return "go" }
