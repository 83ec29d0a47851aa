package autograd

import (
	"github.com/frugal-ml/frugal/impl/gemm"
	"github.com/frugal-ml/frugal/impl/ref"
)

// mm is the GEMM of the Conv, Gemm and MatMul kernels: Sgemm, or with bf16
// set (BuildInfo.BF16) gemm.SgemmBF16 — op(A) and op(B) rounded to
// bfloat16, products summed in float32, on AVX512_BF16's VDPBF16PS where the
// CPU has it. alpha != 1 keeps the fp32 GEMM (SgemmBF16 has no alpha).
func mm(bf16, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if bf16 && alpha == 1 {
		gemm.SgemmBF16(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, gemm.Epilogue{Beta: beta})
		return
	}
	Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// sgemmGo is the pure-Go GEMM used until a faster one is assigned to Sgemm:
// ref.Sgemm, except that C = A*B^T (the shape of every fully connected
// forward and every weight gradient of a convolution) runs as contiguous dot
// products, four columns at a time, instead of strided loads.
func sgemmGo(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if !transB || transA || k == 0 {
		ref.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	for i := 0; i < m; i++ {
		ai := a[i*lda : i*lda+k]
		ci := c[i*ldc : i*ldc+n]
		j := 0
		for ; j+4 <= n; j += 4 {
			b0 := b[j*ldb : j*ldb+k]
			b1 := b[(j+1)*ldb : (j+1)*ldb+k]
			b2 := b[(j+2)*ldb : (j+2)*ldb+k]
			b3 := b[(j+3)*ldb : (j+3)*ldb+k]
			var s0, s1, s2, s3 float32
			for p, av := range ai {
				s0 += av * b0[p]
				s1 += av * b1[p]
				s2 += av * b2[p]
				s3 += av * b3[p]
			}
			store(ci[j:j+4], alpha, beta, s0, s1, s2, s3)
		}
		for ; j < n; j++ {
			bj := b[j*ldb : j*ldb+k]
			var s float32
			for p, av := range ai {
				s += av * bj[p]
			}
			if beta == 0 {
				ci[j] = alpha * s
			} else {
				ci[j] = alpha*s + beta*ci[j]
			}
		}
	}
}

func store(c []float32, alpha, beta float32, s0, s1, s2, s3 float32) {
	c = c[:4]
	if beta == 0 {
		c[0], c[1], c[2], c[3] = alpha*s0, alpha*s1, alpha*s2, alpha*s3
		return
	}
	c[0] = alpha*s0 + beta*c[0]
	c[1] = alpha*s1 + beta*c[1]
	c[2] = alpha*s2 + beta*c[2]
	c[3] = alpha*s3 + beta*c[3]
}
