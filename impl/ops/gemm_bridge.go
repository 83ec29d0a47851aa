package ops

import "github.com/frugal-ml/frugal/impl/gemm"

// sgemm is the FP32 GEMM every dense op calls: the blocked SIMD GEMM of
// impl/gemm (AVX-512 / AVX2 micro-kernels, pure-Go fallback under the
// purego tag or FRUGAL_NOASM=1). impl/ref.Sgemm is its oracle.
var sgemm = gemm.Sgemm
