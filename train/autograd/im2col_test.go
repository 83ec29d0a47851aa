package autograd

import (
	"testing"

	"github.com/frugal-ml/frugal/impl/ref"
)

func TestIm2ColMatchesRef(t *testing.T) {
	b := newGB(7)
	for _, c := range []struct {
		h, w int
		p    ref.Conv2D
	}{
		{5, 5, ref.Conv2D{KH: 3, KW: 3, SH: 1, SW: 1, PT: 1, PL: 1, PB: 1, PR: 1, DH: 1, DW: 1}},
		{7, 6, ref.Conv2D{KH: 2, KW: 3, SH: 2, SW: 1, PT: 1, PL: 0, PB: 0, PR: 2, DH: 2, DW: 1}},
		{6, 9, ref.Conv2D{KH: 3, KW: 3, SH: 2, SW: 3, PT: 2, PL: 2, PB: 1, PR: 2, DH: 1, DW: 2}},
		{4, 4, ref.Conv2D{KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1}},
		{3, 3, ref.Conv2D{KH: 5, KW: 5, SH: 1, SW: 1, PT: 2, PL: 2, PB: 2, PR: 2, DH: 1, DW: 1}},
		{1, 9, ref.Conv2D{KH: 1, KW: 4, SH: 1, SW: 2, PL: 3, PR: 1, DH: 1, DW: 3}},
	} {
		const ch = 2
		oh, ow := c.p.Out(c.h, c.w)
		x := b.randT(ch * c.h * c.w).F32()
		n := ch * c.p.KH * c.p.KW * oh * ow
		a, r := make([]float32, n), make([]float32, n)
		for i := range a {
			a[i] = 99 // must be overwritten
		}
		im2col(x, ch, c.h, c.w, c.p, a)
		ref.Im2Col(x, ch, c.h, c.w, c.p, r)
		for i := range a {
			if a[i] != r[i] {
				t.Fatalf("%+v: im2col[%d] = %v, ref %v", c, i, a[i], r[i])
			}
		}
		col := b.randT(n).F32()
		d1, d2 := b.randT(ch*c.h*c.w).F32(), make([]float32, ch*c.h*c.w)
		copy(d2, d1)
		col2im(col, ch, c.h, c.w, c.p, d1)
		ref.Col2Im(col, ch, c.h, c.w, c.p, d2)
		for i := range d1 {
			if d := d1[i] - d2[i]; d > 1e-6 || d < -1e-6 {
				t.Fatalf("%+v: col2im[%d] = %v, ref %v", c, i, d1[i], d2[i])
			}
		}
	}
}
