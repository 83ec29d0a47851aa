package zoo

import (
	"context"
	"testing"

	"github.com/frugal-ml/frugal/impl/runtime"
	"github.com/frugal-ml/frugal/tensor"
)

func TestZooShapesAndParams(t *testing.T) {
	want := map[string]int{
		"lenet5":        6*25 + 6 + 16*6*25 + 16 + 400*120 + 120 + 120*84 + 84 + 84*10 + 10,
		"lenet-300-100": 784*300 + 300 + 300*100 + 100 + 100*10 + 10,
		"small-cnn":     32*9 + 32 + 64*32*9 + 64 + 3136*128 + 128 + 128*10 + 10,
	}
	for _, name := range Names() {
		m, err := Build(name, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := Params(m); got != want[name] {
			t.Errorf("%s: %d params, want %d", name, got, want[name])
		}
		s, err := runtime.NewSession(m, runtime.Options{Threads: 1})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		x := tensor.New(tensor.Float32, 3, 1, 28, 28)
		out, err := s.RunOrdered(context.Background(), x)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		y := out[0].(*tensor.Tensor)
		if !tensor.SameShape(y.Shape, []int{3, 10}) {
			t.Errorf("%s: output shape %v", name, y.Shape)
		}
	}
	if LeNet5(1).Graph.Initializers["conv1.weight"].F32()[0] != LeNet5(1).Graph.Initializers["conv1.weight"].F32()[0] {
		t.Error("same seed must give the same weights")
	}
}
