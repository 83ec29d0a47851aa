package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// convOffsets returns the row offsets of a tap-major implicit im2col: for
// each of taps taps, channels evenly spaced by plane, shifted by the tap.
func convOffsets(rng *rand.Rand, taps, ch, plane int) []int {
	var off []int
	for t := 0; t < taps; t++ {
		shift := rng.IntN(plane / 4)
		for c := 0; c < ch; c++ {
			off = append(off, c*plane+shift)
		}
	}
	return off
}

func testOffsets[TA, TB Int8, TC QOut](t *testing.T, rng *rand.Rand, m, n int, rowOff []int, src []TB, za, zb []int32, threads int) {
	k := len(rowOff)
	a := randInt8s[TA](rng, m*k)
	pa := PackQA(false, m, k, a, k, za)
	// The same B, materialized.
	b := make([]TB, k*n)
	for p, o := range rowOff {
		copy(b[p*n:(p+1)*n], src[o:o+n])
	}
	ep := QEpilogue{Relu: true}
	if _, ok := any(TC(0)).(int32); !ok {
		ep.Scale = make([]float32, m)
		for i := range ep.Scale {
			ep.Scale[i] = 1 / float32(16+rng.IntN(400))
		}
		ep.PerRow, ep.ZeroPoint = true, 3
	}
	want := make([]TC, m*n)
	got := make([]TC, m*n)
	QGemmPackedAThreads(threads, pa, n, b, n, zb, want, n, ep)
	QGemmPackedAOffsets(threads, pa, n, src, rowOff, zb, got, n, ep)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("m %d n %d k %d: C[%d][%d] = %v, want %v", m, n, k, i/n, i%n, got[i], want[i])
		}
	}
}

func TestQGemmPackedAOffsets(t *testing.T) {
	oldMin := minMACsPerThread
	defer func() { minMACsPerThread = oldMin }()
	minMACsPerThread = 100
	forEachQLevel(t, func(t *testing.T, kn *qkern) {
		rng := rand.New(rand.NewPCG(7, uint64(kn.mr)))
		for _, sz := range [][4]int{{9, 64, 70, 1}, {20, 4, 33, 1}, {3, 9, 100, 2}, {kn.mr*3 + 2, 16, 3*kn.nr + 5, 2}, {7, 1, 31, 1}, {5, 3, 64, 1}} {
			taps, ch, m, threads := sz[0], sz[1], sz[2], sz[3]
			n := 2*kn.nr + 7
			plane := n + 40
			src8 := randInt8s[uint8](rng, ch*plane+plane)
			srcS := randInt8s[int8](rng, ch*plane+plane)
			name := fmt.Sprintf("taps%d/ch%d/m%d/t%d", taps, ch, m, threads)
			t.Run(name, func(t *testing.T) {
				off := convOffsets(rng, taps, ch, plane)
				testOffsets[int8, uint8, int32](t, rng, m, n, off, src8, nil, []int32{17}, threads)
				testOffsets[int8, uint8, uint8](t, rng, m, n, off, src8, []int32{2}, []int32{200}, threads)
				testOffsets[int8, int8, int8](t, rng, m, n, off, srcS, nil, []int32{-3}, threads)
				// Irregular offsets: no even runs at all.
				irr := make([]int, len(off))
				for i := range irr {
					irr[i] = rng.IntN(len(src8) - n)
				}
				testOffsets[uint8, uint8, int32](t, rng, m, n, irr, src8, []int32{5}, []int32{9}, threads)
			})
		}
	})
}

// Deep K (no K blocking in the int8 driver) with one or two column panels.
func TestQGemmDeepNarrow(t *testing.T) {
	forEachQLevel(t, func(t *testing.T, kn *qkern) {
		rng := rand.New(rand.NewPCG(9, uint64(kn.nr)))
		for _, n := range []int{kn.nr - 3, 2*kn.nr - 1} {
			c := qcase{m: 2*kn.mr + 3, n: n, k: 1300, padA: 1, padC: 2, zaKind: 1, zbKind: 1, biasKind: 2, relu: true}
			runQCase[uint8, int8, uint8](t, rng, c)
			runQCase[int8, uint8, int32](t, rng, c)
		}
	})
}

// TestQGemmColumnTail covers the column kernels (the cols%16 tail of a
// panel with the rows in the lanes): every tail width up to past colMax,
// every row count, K short, deep and not a multiple of 4 or of the
// kernels' group unroll, both flavours, prepacked and packed A.
func TestQGemmColumnTail(t *testing.T) {
	forEachQLevel(t, func(t *testing.T, kn *qkern) {
		if kn.kernCol == nil {
			t.Skip("no column kernels")
		}
		rng := rand.New(rand.NewPCG(11, 3))
		for _, k := range []int{1, 5, 29, 1301, 4610} {
			for tail := 1; tail <= kn.colMax+1; tail++ {
				for _, base := range []int{0, kn.vec, kn.nr, kn.nr + kn.vec} {
					m := 1 + rng.IntN(2*kn.mr+2)
					if k > 100 {
						m = kn.mr + tail + rng.IntN(kn.mr) // whole panels and a tail panel
					}
					c := qcase{m: m, n: base + tail, k: k, padA: rng.IntN(2), padB: rng.IntN(2), padC: 1,
						zaKind: rng.IntN(3), zbKind: rng.IntN(3), biasKind: rng.IntN(3), relu: rng.IntN(2) == 0}
					if !runQCase[int8, uint8, uint8](t, rng, c) || !runQCase[uint8, int8, int32](t, rng, c) {
						t.Fatalf("m %d n %d k %d", c.m, c.n, c.k)
					}
				}
			}
		}
	})
}

// testOffsetCols checks QGemmPackedAOffsetsCols (columns in rows of ow out
// of every wq) against QGemmPackedAThreads on the materialized B.
func testOffsetCols[TA, TB Int8, TC QOut](t *testing.T, rng *rand.Rand, m, n, ow, wq int, rowOff []int, src []TB, za, zb []int32, threads int) {
	t.Helper()
	k := len(rowOff)
	a := randInt8s[TA](rng, m*k)
	pa := PackQA(false, m, k, a, k, za)
	b := make([]TB, k*n)
	for p, o := range rowOff {
		for j := 0; j < n; j++ {
			b[p*n+j] = src[o+j/ow*wq+j%ow]
		}
	}
	ep := QEpilogue{Relu: true}
	if _, ok := any(TC(0)).(int32); !ok {
		ep.Scale = make([]float32, m)
		for i := range ep.Scale {
			ep.Scale[i] = 1 / float32(16+rng.IntN(400))
		}
		ep.PerRow, ep.ZeroPoint = true, 3
	}
	want := make([]TC, m*n)
	got := make([]TC, m*n)
	QGemmPackedAThreads(threads, pa, n, b, n, zb, want, n, ep)
	QGemmPackedAOffsetsCols(threads, pa, n, src, rowOff, ow, wq, zb, got, n, ep)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("m %d n %d k %d ow %d wq %d: C[%d][%d] = %v, want %v", m, n, k, ow, wq, i/n, i%n, got[i], want[i])
		}
	}
}

// The column map must pick exactly the output positions: output widths
// that do and do not divide a panel, one column per row, rows wider than a
// panel, extra columns from 1 to past the permute's 64-byte reach, short
// last panels, K not a multiple of 4, weight zero points (column sums),
// both signs, one and two threads, with and without the permuting packer.
func TestQGemmPackedAOffsetsCols(t *testing.T) {
	oldMin := minMACsPerThread
	defer func() { minMACsPerThread, noColPerm = oldMin, false }()
	minMACsPerThread = 100
	forEachQLevel(t, func(t *testing.T, kn *qkern) {
		rng := rand.New(rand.NewPCG(13, uint64(kn.mr)))
		for _, sz := range [][3]int{{1, 3, 40}, {7, 9, 7}, {13, 15, 13}, {14, 16, 14}, {28, 30, 28}, {28, 29, 28}, {56, 58, 56}, {56, 57, 10}, {7, 8, 7}, {5, 40, 9}, {33, 35, 33}, {3, 3, 5}, {2, 26, 30}, {112, 115, 3}} {
			ow, wq, oh := sz[0], sz[1], sz[2]
			n := ow * oh
			for _, perm := range []bool{true, false} {
				noColPerm = !perm
				for _, kt := range [][3]int{{9, 8, 1}, {9, 5, 2}, {1, 3, 1}, {4, 16, 2}} {
					taps, ch, threads := kt[0], kt[1], kt[2]
					m := 3*kn.mr + 2
					plane := (oh+3)*wq + 3
					name := fmt.Sprintf("ow%d/wq%d/oh%d/perm%v/taps%d/ch%d/t%d", ow, wq, oh, perm, taps, ch, threads)
					t.Run(name, func(t *testing.T) {
						var off []int
						for tp := 0; tp < taps; tp++ {
							shift := (tp/3)*wq + tp%3
							for c := 0; c < ch; c++ {
								off = append(off, c*plane+shift)
							}
						}
						// No slack past the last plane: the last panels
						// must not read past the buffer.
						src8 := randInt8s[uint8](rng, ch*plane)
						srcS := randInt8s[int8](rng, ch*plane)
						testOffsetCols[int8, uint8, int32](t, rng, m, n, ow, wq, off, src8, nil, []int32{17}, threads)
						testOffsetCols[int8, uint8, uint8](t, rng, m, n, ow, wq, off, src8, []int32{2}, []int32{200}, threads)
						testOffsetCols[int8, int8, int8](t, rng, m, n, ow, wq, off, srcS, nil, []int32{-3}, threads)
						testOffsetCols[uint8, int8, uint8](t, rng, m, n, ow, wq, off, srcS, []int32{7}, []int32{-9}, threads)
						// With slack: the permute reads whole 64 bytes.
						src8 = append(src8, randInt8s[uint8](rng, 64)...)
						testOffsetCols[int8, uint8, uint8](t, rng, m, n, ow, wq, off, src8, nil, []int32{128}, threads)
					})
				}
			}
		}
	})
}
