//go:build amd64 && !purego

package depthwise

import "github.com/frugal-ml/frugal/impl/cpu"

// hwcFast reports whether ConvHWC's AVX-512 kernel runs for c channels.
func hwcFast(c int) bool { return cpu.Current() >= cpu.AVX512 && c%16 == 0 }

// hwcAVX512 computes c channels (c % 16 == 0) of npix output pixels ostep
// bytes apart at out,
// consecutive, whose inputs are xstep bytes apart: out = clamp(bias (nil:
// zero) + sum over the n taps of x[xoff+ch] * w[woff+ch]), taps holding n
// (xoff, woff) byte-offset pairs for the first pixel, in summation order.
//
//go:noescape
func hwcAVX512(x, w *float32, taps *int, n, c int, bias *float32, lo, hi float32, out *float32, npix, xstep, ostep int)
