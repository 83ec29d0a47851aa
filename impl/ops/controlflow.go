package ops

import (
	"fmt"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// Control flow: If, Loop and Scan run their bodies through Ctx.RunGraph,
// which builds (once) and runs a subgraph session that captures outer-scope
// values by name.

func init() {
	Register(Impl{Op: "If", DTypes: allTypes, Build: buildIf})
	Register(Impl{Op: "Loop", DTypes: allTypes, Build: buildLoop})
	Register(Impl{Op: "Scan", DTypes: allTypes, Build: buildScan})
}

func graphAttr(n *graph.Node, name string) (*graph.Graph, error) {
	a, ok := n.Attrs[name]
	if !ok || a.G == nil {
		return nil, fmt.Errorf("missing graph attribute %q", name)
	}
	return a.G, nil
}

func truth(v Value, what string) (bool, error) {
	t, ok := v.(*tensor.Tensor)
	if !ok || t == nil {
		return false, fmt.Errorf("%s is %T, want a bool tensor", what, v)
	}
	if t.Len() != 1 {
		return false, fmt.Errorf("%s must have one element, has shape %v", what, t.Shape)
	}
	if t.DType == tensor.Bool {
		return t.Bools()[0], nil
	}
	f, err := ToFloat64(t)
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	return f[0] != 0, nil
}

func runBody(ctx *Ctx, g *graph.Graph, in []Value) ([]Value, error) {
	if ctx.RunGraph == nil {
		return nil, fmt.Errorf("this runtime cannot run subgraphs")
	}
	return ctx.RunGraph(g, in, ctx.Outer)
}

func buildIf(b *BuildInfo) (Kernel, error) {
	thenG, err := graphAttr(b.Node, "then_branch")
	if err != nil {
		return nil, err
	}
	elseG, err := graphAttr(b.Node, "else_branch")
	if err != nil {
		return nil, err
	}
	nout := len(b.Node.Outputs)
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		if len(in) == 0 {
			return nil, fmt.Errorf("If needs a condition")
		}
		c, err := truth(in[0], "cond")
		if err != nil {
			return nil, err
		}
		g := elseG
		if c {
			g = thenG
		}
		out, err := runBody(ctx, g, nil)
		if err != nil {
			return nil, fmt.Errorf("branch %q: %w", g.Name, err)
		}
		if len(out) < nout {
			return nil, fmt.Errorf("branch %q returned %d outputs, node has %d", g.Name, len(out), nout)
		}
		return out, nil
	}), nil
}

// stack joins equally shaped tensors along a new axis.
func stack(ts []*tensor.Tensor, axis int) (*tensor.Tensor, error) {
	if len(ts) == 0 {
		return nil, fmt.Errorf("nothing to stack")
	}
	r := ts[0].Rank() + 1
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis >= r {
		return nil, fmt.Errorf("stack axis %d out of range for rank %d", axis, r)
	}
	us := make([]*tensor.Tensor, len(ts))
	for i, t := range ts {
		if !tensor.SameShape(t.Shape, ts[0].Shape) || t.DType != ts[0].DType {
			return nil, fmt.Errorf("iteration outputs differ: %s%v vs %s%v", t.DType, t.Shape, ts[0].DType, ts[0].Shape)
		}
		shape := append(append(append([]int{}, t.Shape[:axis]...), 1), t.Shape[axis:]...)
		u, err := t.Reshaped(shape...)
		if err != nil {
			return nil, err
		}
		us[i] = u
	}
	return Concat(us, int64(axis))
}

// emptyStacked is the scan output of zero iterations, shaped from the
// declared body output type where known.
func emptyStacked(vi graph.ValueInfo) *tensor.Tensor {
	dt := vi.Type.DType
	if dt == tensor.Undefined {
		dt = tensor.Float32
	}
	shape := []int{0}
	if s, ok := vi.Type.Known(); ok {
		shape = append(shape, s...)
	}
	return newTensor(dt, shape...)
}

func buildLoop(b *BuildInfo) (Kernel, error) {
	body, err := graphAttr(b.Node, "body")
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		if len(in) < 2 {
			return nil, fmt.Errorf("Loop needs inputs M and cond (possibly empty)")
		}
		maxIter := int64(-1)
		if in[0] != nil {
			t, ok := in[0].(*tensor.Tensor)
			if !ok {
				return nil, fmt.Errorf("M is %T, want a tensor", in[0])
			}
			v, err := intsOf(t, "M")
			if err != nil || len(v) != 1 {
				return nil, fmt.Errorf("M must be one integer")
			}
			maxIter = v[0]
		}
		cond := true
		if in[1] != nil {
			c, err := truth(in[1], "cond")
			if err != nil {
				return nil, err
			}
			cond = c
		}
		carried := append([]Value{}, in[2:]...)
		nc := len(carried)
		nScan := len(body.Outputs) - 1 - nc
		if nScan < 0 {
			return nil, fmt.Errorf("body has %d outputs for %d loop-carried values", len(body.Outputs), nc)
		}
		scans := make([][]*tensor.Tensor, nScan)
		for i := int64(0); (maxIter < 0 || i < maxIter) && cond; i++ {
			if ctx.Context != nil {
				if err := ctx.Context.Err(); err != nil {
					return nil, err
				}
			}
			args := append([]Value{tensor.Scalar(i), tensor.Scalar(cond)}, carried...)
			out, err := runBody(ctx, body, args)
			if err != nil {
				return nil, fmt.Errorf("iteration %d: %w", i, err)
			}
			if len(out) != len(body.Outputs) {
				return nil, fmt.Errorf("body returned %d outputs, declares %d", len(out), len(body.Outputs))
			}
			if c, err := truth(out[0], "cond_out"); err != nil {
				return nil, err
			} else {
				cond = c
			}
			copy(carried, out[1:1+nc])
			for k := 0; k < nScan; k++ {
				t, ok := out[1+nc+k].(*tensor.Tensor)
				if !ok || t == nil {
					return nil, fmt.Errorf("scan output %d is %T, want a tensor", k, out[1+nc+k])
				}
				scans[k] = append(scans[k], t)
			}
		}
		res := append([]Value{}, carried...)
		for k := 0; k < nScan; k++ {
			if len(scans[k]) == 0 {
				res = append(res, emptyStacked(body.Outputs[1+nc+k]))
				continue
			}
			st, err := stack(scans[k], 0)
			if err != nil {
				return nil, fmt.Errorf("scan output %d: %w", k, err)
			}
			res = append(res, st)
		}
		return res, nil
	}), nil
}

func buildScan(b *BuildInfo) (Kernel, error) {
	n := b.Node
	body, err := graphAttr(n, "body")
	if err != nil {
		return nil, err
	}
	ns, err := n.Int("num_scan_inputs", 0)
	if err != nil {
		return nil, err
	}
	inAxes, _ := n.Ints("scan_input_axes", nil)
	inDirs, err := n.Ints("scan_input_directions", nil)
	if err != nil {
		return nil, err
	}
	if inDirs == nil {
		inDirs, _ = n.Ints("directions", nil)
	}
	outAxes, _ := n.Ints("scan_output_axes", nil)
	outDirs, _ := n.Ints("scan_output_directions", nil)
	legacy := b.Opset > 0 && b.Opset < 9
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		if !legacy {
			return scanOnce(ctx, body, in, int(ns), inAxes, inDirs, outAxes, outDirs)
		}
		// Opset 8: a leading optional sequence_lens and a batch axis 0 on
		// every input; run per batch entry and stack.
		vals := in[1:]
		if len(vals) == 0 {
			return nil, fmt.Errorf("Scan has no inputs")
		}
		first, ok := vals[0].(*tensor.Tensor)
		if !ok {
			return nil, fmt.Errorf("Scan input is %T, want a tensor", vals[0])
		}
		batch := first.Shape[0]
		var per [][]Value
		for bi := 0; bi < batch; bi++ {
			args := make([]Value, len(vals))
			for i, v := range vals {
				t, ok := v.(*tensor.Tensor)
				if !ok || t.Rank() == 0 || t.Shape[0] != batch {
					return nil, fmt.Errorf("Scan input %d does not have batch dimension %d", i, batch)
				}
				sl := splitAxis(t, 0, ones(batch))[bi]
				args[i], _ = sl.Reshaped(t.Shape[1:]...)
			}
			out, err := scanOnce(ctx, body, args, int(ns), nil, inDirs, nil, nil)
			if err != nil {
				return nil, err
			}
			per = append(per, out)
		}
		res := make([]Value, len(per[0]))
		for j := range res {
			ts := make([]*tensor.Tensor, batch)
			for bi := range per {
				t, ok := per[bi][j].(*tensor.Tensor)
				if !ok {
					return nil, fmt.Errorf("Scan output %d is %T", j, per[bi][j])
				}
				ts[bi] = t
			}
			st, err := stack(ts, 0)
			if err != nil {
				return nil, err
			}
			res[j] = st
		}
		return res, nil
	}), nil
}

func ones(n int) []int {
	o := make([]int, n)
	for i := range o {
		o[i] = 1
	}
	return o
}

func scanOnce(ctx *Ctx, body *graph.Graph, in []Value, ns int, inAxes, inDirs, outAxes, outDirs []int64) ([]Value, error) {
	nState := len(in) - ns
	if nState < 0 {
		return nil, fmt.Errorf("Scan has %d inputs, fewer than num_scan_inputs %d", len(in), ns)
	}
	state := append([]Value{}, in[:nState]...)
	// Slice every scan input along its axis.
	seqLen := -1
	slices := make([][]*tensor.Tensor, ns)
	for i := 0; i < ns; i++ {
		t, ok := in[nState+i].(*tensor.Tensor)
		if !ok || t == nil {
			return nil, fmt.Errorf("scan input %d is %T, want a tensor", i, in[nState+i])
		}
		ax := 0
		if i < len(inAxes) {
			a, err := normAxis(inAxes[i], t.Rank())
			if err != nil {
				return nil, err
			}
			ax = a
		}
		if t.Rank() == 0 {
			return nil, fmt.Errorf("scan input %d is a scalar", i)
		}
		L := t.Shape[ax]
		if seqLen >= 0 && L != seqLen {
			return nil, fmt.Errorf("scan inputs have lengths %d and %d", seqLen, L)
		}
		seqLen = L
		parts := splitAxis(t, ax, ones(L))
		shape := append(append([]int{}, t.Shape[:ax]...), t.Shape[ax+1:]...)
		for k := range parts {
			parts[k], _ = parts[k].Reshaped(shape...)
		}
		if i < len(inDirs) && inDirs[i] != 0 {
			for a, z := 0, len(parts)-1; a < z; a, z = a+1, z-1 {
				parts[a], parts[z] = parts[z], parts[a]
			}
		}
		slices[i] = parts
	}
	if seqLen < 0 {
		seqLen = 0
	}
	nOut := len(body.Outputs) - nState
	if nOut < 0 {
		return nil, fmt.Errorf("body has %d outputs for %d state values", len(body.Outputs), nState)
	}
	scans := make([][]*tensor.Tensor, nOut)
	for t := 0; t < seqLen; t++ {
		if ctx.Context != nil {
			if err := ctx.Context.Err(); err != nil {
				return nil, err
			}
		}
		args := append([]Value{}, state...)
		for i := 0; i < ns; i++ {
			args = append(args, slices[i][t])
		}
		out, err := runBody(ctx, body, args)
		if err != nil {
			return nil, fmt.Errorf("iteration %d: %w", t, err)
		}
		copy(state, out[:nState])
		for k := 0; k < nOut; k++ {
			v, ok := out[nState+k].(*tensor.Tensor)
			if !ok || v == nil {
				return nil, fmt.Errorf("scan output %d is %T, want a tensor", k, out[nState+k])
			}
			scans[k] = append(scans[k], v)
		}
	}
	res := append([]Value{}, state...)
	for k := 0; k < nOut; k++ {
		if len(scans[k]) == 0 {
			res = append(res, emptyStacked(body.Outputs[nState+k]))
			continue
		}
		if k < len(outDirs) && outDirs[k] != 0 {
			s := scans[k]
			for a, z := 0, len(s)-1; a < z; a, z = a+1, z-1 {
				s[a], s[z] = s[z], s[a]
			}
		}
		ax := 0
		if k < len(outAxes) {
			ax = int(outAxes[k])
		}
		st, err := stack(scans[k], ax)
		if err != nil {
			return nil, fmt.Errorf("scan output %d: %w", k, err)
		}
		res = append(res, st)
	}
	return res, nil
}
