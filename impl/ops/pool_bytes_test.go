package ops

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/impl/ref"
)

func TestMaxBytes8(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		a, b := rng.Uint64(), rng.Uint64()
		if i%3 == 0 {
			b = a ^ (rng.Uint64() & 0x0101010101010101) // near-equal bytes
		}
		got := maxBytes8(a, b)
		for k := 0; k < 8; k++ {
			x, y := byte(a>>(8*k)), byte(b>>(8*k))
			if g := byte(got >> (8 * k)); g != max(x, y) {
				t.Fatalf("max(%#x, %#x) byte %d = %d, want %d", a, b, k, g, max(x, y))
			}
		}
	}
}

// The byte pool must equal the float plane kernel on every window it takes.
func TestMaxPoolBytesMatchesFloat(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	geoms := []ref.Conv2D{
		{KH: 3, KW: 3, SH: 2, SW: 2, PT: 1, PL: 1, PB: 1, PR: 1, DH: 1, DW: 1},
		{KH: 3, KW: 3, SH: 1, SW: 1, PT: 1, PL: 1, PB: 1, PR: 1, DH: 1, DW: 1},
		{KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1},
		{KH: 3, KW: 3, SH: 2, SW: 2, PT: 0, PL: 1, PB: 2, PR: 2, DH: 2, DW: 1},
	}
	for _, p := range geoms {
		for _, hw := range [][2]int{{1, 1}, {5, 7}, {16, 16}, {23, 30}, {112, 112}} {
			h, w := hw[0], hw[1]
			oh := (h+p.PT+p.PB-(p.KH-1)*p.DH-1)/p.SH + 1
			ow := (w+p.PL+p.PR-(p.KW-1)*p.DW-1)/p.SW + 1
			if oh <= 0 || ow <= 0 || !bytePoolFits(p) {
				continue
			}
			for _, signed := range []bool{false, true} {
				t.Run(fmt.Sprintf("%v/%dx%d/signed=%v", p, h, w, signed), func(t *testing.T) {
					x := make([]byte, h*w)
					xf := make([]float32, h*w)
					for i := range x {
						x[i] = byte(rng.IntN(256))
						if i%5 == 0 {
							x[i] = 0x80 // the most negative int8 and the sign boundary
						}
						if signed {
							xf[i] = float32(int8(x[i]))
						} else {
							xf[i] = float32(x[i])
						}
					}
					want := make([]float32, oh*ow)
					maxPoolPlane(xf, h, w, p, oh, ow, want, make([]float32, w))
					got := make([]byte, oh*ow)
					maxPoolBytes(x, h, w, p, oh, ow, signed, got, make([]byte, bytePoolScratch(w, ow)))
					for i, v := range got {
						g := float32(v)
						if signed {
							g = float32(int8(v))
						}
						if g != want[i] {
							t.Fatalf("output %d (%d, %d): %v, want %v", i, i/ow, i%ow, g, want[i])
						}
					}
				})
			}
		}
	}
}
