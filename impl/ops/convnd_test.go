package ops

import (
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

func randF32(r *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.New(tensor.Float32, shape...)
	for i := range t.F32() {
		t.F32()[i] = float32(r.NormFloat64())
	}
	return t
}

// conv3dNaive is the direct 3-D convolution oracle.
func conv3dNaive(x, w []float32, n, ci, d, h, wd, co, k int, pad, stride int, bias []float32) ([]float64, []int) {
	od := (d+2*pad-k)/stride + 1
	oh := (h+2*pad-k)/stride + 1
	ow := (wd+2*pad-k)/stride + 1
	out := make([]float64, n*co*od*oh*ow)
	for b := 0; b < n; b++ {
		for o := 0; o < co; o++ {
			for z := 0; z < od; z++ {
				for y := 0; y < oh; y++ {
					for xx := 0; xx < ow; xx++ {
						s := float64(bias[o])
						for c := 0; c < ci; c++ {
							for kz := 0; kz < k; kz++ {
								for ky := 0; ky < k; ky++ {
									for kx := 0; kx < k; kx++ {
										iz, iy, ix := z*stride-pad+kz, y*stride-pad+ky, xx*stride-pad+kx
										if iz < 0 || iy < 0 || ix < 0 || iz >= d || iy >= h || ix >= wd {
											continue
										}
										s += float64(x[(((b*ci+c)*d+iz)*h+iy)*wd+ix]) * float64(w[(((o*ci+c)*k+kz)*k+ky)*k+kx])
									}
								}
							}
						}
						out[(((b*co+o)*od+z)*oh+y)*ow+xx] = s
					}
				}
			}
		}
	}
	return out, []int{n, co, od, oh, ow}
}

func TestConv3DMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x := randF32(r, 2, 3, 4, 5, 3)
	w := randF32(r, 4, 3, 3, 3, 3)
	bias := randF32(r, 4)
	n := mk("Conv", 3, 1, graph.IntsAttr("pads", 1, 1, 1, 1, 1, 1), graph.IntsAttr("strides", 2, 2, 2))
	got := run1(t, n, 21, x, w, bias)
	want, shape := conv3dNaive(x.F32(), w.F32(), 2, 3, 4, 5, 3, 4, 3, 1, 2, bias.F32())
	expect(t, "Conv3D", got, shape, want, 1e-4)
	// float64 runs natively; float16 goes through float32.
	x64, _ := Cast(x, tensor.Float64, CastOptions{})
	w64, _ := Cast(w, tensor.Float64, CastOptions{})
	b64, _ := Cast(bias, tensor.Float64, CastOptions{})
	expect(t, "Conv3D float64", run1(t, n, 21, x64, w64, b64), shape, want, 1e-9)
}

func TestConvTransposeAndInteger(t *testing.T) {
	x := f32s(sh(1, 1, 2), 1, 2)
	w := f32s(sh(1, 1, 3), 1, 1, 1)
	ct := run1(t, mk("ConvTranspose", 2, 1, graph.IntsAttr("strides", 2)), 21, x, w)
	expect(t, "ConvTranspose", ct, sh(1, 1, 5), []float64{1, 1, 3, 2, 2}, 0)
	cto := run1(t, mk("ConvTranspose", 2, 1, graph.IntsAttr("strides", 2), graph.IntsAttr("output_padding", 1)), 21, x, w)
	expect(t, "ConvTranspose output_padding", cto, sh(1, 1, 6), []float64{1, 1, 3, 2, 2, 0}, 0)
	ctp := run1(t, mk("ConvTranspose", 2, 1, graph.IntsAttr("strides", 2), graph.IntsAttr("pads", 1, 1)), 21, x, w)
	expect(t, "ConvTranspose pads", ctp, sh(1, 1, 3), []float64{1, 3, 2}, 0)
	xi := &tensor.Tensor{DType: tensor.Uint8, Shape: []int{1, 1, 3}, Data: []uint8{2, 3, 4}}
	wi := &tensor.Tensor{DType: tensor.Uint8, Shape: []int{1, 1, 2}, Data: []uint8{1, 2}}
	ci := run1(t, mk("ConvInteger", 3, 1), 10, xi, wi, &tensor.Tensor{DType: tensor.Uint8, Data: []uint8{1}})
	if ci.DType != tensor.Int32 {
		t.Fatalf("ConvInteger dtype %s", ci.DType)
	}
	expect(t, "ConvInteger", ci, sh(1, 1, 2), []float64{1 + 4, 2 + 6}, 0)
	c2i := run1(t, mk("Col2Im", 3, 1), 18, f32s(sh(1, 2, 2), 1, 2, 3, 4), i64s(sh(2), 1, 3), i64s(sh(2), 1, 2))
	expect(t, "Col2Im", c2i, sh(1, 1, 1, 3), []float64{1, 2 + 3, 4}, 0)
}
