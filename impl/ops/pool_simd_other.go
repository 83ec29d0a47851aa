//go:build !amd64 || purego

package ops

import (
	"unsafe"

	"github.com/frugal-ml/frugal/impl/ref"
)

// maxPoolAsm has no assembly kernels to run in this build: the caller
// pools in Go.
func maxPoolAsm(poolKind, unsafe.Pointer, unsafe.Pointer, int, int, ref.Conv2D, int, int) bool {
	return false
}
