package ops

import (
	"fmt"
	"sync"

	dwconv "github.com/frugal-ml/frugal/impl/depthwise"
	"github.com/frugal-ml/frugal/impl/gemm"
	"github.com/frugal-ml/frugal/impl/ref"
	"github.com/frugal-ml/frugal/tensor"
)

// ai.frugal:FusedPwDw(X, WA, BA, WB, BB) is an expanding pointwise
// convolution followed by a depthwise one, the first half of a MobileNetV2
// inverted-residual block, made by the fuse-pw-dw pass:
//
//	E = actA(Conv1x1(X, WA) + BA)           WA: [C, Cin, 1, 1]
//	Y = actB(DepthwiseConv(E, WB) + BB)     WB: [C, 1, KH, KW]
//
// Attributes:
//
//	pw_activation, pw_activation_min, pw_activation_max: actA ("", "Relu"
//	    or "Clip" with its bounds), as fuse-activation writes them on a Conv;
//	activation, activation_min, activation_max: actB, likewise;
//	dw_strides [sh, sw], dw_pads [top, left, bottom, right]: the depthwise
//	    window (resolved: no auto_pad); dilation is 1, the kernel size is
//	    WB's.
//
// E (C x H x W per image, 6x the input) would make a round trip through
// memory between the two convolutions. The kernel instead computes the
// output in horizontal strips: for output rows [r0, r1) it evaluates the
// rows of E that their windows read (a halo of KH-SH rows recomputed by the
// neighbouring strip), all C channels, into a per-goroutine buffer sized to
// stay in L2 (pwdwTarget), runs the depthwise kernel on that buffer as a
// short image (with top padding only when the strip starts at the image
// top, bottom padding only when it reaches the bottom) and copies the
// strip's rows into the output planes. A goroutine runs consecutive strips
// and moves the halo rows its previous strip computed instead of
// recomputing them.
func init() {
	Register(Impl{Op: "FusedPwDw", Domain: FrugalDomain, Name: "pwdw-strips", DTypes: []tensor.DType{tensor.Float32},
		Build: buildPwDw})
}

// pwdwTarget is the number of bytes of E one strip may hold (the strip's
// depthwise output, at most as large, comes on top). The machine has 1 MiB
// of L2 per core; 512 KiB measured best for 16->96 at 112x112 stride 2
// (128 KiB: 1.4x slower, 1 MiB: 1.2x) and for 24->144 at 56x56.
var pwdwTarget = 512 << 10

// pwdwRows, when > 0, forces the output rows per strip (tests).
var pwdwRows = 0

// pwdwGeom is one FusedPwDw call's geometry.
type pwdwGeom struct {
	N, Cin, C, H, W, OH, OW int
	P                       ref.Conv2D // the depthwise window on the full image
}

func buildPwDw(b *BuildInfo) (Kernel, error) {
	n := b.Node
	actA, err := activationAttrs(n, "pw_")
	if err != nil {
		return nil, err
	}
	actB, err := activationAttrs(n, "")
	if err != nil {
		return nil, err
	}
	st, err := n.Ints("dw_strides", []int64{1, 1})
	if err != nil {
		return nil, err
	}
	pd, err := n.Ints("dw_pads", []int64{0, 0, 0, 0})
	if err != nil {
		return nil, err
	}
	if len(st) != 2 || len(pd) != 4 || st[0] < 1 || st[1] < 1 {
		return nil, fmt.Errorf("FusedPwDw: dw_strides %v, dw_pads %v: want 2 positive strides and 4 pads", st, pd)
	}
	for _, p := range pd {
		if p < 0 {
			return nil, fmt.Errorf("FusedPwDw: negative dw_pads %v", pd)
		}
	}
	// Constant expand weights are packed once, here.
	var packed *gemm.PackedA
	var packedFrom *tensor.Tensor
	if len(b.Const) > 1 && b.Const[1] != nil && b.Const[1].DType == tensor.Float32 && b.Const[1].Rank() == 4 {
		w := b.Const[1]
		packed = gemm.PackA(false, w.Shape[0], w.Shape[1], w.F32(), w.Shape[1])
		packedFrom = w
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		var t [5]*tensor.Tensor
		for i := 1; i < 5; i++ {
			if t[i], err = Tensor(in, i); err != nil {
				return nil, err
			}
			if t[i] != nil && t[i].DType != tensor.Float32 {
				return nil, fmt.Errorf("FusedPwDw: input %d is %s, want float32", i, t[i].DType)
			}
		}
		wa, ba, wb, bb := t[1], t[2], t[3], t[4]
		if x.DType != tensor.Float32 || x.Rank() != 4 || wa == nil || wb == nil || wa.Rank() != 4 || wb.Rank() != 4 {
			return nil, fmt.Errorf("FusedPwDw: want float32 NCHW input and rank-4 weights")
		}
		c := wa.Shape[0]
		if wa.Shape[1] != x.Shape[1] || wa.Shape[2] != 1 || wa.Shape[3] != 1 || wb.Shape[0] != c || wb.Shape[1] != 1 {
			return nil, fmt.Errorf("FusedPwDw: input %v, weights %v and %v do not fit", x.Shape, wa.Shape, wb.Shape)
		}
		if (ba != nil && ba.Len() != c) || (bb != nil && bb.Len() != c) {
			return nil, fmt.Errorf("FusedPwDw: biases must have %d values", c)
		}
		g := pwdwGeom{N: x.Shape[0], Cin: x.Shape[1], C: c, H: x.Shape[2], W: x.Shape[3],
			P: ref.Conv2D{KH: wb.Shape[2], KW: wb.Shape[3], SH: int(st[0]), SW: int(st[1]),
				PT: int(pd[0]), PL: int(pd[1]), PB: int(pd[2]), PR: int(pd[3]), DH: 1, DW: 1}}
		if g.P.PT >= g.P.KH || g.P.PB >= g.P.KH {
			return nil, fmt.Errorf("FusedPwDw: dw_pads %v must be below the kernel height %d", pd, g.P.KH)
		}
		g.OH, g.OW = g.P.Out(g.H, g.W)
		if g.OH <= 0 || g.OW <= 0 {
			return nil, fmt.Errorf("FusedPwDw: input %v with window %+v gives an empty output", x.Shape, g.P)
		}
		pa := packed
		if pa == nil || wa != packedFrom {
			pa = gemm.PackA(false, c, g.Cin, wa.F32(), g.Cin)
		}
		var bav, bbv []float32
		if ba != nil {
			bav = ba.F32()
		}
		if bb != nil {
			bbv = bb.F32()
		}
		out := ctx.Empty(tensor.Float32, g.N, c, g.OH, g.OW) // every strip writes its rows
		pwdwRun(ctx.Threads, x.F32(), pa, bav, actA, wb.F32(), bbv, actB, g, out.F32())
		return []Value{out}, nil
	}), nil
}

// pwdwStripRows is the number of output rows per strip: as many as keep
// the strip's rows of E within pwdwTarget, at least one, and few enough
// that every thread gets a strip.
func pwdwStripRows(g pwdwGeom, threads int) int {
	if pwdwRows > 0 {
		return min(pwdwRows, g.OH)
	}
	rowBytes := g.C * g.W * 4
	inRows := max(1, pwdwTarget/max(rowBytes, 1))
	ro := max(1, (inRows-g.P.KH)/g.P.SH+1)
	if g.N == 1 && threads > 1 {
		ro = min(ro, (g.OH+threads-1)/threads)
	}
	return min(ro, g.OH)
}

var pwdwPool sync.Pool

func getPwDw(n int) *[]float32 {
	if p, ok := pwdwPool.Get().(*[]float32); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	s := make([]float32, n)
	return &s
}

// pwdwRun computes FusedPwDw into out (N x C x OH x OW), strips split over
// threads goroutines.
func pwdwRun(threads int, x []float32, pa *gemm.PackedA, biasA []float32, actA Activation, wb, biasB []float32, actB Activation, g pwdwGeom, out []float32) {
	ro := pwdwStripRows(g, threads)
	ns := (g.OH + ro - 1) / ro
	tasks := g.N * ns
	t := max(1, min(threads, tasks))
	hw, ohw := g.H*g.W, g.OH*g.OW
	maxIn := min(g.H, (ro-1)*g.P.SH+g.P.KH)
	epA := actA.epilogue(biasA)
	lo, hi := actB.bounds()
	gemm.Parallel(t, func(i int) {
		buf := getPwDw(g.C*maxIn*g.W + g.C*ro*g.OW)
		e := (*buf)[:g.C*maxIn*g.W]
		o := (*buf)[g.C*maxIn*g.W:]
		// E rows [pi0, pi1) of image pimg are in e from the previous strip
		// (laid out with pi1-pi0 rows per channel); the overlap with this
		// strip (the halo, KH-SH rows) is moved, not recomputed.
		pimg, pi0, pi1 := -1, 0, 0
		strip := func(img, r0, r1 int) {
			// Rows of E the windows of output rows [r0, r1) read.
			top := r0*g.P.SH - g.P.PT
			bot := (r1-1)*g.P.SH - g.P.PT + g.P.KH
			i0, i1 := max(0, top), min(g.H, bot)
			rows := i1 - i0
			p := g.P
			p.PT, p.PB = i0-top, bot-i1
			ov := 0
			if img == pimg && i0 >= pi0 && i0 < pi1 {
				ov = min(pi1, i1) - i0
				prows := pi1 - pi0
				mv := func(ch int) {
					src := e[ch*prows*g.W+(i0-pi0)*g.W:]
					copy(e[ch*rows*g.W:ch*rows*g.W+ov*g.W], src[:ov*g.W])
				}
				// Moving left (rows <= prows) goes up the channels, right
				// goes down, so that no source is overwritten first.
				if rows <= prows {
					for ch := 0; ch < g.C; ch++ {
						mv(ch)
					}
				} else {
					for ch := g.C - 1; ch >= 0; ch-- {
						mv(ch)
					}
				}
			}
			es := e[:g.C*rows*g.W]
			if ov < rows {
				xs := x[img*g.Cin*hw+(i0+ov)*g.W:]
				gemm.SgemmPackedAThreads(1, pa, (rows-ov)*g.W, xs, hw, es[ov*g.W:], rows*g.W, epA)
			}
			pimg, pi0, pi1 = img, i0, i1
			nr := r1 - r0
			os := o[:g.C*nr*g.OW]
			dwconv.Conv(1, es, 1, g.C, rows, g.W, p, wb, biasB, lo, hi, os)
			dst := out[img*g.C*ohw+r0*g.OW:]
			for ch := 0; ch < g.C; ch++ {
				copy(dst[ch*ohw:ch*ohw+nr*g.OW], os[ch*nr*g.OW:(ch+1)*nr*g.OW])
			}
		}
		if g.N == 1 {
			// One image: each goroutine takes an equal band of output
			// rows, in strips of at most ro (strips of ro over the whole
			// image left the last goroutine a short one: 56 rows in
			// strips of 5 went 30:26).
			for r0, end := i*g.OH/t, (i+1)*g.OH/t; r0 < end; r0 += ro {
				strip(0, r0, min(end, r0+ro))
			}
		} else {
			for k := i * tasks / t; k < (i+1)*tasks/t; k++ {
				r0 := k % ns * ro
				strip(k/ns, r0, min(g.OH, r0+ro))
			}
		}
		pwdwPool.Put(buf)
	})
}
