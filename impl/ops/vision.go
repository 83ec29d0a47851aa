package ops

import (
	"fmt"
	"math"
	"sort"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// Detection and sampling ops: NonMaxSuppression, RoiAlign, DeformConv (2-D).

func init() {
	Register(Impl{Op: "NonMaxSuppression", DTypes: []tensor.DType{tensor.Float32}, Build: buildNMS})
	graph.RegisterShape("", "NonMaxSuppression", func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, v int64) ([]graph.Type, error) {
		return []graph.Type{{DType: tensor.Int64}}, nil
	})
	Register(Impl{Op: "RoiAlign", DTypes: floatTypes, Build: buildRoiAlign})
	graph.RegisterShape("", "RoiAlign", dtypeOnly)
	Register(Impl{Op: "DeformConv", DTypes: floatTypes, Build: buildDeformConv})
	graph.RegisterShape("", "DeformConv", dtypeOnly)
}

func buildNMS(b *BuildInfo) (Kernel, error) {
	cpb, err := b.Node.Int("center_point_box", 0)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 2)
		if err != nil {
			return nil, err
		}
		boxes, scores := ts[0], ts[1]
		if boxes.Rank() != 3 || boxes.Shape[2] != 4 || scores.Rank() != 3 || scores.Shape[0] != boxes.Shape[0] || scores.Shape[2] != boxes.Shape[1] {
			return nil, fmt.Errorf("boxes %v and scores %v do not fit", boxes.Shape, scores.Shape)
		}
		opt := func(i int) (float64, bool, error) {
			t, err := Tensor(in, i)
			if err != nil || t == nil || t.Len() == 0 {
				return 0, false, err
			}
			v, err := ToFloat64(t)
			if err != nil {
				return 0, false, err
			}
			return v[0], true, nil
		}
		maxOut, _, err := opt(2)
		if err != nil {
			return nil, err
		}
		iouT, _, err := opt(3)
		if err != nil {
			return nil, err
		}
		scoreT, hasScore, err := opt(4)
		if err != nil {
			return nil, err
		}
		bv, _ := ToFloat64(boxes)
		sv, _ := ToFloat64(scores)
		B, N, C := boxes.Shape[0], boxes.Shape[1], scores.Shape[1]
		corners := func(bx []float64) (x0, x1, y0, y1 float64) {
			if cpb == 0 {
				y0, y1 = math.Min(bx[0], bx[2]), math.Max(bx[0], bx[2])
				x0, x1 = math.Min(bx[1], bx[3]), math.Max(bx[1], bx[3])
				return
			}
			return bx[0] - bx[2]/2, bx[0] + bx[2]/2, bx[1] - bx[3]/2, bx[1] + bx[3]/2
		}
		suppress := func(a, c []float64) bool {
			ax0, ax1, ay0, ay1 := corners(a)
			cx0, cx1, cy0, cy1 := corners(c)
			ix0, ix1 := math.Max(ax0, cx0), math.Min(ax1, cx1)
			iy0, iy1 := math.Max(ay0, cy0), math.Min(ay1, cy1)
			if ix1 <= ix0 || iy1 <= iy0 {
				return false
			}
			inter := (ix1 - ix0) * (iy1 - iy0)
			a1 := (ax1 - ax0) * (ay1 - ay0)
			a2 := (cx1 - cx0) * (cy1 - cy0)
			u := a1 + a2 - inter
			if a1 <= 0 || a2 <= 0 || u <= 0 {
				return false
			}
			return inter/u > iouT
		}
		var sel []int64
		for bb := 0; bb < B; bb++ {
			for c := 0; c < C; c++ {
				sc := sv[(bb*C+c)*N : (bb*C+c+1)*N]
				var cand []int
				for i := 0; i < N; i++ {
					if !hasScore || sc[i] > scoreT {
						cand = append(cand, i)
					}
				}
				sort.SliceStable(cand, func(i, j int) bool { return sc[cand[i]] > sc[cand[j]] })
				var kept []int
				for _, i := range cand {
					if float64(len(kept)) >= maxOut {
						break
					}
					ok := true
					for _, k := range kept {
						if suppress(bv[(bb*N+i)*4:(bb*N+i+1)*4], bv[(bb*N+k)*4:(bb*N+k+1)*4]) {
							ok = false
							break
						}
					}
					if ok {
						kept = append(kept, i)
						sel = append(sel, int64(bb), int64(c), int64(i))
					}
				}
			}
		}
		out := tensor.New(tensor.Int64, len(sel)/3, 3)
		copy(out.I64(), sel)
		return []Value{out}, nil
	}), nil
}

func buildRoiAlign(b *BuildInfo) (Kernel, error) {
	n := b.Node
	coord, err := n.String("coordinate_transformation_mode", "half_pixel")
	if err != nil {
		return nil, err
	}
	if b.Opset > 0 && b.Opset < 16 && !n.Has("coordinate_transformation_mode") {
		coord = "output_half_pixel"
	}
	mode, err := n.String("mode", "avg")
	if err != nil {
		return nil, err
	}
	oh, err := n.Int("output_height", 1)
	if err != nil {
		return nil, err
	}
	ow, err := n.Int("output_width", 1)
	if err != nil {
		return nil, err
	}
	sr, err := n.Int("sampling_ratio", 0)
	if err != nil {
		return nil, err
	}
	ss, err := n.Float("spatial_scale", 1)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 3)
		if err != nil {
			return nil, err
		}
		x, rois, bi := ts[0], ts[1], ts[2]
		if x.Rank() != 4 || rois.Rank() != 2 || rois.Shape[1] != 4 {
			return nil, fmt.Errorf("X %v and rois %v: want [N,C,H,W] and [R,4]", x.Shape, rois.Shape)
		}
		xv, _ := ToFloat64(x)
		rv, err := ToFloat64(rois)
		if err != nil {
			return nil, err
		}
		bix, err := intsOf(bi, "batch_indices")
		if err != nil {
			return nil, err
		}
		R := rois.Shape[0]
		if len(bix) != R {
			return nil, fmt.Errorf("%d batch indices for %d rois", len(bix), R)
		}
		C, H, W := x.Shape[1], x.Shape[2], x.Shape[3]
		PH, PW := int(oh), int(ow)
		half := coord == "half_pixel"
		res := make([]float64, R*C*PH*PW)
		type tap struct {
			p    [4]int
			w    [4]float64
			skip bool
		}
		for r := 0; r < R; r++ {
			off := 0.0
			if half {
				off = 0.5
			}
			sw := rv[r*4]*float64(ss) - off
			sh := rv[r*4+1]*float64(ss) - off
			ew := rv[r*4+2]*float64(ss) - off
			eh := rv[r*4+3]*float64(ss) - off
			rw, rh := ew-sw, eh-sh
			if !half {
				rw, rh = math.Max(rw, 1), math.Max(rh, 1)
			}
			bh, bw := rh/float64(PH), rw/float64(PW)
			gh, gw := int(sr), int(sr)
			if sr <= 0 {
				gh, gw = int(math.Ceil(rh/float64(PH))), int(math.Ceil(rw/float64(PW)))
			}
			count := math.Max(float64(gh*gw), 1)
			taps := make([]tap, 0, PH*PW*gh*gw)
			for ph := 0; ph < PH; ph++ {
				for pw := 0; pw < PW; pw++ {
					for iy := 0; iy < gh; iy++ {
						y := sh + float64(ph)*bh + (float64(iy)+0.5)*bh/float64(gh)
						for ix := 0; ix < gw; ix++ {
							xx := sw + float64(pw)*bw + (float64(ix)+0.5)*bw/float64(gw)
							if y < -1 || y > float64(H) || xx < -1 || xx > float64(W) {
								taps = append(taps, tap{skip: true})
								continue
							}
							yy, xc := math.Max(y, 0), math.Max(xx, 0)
							yl, xl := int(yy), int(xc)
							var yh, xh int
							if yl >= H-1 {
								yl, yh, yy = H-1, H-1, float64(H-1)
							} else {
								yh = yl + 1
							}
							if xl >= W-1 {
								xl, xh, xc = W-1, W-1, float64(W-1)
							} else {
								xh = xl + 1
							}
							ly, lx := yy-float64(yl), xc-float64(xl)
							hy, hx := 1-ly, 1-lx
							taps = append(taps, tap{p: [4]int{yl*W + xl, yl*W + xh, yh*W + xl, yh*W + xh}, w: [4]float64{hy * hx, hy * lx, ly * hx, ly * lx}})
						}
					}
				}
			}
			bidx := int(bix[r])
			if bidx < 0 || bidx >= x.Shape[0] {
				return nil, fmt.Errorf("batch index %d out of range", bidx)
			}
			for c := 0; c < C; c++ {
				plane := xv[(bidx*C+c)*H*W : (bidx*C+c+1)*H*W]
				k := 0
				for ph := 0; ph < PH; ph++ {
					for pw := 0; pw < PW; pw++ {
						var v float64
						first := true
						for s := 0; s < gh*gw; s++ {
							t := taps[k]
							k++
							var val float64
							if mode == "avg" {
								if !t.skip {
									for q := 0; q < 4; q++ {
										val += t.w[q] * plane[t.p[q]]
									}
								}
								v += val
							} else {
								if !t.skip {
									val = math.Max(math.Max(t.w[0]*plane[t.p[0]], t.w[1]*plane[t.p[1]]), math.Max(t.w[2]*plane[t.p[2]], t.w[3]*plane[t.p[3]]))
								}
								if first || val > v {
									v = val
								}
								first = false
							}
						}
						if mode == "avg" {
							v /= count
						}
						res[((r*C+c)*PH+ph)*PW+pw] = v
					}
				}
			}
		}
		out, err := FromFloat64(x.DType, res, []int{R, C, PH, PW})
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}

func buildDeformConv(b *BuildInfo) (Kernel, error) {
	n := b.Node
	aDil, _ := n.Ints("dilations", nil)
	aPads, _ := n.Ints("pads", nil)
	aStr, _ := n.Ints("strides", nil)
	group, err := n.Int("group", 1)
	if err != nil {
		return nil, err
	}
	og, err := n.Int("offset_group", 1)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 3)
		if err != nil {
			return nil, err
		}
		x, w, off := ts[0], ts[1], ts[2]
		bias, err := Tensor(in, 3)
		if err != nil {
			return nil, err
		}
		mask, err := Tensor(in, 4)
		if err != nil {
			return nil, err
		}
		if x.Rank() != 4 || w.Rank() != 4 || off.Rank() != 4 {
			return nil, fmt.Errorf("only 2-D DeformConv is supported (X %v, W %v)", x.Shape, w.Shape)
		}
		get := func(v []int64, i, def int) int {
			if v != nil && i < len(v) {
				return int(v[i])
			}
			return def
		}
		N, IC, IH, IW := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
		OC, KH, KW := w.Shape[0], w.Shape[2], w.Shape[3]
		G, OG := int(group), int(og)
		if G <= 0 || OG <= 0 || IC != w.Shape[1]*G || OC%G != 0 || IC%OG != 0 {
			return nil, fmt.Errorf("X %v and W %v do not fit group %d / offset_group %d", x.Shape, w.Shape, G, OG)
		}
		OH, OW := off.Shape[2], off.Shape[3]
		if off.Shape[1] != OG*KH*KW*2 {
			return nil, fmt.Errorf("offset %v, want %d channels", off.Shape, OG*KH*KW*2)
		}
		xv, _ := ToFloat64(x)
		wv, _ := ToFloat64(w)
		ov, err := ToFloat64(off)
		if err != nil {
			return nil, err
		}
		var mv, bv []float64
		if mask != nil {
			if mv, err = ToFloat64(mask); err != nil {
				return nil, err
			}
		}
		if bias != nil {
			if bv, err = ToFloat64(bias); err != nil {
				return nil, err
			}
		}
		sth, stw := get(aStr, 0, 1), get(aStr, 1, 1)
		dh, dw := get(aDil, 0, 1), get(aDil, 1, 1)
		ph, pw := get(aPads, 0, 0), get(aPads, 1, 0)
		icpg, ocpg := IC/G, OC/G
		icpog := IC / OG
		sample := func(plane []float64, y, xx float64) float64 {
			y0, x0 := math.Floor(y), math.Floor(xx)
			fy, fx := y-y0, xx-x0
			var v float64
			for dy := 0; dy < 2; dy++ {
				for dx := 0; dx < 2; dx++ {
					yy, xc := int(y0)+dy, int(x0)+dx
					if yy < 0 || yy >= IH || xc < 0 || xc >= IW {
						continue
					}
					wy, wx := 1-fy, 1-fx
					if dy == 1 {
						wy = fy
					}
					if dx == 1 {
						wx = fx
					}
					v += wy * wx * plane[yy*IW+xc]
				}
			}
			return v
		}
		res := make([]float64, N*OC*OH*OW)
		for nb := 0; nb < N; nb++ {
			for oc := 0; oc < OC; oc++ {
				g := oc / ocpg
				for i := 0; i < OH; i++ {
					for j := 0; j < OW; j++ {
						var s float64
						if bv != nil {
							s = bv[oc]
						}
						for ci := 0; ci < icpg; ci++ {
							ic := g*icpg + ci
							ogi := ic / icpog
							plane := xv[(nb*IC+ic)*IH*IW : (nb*IC+ic+1)*IH*IW]
							for kh := 0; kh < KH; kh++ {
								for kw := 0; kw < KW; kw++ {
									k := kh*KW + kw
									oy := ov[(((nb*OG+ogi)*KH*KW+k)*2*OH+i)*OW+j]
									ox := ov[(((nb*OG+ogi)*KH*KW+k)*2*OH+OH+i)*OW+j]
									y := float64(-ph+sth*i+kh*dh) + oy
									xx := float64(-pw+stw*j+kw*dw) + ox
									m := 1.0
									if mv != nil {
										m = mv[((nb*OG+ogi)*KH*KW+k)*OH*OW+i*OW+j]
									}
									s += sample(plane, y, xx) * wv[((oc*icpg+ci)*KH+kh)*KW+kw] * m
								}
							}
						}
						res[((nb*OC+oc)*OH+i)*OW+j] = s
					}
				}
			}
		}
		out, err := FromFloat64(x.DType, res, []int{N, OC, OH, OW})
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}
