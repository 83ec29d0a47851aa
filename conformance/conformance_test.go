package conformance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/ops"
	"github.com/frugal-ml/frugal/onnx"
	"github.com/frugal-ml/frugal/tensor"
)

const testDomain = "test.conformance"

func init() {
	ops.Register(ops.Impl{Op: "Panic", Domain: testDomain, Build: func(b *ops.BuildInfo) (ops.Kernel, error) {
		return ops.KernelFunc(func(ctx *ops.Ctx, in []ops.Value) ([]ops.Value, error) {
			var s []int
			_ = s[3] // index out of range
			return nil, nil
		}), nil
	}})
	ops.Register(ops.Impl{Op: "PanicBuild", Domain: testDomain, Build: func(b *ops.BuildInfo) (ops.Kernel, error) {
		panic("build exploded")
	}})
	ops.Register(ops.Impl{Op: "Sleep", Domain: testDomain, Build: func(b *ops.BuildInfo) (ops.Kernel, error) {
		return ops.KernelFunc(func(ctx *ops.Ctx, in []ops.Value) ([]ops.Value, error) {
			select {
			case <-ctx.Context.Done():
			case <-time.After(5 * time.Second):
			}
			return in, nil
		}), nil
	}})
}

// writeTest builds suite/name with a one-node model op(x) and the given
// input and expected output.
func writeTest(t *testing.T, root, suite, name, op, domain string, in, want *tensor.Tensor) {
	t.Helper()
	dir := filepath.Join(root, suite, name)
	if err := os.MkdirAll(filepath.Join(dir, "test_data_set_0"), 0o755); err != nil {
		t.Fatal(err)
	}
	g := graph.New(name)
	g.Inputs = []graph.ValueInfo{graph.TensorInfo("x", in.DType, in.Shape...)}
	g.Outputs = []graph.ValueInfo{graph.TensorInfo("y", want.DType, want.Shape...)}
	n := g.AddNode(op, []string{"x"}, []string{"y"})
	n.Domain = domain
	m := &graph.Model{Graph: g, IRVersion: 8, Opsets: []graph.OpsetImport{{Domain: "", Version: 21}, {Domain: testDomain, Version: 1}}}
	if err := onnx.Save(filepath.Join(dir, "model.onnx"), m); err != nil {
		t.Fatal(err)
	}
	for file, v := range map[string]*tensor.Tensor{"input_0.pb": in, "output_0.pb": want} {
		b, err := onnx.EncodeTensor(v, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "test_data_set_0", file), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRunnerOutcomes(t *testing.T) {
	root := t.TempDir()
	x := tensor.MustFromSlice([]float32{-1, 2, -3}, 3)
	writeTest(t, root, "node", "test_relu_ok", "Relu", "", x, tensor.MustFromSlice([]float32{0, 2, 0}, 3))
	writeTest(t, root, "node", "test_relu_wrong", "Relu", "", x, tensor.MustFromSlice([]float32{0, 2, 1}, 3))
	writeTest(t, root, "node", "test_relu_dtype", "Relu", "", x, tensor.MustFromSlice([]float64{0, 2, 0}, 3))
	writeTest(t, root, "node", "test_missing_op", "NoSuchOp", "", x, x)
	writeTest(t, root, "node", "test_panic", "Panic", testDomain, x, x)
	writeTest(t, root, "node", "test_panic_build", "PanicBuild", testDomain, x, x)
	writeTest(t, root, "simple", "test_sleep", "Sleep", testDomain, x, x)
	s, err := RunSuite(root, Options{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Result{}
	for _, r := range s.Results {
		got[r.Name] = r
	}
	expect := map[string]string{
		"node/test_relu_ok":     "",
		"node/test_relu_wrong":  "1 of 3 elements differ",
		"node/test_relu_dtype":  "dtype float32, want float64",
		"node/test_missing_op":  "is not implemented",
		"node/test_panic":       "panicked: runtime error: index out of range",
		"node/test_panic_build": "panic: build exploded",
		"simple/test_sleep":     "timeout",
	}
	for name, want := range expect {
		r, ok := got[name]
		if !ok {
			t.Errorf("%s did not run", name)
			continue
		}
		if want == "" {
			if r.Status != Pass {
				t.Errorf("%s: %s %s, want pass", name, r.Status, r.Reason)
			}
			continue
		}
		if r.Status != Fail || !strings.Contains(r.Reason, want) {
			t.Errorf("%s: %s %q, want failure containing %q", name, r.Status, r.Reason, want)
		}
	}
	if s.Line() != "1 passed, 6 failed, 0 skipped" {
		t.Errorf("summary %q", s.Line())
	}
	if p, f, _ := s.Count("simple/"); p != 0 || f != 1 {
		t.Errorf("simple suite counts %d/%d", p, f)
	}
}

func TestCompareValues(t *testing.T) {
	a := tensor.MustFromSlice([]float32{1, 2}, 2)
	b := tensor.MustFromSlice([]float32{1, 2.0001}, 2)
	seqA := &tensor.Sequence{ElemType: tensor.Float32, Tensors: []*tensor.Tensor{a}}
	seqB := &tensor.Sequence{ElemType: tensor.Float32, Tensors: []*tensor.Tensor{b}}
	if err := CompareValues(seqA, seqB, DefaultRTol, DefaultATol); err != nil {
		t.Error(err)
	}
	if err := CompareValues(seqA, &tensor.Sequence{}, DefaultRTol, DefaultATol); err == nil {
		t.Error("sequences of different lengths compared equal")
	}
	if err := CompareValues(&tensor.Optional{}, &tensor.Optional{Value: a}, DefaultRTol, DefaultATol); err == nil {
		t.Error("empty optional compared equal to a full one")
	}
	s1 := tensor.MustFromSlice([]string{"a", "b"}, 2)
	s2 := tensor.MustFromSlice([]string{"a", "c"}, 2)
	if err := CompareTensors(s1, s2, DefaultRTol, DefaultATol); err == nil {
		t.Error("different strings compared equal")
	}
	if err := CompareTensors(a, tensor.MustFromSlice([]float32{1, 2}, 1, 2), DefaultRTol, DefaultATol); err == nil {
		t.Error("different shapes compared equal")
	}
}
