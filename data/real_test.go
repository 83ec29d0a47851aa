package data

import (
	"context"
	"errors"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// checkReal verifies a real 10-class 28x28 dataset: sizes, label histogram,
// first labels, pixel statistics, and that a cached reload is identical.
func checkReal(t *testing.T, name string, opt Options, wantCounts map[string][]int, wantFirst map[string][]uint8, mean, std float64) {
	for _, split := range []string{"train", "test"} {
		start := time.Now()
		d, err := LoadWith(name, split, opt)
		cold := time.Since(start)
		if errors.Is(err, ErrNotFound) {
			t.Skipf("%s not available here, skipping: %v", name, err)
		}
		if err != nil {
			t.Fatal(err)
		}
		start = time.Now()
		d2, err := LoadWith(name, split, opt)
		warm := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s %s: %d images, cold load %v (from %s), cached load %v (from %s)", name, split, d.N, cold.Round(time.Millisecond), d.Source, warm.Round(time.Millisecond), d2.Source)
		if !strings.HasSuffix(d2.Source, ".bin") {
			t.Errorf("second load not from the cache: %s", d2.Source)
		}
		if !slices.Equal(d.Raw, d2.Raw) || !slices.Equal(d.Labels, d2.Labels) || !slices.Equal(d.Images, d2.Images) {
			t.Fatal("cached copy differs from the decoded files")
		}
		want := wantCounts[split]
		n := 0
		for _, c := range want {
			n += c
		}
		if d.N != n || d.C != 1 || d.H != 28 || d.W != 28 || d.Classes != 10 || len(d.ClassNames) != 10 {
			t.Fatalf("%s: shape %dx%dx%dx%d classes %d", split, d.N, d.C, d.H, d.W, d.Classes)
		}
		got := make([]int, 10)
		for _, l := range d.Labels {
			got[l]++
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s label histogram %v, want %v", split, got, want)
		}
		if f := wantFirst[split]; !slices.Equal(d.Labels[:len(f)], f) {
			t.Errorf("%s first labels %v, want %v", split, d.Labels[:len(f)], f)
		}
		if split == "train" {
			m, s := d.Stats()
			t.Logf("%s train mean %.4f std %.4f", name, m[0], s[0])
			if math.Abs(m[0]-mean) > 5e-4 || math.Abs(s[0]-std) > 5e-4 {
				t.Errorf("train mean %.4f std %.4f, documented %.4f %.4f", m[0], s[0], mean, std)
			}
			// Normalised with the documented constants, the training set
			// is close to zero mean and unit variance.
			if err := d.Normalize([]float32{float32(mean)}, []float32{float32(std)}); err != nil {
				t.Fatal(err)
			}
			var sum float64
			for _, v := range d.Images {
				sum += float64(v)
			}
			if mu := sum / float64(len(d.Images)); math.Abs(mu) > 2e-3 {
				t.Errorf("normalised mean %v", mu)
			}
			// One full augmented epoch through the loader.
			l, err := NewLoader(d, LoaderConfig{BatchSize: 128, Shuffle: true, Seed: 1, Pad: 2, FlipH: true})
			if err != nil {
				t.Fatal(err)
			}
			start = time.Now()
			seen := 0
			for b := range l.Batches(context.Background(), 0) {
				seen += b.B
				b.Release()
			}
			t.Logf("%s: one augmented epoch through the loader in %v", name, time.Since(start).Round(time.Millisecond))
			if seen != d.N {
				t.Errorf("epoch saw %d samples of %d", seen, d.N)
			}
		}
	}
}

// TestMNISTReal loads the real MNIST from the Go module (module cache, or
// `go mod download`); it skips when neither works, e.g. offline without a
// module cache.
func TestMNISTReal(t *testing.T) {
	checkReal(t, "mnist", Options{CacheDir: t.TempDir()},
		map[string][]int{
			"train": {5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949},
			"test":  {980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009},
		},
		map[string][]uint8{"train": {5, 0, 4, 1, 9, 2, 1, 3, 1, 4}, "test": {7, 2, 1, 0, 4, 1, 4, 9, 5, 9}},
		MNISTMean, MNISTStd)
}

// TestFashionMNISTReal needs Debian's dataset-fashion-mnist package.
func TestFashionMNISTReal(t *testing.T) {
	if _, err := os.Stat(DefaultFashionDir); err != nil {
		t.Skipf("%s absent (apt-get install dataset-fashion-mnist to run this test)", DefaultFashionDir)
	}
	ten := func(n int) []int { return []int{n, n, n, n, n, n, n, n, n, n} }
	checkReal(t, "fashion-mnist", Options{CacheDir: t.TempDir()},
		map[string][]int{"train": ten(6000), "test": ten(1000)},
		map[string][]uint8{"train": {9, 0, 0, 3, 0, 2, 7, 2, 5, 5}, "test": {9, 2, 1, 1, 6, 1, 4, 6, 5, 7}},
		FashionMean, FashionStd)
}

// BenchmarkLoadMNIST measures a cold load (decode the gzipped IDX files and
// write the cache) and a cached load of the training split:
//
//	go test ./data -run '^$' -bench LoadMNIST -benchtime 5x
func BenchmarkLoadMNIST(b *testing.B) {
	cache := b.TempDir()
	if _, err := LoadWith("mnist", "train", Options{CacheDir: cache}); err != nil {
		b.Skipf("mnist not available: %v", err)
	}
	b.Run("cold", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := LoadWith("mnist", "train", Options{CacheDir: b.TempDir()}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			d, err := LoadWith("mnist", "train", Options{CacheDir: cache})
			if err != nil || !strings.HasSuffix(d.Source, ".bin") {
				b.Fatal(err, d.Source)
			}
		}
	})
	b.Run("nocache", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := LoadWith("mnist", "train", Options{NoCache: true}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
