package ops

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// ai.onnx.ml ops: LabelEncoder, Binarizer, ArrayFeatureExtractor, TreeEnsemble.

const mlDomain = "ai.onnx.ml"

func init() {
	Register(Impl{Op: "LabelEncoder", Domain: mlDomain, DTypes: allTypes, Build: buildLabelEncoder})
	graph.RegisterShape(mlDomain, "LabelEncoder", func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, v int64) ([]graph.Type, error) {
		return []graph.Type{{}}, nil
	})
	Register(Impl{Op: "Binarizer", Domain: mlDomain, DTypes: numericTypes, Build: func(b *BuildInfo) (Kernel, error) {
		th, err := b.Node.Float("threshold", 0)
		if err != nil {
			return nil, err
		}
		t := float64(th)
		return unaryKernel(unaryOp{
			f: func(v float64) float64 {
				if v > t {
					return 1
				}
				return 0
			},
			i: func(v int64) int64 {
				if float64(v) > t {
					return 1
				}
				return 0
			},
			u: func(v uint64) uint64 {
				if float64(v) > t {
					return 1
				}
				return 0
			},
		}), nil
	}})
	graph.RegisterShape(mlDomain, "Binarizer", sameShape)
	Register(Impl{Op: "ArrayFeatureExtractor", Domain: mlDomain, DTypes: allTypes, Build: func(b *BuildInfo) (Kernel, error) {
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
			ts, err := MustTensors(in, 2)
			if err != nil {
				return nil, err
			}
			x := ts[0]
			if x.Rank() == 0 {
				return nil, fmt.Errorf("input must have rank >= 1")
			}
			ind, err := indexArg(ts[1], x.Shape[x.Rank()-1], "Y")
			if err != nil {
				return nil, err
			}
			last := x.Shape[x.Rank()-1]
			outer := x.Len() / max(last, 1)
			idx := make([]int, 0, outer*len(ind))
			for o := 0; o < outer; o++ {
				for _, j := range ind {
					idx = append(idx, o*last+j)
				}
			}
			shape := append(append([]int{}, x.Shape[:x.Rank()-1]...), len(ind))
			if x.Rank() == 1 {
				shape = []int{1, len(ind)}
			}
			return []Value{takeTensor(x, idx, shape)}, nil
		}), nil
	}})
	graph.RegisterShape(mlDomain, "ArrayFeatureExtractor", dtypeOnly)
}

// labelTable holds LabelEncoder's keys and values as tensors.
func labelAttrTensor(n *graph.Node, kind string) (*tensor.Tensor, error) {
	if t, err := n.Tensor(kind + "_tensor"); err != nil || t != nil {
		return t, err
	}
	if a, ok := n.Attrs[kind+"_strings"]; ok {
		return tensor.MustFromSlice(append([]string{}, a.Strings...), len(a.Strings)), nil
	}
	if a, ok := n.Attrs[kind+"_int64s"]; ok {
		return tensor.MustFromSlice(append([]int64{}, a.Ints...), len(a.Ints)), nil
	}
	if a, ok := n.Attrs[kind+"_floats"]; ok {
		return tensor.MustFromSlice(append([]float32{}, a.Floats...), len(a.Floats)), nil
	}
	return nil, fmt.Errorf("LabelEncoder has no %s", kind)
}

func labelKey(t *tensor.Tensor, i int) string {
	switch d := t.Data.(type) {
	case []string:
		return "s" + d[i]
	}
	if isInt(t.DType) {
		v, _ := ToInt64(takeTensor(t, []int{i}, nil))
		return fmt.Sprint("i", v[0])
	}
	v, _ := ToFloat64(takeTensor(t, []int{i}, nil))
	if v[0] != v[0] {
		return "fNaN"
	}
	return fmt.Sprint("f", v[0])
}

func buildLabelEncoder(b *BuildInfo) (Kernel, error) {
	n := b.Node
	keys, err := labelAttrTensor(n, "keys")
	if err != nil {
		return nil, err
	}
	vals, err := labelAttrTensor(n, "values")
	if err != nil {
		return nil, err
	}
	if keys.Len() != vals.Len() {
		return nil, fmt.Errorf("LabelEncoder has %d keys and %d values", keys.Len(), vals.Len())
	}
	def, err := n.Tensor("default_tensor")
	if err != nil {
		return nil, err
	}
	if def == nil {
		switch vals.DType {
		case tensor.String:
			s, _ := n.String("default_string", "_Unused")
			def = tensor.MustFromSlice([]string{s}, 1)
		case tensor.Int64:
			i, _ := n.Int("default_int64", -1)
			def = tensor.MustFromSlice([]int64{i}, 1)
		default:
			f, _ := n.Float("default_float", 0)
			def, err = floatsTo(vals.DType, []float64{float64(f)}, []int{1}, CastOptions{Saturate: true})
			if err != nil {
				return nil, err
			}
		}
	}
	if def.DType != vals.DType {
		return nil, fmt.Errorf("default has dtype %s, values %s", def.DType, vals.DType)
	}
	table := map[string]int{}
	for i := 0; i < keys.Len(); i++ {
		table[labelKey(keys, i)] = i
	}
	both := concatData([]any{vals.Data, def.Data})
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		if (x.DType == tensor.String) != (keys.DType == tensor.String) {
			return nil, fmt.Errorf("input dtype %s does not match keys %s", x.DType, keys.DType)
		}
		idx := make([]int, x.Len())
		for i := range idx {
			j, ok := table[labelKey(x, i)]
			if !ok {
				j = vals.Len()
			}
			idx[i] = j
		}
		return []Value{&tensor.Tensor{DType: vals.DType, Shape: append([]int{}, x.Shape...), Data: takeData(both, idx)}}, nil
	}), nil
}

func init() {
	Register(Impl{Op: "TreeEnsemble", Domain: mlDomain, DTypes: floatTypes, Build: buildTreeEnsemble})
	graph.RegisterShape(mlDomain, "TreeEnsemble", dtypeOnly)
}

// treeNode is one node of a TreeEnsemble: an interior split or a leaf.
type treeNode struct {
	leaf        bool
	weight      float64
	target      int
	mode        int
	value       float64
	members     map[float64]bool
	feature     int
	missingTrue bool
	t, f        *treeNode
}

func (n *treeNode) predict(x []float64) *treeNode {
	for !n.leaf {
		v := x[n.feature]
		var c bool
		switch n.mode {
		case 0:
			c = v <= n.value
		case 1:
			c = v < n.value
		case 2:
			c = v >= n.value
		case 3:
			c = v > n.value
		case 4:
			c = v == n.value
		case 5:
			c = v != n.value
		case 6:
			c = n.members[v]
		}
		if c || (n.missingTrue && v != v) {
			n = n.t
		} else {
			n = n.f
		}
	}
	return n
}

func buildTreeEnsemble(b *BuildInfo) (Kernel, error) {
	n := b.Node
	tf := func(name string) ([]float64, error) {
		t, err := n.Tensor(name)
		if err != nil || t == nil {
			return nil, err
		}
		return ToFloat64(t)
	}
	ints := func(name string) []int64 { v, _ := n.Ints(name, nil); return v }
	splits, err := tf("nodes_splits")
	if err != nil {
		return nil, err
	}
	weights, err := tf("leaf_weights")
	if err != nil {
		return nil, err
	}
	members, err := tf("membership_values")
	if err != nil {
		return nil, err
	}
	var modes []int64
	if t, err := n.Tensor("nodes_modes"); err != nil {
		return nil, err
	} else if t != nil {
		if modes, err = ToInt64(t); err != nil {
			return nil, err
		}
	}
	feat, tids, fids := ints("nodes_featureids"), ints("nodes_truenodeids"), ints("nodes_falsenodeids")
	tleaf, fleaf := ints("nodes_trueleafs"), ints("nodes_falseleafs")
	ltarget, roots := ints("leaf_targetids"), ints("tree_roots")
	missing := ints("nodes_missing_value_tracks_true")
	post, _ := n.Int("post_transform", 0)
	agg, _ := n.Int("aggregate_function", 1)
	nt, _ := n.Int("n_targets", 1)
	nn := len(modes)
	if len(splits) != nn || len(feat) != nn || len(tids) != nn || len(fids) != nn || len(tleaf) != nn || len(fleaf) != nn || len(ltarget) != len(weights) {
		return nil, fmt.Errorf("TreeEnsemble node/leaf attributes have inconsistent lengths")
	}
	if post != 0 {
		return nil, fmt.Errorf("TreeEnsemble post_transform %d is not supported", post)
	}
	mi := 0
	var build func(i int, leaf bool, depth int) (*treeNode, error)
	build = func(i int, leaf bool, depth int) (*treeNode, error) {
		if depth > 10000 {
			return nil, fmt.Errorf("tree too deep (cycle?)")
		}
		if leaf {
			if i < 0 || i >= len(weights) {
				return nil, fmt.Errorf("leaf %d out of range", i)
			}
			return &treeNode{leaf: true, weight: weights[i], target: int(ltarget[i])}, nil
		}
		if i < 0 || i >= nn {
			return nil, fmt.Errorf("node %d out of range", i)
		}
		t := &treeNode{mode: int(modes[i]), value: splits[i], feature: int(feat[i])}
		if i < len(missing) {
			t.missingTrue = missing[i] != 0
		}
		if t.mode == 6 {
			t.members = map[float64]bool{}
			for mi < len(members) && members[mi] == members[mi] {
				t.members[members[mi]] = true
				mi++
			}
			mi++
		}
		var err error
		if t.t, err = build(int(tids[i]), tleaf[i] != 0, depth+1); err != nil {
			return nil, err
		}
		if t.f, err = build(int(fids[i]), fleaf[i] != 0, depth+1); err != nil {
			return nil, err
		}
		return t, nil
	}
	var trees []*treeNode
	for _, r := range roots {
		if r < 0 || int(r) >= nn {
			return nil, fmt.Errorf("tree root %d out of range", r)
		}
		leaf := tleaf[r] != 0 && fleaf[r] != 0 && tids[r] == fids[r]
		t, err := build(int(r), leaf, 0)
		if err != nil {
			return nil, err
		}
		trees = append(trees, t)
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		if x.Rank() != 2 {
			return nil, fmt.Errorf("X %v must be rank 2", x.Shape)
		}
		xv, err := ToFloat64(x)
		if err != nil {
			return nil, err
		}
		N, F := x.Shape[0], x.Shape[1]
		T := int(nt)
		res := make([]float64, N*T)
		for i := 0; i < N; i++ {
			row := xv[i*F : (i+1)*F]
			out := res[i*T : (i+1)*T]
			for k := range out {
				switch agg {
				case 2:
					out[k] = math.MaxFloat64
				case 3:
					out[k] = -math.MaxFloat64
				}
			}
			for _, t := range trees {
				l := t.predict(row)
				if l.target < 0 || l.target >= T {
					return nil, fmt.Errorf("leaf target %d out of range", l.target)
				}
				switch agg {
				case 0:
					out[l.target] += l.weight / float64(len(trees))
				case 1:
					out[l.target] += l.weight
				case 2:
					out[l.target] = math.Min(out[l.target], l.weight)
				case 3:
					out[l.target] = math.Max(out[l.target], l.weight)
				}
			}
		}
		out, err := FromFloat64(x.DType, res, []int{N, T})
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}
