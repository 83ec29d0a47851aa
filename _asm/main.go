// Command _asm generates frugal's assembly kernels and their Go stubs.
//
//	cd _asm && go run . -out ..
//
// writes the files under impl/. Run `go test` here to check that the
// committed files match what the generator produces.
package main

import (
	"flag"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func generate() (map[string][]byte, error) {
	out := map[string][]byte{}
	genSgemm(out)
	genQGemm(out)
	genSparse(out)
	genSparse256(out)
	genPack(out)
	genDepthwise(out)
	genTranspose(out)
	genHWC(out)
	for name, b := range out {
		if strings.HasSuffix(name, ".go") {
			fb, err := format.Source(b)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", name, err)
			}
			out[name] = fb
		}
	}
	return out, nil
}

func main() {
	dir := flag.String("out", "..", "repository root")
	flag.Parse()
	files, err := generate()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(*dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := os.WriteFile(p, files[n], 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("wrote", p)
	}
}
