package ops

import (
	"fmt"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/vmath"
	"github.com/frugal-ml/frugal/tensor"
)

// Float32 Erf, Exp, Gelu and Softmax on impl/vmath's vectorised
// approximations (AVX-512, pure Go elsewhere; exp and erf within 1.5 ulp of
// math.Exp / math.Erf over every float32 class), registered above the
// float64 reference kernels. ai.frugal:Gelu is the exact (erf) GELU that
// the fuse-gelu pass writes for x/2 (1 + erf(x/sqrt 2)) in graphs whose
// opset predates ONNX's Gelu (20).

// vmathPriority ranks these kernels above the reference ones.
const vmathPriority = 5

// vmathParallelMin is the element count from which an elementwise vmath
// kernel splits its work over the threads (8192 GELUs take ~5 us on one
// core, about what handing half to a warm helper costs).
const vmathParallelMin = 1 << 15

func init() {
	f32 := []tensor.DType{tensor.Float32}
	// Float32 or not yet known: other dtypes then run the reference form.
	isF32 := func(b *BuildInfo) bool { dt := b.InDType(0); return dt == tensor.Float32 || dt == tensor.Undefined }
	gelu, _ := geluRef("none")
	Register(Impl{Op: "Erf", Name: "vmath", Priority: vmathPriority, DTypes: f32, Match: isF32,
		Build: func(*BuildInfo) (Kernel, error) { return vmathUnary(vmath.Erf, simpleUnary["Erf"]), nil }})
	Register(Impl{Op: "Exp", Name: "vmath", Priority: vmathPriority, DTypes: f32, Match: isF32,
		Build: func(*BuildInfo) (Kernel, error) { return vmathUnary(vmath.Exp, simpleUnary["Exp"]), nil }})
	exactGelu := func(b *BuildInfo) bool {
		ap, err := b.Node.String("approximate", "none")
		return isF32(b) && err == nil && ap == "none"
	}
	Register(Impl{Op: "Gelu", Name: "vmath", Priority: vmathPriority, DTypes: f32, Match: exactGelu,
		Build: func(*BuildInfo) (Kernel, error) { return vmathUnary(vmath.Gelu, gelu), nil }})
	Register(Impl{Op: "Gelu", Domain: FrugalDomain, Name: "vmath", Priority: vmathPriority, DTypes: f32, Match: isF32,
		Build: func(*BuildInfo) (Kernel, error) { return vmathUnary(vmath.Gelu, gelu), nil }})
	// Other float types: the float64 formula.
	Register(Impl{Op: "Gelu", Domain: FrugalDomain, Name: "ref", DTypes: floatTypes, Match: floatMatch,
		Build: func(*BuildInfo) (Kernel, error) {
			u, err := geluRef("none")
			if err != nil {
				return nil, err
			}
			return unaryKernel(u), nil
		}})
	graph.RegisterShape(FrugalDomain, "Gelu", sameShape)
	inPlaceFrugal["Gelu"] = 0

	Register(Impl{Op: "Softmax", Name: "vmath", Priority: vmathPriority, DTypes: f32, Match: isF32,
		Build: buildSoftmaxVmath})
}

// vmathUnary is an elementwise float32 kernel that may write over its
// dying input; other dtypes run ref.
func vmathUnary(f func(dst, src []float32), ref unaryOp) Kernel {
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		if x.DType != tensor.Float32 {
			out, err := ref.applyCtx(ctx, x, true)
			if err != nil {
				return nil, err
			}
			return []Value{out}, nil
		}
		out := ctx.Output(tensor.Float32, x.Shape, x)
		o, v := out.F32(), x.F32()
		if len(v) < vmathParallelMin || ctx.Threads <= 1 {
			f(o, v)
			return []Value{out}, nil
		}
		blocks := (len(v) + 15) / 16 // chunks stay whole vectors
		Parallel(ctx.Threads, blocks, func(lo, hi int) {
			lo, hi = lo*16, min(hi*16, len(v))
			f(o[lo:hi], v[lo:hi])
		})
		return []Value{out}, nil
	})
}

// buildSoftmaxVmath is float32 Softmax over contiguous rows: the last axis
// (opset 13 on), or the trailing block from axis (earlier opsets); any
// other axis runs the strided reference loop.
func buildSoftmaxVmath(b *BuildInfo) (Kernel, error) {
	def := int64(-1)
	legacy := b.Opset > 0 && b.Opset < 13
	if legacy {
		def = 1
	}
	ax, err := b.Node.Int("axis", def)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		if x.DType != tensor.Float32 {
			out, err := softmaxAny("Softmax", x, int(ax), legacy)
			if err != nil {
				return nil, err
			}
			return []Value{out}, nil
		}
		r := x.Rank()
		axis := int(ax)
		if axis < 0 {
			axis += r
		}
		if r == 0 {
			axis = 0
		} else if axis < 0 || axis >= r {
			return nil, fmt.Errorf("axis %d out of range for shape %v", ax, x.Shape)
		}
		var n int
		switch {
		case r == 0:
			n = 1
		case legacy:
			n = tensor.NumElems(x.Shape[axis:])
		case axis == r-1:
			n = x.Shape[axis]
		default:
			out, err := softmaxF32(ctx, x, axis, false, false)
			if err != nil {
				return nil, err
			}
			return []Value{out}, nil
		}
		out := ctx.Output(tensor.Float32, x.Shape, x)
		o, v := out.F32(), x.F32()
		if n == 0 || len(v) == 0 {
			return []Value{out}, nil
		}
		rows := len(v) / n
		if len(v) < vmathParallelMin || ctx.Threads <= 1 || rows < 2 {
			vmath.SoftmaxRows(o, v, n)
			return []Value{out}, nil
		}
		Parallel(ctx.Threads, rows, func(lo, hi int) {
			vmath.SoftmaxRows(o[lo*n:hi*n], v[lo*n:hi*n], n)
		})
		return []Value{out}, nil
	}), nil
}
