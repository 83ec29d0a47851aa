package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/impl/cpu"
)

// TestQFusedStore compares the kernels with the requantizing store fused
// (qkern.kernRQ) against the separate finisher and the scalar Requantize:
// every row tail of the 14-row kernel, column counts around the 16- and
// 32-column tiles (whole-vector tiles fused, the rest finished as before),
// unsigned and signed A and outputs, zero points of A (column addends)
// and B (row addends), bias, Relu and Clamp
// bounds, per-row scales that saturate some rows.
func TestQFusedStore(t *testing.T) {
	if qkernelFor(cpu.Current()).kernRQ == nil {
		t.Skip("no fused kernels at this level")
	}
	rng := rand.New(rand.NewPCG(7, 9))
	for _, m := range []int{1, 2, 3, 5, 7, 8, 13, 14, 15, 16, 20, 27, 28, 29, 43} {
		for _, n := range []int{1, 5, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 96, 100} {
			for _, k := range []int{1, 4, 9, 64, 147} {
				c := fusedCase{m: m, n: n, k: k, signedA: rng.IntN(2) == 0, signedOut: rng.IntN(2) == 0,
					zb: int32(rng.IntN(256)), za: int32(rng.IntN(256)) * int32(rng.IntN(2)), bias: rng.IntN(2) == 0, relu: rng.IntN(2) == 0, clamp: rng.IntN(3) == 0,
					zp: int32(rng.IntN(256)), padC: rng.IntN(3) * 7}
				name := fmt.Sprintf("%dx%dx%d", m, n, k)
				if c.signedA {
					fusedRun[int8](t, rng, name, c)
				} else {
					fusedRun[uint8](t, rng, name, c)
				}
			}
		}
	}
}

type fusedCase struct {
	m, n, k            int
	signedA, signedOut bool
	zb, za             int32
	bias, relu, clamp  bool
	zp                 int32
	padC               int
}

func fusedRun[TA Int8](t *testing.T, rng *rand.Rand, name string, c fusedCase) {
	if c.signedOut {
		c.zp -= 128
		fusedRunOut[TA, int8](t, rng, name, c)
	} else {
		fusedRunOut[TA, uint8](t, rng, name, c)
	}
}

func fusedRunOut[TA Int8, TC ~uint8 | ~int8](t *testing.T, rng *rand.Rand, name string, c fusedCase) {
	t.Helper()
	m, n, k := c.m, c.n, c.k
	ldc := n + c.padC
	a := randInt8s[TA](rng, m*k)
	b := randInt8s[uint8](rng, k*n)
	pa := PackQA(false, m, k, a, k, []int32{int32(TA(c.za))})
	ep := QEpilogue{PerRow: true, ZeroPoint: c.zp, Relu: c.relu}
	if c.clamp {
		ep.Clamp, ep.Lo, ep.Hi = true, c.zp-20, c.zp+60
	}
	if c.bias {
		ep.Bias = make([]int32, m)
		for i := range ep.Bias {
			ep.Bias[i] = int32(rng.IntN(40001) - 20000)
		}
	}
	ep.Scale = make([]float32, m)
	for i := range ep.Scale {
		ep.Scale[i] = float32(rng.Float64()*0.004 + 0.0002)
		if i%5 == 3 {
			ep.Scale[i] *= 20 // saturates most of the row
		}
	}
	zb := []int32{c.zb}
	// Exact accumulators (bias included) for the scalar reference.
	acc := make([]int32, m*n)
	QGemmPackedAThreads(1, pa, n, b, n, zb, acc, n, QEpilogue{PerRow: true, Bias: ep.Bias})
	outs := make([][]TC, 2)
	for v, on := range []bool{true, false} {
		prev := SetQFusedStore(on)
		outs[v] = make([]TC, (m-1)*ldc+n)
		for i := range outs[v] {
			outs[v][i] = 0x5a
		}
		QGemmPackedAThreads(1, pa, n, b, n, zb, outs[v], ldc, ep)
		SetQFusedStore(prev)
	}
	_, lo, hi := outRange[TC](&ep)
	bad := 0
	for i := 0; i < m; i++ {
		for j := 0; j < ldc && i*ldc+j < len(outs[0]); j++ {
			f, u := outs[0][i*ldc+j], outs[1][i*ldc+j]
			want := TC(0x5a)
			if j < n {
				want = TC(Requantize(acc[i*n+j], ep.Scale[i], c.zp, lo, hi))
			}
			if f != u || f != want {
				if bad < 5 {
					t.Errorf("%s %+v: [%d][%d] fused %d, unfused %d, want %d", name, c, i, j, f, u, want)
				}
				bad++
			}
		}
	}
}
