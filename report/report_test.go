package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/frugal-ml/frugal/model/zoo"
)

func TestLeNet5Costs(t *testing.T) {
	r, err := Analyze(zoo.LeNet5(1), Options{Threads: 1, Warmup: 1, Runs: 3, Name: "lenet5"})
	if err != nil {
		t.Fatal(err)
	}
	// conv1 6*28*28*25 + conv2 16*10*10*150 + fc 400*120 + 120*84 + 84*10
	if want := int64(117600 + 240000 + 48000 + 10080 + 840); r.MACs != want {
		t.Errorf("MACs %d, want %d", r.MACs, want)
	}
	if r.BOPs != r.MACs*32*32 {
		t.Errorf("BOPs %d, want MACs*1024", r.BOPs)
	}
	if r.Params != 61706 {
		t.Errorf("params %d, want 61706", r.Params)
	}
	// conv1 output and its ReLU output (6x28x28 float32 each) live together.
	if want := int64(2 * 6 * 28 * 28 * 4); r.PeakActivationBytes != want {
		t.Errorf("peak activations %d, want %d", r.PeakActivationBytes, want)
	}
	if r.LatencyMS <= 0 {
		t.Errorf("latency %g", r.LatencyMS)
	}
	var b bytes.Buffer
	r.WriteTable(&b)
	WriteComparison(&b, r, r)
	if !strings.Contains(b.String(), "416.5k") {
		t.Errorf("table lacks MACs:\n%s", b.String())
	}
}
