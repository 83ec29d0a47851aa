//go:build amd64 && !purego

#include "textflag.h"

// func sumRowsAVX512(dst, src *float32, rows, n int)
//
// dst[i] = sum of src[i*n : (i+1)*n], for GlobalAveragePool: two 16-lane
// accumulators over 32-float steps, one 16-float step, a dword-masked tail
// (masked loads read nothing past the row), then a horizontal sum.
TEXT ·sumRowsAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), R8
	MOVQ n+24(FP), DX
	// K1 = mask of the n % 16 tail lanes.
	MOVQ DX, CX
	ANDQ $15, CX
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	TESTQ R8, R8
	JZ done

row:
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	MOVQ DX, CX

loop32:
	CMPQ CX, $32
	JL   step16
	VADDPS (SI), Z0, Z0
	VADDPS 64(SI), Z1, Z1
	ADDQ $128, SI
	SUBQ $32, CX
	JMP  loop32

step16:
	CMPQ CX, $16
	JL   tail
	VADDPS (SI), Z0, Z0
	ADDQ $64, SI
	SUBQ $16, CX

tail:
	TESTQ CX, CX
	JZ    reduce
	VMOVUPS.Z (SI), K1, Z2
	VADDPS Z2, Z1, Z1
	LEAQ (SI)(CX*4), SI

reduce:
	VADDPS Z1, Z0, Z0
	VEXTRACTF32X8 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X1, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	VMOVSS X0, (DI)
	ADDQ $4, DI
	DECQ R8
	JNZ  row

done:
	VZEROUPPER
	RET
