package winograd

// Pays reports whether Winograd (Conv, Auto mode) is expected to beat
// im2col + SGEMM for a 3x3, stride-1, dilation-1, groups-1 convolution with
// cin input channels, cout output channels and an h x w output (the input
// size for padding 1), at batch 1 with 2 threads, and which tile to use.
// Larger batches only help Winograd (more tiles share the transformed
// weights), so the rule is conservative for them.
//
// The rule, read off the measurements below:
//
//   - cin >= 8: with fewer input channels the products have depth < 8, so
//     the transformed products (36/16 values per output for F4, 4 for F2)
//     and their inverse transform cost more than the whole im2col GEMM
//     (3->64 at 56x56: 0.7-0.9x; 4->64: 1.4x at 56x56 but 0.8x at 224x224).
//   - cin*cout*9*h*w >= 2^17 multiply-adds: below that the fixed cost of a
//     call (padding, three parallel phases, 16-36 GEMM calls) wins over the
//     saved arithmetic (16->16 at 7x7 ties).
//   - F(4x4,3x3) when the output has at least 400 pixels and both sides are
//     >= 4; otherwise F(2x2,3x3): with few tiles F4 pads more (a 14x14
//     output is 16 F4 tiles covering 16x16), its GEMMs have fewer rows, and
//     its weights are 4x the filters (F2: 1.78x), which dominates at 7x7 and
//     14x14 with 256-512 channels. One-row outputs (1 x w) use F2 (F4 pads
//     them 4x and measured 0.7x im2col).
//
// Measured (WINOGRAD_TABLE=1 go test -run MeasureTable -v in this
// directory; batch 1, padding 1, bias + ReLU fused, 2 threads, AVX-512,
// minimum of 12 interleaved rounds on a machine shared with other jobs;
// ratio = im2col time / Winograd time, > 1: Winograd is faster; * = the
// choice of Pays; "cold" = single runs after evicting the caches):
//
//	cin->cout @ output      im2col    F4      F2
//	64->64    @ 56x56       1.9 ms   4.4x*   3.0x
//	128->128  @ 28x28       1.4 ms   3.1x*   2.6x
//	256->256  @ 14x14       1.3 ms   2.2x    2.0x*   cold: 1.8x  2.2x*
//	512->512  @ 7x7         1.6 ms   1.0x    1.3x*   cold: 1.2x  1.5x*
//	3->64     @ 224x224     1.8 ms   0.8x    0.6x    (no: cin < 8)
//	16->16    @ 28x28       124 us   7.7x*   4.7x
//	8->64     @ 224x224     5.4 ms   2.1x*   1.5x
//	64->64    @ 1x56        75 us    1.2x    1.5x*
//	8->8      @ 14x14       9 us     1.1x    1.6x    (no: < 2^17 MACs)
//	16->16    @ 7x7         7 us     1.0x    1.3x    (no: < 2^17 MACs)
//
// README.md has the full grid (8..512 channels, 7..224 pixels).
func Pays(cin, cout, h, w int) (ok bool, tile Tile) {
	if cin < 8 || cout < 1 || h < 1 || w < 1 {
		return false, 0
	}
	if float64(cin)*float64(cout)*9*float64(h)*float64(w) < 1<<17 {
		return false, 0
	}
	if h*w >= 400 && min(h, w) >= 4 {
		return true, F4
	}
	return true, F2
}
