package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// frugal runs the CLI in-process and returns stdout and the error.
func frugal(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

// A LeNet-5 exported by PyTorch must run under `frugal run` and match
// PyTorch's logits within 1e-5 relative. Needs Debian's python3-torch
// (.ci/run installs it); skips with a message otherwise.
func TestRunMatchesPyTorchLeNet5(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import torch").Run(); err != nil {
		t.Skip("Debian python3-torch not installed (apt-get install python3-torch); skipping the PyTorch cross-check")
	}
	dir := t.TempDir()
	cmd := exec.Command("/usr/bin/python3", "../../bench/pytorch/export_lenet5.py", filepath.Join(dir, "lenet5"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	m := filepath.Join(dir, "lenet5")
	if _, err := frugal(t, "run", filepath.Join(m, "model.onnx"), "-i", filepath.Join(m, "test_data_set_0", "input_0.pb"), "-o", filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	out, err := frugal(t, "compare", filepath.Join(dir, "out", "output_0.pb"), filepath.Join(m, "test_data_set_0", "output_0.pb"), "--rtol", "1e-5", "--atol", "1e-6")
	if err != nil {
		t.Fatal(err)
	}
	t.Log(strings.TrimSpace(out))
}

func TestRunErrorsNameTheProblem(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "corrupt.onnx")
	os.WriteFile(bad, []byte{0x0a, 0xff, 0xff, 0x01, 0x02}, 0o644)
	_, err := frugal(t, "run", bad, "-o", dir)
	if err == nil || !strings.Contains(err.Error(), "corrupt.onnx") {
		t.Errorf("corrupt model: %v", err)
	}
	_, err = frugal(t, "run", filepath.Join(dir, "missing.onnx"), "-o", dir)
	if err == nil || !strings.Contains(err.Error(), "missing.onnx") {
		t.Errorf("missing model: %v", err)
	}
	relu := os.Getenv("FRUGAL_ONNX_TESTS")
	if relu == "" {
		return
	}
	model := filepath.Join(relu, "node", "test_relu", "model.onnx")
	_, err = frugal(t, "run", model, "-o", dir)
	if err == nil || !strings.Contains(err.Error(), "takes 1 inputs") {
		t.Errorf("missing input: %v", err)
	}
	// Feed a float tensor to an int input: the error names the input.
	ints := filepath.Join(relu, "node", "test_argmax_default_axis_example", "test_data_set_0", "input_0.pb")
	_, err = frugal(t, "run", filepath.Join(relu, "node", "test_bitshift_left_uint8", "model.onnx"), "-i", ints, "-i", ints, "-o", dir)
	if err == nil {
		t.Errorf("wrong dtype input accepted")
	}
}

// bench train takes the same --precision specs as train and rejects bad ones.
func TestBenchTrainPrecision(t *testing.T) {
	out, err := frugal(t, "bench", "train", "--model", "lenet5", "--steps", "2", "--warmup", "1", "--batch", "8", "--precision", "bf16", "--json")
	if err != nil || !strings.Contains(out, `"samples_per_s"`) {
		t.Fatalf("bench train --precision bf16: %v\n%s", err, out)
	}
	if _, err := frugal(t, "bench", "train", "--model", "lenet5", "--precision", "nonsense"); err == nil || !strings.Contains(err.Error(), "--precision") {
		t.Fatalf("bad --precision: got %v, want an error naming the flag", err)
	}
}

// `frugal bench model --profile` prints where the time goes, and its JSON
// carries the same table.
func TestBenchModelProfile(t *testing.T) {
	dir := os.Getenv("FRUGAL_ONNX_TESTS")
	if dir == "" {
		t.Skip("FRUGAL_ONNX_TESTS not set: no ONNX model to profile")
	}
	model := filepath.Join(dir, "node", "test_conv_with_strides_padding", "model.onnx")
	out, err := frugal(t, "bench", "model", model, "--runs", "3", "--warmup", "1", "--profile")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "time by operator") || !strings.Contains(out, "Conv") || !strings.Contains(out, "slowest nodes") {
		t.Errorf("no profile table:\n%s", out)
	}
	out, err = frugal(t, "bench", "model", model, "--runs", "3", "--profile", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"ops":[{"op":"Conv"`) || !strings.Contains(out, `"ms_per_run"`) {
		t.Errorf("no ops in the JSON: %s", out)
	}
}
