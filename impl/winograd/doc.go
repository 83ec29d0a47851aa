// Package winograd computes 3x3, stride-1, dilation-1, groups-1
// convolutions (NCHW float32, any padding, any batch) with Winograd's
// minimal filtering algorithm, F(4x4,3x3) or F(2x2,3x3) (Lavin & Gray,
// "Fast Algorithms for Convolutional Neural Networks", 2016), on frugal's
// SGEMM.
//
// # API
//
//	wt := TransformWeights(w, cout, cin, F4)  // once, at model load: U = G g G^T, prepacked
//	Conv(threads, x, n, h, w, padT, padL, padB, padR, wt, Epilogue{Bias: b, Act: gemm.ActRelu}, out)
//	ok, tile := Pays(cin, cout, oh, ow)      // the measured selection rule
//	WorkspaceBytes(threads, n, h, w, pads..., wt)  // scratch a call takes from the pool
//
// out is [n][cout][h+padT+padB-2][w+padL+padR-2]; bias, ReLU, ReLU6 and
// Clip are fused into the output transform (NaN propagates through the
// clamps, as in gemm's epilogues). Only the output's values are written.
//
// # Algorithm
//
// With m the output tile (4 or 2) and a = m+2 the input tile, each a x a
// input tile d (tiles overlap by 2) gives the m x m outputs
// Y = A^T [ U .* (B^T d B) ] A summed over input channels, U = G g G^T per
// filter. Summing over channels turns the a^2 elementwise products into a^2
// independent GEMMs, one per transform position p:
//
//	M_p[tile][co] = sum_ci V_p[tile][ci] * U_p[ci][co]     (tiles x cin) x (cin x cout)
//
// F4 needs 36/16 = 2.25 multiplies per output and input channel where
// direct convolution needs 9 (4x fewer); F2 needs 16/4 = 4 (2.25x fewer).
//
// A call runs four stages:
//
//  1. repack: the input is copied (zero padded, whole tiles plus the
//     2-pixel halo) into blocks of 8 interleaved channels,
//     xp[img][cin/8][hp][wp][8] (AVX2 8x8 register transposes);
//  2. input transform B^T d B, 8 or 16 channels per vector instruction,
//     written as rows of V_p (tiles x cin, row length cin rounded up to 8);
//  3. the GEMMs: gemm.SgemmPacked reads V_p in place (no packing of the
//     left operand) against U_p^T prepacked by TransformWeights in column
//     chunks of 64 output channels;
//  4. output transform A^T m A with bias and activation, ending in a
//     register transpose that stores 4 (F4) or 2 (F2) pixels of each
//     channel straight into the NCHW output; edge tiles and a partial last
//     channel block go through a small buffer, so only valid outputs are
//     written.
//
// The transforms are AVX2+FMA assembly (transform_amd64.s) and AVX-512
// (transform512_amd64.s: one zmm = two 8-channel blocks), with the pure-Go
// specification in transform.go used under the purego tag, FRUGAL_NOASM=1
// or on other architectures; cpu.Force selects any level in tests.
//
// # Threads
//
// gemm.Parallel spreads the stages over threads (its warm helper pool).
// Mode Blocks gives each thread whole blocks of up to 56 tiles and runs all
// four stages on them with single-threaded GEMMs (scratch stays in cache,
// no barriers); Phases runs each stage over all tiles of a chunk with a
// barrier in between, either letting gemm thread each position's product
// (Phases) or splitting (position, 64-channel chunk, rows) units across the
// threads (PhasesSplit). Auto picks Blocks when the transformed weights are
// at most 3 MB and there are at least two blocks per thread, else
// PhasesSplit (large weights are then read once per chunk instead of once
// per block). At batch 1 Phases and PhasesSplit measured within 15% of each
// other with no consistent winner (README.md); PhasesSplit honours the
// threads argument and never nests gemm's threads. Problems under 2^20
// multiply-adds run on one thread.
//
// # Memory
//
// Weights.Bytes: (m+2)^2 x cin x cout floats (cout padded to 32 per chunk),
// i.e. 4x the filters for F4 and 1.78x for F2. Scratch (WorkspaceBytes,
// pooled): the padded input of an image group plus, per thread (Blocks) or
// per chunk (Phases), (m+2)^2 x tiles x (cin + cout) floats; groups and
// chunks are capped at 4 Mi floats (16 MB) each, so large batches are
// processed in pieces. At batch 1 with 2 threads: 64->64 @ 56x56 F4 takes
// 2.9 MB (0.86 MB padded input, 1.04 MB per thread), 128->128 @ 28x28 F4
// 2.5 MB, 256->256 @ 14x14 F2 2.1 MB, 512->512 @ 7x7 F2 3.9 MB.
//
// # Accuracy
//
// F4's transforms have entries up to 5 (B^T) and 8 (A^T), so rounding in
// the transformed domain is amplified. Against a float64 reference
// (TestErrorTable, cin = 3..512, 14x14): max |error| / max |output| is up
// to 1.5e-5 for F4, 8e-7 for F2 and 2e-6 for the float32 direct loop
// (ref.ConvDirect) on zero-mean data; on post-ReLU-like data (x >= 0,
// sums that do not cancel) all three stay within 4e-6 relative. F2 is as
// accurate as direct convolution; F4 loses about 3 bits on zero-mean data.
// The tests bound |error| by (5e-6 (F4) or 5e-7 (F2) + sqrt(9 cin) eps)
// times sum_ci max|x over the tile| * sum|w|.
package winograd
