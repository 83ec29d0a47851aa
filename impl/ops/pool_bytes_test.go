package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"syscall"
	"testing"
	"unsafe"

	"github.com/frugal-ml/frugal/impl/cpu"
	"github.com/frugal-ml/frugal/impl/ref"
)

func TestMaxBytes8(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		a, b := rng.Uint64(), rng.Uint64()
		if i%3 == 0 {
			b = a ^ (rng.Uint64() & 0x0101010101010101) // near-equal bytes
		}
		got := maxBytes8(a, b)
		for k := 0; k < 8; k++ {
			x, y := byte(a>>(8*k)), byte(b>>(8*k))
			if g := byte(got >> (8 * k)); g != max(x, y) {
				t.Fatalf("max(%#x, %#x) byte %d = %d, want %d", a, b, k, g, max(x, y))
			}
		}
	}
}

// The byte pool (at the machine's level) must equal the Go float plane
// kernel on every window it takes.
func TestMaxPoolBytesMatchesFloat(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	geoms := []ref.Conv2D{
		{KH: 3, KW: 3, SH: 2, SW: 2, PT: 1, PL: 1, PB: 1, PR: 1, DH: 1, DW: 1},
		{KH: 3, KW: 3, SH: 1, SW: 1, PT: 1, PL: 1, PB: 1, PR: 1, DH: 1, DW: 1},
		{KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1},
		{KH: 3, KW: 3, SH: 2, SW: 2, PT: 0, PL: 1, PB: 2, PR: 2, DH: 2, DW: 1},
	}
	for _, p := range geoms {
		for _, hw := range [][2]int{{1, 1}, {5, 7}, {16, 16}, {23, 30}, {112, 112}} {
			h, w := hw[0], hw[1]
			oh := (h+p.PT+p.PB-(p.KH-1)*p.DH-1)/p.SH + 1
			ow := (w+p.PL+p.PR-(p.KW-1)*p.DW-1)/p.SW + 1
			if oh <= 0 || ow <= 0 || !bytePoolFits(p) {
				continue
			}
			for _, signed := range []bool{false, true} {
				t.Run(fmt.Sprintf("%v/%dx%d/signed=%v", p, h, w, signed), func(t *testing.T) {
					x := make([]byte, h*w)
					xf := make([]float32, h*w)
					for i := range x {
						x[i] = byte(rng.IntN(256))
						if i%5 == 0 {
							x[i] = 0x80 // the most negative int8 and the sign boundary
						}
						if signed {
							xf[i] = float32(int8(x[i]))
						} else {
							xf[i] = float32(x[i])
						}
					}
					want := make([]float32, oh*ow)
					maxPoolPlaneGo(xf, h, w, p, oh, ow, want, make([]float32, w))
					got := make([]byte, oh*ow)
					maxPoolBytes(x, h, w, p, oh, ow, signed, got, make([]byte, bytePoolScratch(w, ow)))
					for i, v := range got {
						g := float32(v)
						if signed {
							g = float32(int8(v))
						}
						if g != want[i] {
							t.Fatalf("output %d (%d, %d): %v, want %v", i, i/ow, i%ow, g, want[i])
						}
					}
				})
			}
		}
	}
}

// poolGeoms are the windows the assembly kernels take (every horizontal
// mode with right padding 0-2, vertical windows of 1-3 rows), plus two
// they do not (for the dispatch): 3 wide without left padding, and 4 rows.
func poolGeoms() []ref.Conv2D {
	var gs []ref.Conv2D
	verts := []struct{ kh, sh, pt, pb, dh int }{
		{3, 2, 1, 1, 1}, // ResNet
		{3, 1, 1, 1, 1},
		{2, 2, 0, 0, 1},
		{1, 1, 0, 0, 1},
		{3, 2, 0, 2, 2},
		{2, 3, 1, 1, 2},
		{3, 1, 2, 2, 2}, // windows with a row in the padding between two inside
		{2, 1, 2, 2, 1}, // windows wholly in the padding (pool to the identity)
	}
	horiz := []struct{ kw, sw, pl int }{{3, 2, 1}, {3, 1, 1}, {2, 2, 0}}
	for _, v := range verts {
		for _, hz := range horiz {
			for pr := 0; pr <= 2; pr++ {
				if hz.kw == 2 && pr == 2 {
					continue
				}
				gs = append(gs, ref.Conv2D{KH: v.kh, KW: hz.kw, SH: v.sh, SW: hz.sw, PT: v.pt, PL: hz.pl, PB: v.pb, PR: pr, DH: v.dh, DW: 1})
			}
		}
	}
	return append(gs,
		ref.Conv2D{KH: 3, KW: 3, SH: 2, SW: 2, PR: 1, PB: 1, DH: 1, DW: 1},
		ref.Conv2D{KH: 4, KW: 3, SH: 2, SW: 2, PT: 1, PL: 1, PB: 2, PR: 1, DH: 1, DW: 1})
}

// poolLevels runs f at every dispatch level the machine has.
func poolLevels(t *testing.T, f func(t *testing.T, l cpu.Level)) {
	for _, l := range cpu.Levels() {
		t.Run(l.String(), func(t *testing.T) {
			defer cpu.Force(l)()
			f(t, l)
		})
	}
}

// poolAsmExpected reports whether the assembly (rather than Go) must and
// whether it may take a NaN-free plane w wide at level l (extra: output
// columns beyond p.Out): at AVX2 it refuses rows narrower than a vector;
// at AVX-512 it may refuse right paddings of 2 and ceil_mode columns (when
// they leave an unmasked block short), and takes all else.
func poolAsmExpected(l cpu.Level, p ref.Conv2D, w, extra int, float bool) (must, may bool) {
	mode := poolModeOfTest(p)
	if l < cpu.AVX2 || mode < 0 {
		return false, false
	}
	if l >= cpu.AVX512 {
		return p.PR <= 1 && extra == 0, true
	}
	minW := 32
	if float {
		minW = 16
		if mode == 1 {
			minW = 8
		}
	}
	return w >= minW, w >= minW
}

// poolModeOfTest mirrors poolModeOf without depending on the assembly
// build.
func poolModeOfTest(p ref.Conv2D) int {
	if p.DW != 1 || p.KH > 3 {
		return -1
	}
	switch {
	case p.KW == 3 && p.PL == 1 && p.SW == 2:
		return 0
	case p.KW == 3 && p.PL == 1 && p.SW == 1:
		return 1
	case p.KW == 2 && p.PL == 0 && p.SW == 2:
		return 2
	}
	return -1
}

// TestMaxPoolBytesLevels checks the 8-bit pool at every dispatch level,
// geometry, width 1..130 and signedness against the scalar reference
// (ref.MaxPool2D on the codes' values), with sentinels around the planes:
// codes just outside the input are the largest ones (a kernel reading them
// would pool them) and outputs past either end must stay untouched.
func TestMaxPoolBytesLevels(t *testing.T) {
	poolLevels(t, func(t *testing.T, l cpu.Level) {
		rng := rand.New(rand.NewPCG(7, 8))
		asm, fallback := 0, 0
		for _, p := range poolGeoms() {
			if !bytePoolFits(p) {
				continue // maxPoolBytes' contract
			}
			for w := 1; w <= 130; w++ {
				h := 1 + (w*7+p.KH)%6 // 1..6 rows, varying with the width
				if w > 100 {
					h = 9
				}
				oh, ow := p.Out(h, w)
				if oh <= 0 || ow <= 0 {
					continue
				}
				for _, ceil := range []int{0, 1} { // ceil_mode can add an output column
					ow := ow + ceil
					if ceil == 1 && (w*13)%5 != 0 {
						continue
					}
					for _, signed := range []bool{false, true} {
						big := byte(0xff)
						if signed {
							big = 0x7f
						}
						const pad = 80
						xb := make([]byte, pad+h*w+pad)
						for i := range xb {
							xb[i] = big
						}
						x := xb[pad : pad+h*w]
						xf := make([]float32, h*w)
						for i := range x {
							x[i] = byte(rng.IntN(256))
							switch rng.IntN(8) {
							case 0:
								x[i] = 0x80
							case 1:
								x[i] = 0x7f
							case 2:
								x[i] = 0
							case 3:
								x[i] = 0xff
							}
							if x[i] == big && rng.IntN(2) == 0 {
								x[i]-- // keep the sentinel value rare inside
							}
							if signed {
								xf[i] = float32(int8(x[i]))
							} else {
								xf[i] = float32(x[i])
							}
						}
						want := make([]float32, oh*ow)
						ref.MaxPool2D(xf, h, w, p, oh, ow, want, nil)
						ob := make([]byte, pad+oh*ow+pad)
						for i := range ob {
							ob[i] = 0x5a
						}
						out := ob[pad : pad+oh*ow]
						maxPoolBytes(x, h, w, p, oh, ow, signed, out, make([]byte, bytePoolScratch(w, ow)))
						lo := float32(0)
						if signed {
							lo = -128
						}
						check := func(out []byte, what string) {
							for i, v := range out {
								g := float32(v)
								if signed {
									g = float32(int8(v))
								}
								if g != max(want[i], lo) { // a window wholly in the padding pools to the lowest code
									t.Fatalf("%s %+v %dx%d -> %dx%d signed=%v: out (%d, %d) = %v, want %v", what, p, h, w, oh, ow, signed, i/ow, i%ow, g, want[i])
								}
							}
						}
						check(out, "maxPoolBytes")
						for i := range pad {
							if ob[i] != 0x5a || ob[pad+oh*ow+i] != 0x5a {
								t.Fatalf("%+v %dx%d signed=%v: wrote outside the output", p, h, w, signed)
							}
						}
						// Did the assembly take the plane?
						k := poolU8
						if signed {
							k = poolS8
						}
						clear(out)
						ran := maxPoolAsm(k, unsafe.Pointer(&x[0]), unsafe.Pointer(&out[0]), h, w, p, oh, ow)
						if ran {
							asm++
							check(out, "assembly")
						} else {
							fallback++
						}
						if must, may := poolAsmExpected(l, p, w, ceil, false); ran && !may || !ran && must {
							t.Fatalf("%+v %dx%d -> %dx%d at %v: assembly ran %v", p, h, w, oh, ow, l, ran)
						}
					}
				}
			}
		}
		t.Logf("%v: %d planes in assembly, %d in Go", l, asm, fallback)
	})
}

// TestMaxPoolPlaneLevels checks the float32 pool the same way, with NaN
// (both signs), infinities and signed zeros among the inputs: NaN must win
// as in Go's max, whatever the level.
func TestMaxPoolPlaneLevels(t *testing.T) {
	posNaN := float32(math.NaN())
	negNaN := math.Float32frombits(0xffc00000) // x86's default NaN
	inf := float32(math.Inf(1))
	poolLevels(t, func(t *testing.T, l cpu.Level) {
		rng := rand.New(rand.NewPCG(9, 10))
		asm, fallback := 0, 0
		for _, p := range poolGeoms() {
			for w := 1; w <= 130; w++ {
				h := 1 + (w*5+p.KH)%6
				if w > 100 {
					h = 9
				}
				oh, ow := p.Out(h, w)
				if oh <= 0 || ow <= 0 {
					continue
				}
				for _, ceil := range []int{0, 1} {
					ow := ow + ceil
					if ceil == 1 && (w*13)%5 != 0 {
						continue
					}
					for _, nans := range []bool{false, true} {
						const pad = 40
						xb := make([]float32, pad+h*w+pad)
						for i := range xb {
							xb[i] = inf // a kernel reading outside would pool it
						}
						x := xb[pad : pad+h*w]
						for i := range x {
							x[i] = float32(rng.NormFloat64())
							switch rng.IntN(40) {
							case 0:
								x[i] = -inf
							case 1:
								x[i] = float32(math.Copysign(0, -1))
							case 2:
								x[i] = 0
							}
						}
						if nans {
							n := 1 + rng.IntN(3)
							for range n {
								v := posNaN
								if rng.IntN(2) == 0 {
									v = negNaN
								}
								x[rng.IntN(len(x))] = v
							}
						}
						want := make([]float32, oh*ow)
						ref.MaxPool2D(x, h, w, p, oh, ow, want, nil)
						ob := make([]float32, pad+oh*ow+pad)
						for i := range ob {
							ob[i] = 42
						}
						out := ob[pad : pad+oh*ow]
						maxPoolPlane(x, h, w, p, oh, ow, out, make([]float32, w))
						check := func(out []float32, what string) {
							for i, v := range out {
								if v != want[i] && !(v != v && want[i] != want[i]) {
									t.Fatalf("%s %+v %dx%d -> %dx%d nans=%v: out (%d, %d) = %v, want %v", what, p, h, w, oh, ow, nans, i/ow, i%ow, v, want[i])
								}
							}
						}
						check(out, "maxPoolPlane")
						for i := range pad {
							if ob[i] != 42 || ob[pad+oh*ow+i] != 42 {
								t.Fatalf("%+v %dx%d: wrote outside the output", p, h, w)
							}
						}
						clear(out)
						ran := maxPoolAsm(poolF32, unsafe.Pointer(&x[0]), unsafe.Pointer(&out[0]), h, w, p, oh, ow)
						if ran {
							asm++
							check(out, "assembly")
						} else {
							fallback++
						}
						if must, may := poolAsmExpected(l, p, w, ceil, true); ran && !may || !ran && must && !nans {
							t.Fatalf("%+v %dx%d -> %dx%d at %v: assembly ran %v", p, h, w, oh, ow, l, ran)
						}
					}
				}
			}
		}
		t.Logf("%v: %d planes in assembly, %d in Go", l, asm, fallback)
	})
}

// TestMaxPoolGuardPages runs the kernels on planes that start right after
// and end right before an inaccessible page: a load outside the plane (a
// byte left of row 0 for the left padding, past the last row for a tail)
// would fault. AVX-512 masked-off lanes do not fault; AVX2 must not load
// them at all.
func TestMaxPoolGuardPages(t *testing.T) {
	pg := syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 4*pg, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		t.Skip("mmap:", err)
	}
	defer syscall.Munmap(mem)
	if err := syscall.Mprotect(mem[:pg], syscall.PROT_NONE); err != nil {
		t.Skip("mprotect:", err)
	}
	if err := syscall.Mprotect(mem[3*pg:], syscall.PROT_NONE); err != nil {
		t.Skip("mprotect:", err)
	}
	body := mem[pg : 3*pg] // two accessible pages between the guards
	geoms := []ref.Conv2D{
		{KH: 3, KW: 3, SH: 2, SW: 2, PT: 1, PL: 1, PB: 1, PR: 1, DH: 1, DW: 1},
		{KH: 3, KW: 3, SH: 2, SW: 2, PT: 1, PL: 1, PB: 1, PR: 2, DH: 1, DW: 1},
		{KH: 3, KW: 3, SH: 1, SW: 1, PT: 1, PL: 1, PB: 1, PR: 1, DH: 1, DW: 1},
		{KH: 2, KW: 2, SH: 2, SW: 2, PR: 1, DH: 1, DW: 1},
	}
	poolLevels(t, func(t *testing.T, l cpu.Level) {
		rng := rand.New(rand.NewPCG(11, 12))
		for _, p := range geoms {
			for _, w := range []int{1, 7, 16, 31, 32, 33, 47, 63, 64, 65, 100, 112, 129} {
				h := 3
				oh, ow := p.Out(h, w)
				for _, k := range []poolKind{poolU8, poolS8, poolF32} {
					es := 1
					if k == poolF32 {
						es = 4
					}
					n := h * w * es
					for _, at := range []int{0, len(body) - n} { // after the front guard, before the back one
						x := body[at : at+n]
						for i := range x {
							x[i] = byte(rng.IntN(256)) & 0x3f // small floats, no NaN
						}
						outF := make([]float32, oh*ow)
						wantF := make([]float32, oh*ow)
						ran := false
						if k == poolF32 {
							xf := unsafe.Slice((*float32)(unsafe.Pointer(&x[0])), h*w)
							ref.MaxPool2D(xf, h, w, p, oh, ow, wantF, nil)
							ran = maxPoolAsm(k, unsafe.Pointer(&x[0]), unsafe.Pointer(&outF[0]), h, w, p, oh, ow)
						} else {
							xf := make([]float32, h*w)
							for i, v := range x {
								xf[i] = float32(v) // all codes < 0x40: the same signed or not
							}
							ref.MaxPool2D(xf, h, w, p, oh, ow, wantF, nil)
							ob := make([]byte, oh*ow)
							ran = maxPoolAsm(k, unsafe.Pointer(&x[0]), unsafe.Pointer(&ob[0]), h, w, p, oh, ow)
							for i, v := range ob {
								outF[i] = float32(v)
							}
						}
						if !ran && l >= cpu.AVX2 && w >= 32 && p.PR <= 1 {
							t.Fatalf("%+v w %d kind %d at %v: assembly did not run", p, w, k, l)
						}
						if ran {
							for i := range wantF {
								if outF[i] != wantF[i] {
									t.Fatalf("%+v w %d kind %d at %d: out[%d] = %v, want %v", p, w, k, at, i, outF[i], wantF[i])
								}
							}
						}
					}
				}
			}
		}
	})
}

// BenchmarkMaxPoolBytes times ResNet's 3x3 stride-2 pool on one 112x112
// plane of codes at each dispatch level ("generic" is the Go SWAR kernel),
// and the other windows the kernels take.
func BenchmarkMaxPoolBytes(b *testing.B) {
	geoms := []struct {
		name string
		p    ref.Conv2D
	}{
		{"3x3s2", ref.Conv2D{KH: 3, KW: 3, SH: 2, SW: 2, PT: 1, PL: 1, PB: 1, PR: 1, DH: 1, DW: 1}},
		{"3x3s1", ref.Conv2D{KH: 3, KW: 3, SH: 1, SW: 1, PT: 1, PL: 1, PB: 1, PR: 1, DH: 1, DW: 1}},
		{"2x2s2", ref.Conv2D{KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1}},
	}
	const h, w = 112, 112
	x := make([]byte, h*w)
	for i := range x {
		x[i] = byte(i * 7919 % 251)
	}
	for _, g := range geoms {
		oh, ow := g.p.Out(h, w)
		out := make([]byte, oh*ow)
		buf := make([]byte, bytePoolScratch(w, ow))
		for _, signed := range []bool{false, true} {
			for _, l := range cpu.Levels() {
				b.Run(fmt.Sprintf("%s/signed=%v/%v", g.name, signed, l), func(b *testing.B) {
					defer cpu.Force(l)()
					b.SetBytes(int64(len(x)))
					for range b.N {
						maxPoolBytes(x, h, w, g.p, oh, ow, signed, out, buf)
					}
				})
			}
		}
	}
}

// BenchmarkMaxPoolF32 times the float32 pool on one 112x112 plane at each
// dispatch level ("generic" is the Go kernel).
func BenchmarkMaxPoolF32(b *testing.B) {
	geoms := []struct {
		name string
		p    ref.Conv2D
	}{
		{"3x3s2", ref.Conv2D{KH: 3, KW: 3, SH: 2, SW: 2, PT: 1, PL: 1, PB: 1, PR: 1, DH: 1, DW: 1}},
		{"3x3s1", ref.Conv2D{KH: 3, KW: 3, SH: 1, SW: 1, PT: 1, PL: 1, PB: 1, PR: 1, DH: 1, DW: 1}},
		{"2x2s2", ref.Conv2D{KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1}},
	}
	const h, w = 112, 112
	x := make([]float32, h*w)
	for i := range x {
		x[i] = float32(i * 7919 % 251)
	}
	tmp := make([]float32, w)
	for _, g := range geoms {
		oh, ow := g.p.Out(h, w)
		out := make([]float32, oh*ow)
		for _, l := range cpu.Levels() {
			b.Run(fmt.Sprintf("%s/%v", g.name, l), func(b *testing.B) {
				defer cpu.Force(l)()
				b.SetBytes(int64(4 * len(x)))
				for range b.N {
					maxPoolPlane(x, h, w, g.p, oh, ow, out, tmp)
				}
			})
		}
	}
}
