package gemm

// SgemmRef is the plain triple-loop specification of Sgemm: for each
// C[i][j], a float32 dot product over k in order, then alpha*dot +
// beta*C[i][j] (beta == 0 does not read C; alpha == 0 does not read A or B).
func SgemmRef(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	SgemmEpRef(transA, transB, m, n, k, alpha, a, lda, b, ldb, c, ldc, Epilogue{Beta: beta})
}

// SgemmEpRef is the triple-loop specification of SgemmEp:
// C[i][j] = act(alpha*dot + Beta*C[i][j] + RowBias[i] + ColBias[j]).
func SgemmEpRef(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, ep Epilogue) {
	clampOn, lo, hi := ep.bounds()
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			if alpha != 0 {
				for p := 0; p < k; p++ {
					var av, bv float32
					if transA {
						av = a[p*lda+i]
					} else {
						av = a[i*lda+p]
					}
					if transB {
						bv = b[j*ldb+p]
					} else {
						bv = b[p*ldb+j]
					}
					s += av * bv
				}
			}
			v := alpha * s
			if ep.Beta != 0 {
				v += ep.Beta * c[i*ldc+j]
			}
			if ep.RowBias != nil {
				v += ep.RowBias[i]
			}
			if ep.ColBias != nil {
				v += ep.ColBias[j]
			}
			if clampOn {
				v = clamp(v, lo, hi)
			}
			c[i*ldc+j] = v
		}
	}
}
