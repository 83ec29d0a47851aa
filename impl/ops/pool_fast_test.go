package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/ref"
	"github.com/frugal-ml/frugal/tensor"
)

// TestMaxPoolPlaneMatchesRef sweeps windows, strides, pads, dilations and
// NaN inputs against the reference MaxPool.
func TestMaxPoolPlaneMatchesRef(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for it := 0; it < 2000; it++ {
		h, w := 1+r.IntN(20), 1+r.IntN(20)
		p := ref.Conv2D{KH: 1 + r.IntN(4), KW: 1 + r.IntN(4), SH: 1 + r.IntN(3), SW: 1 + r.IntN(3), DH: 1 + r.IntN(2), DW: 1 + r.IntN(2)}
		p.PT, p.PB, p.PL, p.PR = r.IntN(p.KH), r.IntN(p.KH), r.IntN(p.KW), r.IntN(p.KW)
		oh, ow := p.Out(h, w)
		if oh <= 0 || ow <= 0 {
			continue
		}
		x := make([]float32, h*w)
		for i := range x {
			x[i] = float32(r.NormFloat64())
			if r.IntN(50) == 0 {
				x[i] = float32(math.NaN())
			}
		}
		want := make([]float32, oh*ow)
		ref.MaxPool2D(x, h, w, p, oh, ow, want, nil)
		got := make([]float32, oh*ow+1)
		got[oh*ow] = 42
		maxPoolPlane(x, h, w, p, oh, ow, got[:oh*ow], make([]float32, w))
		if got[oh*ow] != 42 {
			t.Fatal("wrote past the output")
		}
		for i := range want {
			if got[i] != want[i] && !(got[i] != got[i] && want[i] != want[i]) {
				t.Fatalf("h %d w %d %+v: out[%d] = %g, want %g", h, w, p, i, got[i], want[i])
			}
		}
	}
}

// 8-bit MaxPool pools codes directly and must equal the float reference
// on the same values.
func TestMaxPoolInt8MatchesFloat(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, dt := range []tensor.DType{tensor.Uint8, tensor.Int8} {
		x := tensor.New(dt, 2, 3, 11, 9)
		xf := tensor.New(tensor.Float32, 2, 3, 11, 9)
		for i := range xf.F32() {
			v := r.IntN(256)
			if dt == tensor.Int8 {
				v -= 128
				x.I8()[i] = int8(v)
			} else {
				x.U8()[i] = uint8(v)
			}
			xf.F32()[i] = float32(v)
		}
		n := node("MaxPool", 1, graph.IntsAttr("kernel_shape", 3, 2), graph.IntsAttr("strides", 2, 2), graph.IntsAttr("pads", 1, 0, 1, 1))
		got := run(t, n, 13, x)[0].(*tensor.Tensor)
		want := run(t, n, 13, xf)[0].(*tensor.Tensor)
		if got.DType != dt || !tensor.SameShape(got.Shape, want.Shape) {
			t.Fatalf("%s: got %s%v, want %v", dt, got.DType, got.Shape, want.Shape)
		}
		for i, w := range want.F32() {
			if float32(got.Float64At(i)) != w {
				t.Fatalf("%s: out[%d] = %v, want %v", dt, i, got.Float64At(i), w)
			}
		}
	}
}

// BenchmarkMaxPoolPlane times ResNet's 3x3 stride-2 pool on one 112x112
// plane against the reference loop.
func BenchmarkMaxPoolPlane(b *testing.B) {
	p := ref.Conv2D{KH: 3, KW: 3, SH: 2, SW: 2, PT: 1, PL: 1, PB: 1, PR: 1, DH: 1, DW: 1}
	x := make([]float32, 112*112)
	for i := range x {
		x[i] = float32(i * 7919 % 251)
	}
	out := make([]float32, 56*56)
	b.Run("separable", func(b *testing.B) {
		tmp := make([]float32, 112)
		for range b.N {
			maxPoolPlane(x, 112, 112, p, 56, 56, out, tmp)
		}
	})
	b.Run("reference", func(b *testing.B) {
		for range b.N {
			ref.MaxPool2D(x, 112, 112, p, 56, 56, out, nil)
		}
	})
}
