// Package x448check cross-checks frugal's fp16 conversions against
// github.com/x448/float16. It is a separate module because the main
// module's go.mod does not (yet) require x448/float16; run it with
//
//	cd arith/internal/x448check && go test ./...
//
// Once the dependency is in the main go.mod this test can move beside
// arith/minifloat and this module can be deleted.
package x448check
