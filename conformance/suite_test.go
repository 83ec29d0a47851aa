package conformance

import (
	"os"
	"sort"
	"strings"
	"testing"
	"time"
)

// Pass floors per suite. Raise them as coverage grows so that a regression
// fails CI; a suite with no floor must pass completely.
var passFloor = map[string]int{
	"node": 1792, // of 1802
}

// TestONNXBackendSuite runs the ONNX backend test data named by
// FRUGAL_ONNX_TESTS (a folder holding node/, simple/, pytorch-converted/,
// pytorch-operator/).
func TestONNXBackendSuite(t *testing.T) {
	root := os.Getenv("FRUGAL_ONNX_TESTS")
	if root == "" {
		t.Skip("FRUGAL_ONNX_TESTS is not set; point it at a copy of ONNX's onnx/backend/test/data (e.g. ../shared/onnx-tests) to run the conformance suite")
	}
	s, err := RunSuite(root, Options{Timeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]int{}
	for _, r := range s.Results {
		if r.Status == Fail {
			t.Logf("FAIL %s: %s", r.Name, r.Reason)
			reasons[ReasonClass(r.Reason)]++
		}
	}
	var keys []string
	for k := range reasons {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return reasons[keys[i]] > reasons[keys[j]] })
	for _, k := range keys {
		t.Logf("%4d  %s", reasons[k], k)
	}
	for _, suite := range Suites {
		p, f, k := s.Count(suite + "/")
		if p+f+k == 0 {
			continue
		}
		t.Logf("%s: %d passed, %d failed, %d skipped", suite, p, f, k)
		floor, ok := passFloor[suite]
		if !ok {
			floor = p + f + k
		}
		if p < floor {
			t.Errorf("%s: %d passed, below the floor of %d", suite, p, floor)
		}
	}
	t.Log(s.Line())
}

func TestCompareRule(t *testing.T) {
	nan := func() float64 { var z float64; return z / z }()
	cases := []struct {
		g, w float64
		ok   bool
	}{
		{1, 1, true},
		{1.0009, 1, true},
		{1.002, 1, false},
		{0, 1e-8, true},
		{nan, nan, true},
		{nan, 1, false},
		{1, nan, false},
	}
	for _, c := range cases {
		if got := close(c.g, c.w, DefaultRTol, DefaultATol); got != c.ok {
			t.Errorf("close(%v, %v) = %v, want %v", c.g, c.w, got, c.ok)
		}
	}
	inf := 1 / func() float64 { return 0 }()
	if close(inf, -inf, DefaultRTol, DefaultATol) || !close(inf, inf, DefaultRTol, DefaultATol) {
		t.Error("infinities must match in sign")
	}
}

func TestReasonClass(t *testing.T) {
	for in, want := range map[string]string{
		`node "y" (Foo): operator Foo (domain ai.onnx) is not implemented`:             "not implemented: Foo",
		`node "y" (Bar): operator Bar (domain ai.onnx.ml) is not implemented`:          "not implemented: ai.onnx.ml:Bar",
		`output 0 "y": 3 of 4 elements differ (max abs diff 1); first at 0: 1, want 2`: "wrong values",
		`panic: boom [impl/ops/x.go:1]`:                                                "panic",
	} {
		if got := ReasonClass(in); !strings.HasPrefix(got, want) {
			t.Errorf("ReasonClass(%q) = %q, want %q", in, got, want)
		}
	}
}
