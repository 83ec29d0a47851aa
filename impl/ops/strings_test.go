package ops

import (
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

func strs(shape []int, v ...string) *tensor.Tensor { return tensor.MustFromSlice(v, shape...) }

func TestStringOps(t *testing.T) {
	n := run1(t, mk("StringNormalizer", 1, 1, graph.AttrS("case_change_action", "UPPER"), &graph.Attr{Name: "stopwords", Type: graph.AttrStrings, Strings: []string{"the"}}), 10, strs(sh(3), "The", "cat", "sat"))
	if got := n.Strings(); len(got) != 2 || got[0] != "CAT" || got[1] != "SAT" {
		t.Errorf("StringNormalizer: %q", got)
	}
	empty := run1(t, mk("StringNormalizer", 1, 1, &graph.Attr{Name: "stopwords", Type: graph.AttrStrings, Strings: []string{"a"}}), 10, strs(sh(1, 1), "A"))
	if !tensor.SameShape(empty.Shape, []int{1, 1}) || empty.Strings()[0] != "" {
		t.Errorf("all stopwords: %v %q", empty.Shape, empty.Strings())
	}
	out, err := exec(mk("StringSplit", 1, 2, graph.AttrI("maxsplit", 1)), 20, strs(sh(2), "a b  c", "d"))
	if err != nil {
		t.Fatal(err)
	}
	if y := out[0].(*tensor.Tensor).Strings(); y[0] != "a" || y[1] != "b  c" || y[2] != "d" || y[3] != "" {
		t.Errorf("StringSplit: %q", y)
	}
	expect(t, "StringSplit counts", out[1].(*tensor.Tensor), sh(2), []float64{2, 1}, 0)
	cat := run1(t, mk("StringConcat", 2, 1), 20, strs(sh(2), "a", "b"), strs(sh(1), "!"))
	if c := cat.Strings(); c[0] != "a!" || c[1] != "b!" {
		t.Errorf("StringConcat: %q", c)
	}
	re := run1(t, mk("RegexFullMatch", 1, 1, graph.AttrS("pattern", `\w+@\w+\.com`)), 20, strs(sh(2), "me@x.com", "me@x.com.au"))
	if m := re.Bools(); !m[0] || m[1] {
		t.Errorf("RegexFullMatch: %v", m)
	}
	expectErr(t, mk("RegexFullMatch", 1, 1, graph.AttrS("pattern", "(")), 20, "pattern", strs(sh(1), "x"))
	if got := splitWhitespace("  a\tb  ", -1); len(got) != 2 || got[1] != "b" {
		t.Errorf("splitWhitespace: %q", got)
	}
}
