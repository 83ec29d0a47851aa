//go:build !amd64 || purego

package cpu

const purego = true

func detect() Features { return Features{} }
