// Package conformance runs ONNX backend test suites laid out like ONNX's
// onnx/backend/test/data (node/, simple/, pytorch-converted/,
// pytorch-operator/): each test folder holds model.onnx and
// test_data_set_N/ with input_i.pb and output_j.pb. A test passes when every
// output matches under ONNX's own rule: exact shapes and dtypes, strings
// equal, and numeric elements within |got-want| <= atol + rtol*|want|, NaN
// equal to NaN and infinities of the same sign.
//
// One misbehaving kernel never stops a run: panics are recovered and
// reported as failures of that test, and every test has a timeout.
package conformance

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/ops"
	"github.com/frugal-ml/frugal/impl/runtime"
	"github.com/frugal-ml/frugal/onnx"
	"github.com/frugal-ml/frugal/tensor"
)

// Default tolerances, as in onnx/backend/test/loader and case/node.
const (
	DefaultRTol = 1e-3
	DefaultATol = 1e-7
)

// Suites are the folders of an ONNX backend test tree, in report order.
var Suites = []string{"node", "simple", "pytorch-converted", "pytorch-operator"}

// Status is a test outcome.
type Status string

// Outcomes.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Result is the outcome of one test.
type Result struct {
	Name     string        `json:"name"` // suite/test, e.g. node/test_abs
	Status   Status        `json:"status"`
	Reason   string        `json:"reason,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// Options control a run.
type Options struct {
	// Run selects tests whose name (suite/test) matches; nil runs all.
	Run *regexp.Regexp
	// Timeout bounds one test (0: 60s).
	Timeout time.Duration
	// Threads for intra-op parallelism (0: runtime default).
	Threads int
	// RTol, ATol override the tolerances (0: ONNX defaults).
	RTol, ATol float64
	// Progress, when set, is called after each test.
	Progress func(done, total int, r Result)
}

// Summary counts outcomes.
type Summary struct {
	Passed  int      `json:"passed"`
	Failed  int      `json:"failed"`
	Skipped int      `json:"skipped"`
	Results []Result `json:"results"`
}

// Line is the summary line `N passed, M failed, K skipped`.
func (s Summary) Line() string {
	return fmt.Sprintf("%d passed, %d failed, %d skipped", s.Passed, s.Failed, s.Skipped)
}

// Count tallies the results whose name starts with prefix ("" for all).
func (s Summary) Count(prefix string) (pass, fail, skip int) {
	for _, r := range s.Results {
		if !strings.HasPrefix(r.Name, prefix) {
			continue
		}
		switch r.Status {
		case Pass:
			pass++
		case Fail:
			fail++
		case Skip:
			skip++
		}
	}
	return
}

// Discover lists the test folders under root: root/<suite>/<test> for the
// known suites, or root itself when it is a single test (has model.onnx),
// or root/<test> when root is one suite folder. Names are suite/test.
func Discover(root string) (names []string, dirs []string, err error) {
	if _, err := os.Stat(filepath.Join(root, "model.onnx")); err == nil {
		return []string{filepath.Base(root)}, []string{root}, nil
	}
	found := false
	for _, s := range Suites {
		entries, err := os.ReadDir(filepath.Join(root, s))
		if err != nil {
			continue
		}
		found = true
		for _, e := range entries {
			if e.IsDir() {
				names = append(names, s+"/"+e.Name())
				dirs = append(dirs, filepath.Join(root, s, e.Name()))
			}
		}
	}
	if found {
		return names, dirs, nil
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, nil, err
	}
	base := filepath.Base(root)
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, e.Name(), "model.onnx")); err == nil {
			names = append(names, base+"/"+e.Name())
			dirs = append(dirs, filepath.Join(root, e.Name()))
		}
	}
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("conformance: %s holds no ONNX test folders (node/, simple/, ... or */model.onnx)", root)
	}
	return names, dirs, nil
}

// RunSuite runs every test found under root.
func RunSuite(root string, opts Options) (Summary, error) {
	names, dirs, err := Discover(root)
	if err != nil {
		return Summary{}, err
	}
	var sel []int
	for i, n := range names {
		if opts.Run == nil || opts.Run.MatchString(n) {
			sel = append(sel, i)
		}
	}
	var s Summary
	for k, i := range sel {
		r := RunTest(names[i], dirs[i], opts)
		s.Results = append(s.Results, r)
		switch r.Status {
		case Pass:
			s.Passed++
		case Fail:
			s.Failed++
		case Skip:
			s.Skipped++
		}
		if opts.Progress != nil {
			opts.Progress(k+1, len(sel), r)
		}
	}
	return s, nil
}

// skipError marks a test that uses a type frugal declares unsupported.
type skipError struct{ why string }

func (e skipError) Error() string { return e.why }

// RunTest runs one test folder, recovering from panics and enforcing the
// timeout.
func RunTest(name, dir string, opts Options) Result {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("panic: %v [%s]", p, panicSite(debug.Stack()))
			}
		}()
		done <- runTest(ctx, dir, opts)
	}()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = fmt.Errorf("timeout after %s", timeout)
	}
	r := Result{Name: name, Status: Pass, Duration: time.Since(start)}
	if err != nil {
		r.Reason = oneLine(err.Error())
		r.Status = Fail
		if _, ok := err.(skipError); ok {
			r.Status = Skip
		}
	}
	return r
}

// panicSite picks the first frame of a panic stack that is in frugal code
// outside this package, so a report names the kernel that panicked.
func panicSite(stack []byte) string {
	lines := strings.Split(string(stack), "\n")
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "github.com/frugal-ml/frugal/") && !strings.Contains(l, "/conformance.") && i+1 < len(lines) {
			loc := strings.TrimSpace(lines[i+1])
			if j := strings.LastIndex(loc, " +0x"); j > 0 {
				loc = loc[:j]
			}
			if j := strings.Index(loc, "/frugal/"); j >= 0 {
				loc = loc[j+len("/frugal/"):]
			}
			return loc
		}
	}
	return "unknown site"
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 400 {
		s = s[:400] + "..."
	}
	return s
}

// unsupported reports why a type cannot be represented by frugal's values.
func unsupported(t graph.Type) string {
	switch t.Kind {
	case graph.KindMap:
		return "map values are not supported"
	case graph.KindSparseTensor:
		return "sparse tensor values are not supported"
	case graph.KindSequence, graph.KindOptional:
		if t.Elem != nil {
			return unsupported(*t.Elem)
		}
		return ""
	}
	switch t.DType {
	case tensor.Complex64, tensor.Complex128:
		return "complex tensors are not supported"
	}
	return ""
}

func runTest(ctx context.Context, dir string, opts Options) error {
	m, err := onnx.Load(filepath.Join(dir, "model.onnx"))
	if err != nil {
		return err
	}
	for _, vi := range append(append([]graph.ValueInfo{}, m.Graph.Inputs...), m.Graph.Outputs...) {
		if why := unsupported(vi.Type); why != "" {
			return skipError{fmt.Sprintf("value %q: %s", vi.Name, why)}
		}
	}
	sets, err := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
	if err != nil {
		return err
	}
	if len(sets) == 0 {
		return fmt.Errorf("no test_data_set_* folder")
	}
	sort.Strings(sets)
	sess, err := runtime.NewSession(m, runtime.Options{Threads: opts.Threads})
	if err != nil {
		return err
	}
	for _, set := range sets {
		if err := runDataSet(ctx, sess, m, set, opts); err != nil {
			if len(sets) > 1 {
				return fmt.Errorf("%s: %w", filepath.Base(set), err)
			}
			return err
		}
	}
	return nil
}

// numbered lists prefix_0.pb, prefix_1.pb, ... in numeric order.
func numbered(dir, prefix string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, prefix+"_*.pb"))
	if err != nil {
		return nil, err
	}
	idx := map[int]string{}
	for _, f := range files {
		b := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), prefix+"_"), ".pb")
		i, err := strconv.Atoi(b)
		if err != nil {
			continue
		}
		idx[i] = f
	}
	out := make([]string, len(idx))
	for i := range out {
		f, ok := idx[i]
		if !ok {
			return nil, fmt.Errorf("%s_%d.pb is missing", prefix, i)
		}
		out[i] = f
	}
	return out, nil
}

func runDataSet(ctx context.Context, sess *runtime.Session, m *graph.Model, set string, opts Options) error {
	ins, err := numbered(set, "input")
	if err != nil {
		return err
	}
	outs, err := numbered(set, "output")
	if err != nil {
		return err
	}
	g := m.Graph
	if len(ins) > len(g.Inputs) {
		return fmt.Errorf("%d input files for %d graph inputs", len(ins), len(g.Inputs))
	}
	if len(outs) != len(g.Outputs) {
		return fmt.Errorf("%d output files for %d graph outputs", len(outs), len(g.Outputs))
	}
	feed := map[string]ops.Value{}
	for i, f := range ins {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		v, err := onnx.DecodeValue(b, g.Inputs[i].Type)
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(f), err)
		}
		feed[g.Inputs[i].Name] = v
	}
	got, err := sess.Run(ctx, feed)
	if err != nil {
		return err
	}
	rtol, atol := opts.RTol, opts.ATol
	if rtol == 0 {
		rtol = DefaultRTol
	}
	if atol == 0 {
		atol = DefaultATol
	}
	for j, f := range outs {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		o := g.Outputs[j]
		want, err := onnx.DecodeValue(b, o.Type)
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(f), err)
		}
		if err := CompareValues(got[o.Name], want, rtol, atol); err != nil {
			return fmt.Errorf("output %d %q: %w", j, o.Name, err)
		}
	}
	return nil
}

// CompareValues checks got against want with ONNX's rule; sequences and
// optionals compare element by element.
func CompareValues(got, want any, rtol, atol float64) error {
	switch w := want.(type) {
	case *tensor.Tensor:
		g, ok := got.(*tensor.Tensor)
		if !ok || g == nil {
			return fmt.Errorf("got %s, want a tensor", describe(got))
		}
		return CompareTensors(g, w, rtol, atol)
	case *tensor.Sequence:
		g, ok := got.(*tensor.Sequence)
		if !ok || g == nil {
			return fmt.Errorf("got %s, want a sequence", describe(got))
		}
		if len(g.Tensors) != len(w.Tensors) {
			return fmt.Errorf("sequence has %d elements, want %d", len(g.Tensors), len(w.Tensors))
		}
		for i := range w.Tensors {
			if err := CompareTensors(g.Tensors[i], w.Tensors[i], rtol, atol); err != nil {
				return fmt.Errorf("sequence element %d: %w", i, err)
			}
		}
		return nil
	case *tensor.Optional:
		g, ok := got.(*tensor.Optional)
		if !ok || g == nil {
			return fmt.Errorf("got %s, want an optional", describe(got))
		}
		if (g.Value == nil) != (w.Value == nil) {
			return fmt.Errorf("optional empty=%v, want empty=%v", g.Value == nil, w.Value == nil)
		}
		if w.Value == nil {
			return nil
		}
		if err := CompareValues(g.Value, w.Value, rtol, atol); err != nil {
			return fmt.Errorf("optional: %w", err)
		}
		return nil
	}
	return fmt.Errorf("cannot compare expected value of type %T", want)
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "no value"
	case *tensor.Tensor:
		if x == nil {
			return "no value"
		}
		return "tensor " + x.DType.String() + fmt.Sprint(x.Shape)
	case *tensor.Sequence:
		return fmt.Sprintf("a sequence of %d", len(x.Tensors))
	case *tensor.Optional:
		return "an optional"
	}
	return fmt.Sprintf("%T", v)
}

// CompareTensors checks shape, dtype and values of got against want.
func CompareTensors(got, want *tensor.Tensor, rtol, atol float64) error {
	if got == nil {
		return fmt.Errorf("no value, want %s%v", want.DType, want.Shape)
	}
	if got.DType != want.DType {
		return fmt.Errorf("dtype %s, want %s", got.DType, want.DType)
	}
	if !tensor.SameShape(got.Shape, want.Shape) {
		return fmt.Errorf("shape %v, want %v", got.Shape, want.Shape)
	}
	if got.Len() != want.Len() {
		return fmt.Errorf("holds %d elements, shape %v needs %d", got.Len(), got.Shape, want.Len())
	}
	switch w := want.Data.(type) {
	case []string:
		g, ok := got.Data.([]string)
		if !ok {
			return fmt.Errorf("storage %T, want strings", got.Data)
		}
		for i := range w {
			if g[i] != w[i] {
				return fmt.Errorf("element %d is %q, want %q", i, g[i], w[i])
			}
		}
		return nil
	case []bool:
		g, ok := got.Data.([]bool)
		if !ok {
			return fmt.Errorf("storage %T, want bools", got.Data)
		}
		bad, first := 0, -1
		for i := range w {
			if g[i] != w[i] {
				if first < 0 {
					first = i
				}
				bad++
			}
		}
		if bad > 0 {
			return fmt.Errorf("%d of %d elements differ; first at %d: %v, want %v", bad, len(w), first, g[first], w[first])
		}
		return nil
	case []int64:
		// Exact comparison avoids float64 rounding of large values.
		if g, ok := got.Data.([]int64); ok {
			return compareInts(g, w, rtol, atol)
		}
	case []uint64:
		if g, ok := got.Data.([]uint64); ok {
			return compareInts(g, w, rtol, atol)
		}
	}
	gv, err := ops.ToFloat64(got)
	if err != nil {
		return err
	}
	wv, err := ops.ToFloat64(want)
	if err != nil {
		return err
	}
	bad, first := 0, -1
	var maxAbs float64
	for i := range wv {
		if !close(gv[i], wv[i], rtol, atol) {
			if first < 0 {
				first = i
			}
			bad++
			if d := math.Abs(gv[i] - wv[i]); d > maxAbs || math.IsNaN(d) {
				maxAbs = d
			}
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d elements differ (max abs diff %.3g); first at %d: %v, want %v", bad, len(wv), maxAbs, first, gv[first], wv[first])
	}
	return nil
}

func compareInts[T int64 | uint64](g, w []T, rtol, atol float64) error {
	bad, first := 0, -1
	for i := range w {
		if g[i] == w[i] {
			continue
		}
		if close(float64(g[i]), float64(w[i]), rtol, atol) && absDiff(g[i], w[i]) < 1<<52 {
			continue
		}
		if first < 0 {
			first = i
		}
		bad++
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d elements differ; first at %d: %v, want %v", bad, len(w), first, g[first], w[first])
	}
	return nil
}

func absDiff[T int64 | uint64](a, b T) T {
	if a > b {
		return a - b
	}
	return b - a
}

// close is numpy.testing.assert_allclose's element rule with NaN == NaN.
func close(g, w, rtol, atol float64) bool {
	if math.IsNaN(w) || math.IsNaN(g) {
		return math.IsNaN(w) && math.IsNaN(g)
	}
	if math.IsInf(w, 0) || math.IsInf(g, 0) {
		return g == w
	}
	return math.Abs(g-w) <= atol+rtol*math.Abs(w)
}

var (
	reNotImpl = regexp.MustCompile(`operator (\S+) \(domain (\S+)\) is not implemented`)
	reNoFit   = regexp.MustCompile(`no implementation of (\S+) fits`)
	reNode    = regexp.MustCompile(`node "[^"]*" \(([^)]+)\)`)
)

// ReasonClass reduces a failure reason to a short class for grouping:
// "not implemented: Op", "no kernel fits: Op", or "Op: wrong values" etc.
func ReasonClass(reason string) string {
	if m := reNotImpl.FindStringSubmatch(reason); m != nil {
		if m[2] != "ai.onnx" {
			return "not implemented: " + m[2] + ":" + m[1]
		}
		return "not implemented: " + m[1]
	}
	if m := reNoFit.FindStringSubmatch(reason); m != nil {
		return "no kernel fits: " + m[1]
	}
	op := ""
	if m := reNode.FindStringSubmatch(reason); m != nil {
		op = m[1] + ": "
	}
	switch {
	case strings.Contains(reason, "panic:") || strings.Contains(reason, "panicked:"):
		return op + "panic"
	case strings.Contains(reason, "timeout"):
		return "timeout"
	case strings.Contains(reason, "elements differ"):
		return "wrong values"
	case strings.Contains(reason, "shape ") && strings.Contains(reason, ", want "):
		return "wrong shape"
	case strings.Contains(reason, "dtype ") && strings.Contains(reason, ", want "):
		return "wrong dtype"
	}
	if op != "" {
		return op + "error"
	}
	if len(reason) > 60 {
		reason = reason[:60]
	}
	return reason
}
