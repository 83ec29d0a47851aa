package cpu

import "testing"

func TestConsistent(t *testing.T) {
	if AVX2 && !AVX || F16C && !AVX || AVX512BW && !AVX512F || AVX512BF16 && !AVX512F {
		t.Fatalf("inconsistent features: avx=%v avx2=%v f16c=%v avx512f=%v bw=%v bf16=%v", AVX, AVX2, F16C, AVX512F, AVX512BW, AVX512BF16)
	}
	t.Logf("avx=%v avx2=%v fma=%v f16c=%v avx512f=%v bw=%v vl=%v bf16=%v", AVX, AVX2, FMA, F16C, AVX512F, AVX512BW, AVX512VL, AVX512BF16)
}
