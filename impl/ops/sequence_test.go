package ops

import (
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

func TestSequenceOps(t *testing.T) {
	a, b := f32s(sh(2), 1, 2), f32s(sh(2), 3, 4)
	out, err := exec(mk("SequenceConstruct", 2, 1), 12, a, b)
	if err != nil {
		t.Fatal(err)
	}
	seq := out[0]
	ins, err := exec(mk("SequenceInsert", 3, 1), 12, seq, f32s(sh(2), 5, 6), i64s(nil, -1))
	if err != nil {
		t.Fatal(err)
	}
	s := ins[0].(*tensor.Sequence)
	if len(s.Tensors) != 3 || s.Tensors[1].F32()[0] != 5 {
		t.Fatalf("SequenceInsert at -1: %v", s.Tensors)
	}
	at := run1(t, mk("SequenceAt", 2, 1), 12, ins[0], i64s(nil, -1))
	expect(t, "SequenceAt", at, sh(2), []float64{3, 4}, 0)
	er, err := exec(mk("SequenceErase", 1, 1), 12, ins[0])
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "SequenceLength", run1(t, mk("SequenceLength", 1, 1), 12, er[0]), sh(), []float64{2}, 0)
	expectErr(t, mk("SequenceAt", 2, 1), 12, "out of range", seq, i64s(nil, 2))
	cat := run1(t, mk("ConcatFromSequence", 1, 1, graph.AttrI("axis", 0), graph.AttrI("new_axis", 1)), 12, seq)
	expect(t, "ConcatFromSequence new_axis", cat, sh(2, 2), []float64{1, 2, 3, 4}, 0)
	sp, err := exec(mk("SplitToSequence", 2, 1), 12, iota32(5), i64s(nil, 2))
	if err != nil {
		t.Fatal(err)
	}
	if ss := sp[0].(*tensor.Sequence); len(ss.Tensors) != 3 || ss.Tensors[2].Len() != 1 {
		t.Fatalf("SplitToSequence chunks: %v", ss.Tensors)
	}
	sq, _ := exec(mk("SplitToSequence", 1, 1, graph.AttrI("keepdims", 0)), 12, iota32(2, 3))
	if ss := sq[0].(*tensor.Sequence); len(ss.Tensors) != 2 || !tensor.SameShape(ss.Tensors[0].Shape, []int{3}) {
		t.Fatalf("SplitToSequence keepdims=0: %v", ss.Tensors)
	}
	empty, _ := exec(mk("SequenceEmpty", 0, 1, graph.AttrI("dtype", int64(tensor.Int64))), 12)
	if e := empty[0].(*tensor.Sequence); e.ElemType != tensor.Int64 || len(e.Tensors) != 0 {
		t.Fatalf("SequenceEmpty: %+v", e)
	}
}

func TestOptionalOps(t *testing.T) {
	x := f32s(sh(1), 7)
	o, err := exec(mk("Optional", 1, 1), 15, x)
	if err != nil {
		t.Fatal(err)
	}
	has := run1(t, mk("OptionalHasElement", 1, 1), 18, o[0])
	if !has.Bools()[0] {
		t.Fatal("optional with a value reports empty")
	}
	none := run1(t, mk("OptionalHasElement", 1, 1), 18, &tensor.Optional{})
	if none.Bools()[0] {
		t.Fatal("empty optional reports a value")
	}
	missing := run1(t, mk("OptionalHasElement", 0, 1), 18)
	if missing.Bools()[0] {
		t.Fatal("missing input reports a value")
	}
	got := run1(t, mk("OptionalGetElement", 1, 1), 18, o[0])
	expect(t, "OptionalGetElement", got, sh(1), []float64{7}, 0)
	expectErr(t, mk("OptionalGetElement", 1, 1), 18, "empty", &tensor.Optional{})
}
