package ops

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// String ops: StringNormalizer, StringSplit, StringConcat, RegexFullMatch
// (RE2 syntax, which Go's regexp implements).

var stringType = []tensor.DType{tensor.String}

func init() {
	Register(Impl{Op: "StringNormalizer", DTypes: stringType, Build: buildStringNormalizer})
	graph.RegisterShape("", "StringNormalizer", dtypeOnly)
	Register(Impl{Op: "StringSplit", DTypes: stringType, Build: buildStringSplit})
	graph.RegisterShape("", "StringSplit", func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, v int64) ([]graph.Type, error) {
		return []graph.Type{{DType: tensor.String}, {DType: tensor.Int64}}, nil
	})
	Register(Impl{Op: "StringConcat", DTypes: stringType, Build: func(b *BuildInfo) (Kernel, error) {
		return binaryKernel(binaryOp{}.withStrings(func(a, c string) string { return a + c })), nil
	}})
	graph.RegisterShape("", "StringConcat", broadcastShape)
	Register(Impl{Op: "RegexFullMatch", DTypes: stringType, Build: func(b *BuildInfo) (Kernel, error) {
		pat, err := b.Node.String("pattern", "")
		if err != nil {
			return nil, err
		}
		re, err := regexp.Compile(`^(?:` + pat + `)$`)
		if err != nil {
			return nil, fmt.Errorf("pattern %q: %w", pat, err)
		}
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
			ts, err := MustTensors(in, 1)
			if err != nil {
				return nil, err
			}
			if err := CheckDType(ts[0], "X", tensor.String); err != nil {
				return nil, err
			}
			out := &tensor.Tensor{DType: tensor.Bool, Shape: append([]int{}, ts[0].Shape...), Data: mapT(ts[0].Strings(), re.MatchString)}
			return []Value{out}, nil
		}), nil
	}})
	graph.RegisterShape("", "RegexFullMatch", boolShape)
}

// withStrings returns a copy of op that also applies f to string tensors.
func (op binaryOp) withStrings(f func(a, b string) string) binaryOp {
	op.s = f
	return op
}

func buildStringNormalizer(b *BuildInfo) (Kernel, error) {
	n := b.Node
	action, err := n.String("case_change_action", "NONE")
	if err != nil {
		return nil, err
	}
	cs, err := n.Int("is_case_sensitive", 0)
	if err != nil {
		return nil, err
	}
	stop, err := nodeStrings(n, "stopwords")
	if err != nil {
		return nil, err
	}
	stopSet := map[string]bool{}
	for _, s := range stop {
		if cs == 0 {
			s = strings.ToLower(s)
		}
		stopSet[s] = true
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		if err := CheckDType(x, "X", tensor.String); err != nil {
			return nil, err
		}
		if x.Rank() > 2 || (x.Rank() == 2 && x.Shape[0] != 1) {
			return nil, fmt.Errorf("input %v must be [C] or [1, C]", x.Shape)
		}
		var out []string
		for _, s := range x.Strings() {
			k := s
			if cs == 0 {
				k = strings.ToLower(s)
			}
			if stopSet[k] {
				continue
			}
			switch action {
			case "LOWER":
				s = strings.ToLower(s)
			case "UPPER":
				s = strings.ToUpper(s)
			}
			out = append(out, s)
		}
		if len(out) == 0 {
			out = []string{""}
		}
		shape := []int{len(out)}
		if x.Rank() == 2 {
			shape = []int{1, len(out)}
		}
		return []Value{tensor.MustFromSlice(out, shape...)}, nil
	}), nil
}

func buildStringSplit(b *BuildInfo) (Kernel, error) {
	n := b.Node
	delim, err := n.String("delimiter", "")
	if err != nil {
		return nil, err
	}
	maxsplit, err := n.Int("maxsplit", -1)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		if err := CheckDType(x, "X", tensor.String); err != nil {
			return nil, err
		}
		parts := make([][]string, x.Len())
		width := 0
		for i, s := range x.Strings() {
			var p []string
			if delim == "" {
				p = splitWhitespace(s, int(maxsplit))
			} else if maxsplit >= 0 {
				p = strings.SplitN(s, delim, int(maxsplit)+1)
			} else {
				p = strings.Split(s, delim)
			}
			parts[i] = p
			width = max(width, len(p))
		}
		out := tensor.New(tensor.String, append(append([]int{}, x.Shape...), width)...)
		cnt := tensor.New(tensor.Int64, x.Shape...)
		for i, p := range parts {
			copy(out.Strings()[i*width:], p)
			cnt.I64()[i] = int64(len(p))
		}
		return []Value{out, cnt}, nil
	}), nil
}

// splitWhitespace is Python's str.split(None, maxsplit).
func splitWhitespace(s string, maxsplit int) []string {
	var out []string
	s = strings.TrimLeft(s, " \t\n\r\v\f")
	for s != "" {
		if maxsplit >= 0 && len(out) == maxsplit {
			out = append(out, strings.TrimRight(s, " \t\n\r\v\f"))
			break
		}
		i := strings.IndexAny(s, " \t\n\r\v\f")
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i])
		s = strings.TrimLeft(s[i:], " \t\n\r\v\f")
	}
	return out
}
