package gemm

import (
	"fmt"
	"testing"
	"unsafe"

	"github.com/frugal-ml/frugal/impl/cpu"
)

// BenchmarkQFinish: the requantizing finisher alone through RequantizeRows,
// a 64 x 3136 int32 block (a MobileNetV2 pointwise layer at 56x56) to
// uint8 with per-row scales and a row bias, on each dispatch level.
func BenchmarkQFinish(b *testing.B) {
	const rows, cols = 64, 3136
	acc, bias, scale := qfinBenchData(rows, cols)
	s32 := make([]float32, rows)
	for i, s := range scale {
		s32[i] = float32(s)
	}
	out := make([]uint8, rows*cols)
	ep := QEpilogue{ZeroPoint: 3, Relu: true}
	for _, l := range cpu.Levels() {
		b.Run(fmt.Sprint(l), func(b *testing.B) {
			restore := cpu.Force(l)
			defer restore()
			b.SetBytes(rows * cols * 4)
			for b.Loop() {
				RequantizeRows(acc, rows, cols, bias, s32, ep, out)
			}
		})
	}
}

// BenchmarkQFinishTile: the finisher on one L1-resident VNNI tile (14 x 32,
// per-row scale and row addend), its argument block reused as the GEMM
// driver does.
func BenchmarkQFinishTile(b *testing.B) {
	const rows, cols = 14, 32
	acc, bias, scale := qfinBenchData(rows, cols)
	s32 := make([]float32, rows)
	for i, s := range scale {
		s32[i] = float32(s)
	}
	out := make([]uint8, rows*cols)
	for _, l := range cpu.Levels() {
		b.Run(fmt.Sprint(l), func(b *testing.B) {
			restore := cpu.Force(l)
			defer restore()
			kn := qkernelFor(l)
			f := &qfin{flags: qRequant | qScaleRow | qRowAdd, rowAdd: &bias[0], scale: &s32[0], out: unsafe.Pointer(&out[0]),
				ldo: cols, rows: rows, cols: cols, tile: &acc[0], tstride: cols}
			f.setBounds(3, 3, 255)
			b.SetBytes(rows * cols * 4)
			for b.Loop() {
				kn.finish(f)
			}
		})
	}
}

func qfinBenchData(rows, cols int) (acc, bias []int32, scale []float64) {
	acc = make([]int32, rows*cols)
	for i := range acc {
		acc[i] = int32(i*7919%200001 - 100000)
	}
	bias = make([]int32, rows)
	scale = make([]float64, rows)
	for i := range scale {
		bias[i] = int32(i*37 - 1000)
		scale[i] = 0.0001 + 0.00003*float64(i)
	}
	return acc, bias, scale
}
