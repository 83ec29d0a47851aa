//go:build amd64 && !purego

package cpu

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
func xgetbv() (eax, edx uint32)

func init() {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 1 {
		return
	}
	_, _, ecx1, _ := cpuid(1, 0)
	osxsave := ecx1&(1<<27) != 0
	if !osxsave {
		return
	}
	xcr0, _ := xgetbv()
	osAVX := xcr0&0x6 == 0x6
	osAVX512 := osAVX && xcr0&0xe0 == 0xe0
	AVX = osAVX && ecx1&(1<<28) != 0
	FMA = AVX && ecx1&(1<<12) != 0
	F16C = AVX && ecx1&(1<<29) != 0
	if maxID < 7 {
		return
	}
	_, ebx7, _, _ := cpuid(7, 0)
	AVX2 = AVX && ebx7&(1<<5) != 0
	AVX512F = osAVX512 && ebx7&(1<<16) != 0
	AVX512BW = AVX512F && ebx7&(1<<30) != 0
	AVX512VL = AVX512F && ebx7&(1<<31) != 0
	eax71, _, _, _ := cpuid(7, 1)
	AVX512BF16 = AVX512F && eax71&(1<<5) != 0
}
