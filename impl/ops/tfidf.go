package ops

import (
	"fmt"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// TfIdfVectorizer: n-gram counting over int64 or string tokens with skips,
// weighted as TF, IDF or TFIDF (a port of ONNX's reference algorithm).

func init() {
	Register(Impl{Op: "TfIdfVectorizer", DTypes: []tensor.DType{tensor.String, tensor.Int32, tensor.Int64}, Build: buildTfIdf})
	graph.RegisterShape("", "TfIdfVectorizer", func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, v int64) ([]graph.Type, error) {
		return []graph.Type{{DType: tensor.Float32}}, nil
	})
}

type ngramNode struct {
	id    int
	leafs map[string]*ngramNode
	order []string
}

func (n *ngramNode) emplace(k string) *ngramNode {
	if n.leafs == nil {
		n.leafs = map[string]*ngramNode{}
	}
	if c, ok := n.leafs[k]; ok {
		return c
	}
	c := &ngramNode{}
	n.leafs[k] = c
	n.order = append(n.order, k)
	return c
}

func tokenKeys(t *tensor.Tensor) ([]string, error) {
	if s, ok := t.Data.([]string); ok {
		out := make([]string, len(s))
		for i, v := range s {
			out[i] = "s" + v
		}
		return out, nil
	}
	v, err := ToInt64(t)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = fmt.Sprint("i", x)
	}
	return out, nil
}

func buildTfIdf(b *BuildInfo) (Kernel, error) {
	n := b.Node
	maxG, err := n.Int("max_gram_length", 0)
	if err != nil {
		return nil, err
	}
	minG, err := n.Int("min_gram_length", 0)
	if err != nil {
		return nil, err
	}
	maxSkip, err := n.Int("max_skip_count", 0)
	if err != nil {
		return nil, err
	}
	mode, err := n.String("mode", "")
	if err != nil {
		return nil, err
	}
	counts, err := n.Ints("ngram_counts", nil)
	if err != nil {
		return nil, err
	}
	indexes, err := n.Ints("ngram_indexes", nil)
	if err != nil {
		return nil, err
	}
	weights, err := n.Floats("weights", nil)
	if err != nil {
		return nil, err
	}
	var pool []string
	if a, ok := n.Attrs["pool_int64s"]; ok {
		for _, v := range a.Ints {
			pool = append(pool, fmt.Sprint("i", v))
		}
	} else if a, ok := n.Attrs["pool_strings"]; ok {
		for _, v := range a.Strings {
			pool = append(pool, "s"+v)
		}
	}
	switch mode {
	case "TF", "IDF", "TFIDF":
	default:
		return nil, fmt.Errorf("unknown mode %q", mode)
	}
	outSize := 0
	for _, i := range indexes {
		outSize = max(outSize, int(i)+1)
	}
	root := &ngramNode{id: -10}
	id := 1
	size := 1
	for i := range counts {
		start := int(counts[i])
		end := len(pool)
		if i+1 < len(counts) {
			end = int(counts[i+1])
		}
		if start < 0 || end > len(pool) || start > end {
			return nil, fmt.Errorf("ngram_counts %v do not fit a pool of %d", counts, len(pool))
		}
		grams := (end - start) / size
		if end > start {
			if int64(size) >= minG && int64(size) <= maxG {
				idx := start
				for g := 0; g < grams; g++ {
					m := root
					for k := 1; k <= size && idx < len(pool); k++ {
						p := m.emplace(pool[idx])
						idx++
						if k == size {
							p.id = id
							id++
							break
						}
						m = p
					}
				}
			} else {
				id += grams
			}
		}
		size++
	}
	if id-1 > len(indexes) {
		return nil, fmt.Errorf("%d n-grams but %d ngram_indexes", id-1, len(indexes))
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		keys, err := tokenKeys(x)
		if err != nil {
			return nil, err
		}
		var rows, C, B int
		switch x.Rank() {
		case 0:
			rows, C = 1, 1
		case 1:
			rows, C = 1, x.Shape[0]
		case 2:
			B, C = x.Shape[0], x.Shape[1]
			rows = B
		default:
			return nil, fmt.Errorf("input %v must be [C] or [B, C]", x.Shape)
		}
		freq := make([]int, rows*outSize)
		for r := 0; r < rows && len(keys) > 0; r++ {
			row := keys[r*C : (r+1)*C]
			startSize := int(minG)
			for skip := 1; skip <= int(maxSkip)+1; skip++ {
				for s := 0; s < C; s++ {
					if s+skip*(startSize-1) >= C {
						break
					}
					m := root
					item, sz := s, 1
					for m.leafs != nil && len(m.leafs) > 0 && sz <= int(maxG) && item < C {
						nx, ok := m.leafs[row[item]]
						if !ok {
							break
						}
						if sz >= startSize && nx.id != 0 {
							freq[r*outSize+int(indexes[nx.id-1])]++
						}
						m = nx
						sz++
						item += skip
					}
				}
				if startSize == 1 {
					startSize++
					if startSize > int(maxG) {
						break
					}
				}
			}
		}
		y := make([]float32, len(freq))
		for p, f := range freq {
			i := p % max(outSize, 1)
			switch mode {
			case "TF":
				y[p] = float32(f)
			case "IDF":
				if f > 0 {
					y[p] = 1
					if len(weights) > 0 {
						y[p] = weights[i]
					}
				}
			case "TFIDF":
				y[p] = float32(f)
				if len(weights) > 0 {
					y[p] = weights[i] * float32(f)
				}
			}
		}
		shape := []int{outSize}
		if B > 0 {
			shape = []int{B, outSize}
		}
		return []Value{tensor.MustFromSlice(y, shape...)}, nil
	}), nil
}
