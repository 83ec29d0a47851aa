//go:build amd64 && !purego

package cpu

const purego = false

// Implemented in cpu_amd64.s.
func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
func xgetbv() (eax, edx uint32)

func bit(v uint32, n uint) bool { return v>>n&1 == 1 }

func detect() Features {
	var f Features
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 1 {
		return f
	}
	_, _, ecx1, _ := cpuid(1, 0)
	f.FMA = bit(ecx1, 12)
	osxsave := bit(ecx1, 27)
	f.AVX = bit(ecx1, 28)
	f.F16C = bit(ecx1, 29)
	if osxsave {
		xcr0, _ := xgetbv()
		f.OSAVX = xcr0&0x6 == 0x6      // XMM and YMM state
		f.OSAVX512 = xcr0&0xe6 == 0xe6 // + opmask, ZMM0-15 upper halves, ZMM16-31
	}
	if !f.OSAVX {
		f.AVX, f.FMA, f.F16C = false, false, false
	}
	if maxID >= 7 {
		_, ebx7, ecx7, _ := cpuid(7, 0)
		f.AVX2 = bit(ebx7, 5) && f.OSAVX
		if f.OSAVX512 {
			f.AVX512F = bit(ebx7, 16)
			f.AVX512DQ = bit(ebx7, 17)
			f.AVX512BW = bit(ebx7, 30)
			f.AVX512VL = bit(ebx7, 31)
			f.AVX512VNNI = bit(ecx7, 11) && f.AVX512F
			f.AVX512VBMI = bit(ecx7, 1) && f.AVX512F
		}
		eax71, _, _, _ := cpuid(7, 1)
		f.AVXVNNI = bit(eax71, 4) && f.OSAVX
		f.AVX512BF16 = bit(eax71, 5) && f.AVX512F && f.OSAVX512
	}
	f.hwLevel = levelOf(f)
	return f
}
