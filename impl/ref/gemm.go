package ref

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices, with
// op(X) = X or X^T. It is the plain-Go GEMM: loop order i-p-j so the inner
// loop streams rows of B and C. beta == 0 overwrites C (NaNs in C vanish).
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		if beta == 0 {
			for j := range ci {
				ci[j] = 0
			}
		} else if beta != 1 {
			for j := range ci {
				ci[j] *= beta
			}
		}
		for p := 0; p < k; p++ {
			var av float32
			if transA {
				av = a[p*lda+i]
			} else {
				av = a[i*lda+p]
			}
			av *= alpha
			if av == 0 {
				continue
			}
			if !transB {
				bp := b[p*ldb : p*ldb+n]
				for j, bv := range bp {
					ci[j] += av * bv
				}
			} else {
				for j := 0; j < n; j++ {
					ci[j] += av * b[j*ldb+p]
				}
			}
		}
	}
}
