package gemm

import "unsafe"

// QGemmRef is the triple-loop specification of QGemm:
//
//	acc = sum_p (A[i][p] - za[i]) * (B[p][j] - zb[j]) + bias   (int32, wrapping)
//	int32 C:      C[i][j] = acc
//	uint8/int8 C: C[i][j] = Requantize(acc, scale, ZeroPoint, lo, hi)
//
// with lo, hi the output type's range (lo raised to ZeroPoint under Relu).
func QGemmRef[TA, TB Int8, TC QOut](m, n, k int, a []TA, lda int, za []int32, b []TB, ldb int, zb []int32, c []TC, ldc int, ep QEpilogue) {
	requant, lo, hi := outRange[TC](&ep)
	pick := func(z []int32, i int) int32 {
		switch len(z) {
		case 0:
			return 0
		case 1:
			return z[0]
		}
		return z[i]
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var acc int32
			zai, zbj := pick(za, i), pick(zb, j)
			for p := 0; p < k; p++ {
				acc += (int32(a[i*lda+p]) - zai) * (int32(b[p*ldb+j]) - zbj)
			}
			ch := j
			if ep.PerRow {
				ch = i
			}
			if ep.Bias != nil {
				acc += ep.Bias[ch]
			}
			if !requant {
				c[i*ldc+j] = TC(acc)
				continue
			}
			s := ep.Scale[0]
			if len(ep.Scale) > 1 {
				s = ep.Scale[ch]
			}
			v := Requantize(acc, s, ep.ZeroPoint, lo, hi)
			if unsafe.Sizeof(c[0]) == 1 {
				*(*int8)(unsafe.Pointer(&c[i*ldc+j])) = int8(v)
			}
		}
	}
}
