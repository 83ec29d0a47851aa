//go:build amd64 && !purego

#include "textflag.h"

// func reluAVX512(dst, src *float32, n int)
//
// dst[i] = max(src[i], 0) for n a multiple of 16. VMAXPS returns its
// second (Intel) source when either is NaN, so src goes there: a NaN stays
// NaN, as with Go's max.
TEXT ·reluAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VXORPS Z0, Z0, Z0
	SHRQ $4, CX
	JZ   done
loop:
	VMOVUPS (SI), Z1
	VMAXPS Z1, Z0, Z1
	VMOVUPS Z1, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  loop
done:
	VZEROUPPER
	RET
