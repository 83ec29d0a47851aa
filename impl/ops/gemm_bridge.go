package ops

import "github.com/frugal-ml/frugal/impl/ref"

// sgemm is the FP32 GEMM every dense op calls. It starts as the reference
// kernel; the fast blocked SIMD GEMM replaces it when linked in.
var sgemm = ref.Sgemm
