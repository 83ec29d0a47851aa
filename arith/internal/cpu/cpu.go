// Package cpu reads the x86 features that arith's assembly kernels need,
// once, at start-up. It is a tiny local replacement for golang.org/x/sys/cpu
// (not a dependency of this module yet); it checks both CPUID and that the
// OS saves the wide registers (XGETBV), as that package does.
package cpu

// Features found on this CPU. All false on non-amd64 builds.
var (
	AVX, AVX2, FMA, F16C        bool
	AVX512F, AVX512BW, AVX512VL bool
	AVX512BF16                  bool
)
