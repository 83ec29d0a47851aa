package passes

import (
	"fmt"
	"math"
	"reflect"

	"github.com/frugal-ml/frugal/arith/intq"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/ops"
	"github.com/frugal-ml/frugal/tensor"
)

// FuseQDQ turns the QDQ format (QuantizeLinear/DequantizeLinear pairs around
// float ops, as ONNX Runtime's quantizer and frugal's PTQ emit it) into
// integer kernels:
//
//	DQ(xq) -> Conv(DQ(wq), DQ(bq)|b) [-> Relu|Clip] [-> Q]  =>  QLinearConv
//	DQ(xq) -> Gemm(DQ(wq), ...)      [-> Relu|Clip] [-> Q]  =>  ai.frugal:QGemm
//	DQ(xq) -> MatMul(DQ(wq [K,N]))   [-> Relu|Clip] [-> Q]  =>  ai.frugal:QGemm (wq^T)
//	DQ(xq) -> MaxPool|Flatten|Reshape -> Q(same params) =>  the op on xq
//	DQ(a) + DQ(b) [-> Relu|Clip] -> Q                   =>  ai.frugal:QLinearAdd
//
// A pattern whose pieces are not constant, per-tensor where required, or
// consumed elsewhere is left alone and runs in float, which is still correct.
func FuseQDQ(g *graph.Graph) (int, error) {
	count := 0
	for {
		n, err := fuseOnce(g)
		if err != nil {
			return count, err
		}
		if n == 0 {
			return count, nil
		}
		count += n
		if _, err := DeadNodes(g); err != nil {
			return count, err
		}
	}
}

func fuseOnce(g *graph.Graph) (int, error) {
	prod := g.Producers()
	cons := g.Consumers()
	soleUse := func(v string) bool { return len(cons[v]) == 1 && !g.IsGraphOutput(v) }
	dq := func(v string) *graph.Node {
		if p := prod[v]; p != nil && p.OpType == "DequantizeLinear" && p.Domain == "" {
			return p
		}
		return nil
	}
	constT := func(v string) *tensor.Tensor {
		if v == "" {
			return nil
		}
		return g.Initializers[v]
	}
	isInput := graphInputs(g)
	for _, n := range g.Nodes {
		switch n.OpType {
		case "Conv", "Gemm", "MatMul":
			if n.Domain != "" {
				continue
			}
			if n.OpType == "Gemm" {
				ta, _ := n.Int("transA", 0)
				tb, _ := n.Int("transB", 0)
				al, _ := n.Float("alpha", 1)
				be, _ := n.Float("beta", 1)
				if ta != 0 || tb != 1 || al != 1 || be != 1 {
					continue
				}
			}
			dx, dw := dq(n.Input(0)), dq(n.Input(1))
			if dx == nil || dw == nil {
				continue
			}
			sx, sw := constT(dx.Input(1)), constT(dw.Input(1))
			wq := constT(dw.Input(0))
			if sx == nil || sx.Len() != 1 || sw == nil || wq == nil || wq.DType != tensor.Int8 && wq.DType != tensor.Uint8 {
				continue
			}
			// Per-channel weight scales must be per output channel: axis 0
			// of Conv/Gemm weights, axis 1 (the columns) of a MatMul's
			// [K, N], which becomes QGemm's [N, K] below.
			chanAxis := int64(0)
			if n.OpType == "MatMul" {
				if wq.Rank() != 2 {
					continue
				}
				chanAxis = 1
			}
			if ax, _ := dw.Int("axis", 1); sw.Len() > 1 && ax != chanAxis && ax != chanAxis-int64(wq.Rank()) {
				continue
			}
			if bs, _ := dw.Int("block_size", 0); bs != 0 {
				continue
			}
			if dx.Input(2) != "" && constT(dx.Input(2)) == nil {
				continue
			}
			// Bias: DQ(int32 with scale sx*sw) or a float constant we quantize.
			biasName := ""
			if b := n.Input(2); b != "" {
				var bq *tensor.Tensor
				if db := dq(b); db != nil {
					t := constT(db.Input(0))
					bs := constT(db.Input(1))
					if t == nil || t.DType != tensor.Int32 || bs == nil || !scalesMatch(bs, sx, sw) || (db.Input(2) != "" && !allZero(constT(db.Input(2)))) {
						continue
					}
					bq = t
				} else if bf := constT(b); bf != nil && bf.DType == tensor.Float32 {
					bq = quantizeBias(bf, sx.F32()[0], sw.F32())
				} else {
					continue
				}
				biasName = n.Outputs[0] + "_bias_q"
				g.AddInitializer(biasName, bq)
			}
			out := n.Outputs[0]
			tail := n
			act := ""
			var clipLo, clipHi float32
			if r := cons[out]; len(r) == 1 && r[0].OpType == "Relu" && r[0].Domain == "" && !g.IsGraphOutput(out) {
				tail, act = r[0], "Relu"
				out = r[0].Outputs[0]
			} else if len(r) == 1 && r[0].OpType == "Clip" && r[0].Domain == "" && !g.IsGraphOutput(out) {
				// Clip with constant bounds (ReLU6): clamped in the
				// quantized domain by the requantizing store.
				if lo, hi, ok := clipBounds(g, r[0], isInput); ok {
					tail, act, clipLo, clipHi = r[0], "Clip", lo, hi
					out = r[0].Outputs[0]
				}
			}
			ys, yz := "", ""
			if q := cons[out]; len(q) == 1 && q[0].OpType == "QuantizeLinear" && !g.IsGraphOutput(out) {
				qs := constT(q[0].Input(1))
				if qs != nil && qs.Len() == 1 && (q[0].Input(2) == "" || constT(q[0].Input(2)) != nil) {
					zpT := constT(q[0].Input(2))
					if zpT == nil || zpT.DType == tensor.Uint8 || zpT.DType == tensor.Int8 {
						ys, yz = q[0].Input(1), q[0].Input(2)
						tail = q[0]
						out = q[0].Outputs[0]
						if yz == "" {
							yz = out + "_zp"
							g.AddInitializer(yz, tensor.MustFromSlice([]uint8{0}, 1))
						}
					}
				}
			}
			_ = soleUse
			op, dom := "QLinearConv", ""
			wIn := dw.Input(0)
			switch n.OpType {
			case "Gemm":
				op, dom = "QGemm", ops.FrugalDomain
			case "MatMul":
				op, dom = "QGemm", ops.FrugalDomain
				wIn = transposedWeight(g, wIn, wq)
			}
			zx := dx.Input(2)
			if zx == "" {
				zx = n.Outputs[0] + "_xzp"
				g.AddInitializer(zx, tensor.MustFromSlice([]uint8{0}, 1))
			}
			zw := dw.Input(2)
			if zw == "" {
				zw = n.Outputs[0] + "_wzp"
				g.AddInitializer(zw, &tensor.Tensor{DType: wq.DType, Shape: []int{1}, Data: zeroOf(wq.DType)})
			}
			fused := &graph.Node{Name: n.Name + "_int8", OpType: op, Domain: dom,
				Inputs:  []string{dx.Input(0), dx.Input(1), zx, wIn, dw.Input(1), zw, ys, yz, biasName},
				Outputs: []string{out}, Attrs: map[string]*graph.Attr{}}
			for k, a := range n.Attrs {
				switch k {
				case "transA", "transB", "alpha", "beta":
				default:
					fused.Attrs[k] = a
				}
			}
			if act != "" {
				fused.SetAttr(graph.AttrS("activation", act))
			}
			if act == "Clip" {
				fused.SetAttr(graph.AttrF("activation_min", clipLo))
				fused.SetAttr(graph.AttrF("activation_max", clipHi))
			}
			replace(g, n, tail, fused)
			return 1, nil
		case "Add":
			// DQ(a) + DQ(b) [-> Relu|Clip] -> Q  =>  ai.frugal:QLinearAdd
			if n.Domain != "" || len(n.Inputs) != 2 {
				continue
			}
			da, db := dq(n.Input(0)), dq(n.Input(1))
			if da == nil || db == nil || !scalarQuant(g, da) || !scalarQuant(g, db) {
				continue
			}
			out, tail, act := n.Outputs[0], n, ""
			var clipLo, clipHi float32
			if r := cons[out]; len(r) == 1 && !g.IsGraphOutput(out) && r[0].Domain == "" {
				switch r[0].OpType {
				case "Relu":
					tail, act, out = r[0], "Relu", r[0].Outputs[0]
				case "Clip":
					if lo, hi, ok := clipBounds(g, r[0], isInput); ok {
						tail, act, out, clipLo, clipHi = r[0], "Clip", r[0].Outputs[0], lo, hi
					}
				}
			}
			q := cons[out]
			if len(q) != 1 || g.IsGraphOutput(out) || q[0].OpType != "QuantizeLinear" || q[0].Domain != "" || !scalarQuant(g, q[0]) || q[0].Input(2) == "" {
				continue
			}
			if zq := constT(q[0].Input(2)); zq.DType != tensor.Uint8 && zq.DType != tensor.Int8 {
				continue
			}
			tail = q[0]
			fused := &graph.Node{Name: n.Name + "_int8", OpType: "QLinearAdd", Domain: ops.FrugalDomain,
				Inputs:  []string{da.Input(0), da.Input(1), da.Input(2), db.Input(0), db.Input(1), db.Input(2), q[0].Input(1), q[0].Input(2)},
				Outputs: []string{q[0].Outputs[0]}, Attrs: map[string]*graph.Attr{}}
			if act != "" {
				fused.SetAttr(graph.AttrS("activation", act))
			}
			if act == "Clip" {
				fused.SetAttr(graph.AttrF("activation_min", clipLo))
				fused.SetAttr(graph.AttrF("activation_max", clipHi))
			}
			replace(g, n, tail, fused)
			return 1, nil
		case "MaxPool", "Flatten", "Reshape":
			if n.Domain != "" || len(n.Outputs) > 1 && n.Outputs[1] != "" {
				continue
			}
			d := dq(n.Input(0))
			if d == nil || !soleUse(n.Outputs[0]) {
				continue
			}
			q := cons[n.Outputs[0]][0]
			if q.OpType != "QuantizeLinear" || !sameQuant(g, d, q) {
				continue
			}
			inner := n.Clone()
			inner.Inputs[0] = d.Input(0)
			inner.Outputs = []string{q.Outputs[0]}
			replace(g, n, q, inner)
			return 1, nil
		}
	}
	return 0, nil
}

// transposedWeight returns the name of an initializer holding the 8-bit
// matrix w (initializer name, [K, N]) transposed to [N, K], QGemm's layout,
// adding it unless an earlier fusion of the same weight did.
func transposedWeight(g *graph.Graph, name string, w *tensor.Tensor) string {
	k, n := w.Shape[0], w.Shape[1]
	t := tensor.New(w.DType, n, k)
	switch d := w.Data.(type) {
	case []int8:
		td := t.I8()
		for i := 0; i < k; i++ {
			for j := 0; j < n; j++ {
				td[j*k+i] = d[i*n+j]
			}
		}
	case []uint8:
		td := t.U8()
		for i := 0; i < k; i++ {
			for j := 0; j < n; j++ {
				td[j*k+i] = d[i*n+j]
			}
		}
	}
	for i := 0; ; i++ {
		tn := name + "_transposed"
		if i > 0 {
			tn = fmt.Sprintf("%s_transposed_%d", name, i)
		}
		old, ok := g.Initializers[tn]
		if !ok {
			g.AddInitializer(tn, t)
			return tn
		}
		if old.DType == t.DType && tensor.SameShape(old.Shape, t.Shape) && reflect.DeepEqual(old.Data, t.Data) {
			return tn
		}
	}
}

// replace puts `with` where head was and deletes head..tail's nodes (the
// chain head -> ... -> tail); producers of unused inputs die in DeadNodes.
func replace(g *graph.Graph, head, tail *graph.Node, with *graph.Node) {
	var nodes []*graph.Node
	drop := map[*graph.Node]bool{head: true, tail: true}
	// Intermediate chain nodes (e.g. Relu between Conv and Q).
	cons := g.Consumers()
	cur := head
	for cur != tail {
		next := cons[cur.Outputs[0]]
		if len(next) != 1 {
			break
		}
		cur = next[0]
		drop[cur] = true
	}
	for _, n := range g.Nodes {
		if n == head {
			nodes = append(nodes, with)
			continue
		}
		if !drop[n] {
			nodes = append(nodes, n)
		}
	}
	g.Nodes = nodes
}

// scalarQuant reports a Q or DQ node with a constant float32 scalar scale,
// an explicit constant scalar 8-bit zero point, and no axis/block tricks.
func scalarQuant(g *graph.Graph, n *graph.Node) bool {
	s, z := g.Initializers[n.Input(1)], g.Initializers[n.Input(2)]
	if s == nil || s.DType != tensor.Float32 || s.Len() != 1 || z == nil || z.Len() != 1 {
		return false
	}
	if _, ok := g.Initializers[n.Input(0)]; ok {
		return false // a constant operand is folded elsewhere
	}
	return z.DType == tensor.Uint8 || z.DType == tensor.Int8
}

func sameQuant(g *graph.Graph, d, q *graph.Node) bool {
	ds, qs := g.Initializers[d.Input(1)], g.Initializers[q.Input(1)]
	if ds == nil || qs == nil || ds.Len() != 1 || qs.Len() != 1 || ds.F32()[0] != qs.F32()[0] {
		return false
	}
	dz, qz := g.Initializers[d.Input(2)], g.Initializers[q.Input(2)]
	if (d.Input(2) == "") != (q.Input(2) == "") {
		return false
	}
	if dz == nil && qz == nil {
		return d.Input(2) == ""
	}
	return dz != nil && qz != nil && dz.DType == qz.DType && dz.Float64At(0) == qz.Float64At(0)
}

func scalesMatch(bs, sx, sw *tensor.Tensor) bool {
	x := sx.F32()[0]
	w := sw.F32()
	b := bs.F32()
	if len(b) != len(w) && len(b) != 1 {
		return false
	}
	for i := range b {
		want := x * w[min(i, len(w)-1)]
		if math.Abs(float64(b[i]-want)) > 1e-6*math.Abs(float64(want)) {
			return false
		}
	}
	return true
}

func allZero(t *tensor.Tensor) bool {
	if t == nil {
		return false
	}
	for i := 0; i < t.Len(); i++ {
		if t.Float64At(i) != 0 {
			return false
		}
	}
	return true
}

// quantizeBias rounds a float bias to int32 at scale sx*sw[c].
func quantizeBias(b *tensor.Tensor, sx float32, sw []float32) *tensor.Tensor {
	q, _ := intq.QuantizeBias(b.F32(), sx, sw)
	return tensor.MustFromSlice(q, len(q))
}

func zeroOf(dt tensor.DType) any {
	if dt == tensor.Int8 {
		return []int8{0}
	}
	return []uint8{0}
}
