package ops

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/arith/convert"
	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

func qaddNode(act string, lo, hi float32) *graph.Node {
	n := node("QLinearAdd", 8)
	n.Domain = FrugalDomain
	if act != "" {
		n.SetAttr(graph.AttrS("activation", act))
	}
	if act == "Clip" {
		n.SetAttr(graph.AttrF("activation_min", lo))
		n.SetAttr(graph.AttrF("activation_max", hi))
	}
	return n
}

func qaddCodes(r *rand.Rand, dt tensor.DType, shape ...int) *tensor.Tensor {
	x := tensor.New(dt, shape...)
	b := codes(x)
	for i := range b {
		b[i] = uint8(r.IntN(256))
	}
	return x
}

func qaddZP(dt tensor.DType, v int) *tensor.Tensor {
	if dt == tensor.Int8 {
		return tensor.Scalar(int8(v - 128))
	}
	return tensor.Scalar(uint8(v))
}

// The same-shape QLinearAdd (arith/convert's fused kernel, every kernel
// set) gives the codes of the scalar loop it replaced: per element two
// dequantization tables, float32 add and division, RoundToEven, zero
// point, clamp to the codes bounding the fused activation.
func TestQLinearAddSameShape(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	shape := []int{1, 3, 37, 41} // 4551 elements: two chunks and a tail
	def := convert.FusedImpl()
	defer convert.SetFusedImpl(def)
	for _, act := range []struct {
		kind   string
		lo, hi float32
	}{{"", 0, 0}, {"Relu", 0, 0}, {"Clip", 0, 6}, {"Clip", -1.5, 2.25}} {
		for _, dts := range [][3]tensor.DType{{tensor.Uint8, tensor.Uint8, tensor.Uint8}, {tensor.Int8, tensor.Int8, tensor.Int8},
			{tensor.Uint8, tensor.Int8, tensor.Uint8}, {tensor.Int8, tensor.Uint8, tensor.Int8}} {
			a, b := qaddCodes(r, dts[0], shape...), qaddCodes(r, dts[1], shape...)
			in := []Value{a, tensor.Scalar(float32(0.037)), qaddZP(dts[0], 120), b, tensor.Scalar(float32(0.021)), qaddZP(dts[1], 7),
				tensor.Scalar(float32(0.05)), qaddZP(dts[2], 100)}
			want := oldQAdd(t, in, act.kind, act.lo, act.hi)
			for _, impl := range convert.FusedImpls() {
				if err := convert.SetFusedImpl(impl); err != nil {
					t.Fatal(err)
				}
				got := run(t, qaddNode(act.kind, act.lo, act.hi), 13, in...)[0].(*tensor.Tensor)
				if got.DType != dts[2] {
					t.Fatalf("dtype %s want %s", got.DType, dts[2])
				}
				g := codes(got)
				for i := range want {
					if g[i] != want[i] {
						t.Fatalf("%s %s %v: code %d = %d want %d", impl, act.kind, dts, i, g[i], want[i])
					}
				}
			}
		}
	}
}

// oldQAdd is the scalar same-shape loop QLinearAdd had before the SIMD
// kernel, kept as the oracle.
func oldQAdd(t *testing.T, in []Value, act string, amin, amax float32) []uint8 {
	ts, err := MustTensors(in, 8)
	if err != nil {
		t.Fatal(err)
	}
	ta, err := dequantTable(ts[0], ts[1], ts[2])
	if err != nil {
		t.Fatal(err)
	}
	tb, err := dequantTable(ts[3], ts[4], ts[5])
	if err != nil {
		t.Fatal(err)
	}
	zy := ts[7]
	sy := ts[6].F32()[0]
	zp := float32(zy.Float64At(0))
	lo, hi := float32(0), float32(255)
	if zy.DType == tensor.Int8 {
		lo, hi = -128, 127
	}
	qlo, qhi := lo, hi
	switch act {
	case "Relu":
		qlo = max(qlo, quantCode(0, sy, zp, lo, hi))
	case "Clip":
		qlo = max(qlo, quantCode(amin, sy, zp, lo, hi))
		qhi = min(qhi, quantCode(amax, sy, zp, lo, hi))
	}
	xa, xb := codes(ts[0]), codes(ts[3])
	xo := make([]uint8, len(xa))
	for i, x := range xa {
		q := float32(math.RoundToEven(float64((ta[x]+tb[xb[i]])/sy))) + zp
		q = min(max(q, qlo), qhi)
		if lo < 0 {
			xo[i] = uint8(int8(q))
		} else {
			xo[i] = uint8(q)
		}
	}
	return xo
}

// BenchmarkQLinearAdd runs the op on a ResNet-18 residual join
// (1x64x56x56 uint8, same shapes) with 1 and 2 threads.
func BenchmarkQLinearAdd(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	shape := []int{1, 64, 56, 56}
	in := []Value{qaddCodes(r, tensor.Uint8, shape...), tensor.Scalar(float32(0.037)), tensor.Scalar(uint8(120)),
		qaddCodes(r, tensor.Uint8, shape...), tensor.Scalar(float32(0.021)), tensor.Scalar(uint8(7)),
		tensor.Scalar(float32(0.05)), tensor.Scalar(uint8(100))}
	info := &BuildInfo{Node: qaddNode("Relu", 0, 0), Opset: 13, Const: make([]*tensor.Tensor, 8), InTypes: make([]graph.Type, 8)}
	for i, v := range in {
		info.InTypes[i] = graph.Type{DType: v.(*tensor.Tensor).DType}
	}
	k, _, err := Build(info)
	if err != nil {
		b.Fatal(err)
	}
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			ctx := &Ctx{Context: context.Background(), Threads: threads}
			b.SetBytes(int64(64 * 56 * 56))
			for b.Loop() {
				if _, err := k.Run(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
