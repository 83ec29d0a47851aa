//go:build !amd64 || purego

package convert

func registerAsm(map[string]kernels) string { return "go" }
