package ops

import (
	"fmt"
	"sync"

	"github.com/frugal-ml/frugal/impl/gemm"
	"github.com/frugal-ml/frugal/impl/winograd"
	"github.com/frugal-ml/frugal/tensor"
)

// Winograd convolution in the registry. A float32 Conv (or FusedConv) with
// constant 3x3 weights, stride 1, dilation 1 and one group gets the
// "winograd" implementation, which runs winograd.Conv with the tile
// winograd.Pays measured best for the output size, and the im2col-gemm
// kernel for sizes where Winograd does not pay (Pays' table is in
// impl/winograd/pays.go). Transformed weights are made once per tile, on
// first use, so a model only holds the forms it runs. When the input shape
// is known when the node is built and Pays says no, the implementation
// does not match at all and im2col-gemm is chosen directly.
//
// FRUGAL_DISABLE_IMPL=winograd turns it off.

func init() {
	for _, op := range []struct{ name, domain string }{{"Conv", ""}, {"FusedConv", FrugalDomain}} {
		Register(Impl{Op: op.name, Domain: op.domain, Name: "winograd", Priority: 5, DTypes: []tensor.DType{tensor.Float32},
			Match: winogradMatch, Build: buildWinogradConv})
	}
}

// winogradMatch accepts constant float32 3x3 stride-1 dilation-1 group-1
// 2-D convolutions whose input shape, when known, makes Winograd pay.
func winogradMatch(b *BuildInfo) bool {
	if len(b.Const) < 2 || b.Const[1] == nil || b.Const[1].DType != tensor.Float32 || b.InDType(0) != tensor.Float32 {
		return false
	}
	w := b.Const[1]
	if w.Rank() != 4 || w.Shape[2] != 3 || w.Shape[3] != 3 {
		return false
	}
	n := b.Node
	if g, _ := n.Int("group", 1); g != 1 {
		return false
	}
	for _, a := range []string{"strides", "dilations"} {
		v, err := n.Ints(a, nil)
		if err != nil {
			return false
		}
		for _, s := range v {
			if s != 1 {
				return false
			}
		}
	}
	if k, _ := n.Ints("kernel_shape", nil); len(k) != 0 && (len(k) != 2 || k[0] != 3 || k[1] != 3) {
		return false
	}
	if len(b.InTypes) > 0 {
		if xs, ok := b.InTypes[0].Known(); ok {
			if len(xs) != 4 || xs[1] != w.Shape[1] {
				return false
			}
			g, err := ResolveConv2D(n, xs, w.Shape)
			if err != nil {
				return false
			}
			ok, _ := winograd.Pays(g.Cin, g.Cout, g.OH, g.OW)
			return ok
		}
	}
	return true
}

func buildWinogradConv(b *BuildInfo) (Kernel, error) {
	act, err := ActivationFromNode(b.Node)
	if err != nil {
		return nil, err
	}
	n := b.Node
	if len(b.Const) < 2 || b.Const[1] == nil || b.Const[1].DType != tensor.Float32 || b.Const[1].Rank() != 4 {
		return nil, fmt.Errorf("winograd: needs constant float32 4-D weights")
	}
	w := b.Const[1]
	cout, cin := w.Shape[0], w.Shape[1]
	var (
		once [2]sync.Once
		wts  [2]*winograd.Weights
	)
	transformed := func(t winograd.Tile) *winograd.Weights {
		i := 0
		if t == winograd.F4 {
			i = 1
		}
		once[i].Do(func() { wts[i] = winograd.TransformWeights(w.F32(), cout, cin, t) })
		return wts[i]
	}
	// With the input shape known now, transform the weights for the tile
	// the runs will use here, not in the first Run.
	if len(b.InTypes) > 0 {
		if xs, ok := b.InTypes[0].Known(); ok && len(xs) == 4 {
			if g, err := ResolveConv2D(n, xs, w.Shape); err == nil {
				if ok, tile := winograd.Pays(g.Cin, g.Cout, g.OH, g.OW); ok {
					transformed(tile)
				}
			}
		}
	}
	// The im2col kernel serves the shapes Winograd does not pay for; it is
	// built (and packs its weights) on first use only.
	fallback := &lazyKernel{build: func() (Kernel, error) { return buildConv(b) }}
	gep := act.epilogue(nil)
	ep := winograd.Epilogue{Act: gep.Act, Min: gep.Min, Max: gep.Max}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 2)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		bias, err := Tensor(in, 2)
		if err != nil {
			return nil, err
		}
		z, err := Tensor(in, 3) // FusedConv's addend
		if err != nil {
			return nil, err
		}
		if ts[1] != w || x.DType != tensor.Float32 || x.Rank() != 4 || (bias != nil && bias.DType != tensor.Float32) {
			return fallback.Run(ctx, in)
		}
		g, err := ResolveConv2D(n, x.Shape, w.Shape)
		if err != nil {
			return nil, err
		}
		ok, tile := winograd.Pays(g.Cin, g.Cout, g.OH, g.OW)
		if !ok || g.P.SH != 1 || g.P.SW != 1 || g.P.DH != 1 || g.P.DW != 1 || g.Group != 1 {
			return fallback.Run(ctx, in)
		}
		if z != nil && (z.DType != tensor.Float32 || !tensor.SameShape(z.Shape, g.OutShape(4))) {
			return fallback.Run(ctx, in) // broadcasting addend
		}
		// A dying addend lends its storage (see buildConv); the transform
		// then writes a scratch buffer, added to Z in place.
		var out *tensor.Tensor
		if z != nil && !overlaps(x, z) {
			out = ctx.Output(tensor.Float32, g.OutShape(4), z)
		} else {
			out = ctx.Empty(tensor.Float32, g.OutShape(4)...)
		}
		e := ep
		if bias != nil {
			if bias.Len() != g.Cout {
				return nil, fmt.Errorf("bias has %d elements, want %d", bias.Len(), g.Cout)
			}
			e.Bias = bias.F32()
		}
		if z != nil {
			// act(conv + z): convolve without the clamp, then add and clamp
			// in one pass.
			e.Act = gemm.ActNone
		}
		if z != nil && sameStorage(out.F32(), z.F32()) {
			tmp := ctx.Float32s(out.Len())
			winograd.Conv(ctx.Threads, x.F32(), g.N, g.H, g.W, g.P.PT, g.P.PL, g.P.PB, g.P.PR, transformed(tile), e, tmp)
			addActivate(ctx.Threads, out.F32(), tmp, act)
			ctx.Release(tmp)
			return []Value{out}, nil
		}
		winograd.Conv(ctx.Threads, x.F32(), g.N, g.H, g.W, g.P.PT, g.P.PL, g.P.PB, g.P.PR, transformed(tile), e, out.F32())
		if z != nil {
			addActivate(ctx.Threads, out.F32(), z.F32(), act)
		}
		return []Value{out}, nil
	}), nil
}

// addActivate computes o = act(o + z) elementwise, in parallel chunks.
func addActivate(threads int, o, z []float32, act Activation) {
	z = z[:len(o)]
	lo, hi := act.bounds()
	Parallel(threads, (len(o)+16383)/16384, func(c0, c1 int) {
		oo, zz := o[c0*16384:min(len(o), c1*16384)], z[c0*16384:min(len(o), c1*16384)]
		zz = zz[:len(oo)]
		for i := range oo {
			oo[i] = min(max(oo[i]+zz[i], lo), hi)
		}
	})
}
