package onnx

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// TestONNXSuite decodes every model and test-data file of the ONNX backend
// test suite laid out as in /work/shared/onnx-tests (node/, simple/,
// pytorch-converted/, pytorch-operator/, each test with model.onnx and
// test_data_set_*/input_i.pb, output_j.pb). Each model is re-encoded and
// decoded again to an equal structure; each value is decoded with the type
// of its graph input/output and round-tripped too.
func TestONNXSuite(t *testing.T) {
	root := os.Getenv("FRUGAL_ONNX_TESTS")
	if root == "" {
		t.Skip("set FRUGAL_ONNX_TESTS to the ONNX backend test data (e.g. FRUGAL_ONNX_TESTS=/work/shared/onnx-tests) to run")
	}
	total, passed := 0, 0
	for _, suite := range []string{"node", "simple", "pytorch-converted", "pytorch-operator"} {
		dirs, err := filepath.Glob(filepath.Join(root, suite, "*", "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		if len(dirs) == 0 {
			t.Errorf("%s: no models found under %s", suite, filepath.Join(root, suite))
			continue
		}
		sort.Strings(dirs)
		t.Run(suite, func(t *testing.T) {
			sTotal, sPassed, failures := 0, 0, 0
			for _, mp := range dirs {
				n, ok, errs := checkSuiteTest(filepath.Dir(mp))
				sTotal += n
				sPassed += ok
				for _, e := range errs {
					if failures < 30 {
						t.Error(e)
					}
					failures++
				}
			}
			if failures > 30 {
				t.Errorf("... and %d more failures", failures-30)
			}
			t.Logf("%s: %d/%d files decode and round-trip (%d models)", suite, sPassed, sTotal, len(dirs))
			total += sTotal
			passed += sPassed
		})
	}
	t.Logf("total: %d/%d files pass", passed, total)
}

var pbName = regexp.MustCompile(`^(input|output)_(\d+)\.pb$`)

// checkSuiteTest checks one test directory and returns the number of files
// seen, the number that passed and the failures.
func checkSuiteTest(dir string) (int, int, []error) {
	files, passed := 1, 0
	var errs []error
	mp := filepath.Join(dir, "model.onnx")
	m, err := Load(mp)
	if err != nil {
		return files, 0, []error{err}
	}
	if err := roundTripModel(m); err != nil {
		errs = append(errs, fmt.Errorf("%s: %v", mp, err))
	} else {
		passed++
	}
	sets, _ := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
	for _, set := range sets {
		ents, err := os.ReadDir(set)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, ent := range ents {
			p := filepath.Join(set, ent.Name())
			mm := pbName.FindStringSubmatch(ent.Name())
			if mm == nil {
				continue
			}
			files++
			idx, _ := strconv.Atoi(mm[2])
			vis := m.Graph.Inputs
			if mm[1] == "output" {
				vis = m.Graph.Outputs
			}
			if idx >= len(vis) {
				errs = append(errs, fmt.Errorf("%s: graph has only %d %ss", p, len(vis), mm[1]))
				continue
			}
			if err := checkValueFile(p, vis[idx].Type); err != nil {
				errs = append(errs, err)
				continue
			}
			passed++
		}
	}
	return files, passed, errs
}

func roundTripModel(m *graph.Model) error {
	b, err := Encode(m)
	if err != nil {
		return fmt.Errorf("encode: %v", err)
	}
	m2, err := Decode(b)
	if err != nil {
		return fmt.Errorf("decode of re-encoded model: %v", err)
	}
	if d := diffModel(m, m2); d != "" {
		return fmt.Errorf("re-encoded model differs: %s", d)
	}
	return nil
}

func checkValueFile(p string, typ graph.Type) error {
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	v, err := DecodeValue(b, typ)
	if err != nil {
		return fmt.Errorf("%s: %v", p, err)
	}
	var b2 []byte
	switch x := v.(type) {
	case *tensor.Tensor:
		b2, err = EncodeTensor(x, "v")
	case *tensor.Sequence:
		b2, err = EncodeSequence(x, "v")
	case *tensor.Optional:
		b2, err = EncodeOptional(x, "v")
	}
	if err != nil {
		return fmt.Errorf("%s: re-encode: %v", p, err)
	}
	v2, err := DecodeValue(b2, typ)
	if err != nil {
		return fmt.Errorf("%s: decode of re-encoded value: %v", p, err)
	}
	if d := diffValue(v, v2); d != "" {
		return fmt.Errorf("%s: re-encoded value differs: %s", p, d)
	}
	return nil
}

// TestONNXSuiteCastValues checks decoded element values, not just
// structure: the Cast tests from narrow types store the same numbers on both
// sides, so unpacking of 4-bit and 2-bit data, fp16/bf16 bits and the
// typed-field paths must agree with the reference outputs.
func TestONNXSuiteCastValues(t *testing.T) {
	root := os.Getenv("FRUGAL_ONNX_TESTS")
	if root == "" {
		t.Skip("set FRUGAL_ONNX_TESTS to the ONNX backend test data (e.g. FRUGAL_ONNX_TESTS=/work/shared/onnx-tests) to run")
	}
	cases := []string{
		"INT4_to_FLOAT", "INT4_to_INT8", "UINT4_to_FLOAT", "UINT4_to_UINT8",
		"INT2_to_FLOAT", "INT2_to_INT8", "UINT2_to_FLOAT", "UINT2_to_UINT8",
		"FLOAT4E2M1_to_FLOAT", "FLOAT16_to_FLOAT", "BFLOAT16_to_FLOAT",
		"FLOAT16_to_DOUBLE", "FLOAT_to_DOUBLE", "DOUBLE_to_FLOAT",
	}
	for _, c := range cases {
		dir := filepath.Join(root, "node", "test_cast_"+c, "test_data_set_0")
		in, _, err := LoadTensor(filepath.Join(dir, "input_0.pb"))
		if err != nil {
			t.Errorf("%s: %v", c, err)
			continue
		}
		out, _, err := LoadTensor(filepath.Join(dir, "output_0.pb"))
		if err != nil {
			t.Errorf("%s: %v", c, err)
			continue
		}
		if !tensor.SameShape(in.Shape, out.Shape) || in.Len() == 0 {
			t.Errorf("%s: shapes %v and %v", c, in.Shape, out.Shape)
			continue
		}
		bad := 0
		for i := 0; i < in.Len(); i++ {
			x := in.Float64At(i)
			if in.DType == tensor.Float4E2M1 {
				x = fp4(in.U8()[i])
			}
			y := out.Float64At(i)
			if x != y && !(x != x && y != y) && !(in.DType == tensor.Float64 && float64(float32(x)) == y) {
				if bad < 3 {
					t.Errorf("%s: element %d: input %v, output %v", c, i, x, y)
				}
				bad++
			}
		}
		t.Logf("%s: %d elements (%s -> %s) compared", c, in.Len(), dtypeName(in.DType), dtypeName(out.DType))
	}
}

// fp4 decodes a FLOAT4E2M1 value (for the test only).
func fp4(b uint8) float64 {
	v := [8]float64{0, 0.5, 1, 1.5, 2, 3, 4, 6}[b&7]
	if b&8 != 0 {
		return -v
	}
	return v
}
