// Package cpu reports the x86 SIMD features frugal's kernels use and decides,
// once, which dispatch level the kernels run at. Hardware is probed a single
// time at start-up (CPUID + XGETBV, so a feature counts only when the OS also
// saves its registers). The effective level can only be lowered:
//
//   - the build tag "purego" compiles every kernel package without assembly
//     and pins the level to Generic;
//   - the environment variable FRUGAL_NOASM=1 pins the level to Generic at
//     start-up; FRUGAL_CPU=generic|avx2|avx512 caps it;
//   - tests call Force to run each dispatch path in turn.
//
// Kernel packages read Active (or At) on each call, so a forced level takes
// effect immediately. Objects that bake a layout in (packed weights) record
// the level they were built for and keep using it.
package cpu

import (
	"os"
	"strings"
	"sync/atomic"
)

// Level is an ordered SIMD dispatch level.
type Level int32

const (
	// Generic is pure Go, no assembly.
	Generic Level = iota
	// AVX2 means AVX2 + FMA (+ F16C): 16 ymm registers.
	AVX2
	// AVX512 means AVX-512 F, BW, VL, DQ: 32 zmm registers and opmasks.
	AVX512
)

func (l Level) String() string {
	switch l {
	case Generic:
		return "generic"
	case AVX2:
		return "avx2"
	case AVX512:
		return "avx512"
	}
	return "level(" + itoa(int(l)) + ")"
}

// ParseLevel parses the names printed by Level.String.
func ParseLevel(s string) (Level, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "generic", "go", "purego", "none":
		return Generic, true
	case "avx2":
		return AVX2, true
	case "avx512", "avx-512":
		return AVX512, true
	}
	return Generic, false
}

// Features lists the x86 extensions frugal's kernels may use.
type Features struct {
	AVX, AVX2, FMA, F16C                  bool
	AVX512F, AVX512BW, AVX512VL, AVX512DQ bool
	AVX512VNNI, AVX512BF16, AVXVNNI       bool
	AVX512VBMI                            bool // VPERMB (byte permutes)
	OSAVX, OSAVX512                       bool // the OS saves ymm / zmm+opmask state
	hwLevel                               Level
}

// X86 is what the hardware and OS support, probed once at start-up. It does
// not change when the level is forced; use Active for dispatch.
var X86 Features

// HWLevel is the highest level allowed in this process: what the hardware
// supports, lowered to Generic by the purego tag or FRUGAL_NOASM=1 and capped
// by FRUGAL_CPU. Force cannot go above it, so the kill switch also holds for
// tests.
var HWLevel Level

var cur atomic.Int32 // effective level

func init() {
	X86 = detect()
	HWLevel = X86.hwLevel
	if purego {
		HWLevel = Generic
	}
	if os.Getenv("FRUGAL_NOASM") == "1" {
		HWLevel = Generic
	}
	if s := os.Getenv("FRUGAL_CPU"); s != "" {
		if c, ok := ParseLevel(s); ok && c < HWLevel {
			HWLevel = c
		}
	}
	cur.Store(int32(HWLevel))
}

func levelOf(f Features) Level {
	switch {
	case f.AVX512F && f.AVX512BW && f.AVX512VL && f.AVX512DQ && f.OSAVX512 && f.AVX2 && f.FMA:
		return AVX512
	case f.AVX2 && f.FMA && f.OSAVX:
		return AVX2
	}
	return Generic
}

// Current returns the effective dispatch level.
func Current() Level { return Level(cur.Load()) }

// Active returns the features usable at the effective level: X86 with
// everything above the level masked off.
func Active() Features { return At(Current()) }

// At returns the features usable when running at level l (masked by what the
// hardware has).
func At(l Level) Features {
	if l > HWLevel {
		l = HWLevel
	}
	f := X86
	if l < AVX512 {
		f.AVX512F, f.AVX512BW, f.AVX512VL, f.AVX512DQ = false, false, false, false
		f.AVX512VNNI, f.AVX512BF16, f.AVX512VBMI = false, false, false
	}
	if l < AVX2 {
		f.AVX, f.AVX2, f.FMA, f.F16C, f.AVXVNNI = false, false, false, false, false
	}
	f.hwLevel = l
	return f
}

// Level returns the level these features were computed for.
func (f Features) Level() Level { return f.hwLevel }

// Levels returns every level the hardware supports, lowest first: the
// dispatch paths a test should exercise.
func Levels() []Level {
	var ls []Level
	for l := Generic; l <= HWLevel; l++ {
		ls = append(ls, l)
	}
	return ls
}

// Force sets the effective level to l (which must not exceed HWLevel) and
// returns a function restoring the previous level. It is meant for tests and
// benchmarks; it is process-wide, so tests that force levels must not run in
// parallel with each other.
func Force(l Level) (restore func()) {
	if l > HWLevel {
		panic("cpu: level " + l.String() + " is not supported by this CPU (have " + HWLevel.String() + ")")
	}
	old := cur.Swap(int32(l))
	return func() { cur.Store(old) }
}

func itoa(v int) string {
	if v == 0 {
		return "0"
	}
	neg := v < 0
	if neg {
		v = -v
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
