package depthwise

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/impl/cpu"
)

// q8Case builds a random 8-bit depthwise convolution.
func q8Case(r *rand.Rand, c, h, w int, p Params, signed bool, zx int32, zw int32, bias bool) (*Q8, []byte) {
	wq := make([]int32, c*p.KH*p.KW)
	for i := range wq {
		// w - zw within int8: w drawn so that w - zw stays in range.
		wq[i] = int32(r.IntN(256)-128) - zw
		wq[i] = max(-128, min(127, wq[i]))
	}
	wts, ok := PackQ8(wq, c, p.KH, p.KW)
	if !ok {
		panic("PackQ8 refused int8 weights")
	}
	q := &Q8{P: p, H: h, W: w, Signed: signed, ZX: zx, Wts: wts, Mult: make([]float32, c), ZY: int32(r.IntN(40)), Lo: 0, Hi: 255}
	if signed {
		q.ZY, q.Lo, q.Hi = int32(r.IntN(40)-20), -128, 127
	}
	if r.IntN(3) == 0 { // a Relu6-like range
		q.Lo, q.Hi = q.ZY, q.ZY+int32(r.IntN(100))
		q.Hi = min(q.Hi, 127)
	}
	for i := range q.Mult {
		q.Mult[i] = 1e-4 + 3e-3*r.Float32()
	}
	if bias {
		q.Bias = make([]int32, c)
		for i := range q.Bias {
			q.Bias[i] = int32(r.IntN(40000) - 20000)
		}
		if r.IntN(4) == 0 {
			q.Bias[0] = 1<<31 - 1 // wraps in int32 on both sides
		}
	}
	x := make([]byte, c*h*w)
	for i := range x {
		x[i] = byte(r.IntN(256))
	}
	return q, x
}

// TestQ8 checks Run (the assembly where available) against q8Go, byte for
// byte, over sizes with and without vector tails, strides, asymmetric
// paddings, KW 1..4, int8 and uint8 inputs; guard bytes catch writes past
// the output.
func TestQ8(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	sizes := []int{1, 2, 3, 7, 14, 16, 17, 31, 33, 56, 63, 64, 65, 112, 129}
	n, native := 0, 0
	forLevels(t, func(t *testing.T, l cpu.Level) {
		for iter := 0; iter < 400; iter++ {
			h, w := sizes[r.IntN(len(sizes))], sizes[r.IntN(len(sizes))]
			if h*w > 64*64 && iter%4 != 0 {
				continue
			}
			p := Params{KH: 3, KW: 3, SH: 1 + r.IntN(2), DH: 1}
			p.SW = p.SH
			if iter%5 == 0 {
				p.KW = 1 + r.IntN(4)
				p.SW = 1 + r.IntN(2)
			}
			if iter%17 == 0 {
				p.DH = 2
			}
			p = withPad(p, pads[r.IntN(len(pads))])
			oh, ow := Out(p, h, w)
			if oh == 0 || ow == 0 {
				continue
			}
			c := 1 + r.IntN(5)
			signed := r.IntN(2) == 0
			zx := []int32{0, 128, int32(r.IntN(256))}[r.IntN(3)]
			if signed {
				zx -= 128
			}
			q, x := q8Case(r, c, h, w, p, signed, zx, int32(r.IntN(3)-1)*int32(r.IntN(20)), r.IntN(3) != 0)
			const guard = 64
			got := make([]byte, c*oh*ow+guard)
			for i := range got {
				got[i] = 0xa5
			}
			want := make([]byte, c*oh*ow)
			// Channels [1, c) of the bank: the kernel must index weights,
			// bias and multipliers from c0.
			c0 := 0
			if c > 1 && iter%3 == 0 {
				c0 = 1
			}
			xs := x[c0*h*w:]
			if q.Native() {
				native++
			}
			q.Run(xs, c0, c, got)
			q8Go(q, norm(p), oh, ow, xs, c0, c, want)
			nn := (c - c0) * oh * ow
			for i := 0; i < nn; i++ {
				if got[i] != want[i] {
					t.Fatalf("%v h %d w %d c [%d,%d) signed %v zx %d: out[%d] (plane %d, y %d x %d) = %d want %d",
						p, h, w, c0, c, signed, zx, i, i/(oh*ow), i%(oh*ow)/ow, i%ow, got[i], want[i])
				}
			}
			for i := nn; i < len(got); i++ {
				if got[i] != 0xa5 {
					t.Fatalf("%v h %d w %d: wrote past the output at %d", p, h, w, i-nn)
				}
			}
			n++
		}
	})
	t.Logf("%d cases, %d on the assembly kernel", n, native)
}

func TestPackQ8(t *testing.T) {
	if _, ok := PackQ8([]int32{1, 2, 128}, 1, 1, 3); ok {
		t.Fatal("w' = 128 accepted")
	}
	if _, ok := PackQ8([]int32{1, -129, 0}, 1, 1, 3); ok {
		t.Fatal("w' = -129 accepted")
	}
	if _, ok := PackQ8(make([]int32, 5), 1, 1, 5); ok {
		t.Fatal("KW 5 accepted")
	}
	q, ok := PackQ8([]int32{-128, 127, 5, -1, 0, 3}, 1, 2, 3)
	if !ok || q.sums[0] != 6 || uint32(q.rows[0]) != 0x00057f80 || uint32(q.rows[1]) != 0x000300ff {
		t.Fatalf("PackQ8: %v %+v", ok, q)
	}
}

// BenchmarkQ8 runs MobileNetV2's depthwise shapes (uint8, 3x3, pads 1) on
// one goroutine: the kernel at the current level.
func BenchmarkQ8(b *testing.B) {
	for _, s := range q8Shapes {
		r := rand.New(rand.NewPCG(1, 2))
		p := Params{KH: 3, KW: 3, SH: s.stride, SW: s.stride, PT: 1, PL: 1, PB: 1, PR: 1}
		q, x := q8Case(r, s.c, s.hw, s.hw, p, false, 128, 0, true)
		oh, ow := Out(p, s.hw, s.hw)
		out := make([]byte, s.c*oh*ow)
		b.Run(fmt.Sprintf("%dx%d_s%d", s.c, s.hw, s.stride), func(b *testing.B) {
			for b.Loop() {
				q.Run(x, 0, s.c, out)
			}
		})
	}
}

var q8Shapes = []struct{ c, hw, stride int }{
	{32, 112, 1}, {96, 112, 2}, {144, 56, 1}, {144, 56, 2}, {192, 28, 1},
	{192, 28, 2}, {384, 14, 1}, {576, 14, 1}, {576, 14, 2}, {960, 7, 1},
}
