// Command openblas compares frugal's SGEMM with OpenBLAS's cblas_sgemm side by
// side in one process: same matrices, same thread count, alternating blocks
// of repetitions, medians and the ratio frugal/OpenBLAS. It lives outside
// the main module because it needs cgo; run it through run.sh, which
// unsets OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE so OpenBLAS picks its AVX-512
// kernel.
package main

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
#include <stdlib.h>
extern void openblas_set_num_threads(int);
extern char* openblas_get_corename(void);
extern char* openblas_get_config(void);
static void sgemm(int m, int n, int k, float *a, float *b, float *c) {
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
}
*/
import "C"

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/frugal-ml/frugal/impl/gemm"
)

func main() {
	sizes := flag.String("sizes", "256,512,1024", "comma-separated sizes (m=n=k), or MxNxK triples")
	threads := flag.Int("threads", 2, "threads for both libraries")
	reps := flag.Int("reps", 0, "repetitions per block (0: about 0.2 s of work)")
	rounds := flag.Int("rounds", 5, "alternating rounds (frugal block, OpenBLAS block)")
	asJSON := flag.Bool("json", false, "print one JSON object per size")
	flag.Parse()

	C.openblas_set_num_threads(C.int(*threads))
	gemm.SetThreads(*threads)
	if runtime.GOMAXPROCS(0) < *threads {
		runtime.GOMAXPROCS(*threads)
	}
	if !*asJSON {
		fmt.Printf("OpenBLAS core %s (%s); frugal kernel %s; threads %d\n",
			C.GoString(C.openblas_get_corename()), strings.TrimSpace(C.GoString(C.openblas_get_config())), gemm.KernelName(), *threads)
		fmt.Printf("%-16s %12s %12s %12s %12s %8s\n", "m x n x k", "frugal ms", "frugal GF/s", "OpenBLAS ms", "OpenBLAS GF/s", "ratio")
	}
	for _, s := range strings.Split(*sizes, ",") {
		m, n, k, err := parseSize(s)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		// C-allocated so OpenBLAS sees stable memory; frugal uses the same.
		a := cFloats(m * k)
		b := cFloats(k * n)
		c1 := cFloats(m * n)
		c2 := cFloats(m * n)
		for i := range a {
			a[i] = float32(i%17)/8 - 1
		}
		for i := range b {
			b[i] = float32(i%13)/6 - 1
		}
		fr := func() { gemm.Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c1, n) }
		ob := func() {
			C.sgemm(C.int(m), C.int(n), C.int(k), (*C.float)(&a[0]), (*C.float)(&b[0]), (*C.float)(&c2[0]))
		}
		fr()
		ob()
		var maxDiff, maxRef float64
		for i := range c1 {
			maxDiff = math.Max(maxDiff, math.Abs(float64(c1[i]-c2[i])))
			maxRef = math.Max(maxRef, math.Abs(float64(c2[i])))
		}
		if maxDiff > 1e-4*maxRef*float64(k) {
			fmt.Fprintf(os.Stderr, "results differ: max |diff| %g (max |C| %g)\n", maxDiff, maxRef)
			os.Exit(1)
		}
		r := *reps
		if r == 0 {
			flops := 2 * float64(m) * float64(n) * float64(k)
			r = max(3, int(0.2*200e9/flops))
		}
		var tf, to []float64
		for round := 0; round < *rounds; round++ {
			tf = append(tf, timeBlock(fr, r)...)
			to = append(to, timeBlock(ob, r)...)
			// Let OpenBLAS's worker threads stop spinning before frugal runs.
			time.Sleep(150 * time.Millisecond)
		}
		mf, mo := median(tf), median(to)
		gf := 2 * float64(m) * float64(n) * float64(k) / mf / 1e6
		gob := 2 * float64(m) * float64(n) * float64(k) / mo / 1e6
		if *asJSON {
			out, _ := json.Marshal(map[string]any{"m": m, "n": n, "k": k, "threads": *threads,
				"frugal_ms": mf, "frugal_gflops": gf, "openblas_ms": mo, "openblas_gflops": gob, "ratio": gf / gob})
			fmt.Println(string(out))
		} else {
			fmt.Printf("%-16s %12.3f %12.1f %12.3f %12.1f %8.2f\n", fmt.Sprintf("%dx%dx%d", m, n, k), mf, gf, mo, gob, gf/gob)
		}
		C.free(unsafe.Pointer(&a[0]))
		C.free(unsafe.Pointer(&b[0]))
		C.free(unsafe.Pointer(&c1[0]))
		C.free(unsafe.Pointer(&c2[0]))
	}
}

func timeBlock(f func(), reps int) []float64 {
	f() // warm-up
	out := make([]float64, reps)
	for i := range out {
		t0 := time.Now()
		f()
		out[i] = float64(time.Since(t0).Nanoseconds()) / 1e6
	}
	return out
}

func median(x []float64) float64 {
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func cFloats(n int) []float32 {
	p := C.aligned_alloc(64, C.size_t((n*4+63)/64*64))
	return unsafe.Slice((*float32)(p), n)
}

func parseSize(s string) (m, n, k int, err error) {
	parts := strings.Split(strings.TrimSpace(s), "x")
	v := make([]int, len(parts))
	for i, p := range parts {
		if v[i], err = strconv.Atoi(p); err != nil || v[i] <= 0 {
			return 0, 0, 0, fmt.Errorf("bad size %q", s)
		}
	}
	switch len(v) {
	case 1:
		return v[0], v[0], v[0], nil
	case 3:
		return v[0], v[1], v[2], nil
	}
	return 0, 0, 0, fmt.Errorf("bad size %q: want N or MxNxK", s)
}
