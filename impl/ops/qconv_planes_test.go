package ops

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/frugal-ml/frugal/impl/ref"
)

// The assembly plane filler must write exactly what the Go rows write, for
// every phase of strides 1 and 2, widths around the 32- and 64-byte
// chunks, and any padding.
func TestFillPlaneAsmMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, hw := range [][2]int{{1, 1}, {2, 2}, {3, 5}, {4, 9}, {2, 15}, {3, 31}, {5, 32}, {4, 33}, {6, 63}, {7, 64}, {3, 65}, {9, 130}, {56, 56}, {17, 224}} {
		for _, s := range []int{1, 2} {
			for _, pad := range [][4]int{{0, 0, 0, 0}, {1, 1, 1, 1}, {3, 2, 0, 3}} {
				h, w := hw[0], hw[1]
				p := ref.Conv2D{KH: 3, KW: 3, SH: s, SW: s, PT: pad[0], PL: pad[1], PB: pad[2], PR: pad[3], DH: 1, DW: 1}
				oh := (h+p.PT+p.PB-3)/s + 1
				ow := (w+p.PL+p.PR-3)/s + 1
				if oh <= 0 || ow <= 0 {
					continue
				}
				g := ConvGeom{N: 1, Cin: 1, Cout: 1, Group: 1, H: h, W: w, OH: oh, OW: ow, P: p}
				l := newPlaneLayout(g, 4)
				x := make([]uint8, h*w)
				for i := range x {
					x[i] = uint8(rng.IntN(256))
				}
				for _, ph := range l.phases {
					t.Run(fmt.Sprintf("%dx%d/s%d/pad%v/ph%d", h, w, s, pad, ph), func(t *testing.T) {
						want := make([]uint8, l.plane)
						got := make([]uint8, l.plane+8)
						for i := range got {
							got[i] = 0xEE
						}
						planeAsm = false
						fillPlane(want, x, h, w, g, l, ph, 77)
						planeAsm = true
						fillPlane(got[:l.plane], x, h, w, g, l, ph, 77)
						if !slices.Equal(got[:l.plane], want) {
							t.Fatalf("asm plane differs from Go:\n got %v\nwant %v", got[:l.plane], want)
						}
						for _, v := range got[l.plane:] {
							if v != 0xEE {
								t.Fatal("wrote past the plane")
							}
						}
					})
				}
			}
		}
	}
}
