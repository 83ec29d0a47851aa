package ops

import (
	"fmt"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// N-d convolution family: Conv of any spatial rank (im2col + GEMM; float32
// through sgemm, float64 exact), ConvTranspose, ConvInteger, Col2Im. The
// 1-D/2-D float32 Conv fast path lives in conv.go.

func init() {
	Register(Impl{Op: "ConvTranspose", DTypes: floatTypes, Match: floatMatch, Build: buildConvTranspose})
	graph.RegisterShape("", "ConvTranspose", dtypeOnly)
	Register(Impl{Op: "ConvInteger", DTypes: []tensor.DType{tensor.Uint8, tensor.Int8}, Build: buildConvInteger})
	graph.RegisterShape("", "ConvInteger", func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, v int64) ([]graph.Type, error) {
		t, err := convShapeAny(n, in)
		if err != nil || len(t) == 0 {
			return t, err
		}
		t[0].DType = tensor.Int32
		return t, nil
	})
	Register(Impl{Op: "Col2Im", DTypes: floatTypes, Build: buildCol2Im})
	graph.RegisterShape("", "Col2Im", dtypeOnly)
}

func convShapeAny(n *graph.Node, in []graph.Type) ([]graph.Type, error) {
	if len(in) < 2 {
		return nil, nil
	}
	out := graph.Type{DType: in[0].DType}
	xs, okx := in[0].Known()
	ws, okw := in[1].Known()
	if !okx || !okw || len(xs) < 3 || len(ws) != len(xs) {
		return []graph.Type{out}, nil
	}
	p, err := graph.ReadConvParams(n, xs, ws[2:])
	if err != nil {
		return nil, err
	}
	shape := []int{xs[0], ws[0]}
	for i := range p.Kernel {
		shape = append(shape, p.OutSize(i, xs[2+i]))
	}
	out.Shape, out.HasShape = graph.ConcreteShape(shape...), true
	return []graph.Type{out}, nil
}

// convGeomND is a resolved N-d convolution window.
type convGeomND struct {
	n, cin, cout, group int
	in, out             []int // spatial
	p                   graph.ConvParams
}

func resolveConvND(node *graph.Node, xs, ws []int) (convGeomND, error) {
	var g convGeomND
	if len(xs) < 3 || len(ws) != len(xs) {
		return g, fmt.Errorf("input %v and weight %v: want matching ranks >= 3", xs, ws)
	}
	p, err := graph.ReadConvParams(node, xs, ws[2:])
	if err != nil {
		return g, err
	}
	for i, k := range ws[2:] {
		if p.Kernel[i] != k {
			return g, fmt.Errorf("kernel_shape %v does not match weight %v", p.Kernel, ws)
		}
	}
	if p.Group <= 0 || xs[1] != ws[1]*p.Group || ws[0]%p.Group != 0 {
		return g, fmt.Errorf("input has %d channels; weight %v with group %d does not fit", xs[1], ws, p.Group)
	}
	g = convGeomND{n: xs[0], cin: xs[1], cout: ws[0], group: p.Group, in: xs[2:], p: p}
	for i := range p.Kernel {
		o := p.OutSize(i, xs[2+i])
		if o <= 0 {
			return g, fmt.Errorf("input %v with kernel %v gives an empty output", xs, p.Kernel)
		}
		g.out = append(g.out, o)
	}
	return g, nil
}

// im2colND unrolls one image (c channels of spatial shape in) into
// col[c*K][prod(out)] with zero padding.
func im2colND[T float32 | float64](x []T, c int, in, out []int, p graph.ConvParams, col []T) {
	sp := len(in)
	kn := tensor.NumElems(p.Kernel)
	on := tensor.NumElems(out)
	inN := tensor.NumElems(in)
	ist := tensor.Strides(in)
	kidx := make([]int, sp)
	oidx := make([]int, sp)
	for ci := 0; ci < c; ci++ {
		xc := x[ci*inN : (ci+1)*inN]
		for k := 0; k < kn; k++ {
			// kernel multi-index
			r := k
			for d := sp - 1; d >= 0; d-- {
				kidx[d] = r % p.Kernel[d]
				r /= p.Kernel[d]
			}
			row := col[(ci*kn+k)*on : (ci*kn+k+1)*on]
			for i := range oidx {
				oidx[i] = 0
			}
			for o := 0; o < on; o++ {
				off, ok := 0, true
				for d := 0; d < sp; d++ {
					ix := oidx[d]*p.Strides[d] - p.Pads[d] + kidx[d]*p.Dilations[d]
					if ix < 0 || ix >= in[d] {
						ok = false
						break
					}
					off += ix * ist[d]
				}
				if ok {
					row[o] = xc[off]
				} else {
					row[o] = 0
				}
				for d := sp - 1; d >= 0; d-- {
					oidx[d]++
					if oidx[d] < out[d] {
						break
					}
					oidx[d] = 0
				}
			}
		}
	}
}

func gemm64(m, n, k int, a, b, c []float64) {
	for i := 0; i < m; i++ {
		ci := c[i*n : (i+1)*n]
		for j := range ci {
			ci[j] = 0
		}
		for p := 0; p < k; p++ {
			av := a[i*k+p]
			if av == 0 {
				continue
			}
			bp := b[p*n : (p+1)*n]
			for j, bv := range bp {
				ci[j] += av * bv
			}
		}
	}
}

// convND computes an N-d convolution (out must be zeroed or is overwritten).
func convND[T float32 | float64](threads int, x, w, bias []T, g convGeomND, out []T) {
	cpg, opg := g.cin/g.group, g.cout/g.group
	kk := cpg * tensor.NumElems(g.p.Kernel)
	on := tensor.NumElems(g.out)
	inN := tensor.NumElems(g.in)
	Parallel(threads, g.n, func(lo, hi int) {
		col := make([]T, kk*on)
		for b := lo; b < hi; b++ {
			for gi := 0; gi < g.group; gi++ {
				xg := x[(b*g.cin+gi*cpg)*inN : (b*g.cin+(gi+1)*cpg)*inN]
				im2colND(xg, cpg, g.in, g.out, g.p, col)
				og := out[(b*g.cout+gi*opg)*on : (b*g.cout+(gi+1)*opg)*on]
				wg := w[gi*opg*kk : (gi+1)*opg*kk]
				switch any(x).(type) {
				case []float32:
					sgemm(false, false, opg, on, kk, 1, any(wg).([]float32), kk, any(col).([]float32), on, 0, any(og).([]float32), on)
				default:
					gemm64(opg, on, kk, any(wg).([]float64), any(col).([]float64), any(og).([]float64))
				}
				if bias != nil {
					for o := 0; o < opg; o++ {
						bv := bias[gi*opg+o]
						row := og[o*on : (o+1)*on]
						for i := range row {
							row[i] += bv
						}
					}
				}
			}
		}
	})
}

// ConvAny runs Conv on float32 or float64 tensors of any spatial rank.
func ConvAny(threads int, node *graph.Node, x, w, bias *tensor.Tensor) (*tensor.Tensor, error) {
	g, err := resolveConvND(node, x.Shape, w.Shape)
	if err != nil {
		return nil, err
	}
	if bias != nil && bias.Len() != g.cout {
		return nil, fmt.Errorf("bias has %d elements, want %d", bias.Len(), g.cout)
	}
	shape := append([]int{g.n, g.cout}, g.out...)
	out := tensor.New(x.DType, shape...)
	switch x.DType {
	case tensor.Float32:
		var bv []float32
		if bias != nil {
			bv = bias.F32()
		}
		convND(threads, x.F32(), w.F32(), bv, g, out.F32())
	case tensor.Float64:
		var bv []float64
		if bias != nil {
			bv = bias.F64()
		}
		convND(threads, x.F64(), w.F64(), bv, g, out.F64())
	default:
		return nil, fmt.Errorf("Conv: dtype %s not supported here", x.DType)
	}
	return out, nil
}

func buildConvTranspose(b *BuildInfo) (Kernel, error) {
	n := b.Node
	outPad, err := n.Ints("output_padding", nil)
	if err != nil {
		return nil, err
	}
	outShape, err := n.Ints("output_shape", nil)
	if err != nil {
		return nil, err
	}
	autoPad, err := n.String("auto_pad", "NOTSET")
	if err != nil {
		return nil, err
	}
	group, err := n.Int("group", 1)
	if err != nil {
		return nil, err
	}
	aPads, err := n.Ints("pads", nil)
	if err != nil {
		return nil, err
	}
	aStrides, err := n.Ints("strides", nil)
	if err != nil {
		return nil, err
	}
	aDil, err := n.Ints("dilations", nil)
	if err != nil {
		return nil, err
	}
	k := KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 2)
		if err != nil {
			return nil, err
		}
		x, w := ts[0], ts[1]
		bias, err := Tensor(in, 2)
		if err != nil {
			return nil, err
		}
		if x.Rank() < 3 || w.Rank() != x.Rank() {
			return nil, fmt.Errorf("input %v and weight %v: want matching ranks >= 3", x.Shape, w.Shape)
		}
		sp := x.Rank() - 2
		G := int(group)
		C := x.Shape[1]
		if G <= 0 || C%G != 0 || w.Shape[0] != C {
			return nil, fmt.Errorf("input %v and weight %v do not fit group %d", x.Shape, w.Shape, G)
		}
		M := w.Shape[1] * G
		ks := w.Shape[2:]
		ones := func(v []int64) []int {
			out := make([]int, sp)
			for i := range out {
				out[i] = 1
				if v != nil && i < len(v) {
					out[i] = int(v[i])
				}
			}
			return out
		}
		st, dil := ones(aStrides), ones(aDil)
		op := make([]int, sp)
		for i := range op {
			if i < len(outPad) {
				op[i] = int(outPad[i])
			}
		}
		pads := make([]int, 2*sp)
		var os []int
		if aPads == nil && (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
			os = make([]int, sp)
			for i := range os {
				if outShape != nil {
					os[i] = int(outShape[len(outShape)-sp+i])
				} else {
					os[i] = x.Shape[2+i] * st[i]
				}
				total := st[i]*(x.Shape[2+i]-1) + op[i] + (ks[i]-1)*dil[i] + 1 - os[i]
				if autoPad == "SAME_UPPER" {
					pads[i], pads[i+sp] = total/2, total-total/2
				} else {
					pads[i], pads[i+sp] = total-total/2, total/2
				}
			}
		} else {
			if aPads != nil {
				if len(aPads) != 2*sp {
					return nil, fmt.Errorf("pads %v need %d entries", aPads, 2*sp)
				}
				pads = toInts(aPads)
			}
			os = make([]int, sp)
			for i := range os {
				if outShape != nil {
					os[i] = int(outShape[len(outShape)-sp+i])
				} else {
					os[i] = st[i]*(x.Shape[2+i]-1) + op[i] + (ks[i]-1)*dil[i] + 1 - pads[i] - pads[i+sp]
				}
			}
		}
		for _, d := range os {
			if d <= 0 {
				return nil, fmt.Errorf("output shape %v is empty", os)
			}
		}
		xv, err := ToFloat64(x)
		if err != nil {
			return nil, err
		}
		wv, err := ToFloat64(w)
		if err != nil {
			return nil, err
		}
		N := x.Shape[0]
		inN := tensor.NumElems(x.Shape[2:])
		outN := tensor.NumElems(os)
		kn := tensor.NumElems(ks)
		cpg, mpg := C/G, M/G
		res := make([]float64, N*M*outN)
		ost := tensor.Strides(os)
		// Precompute, per (input position, kernel offset), the output offset.
		tgt := make([]int, inN*kn)
		iidx := make([]int, sp)
		kidx := make([]int, sp)
		for ip := 0; ip < inN; ip++ {
			r := ip
			for d := sp - 1; d >= 0; d-- {
				iidx[d] = r % x.Shape[2+d]
				r /= x.Shape[2+d]
			}
			for kp := 0; kp < kn; kp++ {
				r := kp
				for d := sp - 1; d >= 0; d-- {
					kidx[d] = r % ks[d]
					r /= ks[d]
				}
				off := 0
				for d := 0; d < sp; d++ {
					o := iidx[d]*st[d] + kidx[d]*dil[d] - pads[d]
					if o < 0 || o >= os[d] {
						off = -1
						break
					}
					off += o * ost[d]
				}
				tgt[ip*kn+kp] = off
			}
		}
		for nb := 0; nb < N; nb++ {
			for g := 0; g < G; g++ {
				for ci := 0; ci < cpg; ci++ {
					c := g*cpg + ci
					xc := xv[(nb*C+c)*inN : (nb*C+c+1)*inN]
					for m := 0; m < mpg; m++ {
						oc := g*mpg + m
						wk := wv[(c*mpg+m)*kn : (c*mpg+m+1)*kn]
						ob := res[(nb*M+oc)*outN : (nb*M+oc+1)*outN]
						for ip, xval := range xc {
							if xval == 0 {
								continue
							}
							t := tgt[ip*kn : (ip+1)*kn]
							for kp, wval := range wk {
								if o := t[kp]; o >= 0 {
									ob[o] += xval * wval
								}
							}
						}
					}
				}
			}
		}
		if bias != nil {
			bv, err := ToFloat64(bias)
			if err != nil {
				return nil, err
			}
			if len(bv) != M {
				return nil, fmt.Errorf("bias has %d elements, want %d", len(bv), M)
			}
			for nb := 0; nb < N; nb++ {
				for oc := 0; oc < M; oc++ {
					ob := res[(nb*M+oc)*outN : (nb*M+oc+1)*outN]
					for i := range ob {
						ob[i] += bv[oc]
					}
				}
			}
		}
		out, err := FromFloat64(x.DType, res, append([]int{N, M}, os...))
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	})
	return k, nil
}

func buildConvInteger(b *BuildInfo) (Kernel, error) {
	n := b.Node
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 2)
		if err != nil {
			return nil, err
		}
		x, w := ts[0], ts[1]
		if x.Rank() < 3 || w.Rank() != x.Rank() {
			return nil, fmt.Errorf("input %v and weight %v: want matching ranks >= 3", x.Shape, w.Shape)
		}
		xz, err := zeroPoint(in, 2)
		if err != nil {
			return nil, err
		}
		wz, err := zeroPointVec(in, 3)
		if err != nil {
			return nil, err
		}
		xv, err := ToFloat64(x)
		if err != nil {
			return nil, err
		}
		wv, err := ToFloat64(w)
		if err != nil {
			return nil, err
		}
		for i := range xv {
			xv[i] -= xz
		}
		if len(wz) > 1 && len(wz) != w.Shape[0] {
			return nil, fmt.Errorf("w_zero_point has %d elements for %d output channels", len(wz), w.Shape[0])
		}
		per := w.Len() / max(w.Shape[0], 1)
		for i := range wv {
			switch len(wz) {
			case 0:
			case 1:
				wv[i] -= float64(wz[0])
			default:
				wv[i] -= float64(wz[i/per])
			}
		}
		xf := &tensor.Tensor{DType: tensor.Float64, Shape: x.Shape, Data: xv}
		wf := &tensor.Tensor{DType: tensor.Float64, Shape: w.Shape, Data: wv}
		of, err := ConvAny(ctx.Threads, n, xf, wf, nil)
		if err != nil {
			return nil, err
		}
		out := tensor.New(tensor.Int32, of.Shape...)
		for i, v := range of.F64() {
			out.I32()[i] = int32(v)
		}
		return []Value{out}, nil
	}), nil
}

// zeroPoint reads an optional scalar zero point (0 when absent).
func zeroPoint(in []Value, i int) (float64, error) {
	t, err := Tensor(in, i)
	if err != nil || t == nil {
		return 0, err
	}
	v, err := ToFloat64(t)
	if err != nil {
		return 0, err
	}
	if len(v) != 1 {
		return 0, fmt.Errorf("only per-tensor zero points are supported (got shape %v)", t.Shape)
	}
	return v[0], nil
}

func buildCol2Im(b *BuildInfo) (Kernel, error) {
	n := b.Node
	aDil, _ := n.Ints("dilations", nil)
	aPads, _ := n.Ints("pads", nil)
	aStr, _ := n.Ints("strides", nil)
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 3)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		img, err := intsOf(ts[1], "image_shape")
		if err != nil {
			return nil, err
		}
		blk, err := intsOf(ts[2], "block_shape")
		if err != nil {
			return nil, err
		}
		sp := len(img)
		if len(blk) != sp || x.Rank() != 3 {
			return nil, fmt.Errorf("input %v, image_shape %v and block_shape %v do not fit", x.Shape, img, blk)
		}
		get := func(v []int64, i, def int) int {
			if v != nil && i < len(v) {
				return int(v[i])
			}
			return def
		}
		kn := tensor.NumElems(toInts(blk))
		N, CK, L := x.Shape[0], x.Shape[1], x.Shape[2]
		if kn <= 0 || CK%kn != 0 {
			return nil, fmt.Errorf("input channels %d not divisible by block size %d", CK, kn)
		}
		C := CK / kn
		im := toInts(img)
		outs := make([]int, sp)
		for d := 0; d < sp; d++ {
			if im[d] <= 0 || blk[d] <= 0 || get(aStr, d, 1) <= 0 || get(aDil, d, 1) <= 0 {
				return nil, fmt.Errorf("image_shape %v, block_shape %v, strides and dilations must be positive", img, blk)
			}
			ek := (int(blk[d])-1)*get(aDil, d, 1) + 1
			outs[d] = (im[d]+get(aPads, d, 0)+get(aPads, d+sp, 0)-ek)/get(aStr, d, 1) + 1
		}
		for _, o := range outs {
			if o <= 0 {
				return nil, fmt.Errorf("image %v with block %v gives no blocks", img, blk)
			}
		}
		if tensor.NumElems(outs) != L {
			return nil, fmt.Errorf("input has %d blocks, image and block shapes give %d", L, tensor.NumElems(outs))
		}
		xv, err := ToFloat64(x)
		if err != nil {
			return nil, err
		}
		imN := tensor.NumElems(im)
		ist := tensor.Strides(im)
		res := make([]float64, N*C*imN)
		kidx := make([]int, sp)
		oidx := make([]int, sp)
		for nb := 0; nb < N; nb++ {
			for c := 0; c < C; c++ {
				for k := 0; k < kn; k++ {
					r := k
					for d := sp - 1; d >= 0; d-- {
						kidx[d] = r % int(blk[d])
						r /= int(blk[d])
					}
					row := xv[(nb*CK+c*kn+k)*L : (nb*CK+c*kn+k+1)*L]
					for l := 0; l < L; l++ {
						r := l
						for d := sp - 1; d >= 0; d-- {
							oidx[d] = r % outs[d]
							r /= outs[d]
						}
						off, ok := 0, true
						for d := 0; d < sp; d++ {
							ix := oidx[d]*get(aStr, d, 1) - get(aPads, d, 0) + kidx[d]*get(aDil, d, 1)
							if ix < 0 || ix >= im[d] {
								ok = false
								break
							}
							off += ix * ist[d]
						}
						if ok {
							res[(nb*C+c)*imN+off] += row[l]
						}
					}
				}
			}
		}
		out, err := FromFloat64(x.DType, res, append([]int{N, C}, im...))
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}
