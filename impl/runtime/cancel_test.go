package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/ops"
	"github.com/frugal-ml/frugal/tensor"
)

// cancelHook is called by the test op frugal.test:CancelRun, which passes
// its input through.
var cancelHook atomic.Pointer[func()]

func init() {
	ops.Register(ops.Impl{Domain: "frugal.test", Op: "CancelRun", Build: func(*ops.BuildInfo) (ops.Kernel, error) {
		return ops.KernelFunc(func(ctx *ops.Ctx, in []ops.Value) ([]ops.Value, error) {
			if f := cancelHook.Load(); f != nil {
				(*f)()
			}
			return []ops.Value{in[0]}, nil
		}), nil
	}})
}

// A context cancelled between the steps of a long graph stops the Run
// before the next node, which the error names.
func TestCancelBetweenSteps(t *testing.T) {
	g := graph.New("long")
	g.Inputs = []graph.ValueInfo{graph.TensorInfo("x", tensor.Float32, 64, 64)}
	cur := "x"
	var ran atomic.Int64
	for i := 0; i < 200; i++ {
		next := fmt.Sprintf("v%d", i)
		if i == 100 {
			n := g.AddNode("CancelRun", []string{cur}, []string{next})
			n.Domain, n.Name = "frugal.test", "canceller"
		} else {
			g.AddNode("Neg", []string{cur}, []string{next}).Name = fmt.Sprintf("neg%d", i)
		}
		cur = next
	}
	g.Outputs = []graph.ValueInfo{{Name: cur}}
	m := model(g, graph.OpsetImport{Domain: "", Version: 17}, graph.OpsetImport{Domain: "frugal.test", Version: 1})
	s := mustSession(t, m, Options{Threads: 1, NoOptimize: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hook := func() { ran.Add(1); cancel() }
	cancelHook.Store(&hook)
	defer cancelHook.Store(nil)
	_, err := s.Run(ctx, map[string]ops.Value{"x": tensor.New(tensor.Float32, 64, 64)})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if !strings.Contains(err.Error(), `"neg101"`) {
		t.Errorf("error %q does not name the node it stopped before (neg101)", err)
	}
	if ran.Load() != 1 {
		t.Errorf("canceller ran %d times", ran.Load())
	}
	// The session still works with a live context.
	if _, err := s.Run(context.Background(), map[string]ops.Value{"x": tensor.New(tensor.Float32, 64, 64)}); err != nil {
		t.Fatal(err)
	}
}

// A context cancelled while a Loop iterates (effectively forever) ends the
// Run promptly with context.Canceled, wrapped with the Loop node's name.
func TestCancelInsideLoop(t *testing.T) {
	body := graph.New("body")
	body.Inputs = []graph.ValueInfo{graph.TensorInfo("i", tensor.Int64), graph.TensorInfo("cin", tensor.Bool), graph.TensorInfo("s", tensor.Float32, 32, 32)}
	body.AddNode("Identity", []string{"cin"}, []string{"cout"})
	body.AddNode("Mul", []string{"s", "k"}, []string{"m"})
	body.AddNode("Tanh", []string{"m"}, []string{"s2"})
	body.Outputs = []graph.ValueInfo{{Name: "cout"}, {Name: "s2"}}
	g := graph.New("spin")
	g.Inputs = []graph.ValueInfo{graph.TensorInfo("x", tensor.Float32, 32, 32)}
	g.AddInitializer("m", tensor.Scalar(int64(1)<<40))
	g.AddInitializer("c0", tensor.Scalar(true))
	g.AddInitializer("k", tensor.MustFromSlice([]float32{0.5}, 1))
	g.AddNode("Loop", []string{"m", "c0", "x"}, []string{"final"}, graph.AttrG("body", body)).Name = "spinner"
	g.Outputs = []graph.ValueInfo{{Name: "final"}}
	s := mustSession(t, model(g), Options{Threads: 1})
	for _, when := range []time.Duration{0, 20 * time.Millisecond} {
		ctx, cancel := context.WithCancel(context.Background())
		if when == 0 {
			cancel()
		} else {
			time.AfterFunc(when, cancel)
		}
		start := time.Now()
		_, err := s.Run(ctx, map[string]ops.Value{"x": tensor.New(tensor.Float32, 32, 32)})
		took := time.Since(start)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancel after %v: err = %v, want context.Canceled", when, err)
		}
		if !strings.Contains(err.Error(), `"spinner"`) {
			t.Errorf("error %q does not name the Loop node", err)
		}
		if took > when+2*time.Second {
			t.Errorf("cancel after %v: Run returned after %v", when, took)
		}
	}
}

// A Scan stops between iterations too.
func TestCancelInsideScan(t *testing.T) {
	body := graph.New("body")
	body.Inputs = []graph.ValueInfo{graph.TensorInfo("acc", tensor.Float32, 4), graph.TensorInfo("row", tensor.Float32, 4)}
	body.AddNode("CancelRun", []string{"row"}, []string{"r2"}).Domain = "frugal.test"
	body.AddNode("Add", []string{"acc", "r2"}, []string{"acc2"})
	body.Outputs = []graph.ValueInfo{{Name: "acc2"}}
	g := graph.New("scan")
	g.Inputs = []graph.ValueInfo{graph.TensorInfo("init", tensor.Float32, 4), graph.TensorInfo("xs", tensor.Float32, 1000, 4)}
	g.AddNode("Scan", []string{"init", "xs"}, []string{"last"}, graph.AttrG("body", body), graph.AttrI("num_scan_inputs", 1)).Name = "scanner"
	g.Outputs = []graph.ValueInfo{{Name: "last"}}
	m := model(g, graph.OpsetImport{Domain: "", Version: 17}, graph.OpsetImport{Domain: "frugal.test", Version: 1})
	s := mustSession(t, m, Options{Threads: 1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int64
	hook := func() {
		if calls.Add(1) == 3 {
			cancel()
		}
	}
	cancelHook.Store(&hook)
	defer cancelHook.Store(nil)
	_, err := s.Run(ctx, map[string]ops.Value{"init": tensor.New(tensor.Float32, 4), "xs": tensor.New(tensor.Float32, 1000, 4)})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), `"scanner"`) {
		t.Fatalf("err = %v, want context.Canceled naming the Scan node", err)
	}
	if n := calls.Load(); n > 4 {
		t.Errorf("the body ran %d times after the cancel", n-3)
	}
}
