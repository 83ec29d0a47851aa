package main

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/frugal-ml/frugal/data"
)

// writeDigits writes an easy 28x28 10-class IDX set (a bright bar per class
// at its own place, plus noise) in the MNIST file layout.
func writeDigits(t *testing.T, dir string, nTrain, nTest int) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range []struct {
		prefix string
		n      int
	}{{"train", nTrain}, {"t10k", nTest}} {
		pix := make([]byte, s.n*784)
		lab := make([]byte, s.n)
		for i := 0; i < s.n; i++ {
			c := r.IntN(10)
			lab[i] = byte(c)
			img := pix[i*784 : (i+1)*784]
			for j := range img {
				img[j] = byte(r.IntN(60))
			}
			oy, ox := 2+(c/5)*12, 2+(c%5)*5
			for dy := 0; dy < 8; dy++ {
				for dx := 0; dx < 4; dx++ {
					img[(oy+dy)*28+ox+dx] = 255
				}
			}
		}
		for name, v := range map[string]struct {
			dims []int
			b    []byte
		}{"-images-idx3-ubyte": {[]int{s.n, 28, 28}, pix}, "-labels-idx1-ubyte": {[]int{s.n}, lab}} {
			var b bytes.Buffer
			if err := data.WriteIDX(&b, data.IDXUint8, v.dims, v.b); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, s.prefix+name), b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func readLog(t *testing.T, path string) (epochs []map[string]any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Epochs []map[string]any `json:"epochs"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v.Epochs
}

// frugal train writes the model and a JSON log with one entry per epoch,
// and distils from a trained teacher with --teacher.
func TestTrainCommandLogAndDistill(t *testing.T) {
	dir := t.TempDir()
	writeDigits(t, dir, 512, 128)
	teacher := filepath.Join(dir, "teacher.onnx")
	if _, err := frugal(t, "train", "--model", "lenet5", "--data", dir, "--epochs", "2", "--batch", "32",
		"--threads", "2", "--out", teacher); err != nil {
		t.Fatal(err)
	}
	ep := readLog(t, filepath.Join(dir, "teacher.log.json"))
	if len(ep) != 2 || ep[1]["epoch"] != 2.0 || ep[1]["test_acc"] == nil || ep[1]["samples_per_s"] == nil {
		t.Fatalf("log: %v", ep)
	}
	student := filepath.Join(dir, "student.onnx")
	out, err := frugal(t, "train", "--model", "lenet-300-100", "--data", dir, "--epochs", "1", "--batch", "32",
		"--threads", "2", "--teacher", teacher, "--distill-t", "3", "--distill-alpha", "0.7", "--out", student, "--log", filepath.Join(dir, "s.json"))
	if err != nil {
		t.Fatal(err)
	}
	if ep := readLog(t, filepath.Join(dir, "s.json")); len(ep) != 1 {
		t.Fatalf("student log: %v (%s)", ep, out)
	}
	if _, err := frugal(t, "train", "--model", "lenet-300-100", "--data", dir, "--epochs", "1", "--teacher", filepath.Join(dir, "none.onnx"), "--out", student); err == nil {
		t.Fatal("missing teacher accepted")
	}
	if _, err := frugal(t, "train", "--model", "lenet-300-100", "--data", dir, "--epochs", "1", "--teacher", teacher, "--distill-alpha", "2", "--out", student); err == nil {
		t.Fatal("--distill-alpha 2 accepted")
	}
}
